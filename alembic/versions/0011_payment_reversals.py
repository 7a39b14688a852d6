"""payment reversals: a reversal entry names the payment it takes back

Revision ID: 0011
Revises: 0010

A payment recorded by mistake is corrected by a new invoice_payment row of kind "reversal"
whose reversal_of_id names it (unique: a payment is reversed once); nothing is updated or
deleted. Added in place (ADD COLUMN), so SQLite does not rebuild the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN ... REFERENCES works in place on both databases (the column starts NULL);
    # alembic would rebuild the table on SQLite to add the constraint, so it is written here.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE invoice_payment ADD COLUMN reversal_of_id INTEGER "
            "REFERENCES invoice_payment (id)"
        )
    else:
        op.add_column("invoice_payment", sa.Column("reversal_of_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_invoice_payment_reversal_of_id",
            "invoice_payment",
            "invoice_payment",
            ["reversal_of_id"],
            ["id"],
        )
    op.create_index(
        "uq_invoice_payment_reversal_of_id", "invoice_payment", ["reversal_of_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_invoice_payment_reversal_of_id", table_name="invoice_payment")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_invoice_payment_reversal_of_id", "invoice_payment")
    # DROP COLUMN works in place on SQLite 3.35+ once nothing indexes the column.
    op.drop_column("invoice_payment", "reversal_of_id")
