"""one default card: at most one default among a client's saved cards, enforced by the database

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

WHERE = "is_default AND removed_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("saved_card", schema=None) as batch_op:
        batch_op.create_index(
            "uq_saved_card_default",
            ["client_id"],
            unique=True,
            sqlite_where=sa.text(WHERE),
            postgresql_where=sa.text(WHERE),
        )


def downgrade() -> None:
    with op.batch_alter_table("saved_card", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_saved_card_default", sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE)
        )
