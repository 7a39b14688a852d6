"""staff single sign-on: the agency's OpenID Connect provider, the subject linked to each staff
member, and the sign-ins under way

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sso_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("issuer_url", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret", sa.Text(), nullable=False),
        sa.Column("button_label", sa.String(length=60), nullable=False),
        sa.Column("allowed_domains", sa.String(length=1000), nullable=False),
        sa.Column("password_allowed", sa.Boolean(), nullable=False),
        sa.Column("jit_enabled", sa.Boolean(), nullable=False),
        sa.Column("jit_role_key", sa.String(length=40), nullable=False),
        sa.Column("trust_email", sa.Boolean(), nullable=False),
        sa.Column("provider_mfa", sa.Boolean(), nullable=False),
        _ts("updated_at"),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("staff_user.id"), nullable=True),
    )
    op.create_table(
        "sso_identity",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "staff_user_id",
            sa.Integer(),
            sa.ForeignKey("staff_user.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        _ts("created_at"),
        sa.UniqueConstraint("issuer", "subject", name="uq_sso_identity_subject"),
    )
    op.create_table(
        "sso_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("state_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("next_path", sa.String(length=500), nullable=False),
        _ts("expires_at"),
    )
    op.create_index("ix_sso_request_expires_at", "sso_request", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sso_request_expires_at", table_name="sso_request")
    op.drop_table("sso_request")
    op.drop_table("sso_identity")
    op.drop_table("sso_settings")
