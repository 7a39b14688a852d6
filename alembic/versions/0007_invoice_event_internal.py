"""invoice_event.internal: timeline entries only staff see

Revision ID: 0007
Revises: 0006

Existing entries get what new ones of their kind get: notes ("comment") and "created" are
internal; "sent", "emailed", "payment", "refund" and "void" are client-visible (their messages
never name staff; the actor column is not shown to clients). The column is added in place on
SQLite too (ALTER TABLE ADD COLUMN), so the table is not rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INTERNAL_KINDS = ("comment", "created")


def upgrade() -> None:
    op.add_column(
        "invoice_event",
        sa.Column("internal", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    event = sa.table("invoice_event", sa.column("kind", sa.String()), sa.column("internal"))
    op.execute(
        sa.update(event).where(event.c.kind.not_in(INTERNAL_KINDS)).values(internal=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("invoice_event", schema=None) as batch_op:
        batch_op.drop_column("internal")
