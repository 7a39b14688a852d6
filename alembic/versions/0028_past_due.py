"""past due: when the retries of an invoice are over its subscriptions are past due, and the
agency's action (pause or cancel) after some days

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "dunning_settings",
        sa.Column("past_due_days", sa.Integer(), nullable=False, server_default="14"),
    )
    op.add_column(
        "dunning_settings",
        sa.Column("past_due_action", sa.String(length=8), nullable=False, server_default="cancel"),
    )
    op.add_column("dunning_state", sa.Column("past_due_since", sa.Date(), nullable=True))
    op.add_column(
        "dunning_state",
        sa.Column("past_due_ended", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("dunning_state", "past_due_ended")
    op.drop_column("dunning_state", "past_due_since")
    op.drop_column("dunning_settings", "past_due_action")
    op.drop_column("dunning_settings", "past_due_days")
