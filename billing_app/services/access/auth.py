"""Authentication: first-run setup, and sign-in with throttling for either realm (staff, or
client users with ``realm=PORTAL``: docs/security.md items 17, 18, 40, 45).

Sessions (docs/architecture.md): a random token goes into an HttpOnly cookie and only its SHA-256 is
stored; idle and absolute expiry are enforced on every event (``sessions``). The login page never
sees the session token: it gets a one-time ticket (``tickets``) that the cookie route exchanges
for a new session. Both are re-exported here, where their callers have always found them.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from billing_app.db.models import Installation, StaffUser
from billing_app.domain.permissions import BuiltinRole
from billing_app.domain.throttle import after_failure, is_locked, lock_remaining
from billing_app.services.access import throttling
from billing_app.services.access.identity import normalize_email
from billing_app.services.access.passwords import check_new_password
from billing_app.services.access.realms import STAFF, Realm
from billing_app.services.access.sessions import (
    TOUCH_EVERY,
    count_active_sessions,
    end_session,
    logout,
    may_sign_in,
    redeem_ticket,
    resolve_session,
    revoke_sessions,
)
from billing_app.services.access.sso_config import password_sign_in_allowed
from billing_app.services.access.tickets import (
    LOGIN_TICKET_TTL,
    MFA_TICKET_TTL,
    browser_digest,
    claim_ticket,
    issue_mfa_ticket,
    issue_ticket,
    pending_mfa_ticket,
)
from billing_app.services.common import audit
from billing_app.services.common.audit import Actor
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, FieldChecks, ValidationFailed
from billing_app.services.common.tokens import (
    hash_password,
    needs_rehash,
    verify_password,
)
from billing_app.settings import Settings, get_settings

__all__ = [
    "BAD_CREDENTIALS",
    "LOGIN_TICKET_TTL",
    "MFA_TICKET_TTL",
    "TOUCH_EVERY",
    "LoginOutcome",
    "authenticate",
    "browser_digest",
    "claim_ticket",
    "clean_name",
    "count_active_sessions",
    "create_owner",
    "end_session",
    "issue_mfa_ticket",
    "issue_ticket",
    "logout",
    "pending_mfa_ticket",
    "redeem_ticket",
    "resolve_session",
    "revoke_sessions",
    "setup_required",
    "typed_address_label",
]


BAD_CREDENTIALS = "Email or password is incorrect."
PASSWORD_SIGN_IN_OFF = (
    'Your agency signs its team in with its identity provider: use the "Sign in with" button.'
)


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


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    ip: str = "",
    browser: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
    realm: Realm = STAFF,
    client_id: int | None = None,
) -> LoginOutcome:
    """Check credentials; on success return a one-time login ticket bound to ``browser``
    (the value of the browser cookie of the page that signs in). ``client_id``: the client a
    portal session opens on (portal only; one of the user's clients, else their first).

    Failures are counted per account key whether or not an account has the address, per
    client address, and for the whole app, so the answers (and the lockout) are the same for
    registered and unknown addresses; each realm has its own counters. A deactivated user,
    or a client user who belongs to no client any more, gets the same answer as a wrong
    password. The caller must commit even when the outcome is an error: the failure counts
    are part of it.
    """
    settings = settings or get_settings()
    now = clock.now()
    if not email.strip() or not password:
        return LoginOutcome(error=BAD_CREDENTIALS)
    account_key = realm.key(throttling.account_key(email))
    address_key = realm.key(throttling.address_key(ip))
    global_key = realm.key(throttling.GLOBAL_KEY)
    account_policy = throttling.account_policy(settings)
    global_policy = throttling.global_policy(settings)
    flood = throttling.load(session, global_key, global_policy, now)
    address_policy = throttling.address_policy(settings, under_attack=is_locked(flood, now))
    account = throttling.load(session, account_key, account_policy, now)
    address = throttling.load(session, address_key, address_policy, now)
    user = session.exec(
        select(realm.user).where(col(realm.user.email) == " ".join(email.split()).lower())
    ).first()
    label = user.email if user else typed_address_label(email)
    if is_locked(address, now) or is_locked(account, now):
        audit.record(
            session,
            realm.action("login.throttled"),
            realm.actor(None, label, ip),
            target=label,
            clock=clock,
        )
        if is_locked(address, now):
            return LoginOutcome(error=_address_message(_minutes(lock_remaining(address, now))))
        return LoginOutcome(error=_lockout_message(_minutes(lock_remaining(account, now))))
    password_ok = verify_password(user.password_hash if user else None, password)
    allowed = user is not None and may_sign_in(session, realm, user)
    if user is None or not password_ok or not allowed:
        account = after_failure(account, account_policy, now)
        address = after_failure(address, address_policy, now)
        throttling.save(session, account_key, account)
        throttling.save(session, address_key, address)
        throttling.save(session, global_key, after_failure(flood, global_policy, now))
        error = BAD_CREDENTIALS
        if is_locked(account, now):
            error = _lockout_message(_minutes(lock_remaining(account, now)))
        elif is_locked(address, now):
            error = _address_message(_minutes(lock_remaining(address, now)))
        reason = "unknown email" if user is None else "inactive" if password_ok else "password"
        if user is not None and password_ok and user.is_active:
            reason = "no client"
        audit.record(
            session,
            realm.action("login.failed"),
            realm.actor(user.id if user else None, label, ip),
            target=label,
            details=f"reason: {reason}",
            clock=clock,
        )
        return LoginOutcome(error=error)
    throttling.clear(session, account_key)
    if realm is STAFF and not password_sign_in_allowed(session, getattr(user, "role_key", "")):
        audit.record(
            session,
            "login.failed",
            realm.actor(user.id, label, ip),
            target=label,
            details="reason: password sign-in is off (single sign-on only)",
            clock=clock,
        )
        return LoginOutcome(error=PASSWORD_SIGN_IN_OFF)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    assert user.id is not None
    # The password is right; with two-factor on, the code is still to come (a reset never
    # skips it).
    issue = issue_mfa_ticket if user.totp_secret else issue_ticket
    issued = issue(
        session, user.id, ip=ip, browser=browser, clock=clock, realm=realm, client_id=client_id
    )
    if isinstance(issued, int):
        return LoginOutcome(mfa_ticket_id=issued)
    return LoginOutcome(ticket=issued)
