"""subscription: covering index for MRR per currency

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 06:55:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = [
    "status",
    "kind",
    "currency",
    "interval_unit",
    "interval_count",
    "unit_price_minor",
    "quantity",
]


def upgrade() -> None:
    op.create_index("ix_subscription_mrr_cover", "subscription", COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index("ix_subscription_mrr_cover", table_name="subscription")
