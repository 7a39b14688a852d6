"""card refunds: a refund names the card payment it gives back (and its attempt the reason), and
one refund of an invoice is in flight at a time

Revision ID: 0020
Revises: 0019

Added in place (ADD COLUMN ... REFERENCES, CREATE INDEX) so SQLite does not rebuild the tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

REFUND_IN_FLIGHT = "kind = 'refund' AND state = 'started'"


def _add_reference(table: str, column: str, name: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES invoice_payment (id)")
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(name, table, "invoice_payment", [column], ["id"])


def upgrade() -> None:
    _add_reference("invoice_payment", "refund_of_id", "fk_invoice_payment_refund_of_id")
    op.create_index("ix_invoice_payment_refund_of_id", "invoice_payment", ["refund_of_id"])
    _add_reference("payment_attempt", "payment_id", "fk_payment_attempt_payment_id")
    op.add_column(
        "payment_attempt",
        sa.Column("note", sa.String(length=500), nullable=False, server_default=""),
    )
    op.create_index(
        "uq_payment_attempt_refund_in_flight",
        "payment_attempt",
        ["invoice_id"],
        unique=True,
        sqlite_where=sa.text(REFUND_IN_FLIGHT),
        postgresql_where=sa.text(REFUND_IN_FLIGHT),
    )


def downgrade() -> None:
    op.drop_index("uq_payment_attempt_refund_in_flight", table_name="payment_attempt")
    op.drop_index("ix_invoice_payment_refund_of_id", table_name="invoice_payment")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_payment_attempt_payment_id", "payment_attempt")
        op.drop_constraint("fk_invoice_payment_refund_of_id", "invoice_payment")
    op.drop_column("payment_attempt", "note")
    op.drop_column("payment_attempt", "payment_id")
    op.drop_column("invoice_payment", "refund_of_id")
