"""dunning emails once per event: a unique key per invoice and event (payment failed, the bank
wants the client, past due, paused or canceled); the past-due view finds what is past due by
date

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dunning_email",
        sa.Column("invoice_id", sa.Integer(), sa.ForeignKey("invoice.id"), primary_key=True),
        sa.Column("event", sa.String(length=20), primary_key=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_dunning_state_past_due", "dunning_state", ["past_due_since"])


def downgrade() -> None:
    op.drop_index("ix_dunning_state_past_due", table_name="dunning_state")
    op.drop_table("dunning_email")
