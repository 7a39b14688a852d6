"""brand sending: each brand's From address and optional SMTP server; outbox rows know theirs

Revision ID: 0014
Revises: 0013

A brand may send from its own address (``mail_from``) and through its own SMTP server, so an
agency sends from its domain with its SPF and DKIM. The password is stored encrypted (see
adapters/crypto.py). An outbox row keeps the From address and the brand it was queued for: the
brand's server is chosen when the row is delivered.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("brand", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mail_from", sa.String(length=320), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("smtp_host", sa.String(length=253), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("smtp_port", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column(
                "smtp_security", sa.String(length=10), server_default="starttls", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("smtp_username", sa.String(length=320), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("smtp_password", sa.Text(), server_default="", nullable=False)
        )
    with op.batch_alter_table("outbox_email", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("from_address", sa.String(length=320), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("brand_id", sa.Integer(), nullable=True))


def _drop_columns(table: str, *columns: str) -> None:
    """Drop columns in place (SQLite 3.35+ can; rebuilding ``brand`` would drop a table other
    tables reference while foreign keys are enforced)."""
    for column in columns:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f'ALTER TABLE {table} DROP COLUMN "{column}"')
        else:
            op.drop_column(table, column)


def downgrade() -> None:
    _drop_columns("outbox_email", "brand_id", "from_address")
    _drop_columns(
        "brand",
        "smtp_password",
        "smtp_username",
        "smtp_security",
        "smtp_port",
        "smtp_host",
        "mail_from",
    )
