"""Staff single sign-on with the agency's OpenID Connect provider (docs/architecture.md,
"Staff single sign-on"): its configuration, the link between a provider's subject and a staff
member, and the sign-ins under way (state, nonce and PKCE verifier, bound to a browser)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from billing_app.db.models import _ts


class SsoSettings(SQLModel, table=True):
    """The one OIDC provider of the agency (a single row, id 1). The client secret holds
    ciphertext (adapters/crypto.py, purpose "oidc-secret")."""

    __tablename__ = "sso_settings"
    __table_args__ = {"extend_existing": True}

    id: int = Field(default=1, primary_key=True)
    issuer_url: str = Field(default="", max_length=500)
    client_id: str = Field(default="", max_length=255)
    client_secret: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    button_label: str = Field(default="", max_length=60)
    # Lower-case domains separated by spaces ("" : any domain).
    allowed_domains: str = Field(default="", max_length=1000)
    password_allowed: bool = Field(default=True)
    jit_enabled: bool = Field(default=False)
    jit_role_key: str = Field(default="viewer", max_length=40)
    trust_email: bool = Field(default=False)
    provider_mfa: bool = Field(default=False)
    updated_at: datetime = Field(sa_column=_ts())
    updated_by_id: int | None = Field(default=None, foreign_key="staff_user.id")


class SsoIdentity(SQLModel, table=True):
    """A staff member's account at the provider: (issuer, subject) once linked is what signs
    them in, whatever email the provider sends later."""

    __tablename__ = "sso_identity"
    __table_args__ = (
        sa.UniqueConstraint("issuer", "subject", name="uq_sso_identity_subject"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_user_id: int = Field(foreign_key="staff_user.id", sa_column_kwargs={"unique": True})
    issuer: str = Field(max_length=500)
    subject: str = Field(max_length=255)
    created_at: datetime = Field(sa_column=_ts())


class SsoRequest(SQLModel, table=True):
    """A sign-in sent to the provider and not back yet: used once (deleted when the browser
    comes back), for ten minutes, by the browser that started it."""

    __tablename__ = "sso_request"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    nonce: str = Field(max_length=128)
    code_verifier: str = Field(max_length=128)
    browser_hash: str = Field(max_length=64)
    next_path: str = Field(default="/", max_length=500)
    expires_at: datetime = Field(sa_column=_ts(index=True))
