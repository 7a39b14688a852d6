"""the MRR movement ledger: every change of a subscription's monthly amount, written with it;
subscriptions with MRR today start with one "new" movement at their creation

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mrr_movement",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "subscription_id", sa.Integer(), sa.ForeignKey("subscription.id"), nullable=False
        ),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("client.id"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("delta_minor", sa.BigInteger(), nullable=False),
        sa.Column("mrr_after_minor", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_mrr_movement_at", "mrr_movement", ["at", "id"])
    op.create_index("ix_mrr_movement_subscription", "mrr_movement", ["subscription_id", "id"])
    op.create_index("ix_mrr_movement_client_id", "mrr_movement", ["client_id"])
    op.execute(
        "INSERT INTO mrr_movement "
        "(subscription_id, client_id, currency, kind, delta_minor, mrr_after_minor, at) "
        "SELECT id, client_id, currency, 'new', mrr_minor, mrr_minor, created_at "
        "FROM subscription WHERE mrr_minor > 0"
    )


def downgrade() -> None:
    op.drop_index("ix_mrr_movement_client_id", table_name="mrr_movement")
    op.drop_index("ix_mrr_movement_subscription", table_name="mrr_movement")
    op.drop_index("ix_mrr_movement_at", table_name="mrr_movement")
    op.drop_table("mrr_movement")
