"""Forgot password (docs/security.md items 16-18, 40): the page only queues a request (the same
work whatever address it names); a job answers it with a single-use, hour-long link for an
active account; a reset ends every session and lifts the sign-in lock. Links sent before a
reset, a password change or a deactivation stop working.

Either realm (docs/security.md item 45): with ``realm=PORTAL`` a client user's request is
answered with their brand's email (the brand of the page it was asked on) linking to the
portal's reset page, on the brand's custom domain when it has one."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.domain.throttle import after_failure, is_locked
from billing_app.services.access import throttling
from billing_app.services.access.auth import revoke_sessions, typed_address_label
from billing_app.services.access.passwords import check_new_password
from billing_app.services.access.realm_mail import send, sender_of
from billing_app.services.access.realms import STAFF, Realm, ResetRequestRow, ResetRow, UserRow
from billing_app.services.access.sessions import may_sign_in
from billing_app.services.common import audit
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import FieldChecks, ValidationFailed
from billing_app.services.common.outbox import SECRET_PLACEHOLDER
from billing_app.services.common.tokens import (
    hash_password,
    new_token,
    token_digest,
)
from billing_app.services.common.transactions import wake
from billing_app.settings import Settings, get_settings

RESET_TTL = timedelta(hours=1)


# The job answering staff "forgot password" requests (woken once a request is committed).
WAKE_RESET_REQUESTS = STAFF.wake_resets


# At most this many live reset links per account per hour (no mailbox flooding).
RESETS_PER_HOUR = 3


RESET_INVALID = "This reset link is not valid or was already used. Ask for a new one."


RESET_EXPIRED = "This reset link has expired. Ask for a new one."


def revoke_password_resets(
    session: Session, user_id: int, *, clock: Clock = system_clock, realm: Realm = STAFF
) -> int:
    """Make every reset link of a user unusable (after a reset, a password change or a
    deactivation: a link sent before must not work after)."""
    result = session.execute(
        sa.update(realm.reset)
        .where(col(realm.reset.user_id) == user_id)
        .where(col(realm.reset.used_at).is_(None))
        .values(used_at=clock.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def request_password_reset(
    session: Session,
    *,
    email: str,
    ip: str = "",
    clock: Clock = system_clock,
    realm: Realm = STAFF,
    brand_id: int | None = None,
) -> None:
    """Take a "forgot password" request. The page shows the same answer either way, and this
    does the same work for known and unknown addresses (no enumeration by timing): it only
    queues the request, in the caller's transaction; ``answer_reset_requests`` (a job) looks
    the address up. Requests from one client address are throttled (silently). ``brand_id``:
    the brand of the portal page the request was made on (portal only; its email carries it)."""
    now = clock.now()
    key = realm.key(throttling.address_key(ip, "reset"))
    bucket = throttling.load(session, key, throttling.RESET_ADDRESS_POLICY, now)
    throttling.save(session, key, after_failure(bucket, throttling.RESET_ADDRESS_POLICY, now))
    if is_locked(bucket, now):
        return
    typed = " ".join(email.split()).lower()[:320]
    branded = {"brand_id": brand_id} if realm.for_clients else {}
    session.add(realm.reset_request(email=typed, ip=ip[:64], requested_at=now, **branded))
    wake(session, realm.wake_resets)


def answer_reset_requests(
    session: Session,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    limit: int = 100,
    realm: Realm = STAFF,
) -> int:
    """Answer queued reset requests: for an active account, a single-use reset link (its
    token is minted when the email is delivered) and its email, written in the same
    transaction that removes the request. Returns how many requests were answered."""
    settings = settings or get_settings()
    table = realm.reset_request
    requests = session.exec(select(table).order_by(col(table.id)).limit(limit)).all()
    for request in requests:
        _answer_reset_request(session, request, clock=clock, settings=settings, realm=realm)
        session.delete(request)
    return len(requests)


def _answer_reset_request(
    session: Session, request: ResetRequestRow, *, clock: Clock, settings: Settings, realm: Realm
) -> None:
    now = clock.now()
    user = session.exec(select(realm.user).where(col(realm.user.email) == request.email)).first()
    label = user.email if user else typed_address_label(request.email)
    active = user is not None and may_sign_in(session, realm, user)
    recent = 0
    if user is not None and active:
        recent = session.exec(
            select(func.count())
            .select_from(realm.reset)
            .where(col(realm.reset.user_id) == user.id)
            .where(col(realm.reset.created_at) > now - timedelta(hours=1))
        ).one()
    details = "" if active else "no active account"
    if active and recent >= RESETS_PER_HOUR:
        details = "too many requests this hour; no email sent"
    audit.record(
        session,
        realm.action("password_reset.requested"),
        realm.actor(user.id if user else None, label, request.ip),
        target=label,
        details=details,
        clock=clock,
    )
    if user is None or details:
        return
    assert user.id is not None
    # A portal request remembers the brand of the page it was made on (docs/security.md 45).
    sender = sender_of(
        session, realm, user.id, brand_id=getattr(request, "brand_id", None), settings=settings
    )
    reset = realm.reset(
        # Unusable until the email is delivered: delivery mints the token (outbox).
        token_hash=token_digest(new_token()),
        user_id=user.id,
        created_at=now,
        expires_at=now + RESET_TTL,
        **({"brand_id": sender.brand_id} if realm.for_clients else {}),
    )
    session.add(reset)
    session.flush()
    send(
        session,
        realm,
        "password_reset",
        user.email,
        {
            "name": user.name,
            "reset_url": f"{sender.links_base}/reset-password?token={SECRET_PLACEHOLDER}",
            "expires_minutes": int(RESET_TTL.total_seconds() // 60),
        },
        sender=sender,
        clock=clock,
        settings=settings,
        secret=(realm.reset_link, reset.id),
    )


def _valid_reset(session: Session, token: str, clock: Clock, realm: Realm) -> ResetRow:
    row = session.exec(
        select(realm.reset).where(col(realm.reset.token_hash) == token_digest(token))
    ).first()
    if row is None or row.used_at is not None:
        raise ValidationFailed(RESET_INVALID, field="token")
    if row.expires_at <= clock.now():
        raise ValidationFailed(RESET_EXPIRED, field="token")
    return row


def _reset_user(session: Session, row: ResetRow, realm: Realm) -> UserRow:
    user = session.get(realm.user, row.user_id)
    if user is None or not may_sign_in(session, realm, user):
        raise ValidationFailed(RESET_INVALID, field="token")
    return user


def check_reset_token(
    session: Session, token: str, *, clock: Clock = system_clock, realm: Realm = STAFF
) -> str:
    """The email the reset link is for; ValidationFailed if it cannot be used."""
    return _reset_user(session, _valid_reset(session, token, clock, realm), realm).email


def reset_password(
    session: Session,
    *,
    token: str,
    password: str,
    confirm: str | None = None,
    ip: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
    realm: Realm = STAFF,
) -> None:
    """Set a new password from a reset link; ends every session and lifts the sign-in lockout.
    ``confirm`` is the password typed again (None when not asked)."""
    row = _valid_reset(session, token, clock, realm)
    user = _reset_user(session, row, realm)
    checks = FieldChecks()
    check_new_password(checks, password, confirm, email=user.email, name=user.name)
    checks.raise_if_failed()
    now = clock.now()
    claimed = session.execute(
        sa.update(realm.reset)
        .where(col(realm.reset.id) == row.id)
        .where(col(realm.reset.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ValidationFailed(RESET_INVALID, field="token")
    user.password_hash = hash_password(password)
    session.add(user)
    assert user.id is not None
    revoke_sessions(session, user.id, clock=clock, realm=realm)
    revoke_password_resets(session, user.id, clock=clock, realm=realm)
    throttling.clear(session, realm.key(throttling.account_key(user.email)))
    audit.record(
        session,
        realm.action("password_reset.completed"),
        realm.actor(user.id, user.email, ip),
        target=user.email,
        clock=clock,
    )
    sender = sender_of(
        session, realm, user.id, brand_id=getattr(row, "brand_id", None), settings=settings
    )
    send(
        session,
        realm,
        "password_changed",
        user.email,
        {"name": user.name},
        sender=sender,
        clock=clock,
        settings=settings,
    )
