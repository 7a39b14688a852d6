"""auth hardening: tickets bound to a browser, throttles per account/address/app, queued
reset requests, outbox links minted at delivery

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("browser_hash", sa.String(length=64), server_default="", nullable=False)
        )

    # Throttles are short-lived counters: the old per-email table (which kept whatever was
    # typed as the email) is simply replaced.
    op.drop_table("login_throttle")
    op.create_table(
        "auth_throttle",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )

    op.create_table(
        "password_reset_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )

    with op.batch_alter_table("outbox_email", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("secret_kind", sa.String(length=20), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("secret_ref", sa.Integer(), nullable=True))

    # Messages delivered before this change kept their single-use links in the table (and in
    # backups): hide those tokens. (Queued ones still need theirs to be delivered.)
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, body_text, body_html FROM outbox_email "
            "WHERE status IN ('sent', 'dead') AND body_text LIKE :p"
        ),
        {"p": "%token=%"},
    ).fetchall()
    token = re.compile(r"([?&]token=)[\w-]+")
    for row in rows:
        bind.execute(
            sa.text("UPDATE outbox_email SET body_text = :t, body_html = :h WHERE id = :i"),
            {
                "t": token.sub(r"\1[removed]", row.body_text),
                "h": token.sub(r"\1[removed]", row.body_html),
                "i": row.id,
            },
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_email", schema=None) as batch_op:
        batch_op.drop_column("secret_ref")
        batch_op.drop_column("secret_kind")

    op.drop_table("password_reset_request")
    op.drop_table("auth_throttle")
    op.create_table(
        "login_throttle",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email"),
    )

    with op.batch_alter_table("login_ticket", schema=None) as batch_op:
        batch_op.drop_column("browser_hash")
