"""invoice card payments: a card payment recorded once by its processor id, one charge in
flight per invoice, and what a charge attempt used

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

IN_FLIGHT = "kind = 'charge' AND state IN ('started', 'action')"


# Columns and indexes are added in place (ADD COLUMN, CREATE INDEX) on both databases: SQLite
# does not rebuild the tables (a rebuild of invoice_payment would lose its named foreign key).


def upgrade() -> None:
    op.add_column("invoice_payment", sa.Column("processor_id", sa.String(length=255)))
    op.create_index(
        "uq_invoice_payment_processor_id", "invoice_payment", ["processor_id"], unique=True
    )
    for name, length in (("payment_method_id", 255), ("card_label", 60), ("actor_label", 320)):
        op.add_column(
            "payment_attempt",
            sa.Column(name, sa.String(length=length), nullable=False, server_default=""),
        )
    op.create_index(
        "uq_payment_attempt_in_flight",
        "payment_attempt",
        ["invoice_id"],
        unique=True,
        sqlite_where=sa.text(IN_FLIGHT),
        postgresql_where=sa.text(IN_FLIGHT),
    )


def downgrade() -> None:
    op.drop_index("uq_payment_attempt_in_flight", table_name="payment_attempt")
    for name in ("actor_label", "card_label", "payment_method_id"):
        op.drop_column("payment_attempt", name)
    op.drop_index("uq_invoice_payment_processor_id", table_name="invoice_payment")
    op.drop_column("invoice_payment", "processor_id")
