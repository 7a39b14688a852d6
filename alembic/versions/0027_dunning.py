"""dunning: the agency's retry and reminder schedule, each invoice's retries, the reminder steps
sent (once each)

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dunning_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("retry_days", sa.String(length=60), nullable=False),
        sa.Column("remind_before_days", sa.Integer(), nullable=False),
        sa.Column("remind_after_days", sa.String(length=60), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dunning_state",
        sa.Column("invoice_id", sa.Integer(), sa.ForeignKey("invoice.id"), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_retry_on", sa.Date(), nullable=True),
        sa.Column("stopped", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_dunning_state_next", "dunning_state", ["stopped", "next_retry_on"])
    op.create_table(
        "invoice_reminder",
        sa.Column("invoice_id", sa.Integer(), sa.ForeignKey("invoice.id"), primary_key=True),
        sa.Column("step", sa.String(length=20), primary_key=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("invoice_reminder")
    op.drop_index("ix_dunning_state_next", table_name="dunning_state")
    op.drop_table("dunning_state")
    op.drop_table("dunning_settings")
