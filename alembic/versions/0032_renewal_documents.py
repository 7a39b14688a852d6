"""renewal invoices made in batches: their PDFs and emails drained after, from a durable list

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renewal_document",
        sa.Column(
            "invoice_id", sa.Integer(), sa.ForeignKey("invoice.id"), primary_key=True
        ),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("renewal_document")
