"""SQLModel tables. Timestamps are timezone-aware UTC; see alembic/versions for the migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; always returns aware UTC datetimes (SQLite drops tzinfo)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given to a UTC column"
            raise ValueError(msg)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _ts(*, nullable: bool = False, index: bool = False) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


class StaffUser(SQLModel, table=True):
    """A member of the agency team."""

    __tablename__ = "staff_user"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, sa_column_kwargs={"unique": True}, nullable=False)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    role_key: str = Field(max_length=40, default="viewer")
    custom_role_id: int | None = Field(default=None, foreign_key="custom_role.id", index=True)
    is_active: bool = Field(default=True)
    # Two-factor authentication (TOTP). The secret is pending until confirmed with a code;
    # totp_last_timecode refuses a code that was already used (replay). Both secrets hold
    # ciphertext (adapters/crypto.py, docs/security.md item 48), "" when there is none.
    totp_secret: str = Field(default="", max_length=255)
    totp_pending_secret: str = Field(default="", max_length=255)
    totp_enabled_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    totp_last_timecode: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    last_login_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    # Emails about payments received, failed and disputed: "off", "immediate" or "daily".
    payment_notices: str = Field(
        default="off",
        sa_column=sa.Column(sa.String(10), nullable=False, server_default="off"),
    )
    notices_digested_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class CustomRole(SQLModel, table=True):
    """A staff role built from permission checkboxes."""

    __tablename__ = "custom_role"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, sa_column_kwargs={"unique": True}, nullable=False)
    description: str = Field(default="", max_length=500)
    # Space-separated permission codes.
    permissions: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


class AuthSession(SQLModel, table=True):
    """A signed-in browser. Only the SHA-256 of the cookie token is stored."""

    __tablename__ = "auth_session"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    created_at: datetime = Field(sa_column=_ts())
    last_seen_at: datetime = Field(sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)


class LoginTicket(SQLModel, table=True):
    """A one-time, short-lived ticket: ``login`` ones go to the cookie route; ``mfa`` ones
    stand for a correct password while the second factor is asked."""

    __tablename__ = "login_ticket"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    ticket_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    expires_at: datetime = Field(sa_column=_ts())
    used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    ip: str = Field(default="", max_length=64)
    stage: str = Field(default="login", max_length=8, sa_column_kwargs={"server_default": "login"})
    # SHA-256 of the browser cookie of the browser that asked for the ticket: only that browser
    # can redeem it (no login CSRF).
    browser_hash: str = Field(
        default="", max_length=64, sa_column_kwargs={"server_default": ""}, nullable=False
    )


class RecoveryCode(SQLModel, table=True):
    """A single-use two-factor recovery code (only its SHA-256 is stored)."""

    __tablename__ = "recovery_code"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_ts())
    used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class PasswordReset(SQLModel, table=True):
    """A single-use password reset link (hashed token)."""

    __tablename__ = "password_reset"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    created_at: datetime = Field(sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class Invitation(SQLModel, table=True):
    """An invitation to join the team (hashed, single-use, expiring token)."""

    __tablename__ = "invitation"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    email: str = Field(max_length=320, index=True)
    role_key: str = Field(max_length=40)
    custom_role_id: int | None = Field(default=None, foreign_key="custom_role.id")
    invited_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = Field(sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    accepted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class OutboxEmail(SQLModel, table=True):
    """A message waiting for, or done with, delivery; written in the same transaction as its
    cause."""

    __tablename__ = "outbox_email"
    __table_args__ = (
        sa.Index("ix_outbox_email_due", "status", "next_attempt_at"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    to_address: str = Field(max_length=320, index=True)
    subject: str = Field(max_length=300)
    body_text: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    body_html: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    status: str = Field(default="queued", max_length=16)  # queued, sent, failed, dead
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_column=_ts())
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = Field(sa_column=_ts(index=True))
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    transport: str = Field(default="", max_length=16)  # smtp or file
    file_path: str = Field(default="", max_length=500)
    # Per-message sender (a brand's) and one attachment from private storage (invoice PDFs).
    from_name: str = Field(default="", max_length=120)
    from_address: str = Field(default="", max_length=320, sa_column_kwargs={"server_default": ""})
    # The brand it was queued for: that brand's SMTP server, when it has one, delivers it.
    brand_id: int | None = Field(default=None)
    reply_to: str = Field(default="", max_length=320)
    attachment_key: str = Field(default="", max_length=100)
    attachment_name: str = Field(default="", max_length=200)
    # A message carrying a single-use link stores no token: the body holds a placeholder and
    # names the row (password_reset or invitation) whose token is minted at delivery.
    secret_kind: str = Field(default="", max_length=20, sa_column_kwargs={"server_default": ""})
    secret_ref: int | None = Field(default=None)


class AuditEvent(SQLModel, table=True):
    """An append-only record of something that matters. Triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_event"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_ts(index=True))
    action: str = Field(max_length=60, index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor_label: str = Field(default="", max_length=320)
    target: str = Field(default="", max_length=320)
    ip: str = Field(default="", max_length=64)
    details: str = Field(default="", max_length=2000)


class AuthThrottle(SQLModel, table=True):
    """Failed attempts per key: an account (a digest of the typed email, known or not, so
    answers never reveal which emails exist), a client address, the whole app, a second
    factor, password-reset requests per address."""

    __tablename__ = "auth_throttle"
    __table_args__ = {"extend_existing": True}

    key: str = Field(max_length=100, primary_key=True)
    failures: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_failure_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class PasswordResetRequest(SQLModel, table=True):
    """A "forgot password" request waiting for the job that answers it. The page writes only
    this row, the same for known and unknown addresses; the job looks the address up and, for
    an active account, writes the reset and its email in one transaction."""

    __tablename__ = "password_reset_request"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    ip: str = Field(default="", max_length=64)
    requested_at: datetime = Field(sa_column=_ts())


class Installation(SQLModel, table=True):
    """One row once the owner exists: makes first-run setup happen exactly once."""

    __tablename__ = "installation"
    __table_args__ = {"extend_existing": True}

    id: int = Field(default=1, primary_key=True)
    owner_id: int = Field(foreign_key="staff_user.id")
    created_at: datetime = Field(sa_column=_ts())
