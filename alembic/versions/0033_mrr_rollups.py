"""monthly MRR rollups the revenue reports read, and the history of subscriptions older than the
ledger rebuilt once from their change records

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from billing_app.services.catalog.mrr_history import rebuild_pre_ledger
from billing_app.services.catalog.mrr_rollups import rebuild_all

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def _minor(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "mrr_client_month",
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("client.id"), primary_key=True),
        sa.Column("currency", sa.String(length=3), primary_key=True),
        sa.Column("month", sa.Date(), primary_key=True),
        _count("brand_id"),
        _minor("start_minor"),
        _minor("end_minor"),
        sa.Column("had_before", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index(
        "ix_mrr_client_month_month", "mrr_client_month", ["month", "brand_id", "currency"]
    )
    op.create_table(
        "mrr_month",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("brand_id", sa.Integer(), primary_key=True),
        sa.Column("currency", sa.String(length=3), primary_key=True),
        _minor("new_minor"),
        _minor("reactivation_minor"),
        _minor("expansion_minor"),
        _minor("contraction_minor"),
        _minor("churn_minor"),
        _count("new_customers"),
        _count("reactivated_customers"),
        _count("churned_customers"),
        _minor("mrr_change_minor"),
        _count("customer_change"),
    )
    connection = op.get_bind()
    rebuild_pre_ledger(connection)
    rebuild_all(connection)


def downgrade() -> None:
    op.drop_table("mrr_month")
    op.drop_index("ix_mrr_client_month_month", table_name="mrr_client_month")
    op.drop_table("mrr_client_month")
