"""A person's own account, staff or client user (``realm=PORTAL``): password change,
two-factor authentication (TOTP with a QR code, hashed single-use recovery codes) and their
sessions (docs/security.md items 13-15, 19, 20, 45).

Changing the password or two-factor settings needs the current password, emails the user, and
ends their other sessions (password) or offers to (two-factor). A client user turning
two-factor off also gives a code (their authenticator's, or a recovery code).

TOTP secrets are stored encrypted (docs/security.md item 48): the database holds only what
``adapters.crypto.encrypt`` made of them, and they are decrypted just to check a code."""

from __future__ import annotations

import logging
import math
import re
import secrets
from dataclasses import dataclass
from typing import Protocol

import pyotp
import segno
import sqlalchemy as sa
from pyotp.utils import strings_equal
from sqlmodel import Session, col, func, select

from billing_app.adapters import crypto
from billing_app.domain.throttle import after_failure, is_locked, lock_remaining
from billing_app.i18n import N_, gettext
from billing_app.services.access import throttling
from billing_app.services.access.auth import (
    LoginOutcome,
    claim_ticket,
    count_active_sessions,
    issue_ticket,
    pending_mfa_ticket,
    revoke_sessions,
)
from billing_app.services.access.password_reset import revoke_password_resets
from billing_app.services.access.passwords import check_new_password
from billing_app.services.access.realm_mail import send, sender_of
from billing_app.services.access.realms import STAFF, Realm, UserRow
from billing_app.services.access.sessions import may_sign_in
from billing_app.services.common import audit
from billing_app.services.common.audit import Actor
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, FieldChecks, NotFound, ValidationFailed
from billing_app.services.common.tokens import (
    hash_password,
    token_digest,
    verify_password,
)
from billing_app.settings import Settings

log = logging.getLogger(__name__)

RECOVERY_CODES = 10
TOTP_PURPOSE = "totp"
TOTP_FORMAT = re.compile(r"\d{6}")
RECOVERY_FORMAT = re.compile(r"[0-9a-f]{10}")
MFA_EXPIRED = "Your sign-in took too long. Enter your email and password again."
KEY_MISMATCH = (
    "Codes from your authenticator app cannot be checked right now (the server's secret key "
    "does not match). Use a recovery code, or ask your administrator."
)
WRONG_CODE = "That code is not right, or was already used."
ALREADY_ON = "Two-factor authentication is already on. Turn it off first to use another app."


class AccountHolder(Protocol):
    """Who acts on their own account: a staff member (``CurrentUser``) or a client user
    (``ClientUser``)."""

    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str: ...

    def actor(self) -> Actor: ...


def _user(session: Session, user_id: int, realm: Realm) -> UserRow:
    user = session.get(realm.user, user_id)
    if user is None or not user.is_active:
        msg = "That account does not exist."
        raise NotFound(msg)
    return user


def _check_current_password(user: UserRow, current_password: str) -> None:
    if not verify_password(user.password_hash, current_password):
        msg = "Your current password is not right."
        raise ValidationFailed(msg, field="current_password")


def _notify(
    session: Session,
    realm: Realm,
    actor: AccountHolder,
    user: UserRow,
    what: str,
    clock: Clock,
    settings: Settings | None,
) -> None:
    """Email the user that ``what`` (an English source string marked with N_) happened, in
    their language: English for staff (no language setting yet); for a client user, the
    language and brand of the client their session looks at."""
    assert user.id is not None
    sender = sender_of(
        session, realm, user.id, client_id=getattr(actor, "client_id", None), settings=settings
    )
    send(
        session,
        realm,
        "account_changed",
        user.email,
        {"name": user.name, "change": gettext(what, locale=sender.locale)},
        sender=sender,
        clock=clock,
        settings=settings,
    )


def change_password(
    session: Session,
    actor: AccountHolder,
    *,
    current_password: str,
    new_password: str,
    keep_session_id: int | None,
    confirm: str | None = None,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    realm: Realm = STAFF,
) -> int:
    """Set a new password; ends every other session and every reset link sent before.
    Returns how many sessions were ended. ``confirm`` is the new password typed again (None
    when not asked).

    Every field's problem is reported at once: a wrong current password alongside what the
    password policy finds in the new one, which depends on nothing secret. Whether the new
    password is the current one is only told to someone who gave the current password, so
    the form cannot be used to guess it."""
    user = _user(session, actor.id, realm)
    checks = FieldChecks()
    checks.value("current_password", None, _check_current_password, user, current_password)
    check_new_password(
        checks, new_password, confirm, email=user.email, name=user.name, field="new_password"
    )
    if not checks.failed("current_password", "new_password") and verify_password(
        user.password_hash, new_password
    ):
        checks.add("new_password", "Choose a password different from the current one.")
    checks.raise_if_failed()
    user.password_hash = hash_password(new_password)
    session.add(user)
    ended = revoke_sessions(
        session, actor.id, except_session_id=keep_session_id, clock=clock, realm=realm
    )
    revoke_password_resets(session, actor.id, clock=clock, realm=realm)
    audit.record(
        session,
        realm.action("account.password_changed"),
        actor.actor(),
        target=user.email,
        clock=clock,
    )
    _notify(
        session,
        realm,
        actor,
        user,
        N_("Your password was changed and your other sessions were ended."),
        clock,
        settings,
    )
    return ended


def sign_out_other_sessions(
    session: Session,
    actor: AccountHolder,
    *,
    keep_session_id: int | None,
    clock: Clock = system_clock,
    realm: Realm = STAFF,
) -> int:
    """Sign out everywhere else: end every session of the actor but ``keep_session_id``."""
    ended = revoke_sessions(
        session, actor.id, except_session_id=keep_session_id, clock=clock, realm=realm
    )
    audit.record(
        session,
        realm.action("account.signed_out_others"),
        actor.actor(),
        target=actor.email,
        details=f"{ended} session(s)",
        clock=clock,
    )
    return ended


def other_session_count(
    session: Session,
    actor: AccountHolder,
    keep_session_id: int | None,
    *,
    clock: Clock = system_clock,
    realm: Realm = STAFF,
) -> int:
    return count_active_sessions(
        session, actor.id, except_session_id=keep_session_id, clock=clock, realm=realm
    )


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    uri: str
    qr_svg_data_uri: str


def _refuse_when_on(user: UserRow) -> None:
    if user.totp_secret:
        raise Conflict(ALREADY_ON)


def begin_totp_setup(
    session: Session, actor: AccountHolder, *, issuer: str = "Client Billing", realm: Realm = STAFF
) -> TotpSetup:
    """A new secret to scan; it is only used once confirmed with a code. Refused while
    two-factor is on: another app replaces the second factor only after turning it off (which
    needs a code in the portal), never with the password alone."""
    user = _user(session, actor.id, realm)
    _refuse_when_on(user)
    secret = pyotp.random_base32()
    user.totp_pending_secret = crypto.encrypt(secret, purpose=TOTP_PURPOSE)
    session.add(user)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
    qr = segno.make(uri, error="m")
    return TotpSetup(secret, uri, qr.svg_data_uri(scale=5, border=2))


def _new_recovery_codes(session: Session, user_id: int, clock: Clock, realm: Realm) -> list[str]:
    session.execute(sa.delete(realm.recovery).where(col(realm.recovery.user_id) == user_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)  # 40 bits, shown as xxxxx-xxxxx
        code = f"{raw[:5]}-{raw[5:]}"
        codes.append(code)
        session.add(
            realm.recovery(user_id=user_id, code_hash=token_digest(code), created_at=clock.now())
        )
    return codes


def confirm_totp(
    session: Session,
    actor: AccountHolder,
    *,
    code: str,
    current_password: str,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    realm: Realm = STAFF,
) -> list[str]:
    """Turn two-factor on with a first code; returns the recovery codes (shown once)."""
    user = _user(session, actor.id, realm)
    _refuse_when_on(user)
    checks = FieldChecks()
    checks.value("current_password", None, _check_current_password, user, current_password)
    restart = "Start the setup again: scan a new QR code."
    if not user.totp_pending_secret:
        checks.raise_if_failed()
        raise Conflict(restart)
    try:
        pending = crypto.decrypt(user.totp_pending_secret, purpose=TOTP_PURPOSE)
    except crypto.CryptoError as exc:
        log.error("two-factor setup of user %s: %s", user.id, exc)
        checks.raise_if_failed()
        raise Conflict(restart) from exc
    totp = pyotp.TOTP(pending)
    timecode = 0
    try:
        timecode = totp.verify_and_get_timecode(_digits(code), for_time=clock.now(), valid_window=1)
    except (pyotp.exceptions.OTPVerificationError, ValueError):
        msg = "That code is not right. Check your authenticator app's clock and try again."
        checks.add("code", msg)
    checks.raise_if_failed()
    user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, ""
    user.totp_last_timecode = timecode
    user.totp_enabled_at = clock.now()
    session.add(user)
    codes = _new_recovery_codes(session, actor.id, clock, realm)
    audit.record(
        session, realm.action("account.2fa_enabled"), actor.actor(), target=user.email, clock=clock
    )
    _notify(
        session, realm, actor, user, N_("Two-factor authentication was turned on."), clock, settings
    )
    return codes


def _check_code(session: Session, realm: Realm, user: UserRow, code: str, clock: Clock) -> None:
    """Refuse (on the ``code`` field) a code that is not a fresh one of the user's."""
    try:
        matched = bool(user.totp_secret) and _code_matches(session, realm, user, code, clock)
    except crypto.CryptoError as exc:
        log.error("two-factor code of user %s: %s", user.id, exc)
        raise ValidationFailed(KEY_MISMATCH, field="code") from exc
    if not matched:
        raise ValidationFailed(WRONG_CODE, field="code")


def disable_totp(
    session: Session,
    actor: AccountHolder,
    *,
    current_password: str,
    code: str | None = None,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    realm: Realm = STAFF,
) -> None:
    """Turn two-factor off: needs the current password and, for a client user (or whenever
    ``code`` is given), a code from the authenticator app or a recovery code."""
    user = _user(session, actor.id, realm)
    checks = FieldChecks()
    checks.value("current_password", None, _check_current_password, user, current_password)
    if realm.for_clients or code is not None:
        checks.value("code", None, _check_code, session, realm, user, code or "", clock)
    checks.raise_if_failed()
    user.totp_secret = user.totp_pending_secret = ""
    user.totp_enabled_at = None
    session.add(user)
    session.execute(sa.delete(realm.recovery).where(col(realm.recovery.user_id) == actor.id))
    audit.record(
        session, realm.action("account.2fa_disabled"), actor.actor(), target=user.email, clock=clock
    )
    _notify(
        session,
        realm,
        actor,
        user,
        N_("Two-factor authentication was turned off."),
        clock,
        settings,
    )


def regenerate_recovery_codes(
    session: Session,
    actor: AccountHolder,
    *,
    current_password: str,
    clock: Clock = system_clock,
    realm: Realm = STAFF,
) -> list[str]:
    user = _user(session, actor.id, realm)
    _check_current_password(user, current_password)
    if not user.totp_secret:
        msg = "Turn on two-factor authentication first."
        raise Conflict(msg)
    audit.record(
        session,
        realm.action("account.recovery_codes_renewed"),
        actor.actor(),
        target=user.email,
        clock=clock,
    )
    return _new_recovery_codes(session, actor.id, clock, realm)


def recovery_codes_left(session: Session, actor: AccountHolder, realm: Realm = STAFF) -> int:
    """How many of the actor's own recovery codes are unused."""
    return session.exec(
        select(func.count())
        .select_from(realm.recovery)
        .where(col(realm.recovery.user_id) == actor.id)
        .where(col(realm.recovery.used_at).is_(None))
    ).one()


def _digits(code: str) -> str:
    return "".join(ch for ch in code if ch.isdigit())


def _code_matches(session: Session, realm: Realm, user: UserRow, code: str, clock: Clock) -> bool:
    """A TOTP code not used before (replay refused), or an unused recovery code. Raises
    ``crypto.CryptoError`` when the stored TOTP secret cannot be decrypted."""
    cleaned = "".join(code.split()).lower()
    if TOTP_FORMAT.fullmatch(cleaned):
        digits = cleaned
        secret = crypto.decrypt(user.totp_secret, purpose=TOTP_PURPOSE)
        try:
            timecode = pyotp.TOTP(secret).verify_and_get_timecode(
                digits, for_time=clock.now(), valid_window=1
            )
        except (pyotp.exceptions.OTPVerificationError, ValueError):
            return False
        if timecode <= user.totp_last_timecode:
            return False
        claimed = session.execute(
            sa.update(realm.user)
            .where(col(realm.user.id) == user.id)
            .where(col(realm.user.totp_last_timecode) < timecode)
            .values(totp_last_timecode=timecode)
        )
        return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]
    if RECOVERY_FORMAT.fullmatch(cleaned.replace("-", "")):
        compact = cleaned.replace("-", "")
        cleaned = f"{compact[:5]}-{compact[5:]}"
    else:
        return False
    table = realm.recovery
    for row in session.exec(
        select(table).where(col(table.user_id) == user.id).where(col(table.used_at).is_(None))
    ):
        if strings_equal(row.code_hash, token_digest(cleaned)):
            used = session.execute(
                sa.update(table)
                .where(col(table.id) == row.id)
                .where(col(table.used_at).is_(None))
                .values(used_at=clock.now())
            )
            return bool(used.rowcount == 1)  # type: ignore[attr-defined]
    return False


def complete_second_factor(
    session: Session,
    *,
    mfa_ticket_id: int,
    browser: str,
    code: str,
    ip: str = "",
    clock: Clock = system_clock,
    realm: Realm = STAFF,
) -> LoginOutcome:
    """The second sign-in step: a code for the password already checked in this browser
    (``browser``: its browser cookie). Wrong codes are throttled per account. The caller
    commits even when the outcome is an error."""
    row = pending_mfa_ticket(session, mfa_ticket_id, browser=browser, clock=clock, realm=realm)
    now = clock.now()
    if row is None:
        return LoginOutcome(error=MFA_EXPIRED)
    user = session.get(realm.user, row.user_id)
    if user is None or not may_sign_in(session, realm, user) or not user.totp_secret:
        return LoginOutcome(error=MFA_EXPIRED)
    assert user.id is not None
    key = realm.key(throttling.second_factor_key(user.id))
    policy = throttling.SECOND_FACTOR_POLICY
    bucket = throttling.load(session, key, policy, now)
    if is_locked(bucket, now):
        minutes = max(1, math.ceil(lock_remaining(bucket, now).total_seconds() / 60))
        return LoginOutcome(
            mfa_ticket_id=mfa_ticket_id,
            error=f"Too many wrong codes. Try again in {minutes} minutes.",
        )
    actor = realm.actor(user.id, user.email, ip)
    try:
        matched = _code_matches(session, realm, user, code, clock)
    except crypto.CryptoError as exc:
        # Not the user's fault: no failure is counted (docs/security.md item 48).
        log.error("second factor of user %s: %s", user.id, exc)
        return LoginOutcome(mfa_ticket_id=mfa_ticket_id, error=KEY_MISMATCH)
    if not matched:
        bucket = after_failure(bucket, policy, now)
        throttling.save(session, key, bucket)
        error = WRONG_CODE
        if is_locked(bucket, now):
            minutes = max(1, math.ceil(lock_remaining(bucket, now).total_seconds() / 60))
            error = f"Too many wrong codes. Try again in {minutes} minutes."
        audit.record(
            session, realm.action("login.2fa_failed"), actor, target=user.email, clock=clock
        )
        return LoginOutcome(mfa_ticket_id=mfa_ticket_id, error=error)
    throttling.clear(session, key)
    if claim_ticket(session, mfa_ticket_id, browser=browser, clock=clock, realm=realm) is None:
        return LoginOutcome(error=MFA_EXPIRED)
    # A portal ticket keeps the client to open after sign-in.
    client_id = getattr(row, "client_id", None)
    ticket = issue_ticket(
        session, user.id, ip=ip, browser=browser, clock=clock, realm=realm, client_id=client_id
    )
    return LoginOutcome(ticket=ticket)


def two_factor_enabled(session: Session, actor: AccountHolder, realm: Realm = STAFF) -> bool:
    """Whether the actor's own account has two-factor authentication on."""
    user = session.get(realm.user, actor.id)
    return bool(user and user.totp_secret)
