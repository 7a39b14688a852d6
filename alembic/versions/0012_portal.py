"""the client portal: portal users, memberships, client roles, their sessions and invitations

Revision ID: 0012
Revises: 0011

Client users live in their own tables, apart from staff (docs/architecture.md, "Two identity
realms"): portal_user, client_membership (a user's access to one client, with its role),
client_role (custom client roles), portal_session, portal_login_ticket, portal_recovery_code,
portal_password_reset, portal_reset_request and portal_invitation. The agency settings get the
default client role and whether client users must use two-factor sign-in; brands get the bank
details printed on PDFs and shown in the portal.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("permissions", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "portal_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("totp_secret", sa.String(length=255), nullable=False),
        sa.Column("totp_pending_secret", sa.String(length=255), nullable=False),
        sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_last_timecode", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "portal_password_reset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brand.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["portal_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("portal_password_reset", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_password_reset_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "portal_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["portal_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("portal_recovery_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_recovery_code_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "portal_reset_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brand.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "client_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portal_user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("role_key", sa.String(length=40), nullable=False),
        sa.Column("client_role_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
        ),
        sa.ForeignKeyConstraint(
            ["client_role_id"],
            ["client_role.id"],
        ),
        sa.ForeignKeyConstraint(
            ["portal_user_id"],
            ["portal_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("portal_user_id", "client_id", name="uq_client_membership_user"),
    )
    with op.batch_alter_table("client_membership", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_membership_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_client_membership_client_role_id"), ["client_role_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_client_membership_portal_user_id"), ["portal_user_id"], unique=False
        )

    op.create_table(
        "portal_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role_key", sa.String(length=40), nullable=False),
        sa.Column("client_role_id", sa.Integer(), nullable=True),
        sa.Column("invited_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
        ),
        sa.ForeignKeyConstraint(
            ["client_role_id"],
            ["client_role.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("portal_invitation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_portal_invitation_client", ["client_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_portal_invitation_email"), ["email"], unique=False)

    op.create_table(
        "portal_login_ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["portal_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_hash"),
    )
    with op.batch_alter_table("portal_login_ticket", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_login_ticket_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "portal_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["portal_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_session_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("agency_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "client_default_role", sa.String(length=40), server_default="full", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("client_require_2fa", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("brand", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "bank_account_holder", sa.String(length=120), server_default="", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("bank_iban", sa.String(length=34), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("bank_bic", sa.String(length=11), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("bank_details", sa.Text(), server_default="", nullable=False))


def _drop_columns(table: str, *columns: str) -> None:
    """Drop columns in place: SQLite (3.35+) can, and rebuilding ``brand`` would drop a table
    other tables reference while foreign keys are enforced."""
    for column in columns:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f'ALTER TABLE {table} DROP COLUMN "{column}"')
        else:
            op.drop_column(table, column)


def downgrade() -> None:
    _drop_columns("brand", "bank_details", "bank_bic", "bank_iban", "bank_account_holder")
    _drop_columns("agency_settings", "client_require_2fa", "client_default_role")

    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_session_user_id"))

    op.drop_table("portal_session")
    with op.batch_alter_table("portal_login_ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_login_ticket_user_id"))

    op.drop_table("portal_login_ticket")
    with op.batch_alter_table("portal_invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_invitation_email"))
        batch_op.drop_index("ix_portal_invitation_client")

    op.drop_table("portal_invitation")
    with op.batch_alter_table("client_membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_membership_portal_user_id"))
        batch_op.drop_index(batch_op.f("ix_client_membership_client_role_id"))
        batch_op.drop_index(batch_op.f("ix_client_membership_client_id"))

    op.drop_table("client_membership")
    op.drop_table("portal_reset_request")
    with op.batch_alter_table("portal_recovery_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_recovery_code_user_id"))

    op.drop_table("portal_recovery_code")
    with op.batch_alter_table("portal_password_reset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_password_reset_user_id"))

    op.drop_table("portal_password_reset")
    op.drop_table("portal_user")
    op.drop_table("client_role")
