"""The two identity realms (docs/architecture.md, "Two identity realms"; docs/security.md item
45): staff and the agency's clients' people. Each has its own tables of users, sessions,
sign-in tickets, recovery codes and resets, its own audit actions, its own throttle counters
and its own cookie, so nothing of one realm can ever be taken for the other.

Sign-in, sessions, second factor, password changes and resets are written once
(``auth``, ``account``, ``password_reset``) and take a ``Realm``; the staff realm is the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from billing_app.db.models import (
    AuthSession,
    LoginTicket,
    PasswordReset,
    PasswordResetRequest,
    RecoveryCode,
    StaffUser,
)
from billing_app.db.portal import (
    PortalLoginTicket,
    PortalPasswordReset,
    PortalRecoveryCode,
    PortalResetRequest,
    PortalSession,
    PortalUser,
)
from billing_app.services.common.audit import Actor
from billing_app.settings import Settings


class Row(Protocol):
    def __init__(self, **data: Any) -> None: ...


class UserRow(Row, Protocol):
    id: int | None
    email: str
    name: str
    password_hash: str
    is_active: bool
    totp_secret: str
    totp_pending_secret: str
    totp_enabled_at: datetime | None
    totp_last_timecode: int
    last_login_at: datetime | None


class SessionRow(Row, Protocol):
    id: int | None
    token_hash: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class TicketRow(Row, Protocol):
    id: int | None
    ticket_hash: str
    user_id: int
    expires_at: datetime
    used_at: datetime | None
    stage: str
    browser_hash: str


class RecoveryRow(Row, Protocol):
    id: int | None
    user_id: int
    code_hash: str
    used_at: datetime | None


class ResetRow(Row, Protocol):
    id: int | None
    token_hash: str
    user_id: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class ResetRequestRow(Row, Protocol):
    id: int | None
    email: str
    ip: str
    requested_at: datetime


@dataclass(frozen=True)
class Realm:
    """The tables, names and rules of one identity realm."""

    name: str
    user: type[UserRow]
    session: type[SessionRow]
    ticket: type[TicketRow]
    recovery: type[RecoveryRow]
    reset: type[ResetRow]
    reset_request: type[ResetRequestRow]
    # "portal." makes "portal.login.failed": the audit log tells the realms apart.
    audit_prefix: str
    # Staff and portal failures are counted apart (docs/security.md items 14, 18, 40).
    throttle_prefix: str
    # The session cookie's name (api/cookies.py adds ``__Host-`` over https).
    cookie: str
    # The outbox's name for a reset link minted at delivery (services/common/outbox.py).
    reset_link: str
    # The job answering this realm's "forgot password" requests (jobs/tasks.py).
    wake_resets: str
    # Client users: they sign in only while they belong to a client, their emails carry a
    # client's brand, and turning two-factor off needs a code as well as the password.
    for_clients: bool

    def action(self, name: str) -> str:
        """The audit action of this realm for ``name`` ("login.failed")."""
        return f"{self.audit_prefix}{name}"

    def key(self, key: str) -> str:
        """This realm's throttle key for ``key``."""
        return f"{self.throttle_prefix}{key}"

    def actor(self, user_id: int | None, email: str, ip: str = "") -> Actor:
        """How the audit log names a user of this realm (client users have no staff id)."""
        if self.for_clients:
            return Actor(None, f"{email} (client user)" if email else "", ip)
        return Actor(user_id, email, ip)

    def idle(self, settings: Settings) -> timedelta:
        minutes = (
            settings.portal_session_idle_minutes
            if self.for_clients
            else settings.session_idle_minutes
        )
        return timedelta(minutes=minutes)

    def absolute(self, settings: Settings) -> timedelta:
        hours = (
            settings.portal_session_absolute_hours
            if self.for_clients
            else settings.session_absolute_hours
        )
        return timedelta(hours=hours)


STAFF = Realm(
    name="staff",
    user=StaffUser,
    session=AuthSession,
    ticket=LoginTicket,
    recovery=RecoveryCode,
    reset=PasswordReset,
    reset_request=PasswordResetRequest,
    audit_prefix="",
    throttle_prefix="",
    cookie="billing_session",
    reset_link="password_reset",
    wake_resets="reset_requests",
    for_clients=False,
)


PORTAL = Realm(
    name="portal",
    user=PortalUser,
    session=PortalSession,
    ticket=PortalLoginTicket,
    recovery=PortalRecoveryCode,
    reset=PortalPasswordReset,
    reset_request=PortalResetRequest,
    audit_prefix="portal.",
    throttle_prefix="portal:",
    cookie="billing_portal",
    reset_link="portal_reset",
    wake_resets="portal_reset_requests",
    for_clients=True,
)
