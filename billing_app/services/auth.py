"""Staff authentication: first-run setup, sign-in with throttling, sessions, password reset.

Sessions (DESIGN.md §6): a random token goes into an HttpOnly cookie and only its SHA-256 is
stored; idle and absolute expiry are enforced here, on every event. The login page never sees
the session token: it gets a one-time ticket that the cookie route exchanges for a new session.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from billing_app.db.models import (
    AuthSession,
    Installation,
    LoginThrottle,
    LoginTicket,
    PasswordReset,
    StaffUser,
)
from billing_app.domain.permissions import BuiltinRole
from billing_app.services import audit
from billing_app.services.audit import Actor
from billing_app.services.clock import Clock, system_clock
from billing_app.services.errors import Conflict, ValidationFailed
from billing_app.services.identity import (
    CurrentUser,
    current_user_from,
    normalize_email,
)
from billing_app.services.outbox import enqueue_email
from billing_app.services.passwords import check_password
from billing_app.services.secrets_util import (
    hash_password,
    needs_rehash,
    new_token,
    token_digest,
    verify_password,
)
from billing_app.settings import Settings, get_settings

LOGIN_TICKET_TTL = timedelta(seconds=60)
MFA_TICKET_TTL = timedelta(minutes=5)
RESET_TTL = timedelta(hours=1)
TOUCH_EVERY = timedelta(seconds=60)
BAD_CREDENTIALS = "Email or password is incorrect."
RESET_INVALID = "This reset link is not valid or was already used. Ask for a new one."
RESET_EXPIRED = "This reset link has expired. Ask for a new one."


def clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        msg = "Enter your name."
        raise ValidationFailed(msg, field="name")
    if len(name) > 200:
        msg = "Use at most 200 characters."
        raise ValidationFailed(msg, field="name")
    return name


def setup_required(session: Session) -> bool:
    """True until the first owner exists."""
    return session.get(Installation, 1) is None


def create_owner(
    session: Session,
    *,
    name: str,
    email: str,
    password: str,
    ip: str = "",
    clock: Clock = system_clock,
) -> int:
    """Create the first account, the owner. Refused for good once any owner exists."""
    if not setup_required(session):
        msg = "This installation is already set up. Sign in instead."
        raise Conflict(msg)
    name = clean_name(name)
    email = normalize_email(email)
    check_password(password, email=email, name=name)
    now = clock.now()
    user = StaffUser(
        email=email,
        name=name,
        password_hash=hash_password(password),
        role_key=BuiltinRole.OWNER.value,
        created_at=now,
    )
    session.add(user)
    try:
        session.flush()
        assert user.id is not None
        session.add(Installation(id=1, owner_id=user.id, created_at=now))
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        msg = "This installation is already set up. Sign in instead."
        raise Conflict(msg) from exc
    audit.record(
        session, "setup.owner_created", Actor(user.id, email, ip), target=email, clock=clock
    )
    return user.id


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a sign-in attempt: a one-time ticket, a second-factor step to complete
    (``mfa_ticket``), or a message to show."""

    ticket: str | None = None
    error: str | None = None
    mfa_ticket: str | None = None


def _lockout_message(minutes: int) -> str:
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Too many failed sign-in attempts. Try again in {minutes} {unit}, or reset your password."
    )


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    ip: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> LoginOutcome:
    """Check credentials; on success return a one-time login ticket.

    Failures are counted per email address whether or not it belongs to an account, so the
    answers (and the lockout) are the same for registered and unknown addresses. The caller
    must commit even when the outcome is an error: the failure count is part of it.
    """
    settings = settings or get_settings()
    now = clock.now()
    key = " ".join(email.split()).lower()[:320]
    if not key or not password:
        return LoginOutcome(error=BAD_CREDENTIALS)
    throttle = session.get(LoginThrottle, key)
    if throttle and throttle.locked_until and throttle.locked_until > now:
        minutes = max(1, math.ceil((throttle.locked_until - now).total_seconds() / 60))
        audit.record(session, "login.throttled", Actor(None, key, ip), target=key, clock=clock)
        return LoginOutcome(error=_lockout_message(minutes))
    user = session.exec(select(StaffUser).where(col(StaffUser.email) == key)).first()
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.is_active:
        throttle = throttle or LoginThrottle(email=key, failures=0)
        throttle.failures += 1
        throttle.last_failure_at = now
        error = BAD_CREDENTIALS
        if throttle.failures >= settings.login_max_failures:
            throttle.failures = 0
            throttle.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            error = _lockout_message(settings.login_lockout_minutes)
        session.add(throttle)
        reason = "unknown email" if user is None else "inactive" if password_ok else "password"
        audit.record(
            session,
            "login.failed",
            Actor(user.id if user else None, key, ip),
            target=key,
            details=f"reason: {reason}",
            clock=clock,
        )
        return LoginOutcome(error=error)
    if throttle is not None:
        session.delete(throttle)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    assert user.id is not None
    if user.totp_secret:
        # The password is right; the second factor is still to come (a reset never skips it).
        return LoginOutcome(
            mfa_ticket=issue_ticket(session, user.id, ip=ip, clock=clock, stage="mfa")
        )
    return LoginOutcome(ticket=issue_ticket(session, user.id, ip=ip, clock=clock))


def issue_ticket(
    session: Session,
    user_id: int,
    *,
    ip: str = "",
    clock: Clock = system_clock,
    stage: str = "login",
) -> str:
    """A one-time ticket for a user who just proved who they are (password, invitation).

    ``login`` tickets are exchanged for a session cookie within a minute; ``mfa`` tickets
    stand for a correct password while the second factor is asked (five minutes)."""
    ticket = new_token()
    session.add(
        LoginTicket(
            ticket_hash=token_digest(ticket),
            user_id=user_id,
            expires_at=clock.now() + (MFA_TICKET_TTL if stage == "mfa" else LOGIN_TICKET_TTL),
            ip=ip[:64],
            stage=stage,
        )
    )
    return ticket


def consume_ticket(
    session: Session, ticket: str, *, stage: str, clock: Clock = system_clock
) -> int | None:
    """Use a ticket once; returns its user id, or None if unknown, used, expired or of
    another stage. Of two concurrent uses only one succeeds."""
    now = clock.now()
    result = session.execute(
        sa.update(LoginTicket)
        .where(col(LoginTicket.ticket_hash) == token_digest(ticket))
        .where(col(LoginTicket.stage) == stage)
        .where(col(LoginTicket.used_at).is_(None))
        .where(col(LoginTicket.expires_at) > now)
        .values(used_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.exec(
        select(LoginTicket.user_id).where(col(LoginTicket.ticket_hash) == token_digest(ticket))
    ).one()


def redeem_ticket(
    session: Session,
    ticket: str,
    *,
    ip: str = "",
    user_agent: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> str | None:
    """Exchange a login ticket for a brand-new session token (None if invalid or used)."""
    settings = settings or get_settings()
    now = clock.now()
    user_id = consume_ticket(session, ticket, stage="login", clock=clock)
    if user_id is None:
        return None
    user = session.get(StaffUser, user_id)
    if user is None or not user.is_active:
        return None
    token = new_token()
    session.add(
        AuthSession(
            token_hash=token_digest(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_absolute_hours),
            ip=ip[:64],
            user_agent=user_agent[:300],
        )
    )
    user.last_login_at = now
    session.add(user)
    audit.record(
        session, "login.succeeded", Actor(user.id, user.email, ip), target=user.email, clock=clock
    )
    return token


def resolve_session(
    session: Session,
    token: str | None,
    *,
    ip: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> CurrentUser | None:
    """The signed-in user for a session token, or None when it is missing, revoked, expired
    (idle or absolute), or its user is deactivated. Checked on every event."""
    if not token:
        return None
    settings = settings or get_settings()
    now = clock.now()
    row = session.exec(
        select(AuthSession).where(col(AuthSession.token_hash) == token_digest(token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
        return None
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.is_active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return current_user_from(session, user, ip=ip)


def logout(
    session: Session, token: str | None, *, ip: str = "", clock: Clock = system_clock
) -> None:
    """End the session of this token (no-op if unknown)."""
    if not token:
        return
    row = session.exec(
        select(AuthSession).where(col(AuthSession.token_hash) == token_digest(token))
    ).first()
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = clock.now()
    session.add(row)
    user = session.get(StaffUser, row.user_id)
    label = user.email if user else ""
    audit.record(session, "logout", Actor(row.user_id, label, ip), target=label, clock=clock)


def revoke_sessions(
    session: Session, user_id: int, *, except_token: str | None = None, clock: Clock = system_clock
) -> int:
    """End every open session of a user (but the one given); returns how many."""
    query = (
        sa.update(AuthSession)
        .where(col(AuthSession.user_id) == user_id)
        .where(col(AuthSession.revoked_at).is_(None))
    )
    if except_token:
        query = query.where(col(AuthSession.token_hash) != token_digest(except_token))
    result = session.execute(query.values(revoked_at=clock.now()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def request_password_reset(
    session: Session,
    *,
    email: str,
    ip: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> None:
    """Email a single-use reset link if the address belongs to an active account.

    The caller shows the same answer either way (no account enumeration)."""
    settings = settings or get_settings()
    key = " ".join(email.split()).lower()
    user = session.exec(select(StaffUser).where(col(StaffUser.email) == key)).first()
    audit.record(
        session,
        "password_reset.requested",
        Actor(user.id if user else None, key[:320], ip),
        target=key[:320],
        details="" if user and user.is_active else "no active account",
        clock=clock,
    )
    if user is None or not user.is_active:
        return
    now = clock.now()
    token = new_token()
    assert user.id is not None
    session.add(
        PasswordReset(
            token_hash=token_digest(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + RESET_TTL,
        )
    )
    enqueue_email(
        session,
        "password_reset",
        user.email,
        {
            "name": user.name,
            "reset_url": f"{settings.public_base_url}/reset-password?token={token}",
            "expires_minutes": int(RESET_TTL.total_seconds() // 60),
        },
        clock=clock,
        settings=settings,
    )


def _valid_reset(session: Session, token: str, clock: Clock) -> PasswordReset:
    row = session.exec(
        select(PasswordReset).where(col(PasswordReset.token_hash) == token_digest(token))
    ).first()
    if row is None or row.used_at is not None:
        raise ValidationFailed(RESET_INVALID, field="token")
    if row.expires_at <= clock.now():
        raise ValidationFailed(RESET_EXPIRED, field="token")
    return row


def check_reset_token(session: Session, token: str, *, clock: Clock = system_clock) -> str:
    """The email the reset link is for; ValidationFailed if it cannot be used."""
    row = _valid_reset(session, token, clock)
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.is_active:
        raise ValidationFailed(RESET_INVALID, field="token")
    return user.email


def reset_password(
    session: Session,
    *,
    token: str,
    password: str,
    ip: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> None:
    """Set a new password from a reset link; ends every session and lifts the sign-in lockout."""
    row = _valid_reset(session, token, clock)
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.is_active:
        raise ValidationFailed(RESET_INVALID, field="token")
    check_password(password, email=user.email, name=user.name)
    now = clock.now()
    claimed = session.execute(
        sa.update(PasswordReset)
        .where(col(PasswordReset.id) == row.id)
        .where(col(PasswordReset.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ValidationFailed(RESET_INVALID, field="token")
    user.password_hash = hash_password(password)
    session.add(user)
    assert user.id is not None
    revoke_sessions(session, user.id, clock=clock)
    session.execute(sa.delete(LoginThrottle).where(col(LoginThrottle.email) == user.email))
    audit.record(
        session,
        "password_reset.completed",
        Actor(user.id, user.email, ip),
        target=user.email,
        clock=clock,
    )
    enqueue_email(
        session, "password_changed", user.email, {"name": user.name}, clock=clock, settings=settings
    )


def count_active_sessions(session: Session, user_id: int, *, clock: Clock = system_clock) -> int:
    return session.exec(
        select(func.count())
        .select_from(AuthSession)
        .where(col(AuthSession.user_id) == user_id)
        .where(col(AuthSession.revoked_at).is_(None))
        .where(col(AuthSession.expires_at) > clock.now())
    ).one()
