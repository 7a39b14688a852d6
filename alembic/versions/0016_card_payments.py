"""card payments: the Stripe keys and the events Stripe sends

Revision ID: 0016
Revises: 0015

``payment_settings`` (one row) holds the publishable key and the encrypted secret key and
webhook signing secret; ``stripe_event`` keeps every verified event by Stripe's id (unique),
stored before a job handles it.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_publishable_key", sa.String(length=255), nullable=False),
        sa.Column("stripe_secret_key", sa.Text(), nullable=False),
        sa.Column("stripe_webhook_secret", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "stripe_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("stripe_event", schema=None) as batch_op:
        batch_op.create_index("ix_stripe_event_type", ["type"], unique=False)
        batch_op.create_index("ix_stripe_event_object_id", ["object_id"], unique=False)
        batch_op.create_index("ix_stripe_event_received_at", ["received_at"], unique=False)
        batch_op.create_index(
            "ix_stripe_event_state_next", ["state", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("stripe_event")
    op.drop_table("payment_settings")
