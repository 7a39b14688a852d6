"""payment notices: what staff are told about card payments, and how each wants to hear of it

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "staff_user",
        sa.Column("payment_notices", sa.String(length=10), nullable=False, server_default="off"),
    )
    op.add_column(
        "staff_user", sa.Column("notices_digested_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "staff_notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_staff_notice_created_at", "staff_notice", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_staff_notice_created_at", table_name="staff_notice")
    op.drop_table("staff_notice")
    op.drop_column("staff_user", "notices_digested_at")
    op.drop_column("staff_user", "payment_notices")
