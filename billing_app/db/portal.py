"""The client realm: people of the agency's clients who sign in to the portal, apart from staff
(docs/architecture.md, "Two identity realms"). Own tables for users, sessions, sign-in tickets,
recovery codes and password resets, so a portal session can never be taken for a staff one.

A portal user belongs to one or more clients through memberships, each with a client role
(built-in key, or ``custom`` with ``client_role_id``). Tokens are stored as SHA-256 digests only.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from billing_app.db.models import UTCDateTime


def _ts(*, nullable: bool = False, index: bool = False) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


class PortalUser(SQLModel, table=True):
    """A person who signs in to the portal (their email is theirs, not the client's)."""

    __tablename__ = "portal_user"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, sa_column_kwargs={"unique": True}, nullable=False)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    is_active: bool = Field(default=True)
    # TOTP as for staff: ciphertext (adapters/crypto.py), "" when there is none.
    totp_secret: str = Field(default="", max_length=255)
    totp_pending_secret: str = Field(default="", max_length=255)
    totp_enabled_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    totp_last_timecode: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    last_login_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(sa_column=_ts())


class ClientRole(SQLModel, table=True):
    """A client role built from client permission checkboxes (shared by every client)."""

    __tablename__ = "client_role"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, sa_column_kwargs={"unique": True}, nullable=False)
    description: str = Field(default="", max_length=500)
    permissions: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


class ClientMembership(SQLModel, table=True):
    """A portal user's access to one client, with the role they have there."""

    __tablename__ = "client_membership"
    __table_args__ = (
        sa.UniqueConstraint("portal_user_id", "client_id", name="uq_client_membership_user"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    portal_user_id: int = Field(foreign_key="portal_user.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    role_key: str = Field(max_length=40)
    client_role_id: int | None = Field(default=None, foreign_key="client_role.id", index=True)
    created_at: datetime = Field(sa_column=_ts())


class PortalSession(SQLModel, table=True):
    """A signed-in portal browser; ``client_id`` is the client it is looking at (always one of
    the user's memberships, checked on every event)."""

    __tablename__ = "portal_session"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    user_id: int = Field(foreign_key="portal_user.id", index=True)
    client_id: int | None = Field(default=None, foreign_key="client.id")
    created_at: datetime = Field(sa_column=_ts())
    last_seen_at: datetime = Field(sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)


class PortalLoginTicket(SQLModel, table=True):
    """A one-time sign-in ticket of the portal, bound to the browser that asked for it."""

    __tablename__ = "portal_login_ticket"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    ticket_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    user_id: int = Field(foreign_key="portal_user.id", index=True)
    expires_at: datetime = Field(sa_column=_ts())
    used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    ip: str = Field(default="", max_length=64)
    stage: str = Field(default="login", max_length=8)
    browser_hash: str = Field(default="", max_length=64)
    # The client to open after sign-in (an invitation just accepted, a "View invoice" link).
    client_id: int | None = Field(default=None, foreign_key="client.id")


class PortalRecoveryCode(SQLModel, table=True):
    """A single-use two-factor recovery code of a portal user (SHA-256 only)."""

    __tablename__ = "portal_recovery_code"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="portal_user.id", index=True)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_ts())
    used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class PortalPasswordReset(SQLModel, table=True):
    """A single-use portal password reset link (hashed token), sent under ``brand_id``."""

    __tablename__ = "portal_password_reset"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    user_id: int = Field(foreign_key="portal_user.id", index=True)
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    created_at: datetime = Field(sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class PortalResetRequest(SQLModel, table=True):
    """A portal "forgot password" request waiting for its job (the same row for known and
    unknown addresses), with the brand of the page it was made on."""

    __tablename__ = "portal_reset_request"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    ip: str = Field(default="", max_length=64)
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    requested_at: datetime = Field(sa_column=_ts())


class PortalInvitation(SQLModel, table=True):
    """An invitation to a client's portal (hashed, single-use, expiring token). Accepting it
    creates the portal user if needed and the membership."""

    __tablename__ = "portal_invitation"
    __table_args__ = (
        sa.Index("ix_portal_invitation_client", "client_id", "created_at"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    client_id: int = Field(foreign_key="client.id")
    email: str = Field(max_length=320, index=True)
    name: str = Field(default="", max_length=200)
    role_key: str = Field(max_length=40)
    client_role_id: int | None = Field(default=None, foreign_key="client_role.id")
    invited_by: str = Field(default="", max_length=320)  # who sent it, as the audit names them
    created_at: datetime = Field(sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    accepted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class CancellationRequest(SQLModel, table=True):
    """A client user's request to cancel a subscription, and the agency's answer. At most one
    pending request per subscription (a partial unique index)."""

    __tablename__ = "cancellation_request"
    __table_args__ = (
        sa.Index(
            "uq_cancellation_request_pending",
            "subscription_id",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_cancellation_request_client", "client_id", "status"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id")
    client_id: int = Field(foreign_key="client.id")
    requested_by_id: int | None = Field(default=None, foreign_key="portal_user.id")
    requested_by: str = Field(default="", max_length=320)  # the client user's email
    reason: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    status: str = Field(default="pending", max_length=16)  # CancellationStatus
    requested_at: datetime = Field(sa_column=_ts())
    decided_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    decided_by: str = Field(default="", max_length=320)  # staff, as the audit names them
    decision: str = Field(default="", max_length=16)  # now | period_end when approved
    message: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
