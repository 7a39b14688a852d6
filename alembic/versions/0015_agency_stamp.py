"""agency stamp: a token that changes whenever a brand or the agency settings change

Revision ID: 0015
Revises: 0014

Portal events read the brands and the agency's portal settings all the time and staff change
them rarely: each process keeps them in memory and reloads them when this stamp differs from
the one it loaded them with (services/agency/agency_cache.py). A flush that writes a brand or
the settings gives the stamp a new random value in the same transaction.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agency_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("looks_stamp", sa.String(length=32), server_default="", nullable=False)
        )
    settings = sa.table("agency_settings", sa.column("looks_stamp", sa.String()))
    op.execute(settings.update().values(looks_stamp=secrets.token_hex(16)))


def downgrade() -> None:
    with op.batch_alter_table("agency_settings", schema=None) as batch_op:
        batch_op.drop_column("looks_stamp")
