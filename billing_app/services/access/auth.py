"""Staff authentication: first-run setup, sign-in with throttling, sessions, password reset.

Sessions (docs/architecture.md): a random token goes into an HttpOnly cookie and only its SHA-256 is
stored; idle and absolute expiry are enforced here, on every event. The login page never sees
the session token: it gets a one-time ticket that the cookie route exchanges for a new session.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from billing_app.db.models import (
    AuthSession,
    Installation,
    LoginTicket,
    StaffUser,
)
from billing_app.domain.permissions import BuiltinRole
from billing_app.domain.throttle import after_failure, is_locked, lock_remaining
from billing_app.services.access import throttling
from billing_app.services.access.identity import (
    CurrentUser,
    current_user_from,
    normalize_email,
)
from billing_app.services.access.passwords import check_new_password
from billing_app.services.common import audit
from billing_app.services.common.audit import Actor
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, FieldChecks, ValidationFailed
from billing_app.services.common.tokens import (
    hash_password,
    needs_rehash,
    new_token,
    token_digest,
    verify_password,
)
from billing_app.settings import Settings, get_settings

LOGIN_TICKET_TTL = timedelta(seconds=60)


MFA_TICKET_TTL = timedelta(minutes=5)


TOUCH_EVERY = timedelta(seconds=60)


BAD_CREDENTIALS = "Email or password is incorrect."


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
    confirm: str | None = None,
    ip: str = "",
    clock: Clock = system_clock,
) -> int:
    """Create the first account, the owner. Refused for good once any owner exists.
    ``confirm`` is the password typed again (None when not asked); every field's problem is
    reported at once."""
    if not setup_required(session):
        msg = "This installation is already set up. Sign in instead."
        raise Conflict(msg)
    checks = FieldChecks()
    name = checks.value("name", "", clean_name, name)
    email = checks.value("email", "", normalize_email, email)
    check_new_password(checks, password, confirm, email=email, name=name)
    checks.raise_if_failed()
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
    (``mfa_ticket_id``), or a message to show."""

    ticket: str | None = None
    error: str | None = None
    mfa_ticket_id: int | None = None


def _minutes(left: timedelta) -> int:
    return max(1, math.ceil(left.total_seconds() / 60))


def _lockout_message(minutes: int) -> str:
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Too many failed sign-in attempts. Try again in {minutes} {unit}, or reset your password."
    )


def _address_message(minutes: int) -> str:
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed sign-in attempts from your network. Try again in {minutes} {unit}."


def typed_address_label(typed: str) -> str:
    """How the audit log names an address typed into a form that matches no account: never
    the text itself (people type passwords into the email field), only a short digest that
    lets repeated attempts be told apart."""
    digest = hashlib.sha256(" ".join(typed.split()).lower().encode("utf-8")).hexdigest()
    return f"unknown address #{digest[:10]}"


def browser_digest(browser_id: str) -> str:
    """What a ticket stores of the browser cookie of the browser that asked for it."""
    return token_digest(browser_id) if browser_id else ""


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    ip: str = "",
    browser: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> LoginOutcome:
    """Check credentials; on success return a one-time login ticket bound to ``browser``
    (the value of the browser cookie of the page that signs in).

    Failures are counted per account key whether or not an account has the address, per
    client address, and for the whole app, so the answers (and the lockout) are the same for
    registered and unknown addresses. The caller must commit even when the outcome is an
    error: the failure counts are part of it.
    """
    settings = settings or get_settings()
    now = clock.now()
    if not email.strip() or not password:
        return LoginOutcome(error=BAD_CREDENTIALS)
    account_key = throttling.account_key(email)
    address_key = throttling.address_key(ip)
    account_policy = throttling.account_policy(settings)
    global_policy = throttling.global_policy(settings)
    flood = throttling.load(session, throttling.GLOBAL_KEY, global_policy, now)
    address_policy = throttling.address_policy(settings, under_attack=is_locked(flood, now))
    account = throttling.load(session, account_key, account_policy, now)
    address = throttling.load(session, address_key, address_policy, now)
    user = session.exec(
        select(StaffUser).where(col(StaffUser.email) == " ".join(email.split()).lower())
    ).first()
    label = user.email if user else typed_address_label(email)
    if is_locked(address, now) or is_locked(account, now):
        audit.record(session, "login.throttled", Actor(None, label, ip), target=label, clock=clock)
        if is_locked(address, now):
            return LoginOutcome(error=_address_message(_minutes(lock_remaining(address, now))))
        return LoginOutcome(error=_lockout_message(_minutes(lock_remaining(account, now))))
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.is_active:
        account = after_failure(account, account_policy, now)
        address = after_failure(address, address_policy, now)
        throttling.save(session, account_key, account)
        throttling.save(session, address_key, address)
        throttling.save(session, throttling.GLOBAL_KEY, after_failure(flood, global_policy, now))
        error = BAD_CREDENTIALS
        if is_locked(account, now):
            error = _lockout_message(_minutes(lock_remaining(account, now)))
        elif is_locked(address, now):
            error = _address_message(_minutes(lock_remaining(address, now)))
        reason = "unknown email" if user is None else "inactive" if password_ok else "password"
        audit.record(
            session,
            "login.failed",
            Actor(user.id if user else None, label, ip),
            target=label,
            details=f"reason: {reason}",
            clock=clock,
        )
        return LoginOutcome(error=error)
    throttling.clear(session, account_key)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    assert user.id is not None
    if user.totp_secret:
        # The password is right; the second factor is still to come (a reset never skips it).
        return LoginOutcome(
            mfa_ticket_id=issue_mfa_ticket(session, user.id, ip=ip, browser=browser, clock=clock)
        )
    return LoginOutcome(ticket=issue_ticket(session, user.id, ip=ip, browser=browser, clock=clock))


def _new_ticket_row(
    session: Session, user_id: int, *, ip: str, browser: str, clock: Clock, stage: str
) -> tuple[str, LoginTicket]:
    ticket = new_token()
    row = LoginTicket(
        ticket_hash=token_digest(ticket),
        user_id=user_id,
        expires_at=clock.now() + (MFA_TICKET_TTL if stage == "mfa" else LOGIN_TICKET_TTL),
        ip=ip[:64],
        stage=stage,
        browser_hash=browser_digest(browser),
    )
    session.add(row)
    session.flush()
    return ticket, row


def issue_ticket(
    session: Session,
    user_id: int,
    *,
    ip: str = "",
    browser: str = "",
    clock: Clock = system_clock,
) -> str:
    """A one-time ticket for a user who just proved who they are (password, second factor,
    invitation), exchanged for a session cookie within a minute by the browser that asked
    for it (``browser``: its browser cookie)."""
    ticket, _ = _new_ticket_row(
        session, user_id, ip=ip, browser=browser, clock=clock, stage="login"
    )
    return ticket


def issue_mfa_ticket(
    session: Session,
    user_id: int,
    *,
    ip: str = "",
    browser: str = "",
    clock: Clock = system_clock,
) -> int:
    """A ticket standing for a correct password while the second factor is asked (five
    minutes). The page keeps only its id: it is worth nothing without the browser cookie
    of the browser that typed the password."""
    _, row = _new_ticket_row(session, user_id, ip=ip, browser=browser, clock=clock, stage="mfa")
    assert row.id is not None
    return row.id


def _claim_ticket(
    session: Session, condition: sa.ColumnElement[bool], *, stage: str, browser: str, now: datetime
) -> int | None:
    """Use a ticket once; returns its user id, or None if unknown, used, expired, of another
    stage or asked for by another browser. Of two concurrent uses only one succeeds."""
    binding = browser_digest(browser)
    if not binding:
        return None
    result = session.execute(
        sa.update(LoginTicket)
        .where(condition)
        .where(col(LoginTicket.stage) == stage)
        .where(col(LoginTicket.used_at).is_(None))
        .where(col(LoginTicket.expires_at) > now)
        .where(col(LoginTicket.browser_hash) == binding)
        .values(used_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.exec(select(LoginTicket.user_id).where(condition)).one()


def consume_ticket(
    session: Session, ticket: str, *, browser: str, clock: Clock = system_clock
) -> int | None:
    """Use a login ticket once, from the browser it was issued to."""
    return _claim_ticket(
        session,
        col(LoginTicket.ticket_hash) == token_digest(ticket),
        stage="login",
        browser=browser,
        now=clock.now(),
    )


def consume_mfa_ticket(
    session: Session, ticket_id: int, *, browser: str, clock: Clock = system_clock
) -> int | None:
    """Use a second-factor ticket once, from the browser it was issued to."""
    return _claim_ticket(
        session, col(LoginTicket.id) == ticket_id, stage="mfa", browser=browser, now=clock.now()
    )


def pending_mfa_ticket(
    session: Session, ticket_id: int, *, browser: str, clock: Clock = system_clock
) -> LoginTicket | None:
    """The second-factor ticket if it can still be used from this browser."""
    row = session.get(LoginTicket, ticket_id) if ticket_id else None
    if (
        row is None
        or row.stage != "mfa"
        or row.used_at is not None
        or row.expires_at <= clock.now()
        or not browser
        or row.browser_hash != browser_digest(browser)
    ):
        return None
    return row


def redeem_ticket(
    session: Session,
    ticket: str,
    *,
    browser: str,
    ip: str = "",
    user_agent: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> str | None:
    """Exchange a login ticket for a brand-new session token (None if invalid, used, or
    presented by another browser than the one it was issued to)."""
    settings = settings or get_settings()
    now = clock.now()
    user_id = consume_ticket(session, ticket, browser=browser, clock=clock)
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
    return current_user_from(session, user, ip=ip, session_id=row.id)


def logout(
    session: Session, token: str | None, *, ip: str = "", clock: Clock = system_clock
) -> None:
    """End the session of this cookie token (no-op if unknown)."""
    if not token:
        return
    row = session.exec(
        select(AuthSession).where(col(AuthSession.token_hash) == token_digest(token))
    ).first()
    if row is not None and row.id is not None:
        end_session(session, row.id, ip=ip, clock=clock)


def end_session(
    session: Session, session_id: int, *, ip: str = "", clock: Clock = system_clock
) -> None:
    """Sign out: revoke one session (no-op if unknown or already ended)."""
    row = session.get(AuthSession, session_id)
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = clock.now()
    session.add(row)
    user = session.get(StaffUser, row.user_id)
    label = user.email if user else ""
    audit.record(session, "logout", Actor(row.user_id, label, ip), target=label, clock=clock)


def revoke_sessions(
    session: Session,
    user_id: int,
    *,
    except_session_id: int | None = None,
    clock: Clock = system_clock,
) -> int:
    """End every open session of a user (but the one given); returns how many."""
    query = (
        sa.update(AuthSession)
        .where(col(AuthSession.user_id) == user_id)
        .where(col(AuthSession.revoked_at).is_(None))
    )
    if except_session_id is not None:
        query = query.where(col(AuthSession.id) != except_session_id)
    result = session.execute(query.values(revoked_at=clock.now()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def count_active_sessions(session: Session, user_id: int, *, clock: Clock = system_clock) -> int:
    return session.exec(
        select(func.count())
        .select_from(AuthSession)
        .where(col(AuthSession.user_id) == user_id)
        .where(col(AuthSession.revoked_at).is_(None))
        .where(col(AuthSession.expires_at) > clock.now())
    ).one()
