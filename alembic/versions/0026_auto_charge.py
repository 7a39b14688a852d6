"""automatic charges of renewal invoices: the agency's default, a client's choice, and the
invoices waiting for their charge

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "agency_settings",
        sa.Column("auto_charge", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column("client", sa.Column("auto_charge", sa.Boolean(), nullable=True))
    op.add_column(
        "invoice",
        sa.Column("charge_pending", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("invoice", "charge_pending")
    op.drop_column("client", "auto_charge")
    op.drop_column("agency_settings", "auto_charge")
