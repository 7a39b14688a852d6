"""renewals: the first unbilled period of each subscription, one claim per billed period, the
periods held beyond the catch-up limit, and the agency's limit

Revision ID: 0025
Revises: 0024

Subscriptions that already run are taken as billed up to their next renewal (the period they
are in was invoiced by hand before the engine existed); one-time purchases not ended yet are
billed once, from their start.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subscription", sa.Column("next_billing_on", sa.Date(), nullable=True))
    op.create_index("ix_subscription_next_billing_on", "subscription", ["next_billing_on"])
    op.execute(
        "UPDATE subscription SET next_billing_on = next_renewal_on "
        "WHERE kind = 'recurring' AND status IN ('active', 'past_due', 'trialing')"
    )
    op.execute(
        "UPDATE subscription SET next_billing_on = start_date "
        "WHERE kind = 'one_time' AND status = 'active'"
    )
    op.add_column(
        "agency_settings",
        sa.Column("renewal_catch_up", sa.Integer(), nullable=False, server_default="3"),
    )
    op.create_table(
        "renewal_claim",
        sa.Column(
            "subscription_id", sa.Integer(), sa.ForeignKey("subscription.id"), primary_key=True
        ),
        sa.Column("period_start", sa.Date(), primary_key=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), sa.ForeignKey("invoice.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_renewal_claim_invoice_id", "renewal_claim", ["invoice_id"])
    op.create_table(
        "renewal_hold",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "subscription_id", sa.Integer(), sa.ForeignKey("subscription.id"), nullable=False
        ),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("invoice_id", sa.Integer(), sa.ForeignKey("invoice.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=False),
        sa.UniqueConstraint("subscription_id", "period_start", name="uq_renewal_hold_period"),
    )
    op.create_index("ix_renewal_hold_state", "renewal_hold", ["state"])


def downgrade() -> None:
    op.drop_index("ix_renewal_hold_state", table_name="renewal_hold")
    op.drop_table("renewal_hold")
    op.drop_index("ix_renewal_claim_invoice_id", table_name="renewal_claim")
    op.drop_table("renewal_claim")
    op.drop_column("agency_settings", "renewal_catch_up")
    op.drop_index("ix_subscription_next_billing_on", table_name="subscription")
    op.drop_column("subscription", "next_billing_on")
