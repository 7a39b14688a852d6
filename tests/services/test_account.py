"""A staff member's own account: password change and two-factor authentication
(docs/security.md items 13, 14, 15, 16, 19, 20)."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlmodel import Session, col, select

from billing_app.adapters import crypto
from billing_app.db.models import AuthSession, OutboxEmail, RecoveryCode, StaffUser
from billing_app.services.access import account, auth, password_reset, throttling
from billing_app.services.access.identity import CurrentUser, current_user_from
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, ValidationFailed
from billing_app.services.common.tokens import token_digest
from billing_app.settings import Settings
from tests.support import BROWSER, delivered_token

from .test_auth import PASSWORD, make_owner, request_reset, sign_in


def sid(session: Session, token: str) -> int | None:
    """The session id of a session cookie token."""
    return session.exec(
        select(AuthSession.id).where(col(AuthSession.token_hash) == token_digest(token))
    ).one()


def me(session: Session, user_id: int) -> CurrentUser:
    user = session.get(StaffUser, user_id)
    assert user is not None
    return current_user_from(session, user)


def enable_2fa(session: Session, clock: FixedClock, user_id: int) -> tuple[str, list[str]]:
    setup = account.begin_totp_setup(session, me(session, user_id))
    session.commit()
    assert setup.qr_svg_data_uri.startswith("data:image/svg+xml")
    assert "otpauth://totp/" in setup.uri
    code = pyotp.TOTP(setup.secret).at(clock.now())
    codes = account.confirm_totp(
        session, me(session, user_id), code=code, current_password=PASSWORD, clock=clock
    )
    session.commit()
    return setup.secret, codes


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = make_owner(session, clock)
    here = sign_in(session, clock, settings, "owner@agency.test", PASSWORD)
    elsewhere = sign_in(session, clock, settings, "owner@agency.test", PASSWORD)
    with pytest.raises(ValidationFailed, match="current password is not right") as exc:
        account.change_password(
            session,
            me(session, user_id),
            current_password="guess",
            new_password="a new long passphrase",
            keep_session_id=sid(session, here),
            clock=clock,
        )
    assert exc.value.field == "current_password"
    session.rollback()
    with pytest.raises(ValidationFailed, match="too common"):
        account.change_password(
            session,
            me(session, user_id),
            current_password=PASSWORD,
            new_password="password1",
            keep_session_id=sid(session, here),
            clock=clock,
        )
    session.rollback()
    ended = account.change_password(
        session,
        me(session, user_id),
        current_password=PASSWORD,
        new_password="a new long passphrase",
        keep_session_id=sid(session, here),
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert ended == 1
    assert auth.resolve_session(session, here, clock=clock, settings=settings) is not None
    assert auth.resolve_session(session, elsewhere, clock=clock, settings=settings) is None
    notice = session.exec(
        select(OutboxEmail).where(col(OutboxEmail.kind) == "account_changed")
    ).one()
    assert "password was changed" in notice.body_text


def test_two_factor_sign_in_with_replay_refused(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = make_owner(session, clock)
    secret, codes = enable_2fa(session, clock, user_id)
    assert len(codes) == 10 and all(re.fullmatch(r"[0-9a-f]{5}-[0-9a-f]{5}", c) for c in codes)
    stored = session.exec(select(RecoveryCode.code_hash)).all()
    assert not set(codes) & set(stored), "recovery codes are stored hashed"

    outcome = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert outcome.ticket is None and outcome.mfa_ticket_id
    clock.advance(seconds=30)
    code = pyotp.TOTP(secret).at(clock.now())
    done = account.complete_second_factor(
        session, mfa_ticket_id=outcome.mfa_ticket_id, browser=BROWSER, code=code, clock=clock
    )
    session.commit()
    assert done.ticket and auth.redeem_ticket(
        session, done.ticket, browser=BROWSER, clock=clock, settings=settings
    )
    # The same code again, within its window, is refused.
    again = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert again.mfa_ticket_id
    replay = account.complete_second_factor(
        session, mfa_ticket_id=again.mfa_ticket_id, browser=BROWSER, code=code, clock=clock
    )
    assert replay.ticket is None and replay.error is not None and "already used" in replay.error
    # A recovery code works once.
    ok = account.complete_second_factor(
        session, mfa_ticket_id=again.mfa_ticket_id, browser=BROWSER, code=codes[0], clock=clock
    )
    session.commit()
    assert ok.ticket
    third = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert third.mfa_ticket_id
    reused = account.complete_second_factor(
        session, mfa_ticket_id=third.mfa_ticket_id, browser=BROWSER, code=codes[0], clock=clock
    )
    assert reused.ticket is None
    assert account.recovery_codes_left(session, me(session, user_id)) == 9


def test_wrong_codes_are_throttled_and_tickets_expire(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = make_owner(session, clock)
    secret, _ = enable_2fa(session, clock, user_id)
    outcome = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert outcome.mfa_ticket_id
    for _ in range(throttling.SECOND_FACTOR_POLICY.threshold):
        result = account.complete_second_factor(
            session,
            mfa_ticket_id=outcome.mfa_ticket_id,
            browser=BROWSER,
            code="000000",
            clock=clock,
        )
        session.commit()
    assert result.error == "Too many wrong codes. Try again in 15 minutes."
    clock.advance(seconds=60)
    right = pyotp.TOTP(secret).at(clock.now())
    locked = account.complete_second_factor(
        session, mfa_ticket_id=outcome.mfa_ticket_id, browser=BROWSER, code=right, clock=clock
    )
    assert locked.ticket is None
    clock.advance(minutes=5)
    expired = account.complete_second_factor(
        session,
        mfa_ticket_id=outcome.mfa_ticket_id,
        browser=BROWSER,
        code=pyotp.TOTP(secret).at(clock.now()),
        clock=clock,
    )
    assert expired.error == account.MFA_EXPIRED


def test_a_password_reset_does_not_bypass_two_factor(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = make_owner(session, clock)
    enable_2fa(session, clock, user_id)
    request_reset(session, clock, settings, "owner@agency.test")
    token = delivered_token(session, "owner@agency.test", "/reset-password", settings, clock)
    password_reset.reset_password(
        session,
        token=token,
        password="fresh long passphrase",
        clock=clock,
        settings=settings,
    )
    session.commit()
    outcome = auth.authenticate(
        session,
        email="owner@agency.test",
        password="fresh long passphrase",
        clock=clock,
        settings=settings,
    )
    assert outcome.ticket is None and outcome.mfa_ticket_id


def test_turning_two_factor_off_needs_the_password(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = make_owner(session, clock)
    enable_2fa(session, clock, user_id)
    with pytest.raises(ValidationFailed, match="current password"):
        account.disable_totp(session, me(session, user_id), current_password="nope", clock=clock)
    session.rollback()
    account.disable_totp(
        session, me(session, user_id), current_password=PASSWORD, clock=clock, settings=settings
    )
    session.commit()
    assert not account.two_factor_enabled(session, me(session, user_id))
    outcome = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    assert outcome.ticket


def test_setting_up_another_app_needs_two_factor_turned_off_first(
    session: Session, clock: FixedClock
) -> None:
    user_id = make_owner(session, clock)
    _, codes = enable_2fa(session, clock, user_id)
    with pytest.raises(Conflict, match="already on"):
        account.begin_totp_setup(session, me(session, user_id))
    session.rollback()
    user = session.get(StaffUser, user_id)
    assert user is not None
    stored = user.totp_secret
    # Nor is a key already waiting confirmed over the one in use.
    other = pyotp.random_base32()
    user.totp_pending_secret = crypto.encrypt(other, purpose=account.TOTP_PURPOSE)
    session.add(user)
    session.commit()
    with pytest.raises(Conflict, match="already on"):
        account.confirm_totp(
            session,
            me(session, user_id),
            code=pyotp.TOTP(other).at(clock.now()),
            current_password=PASSWORD,
            clock=clock,
        )
    session.rollback()
    user = session.get(StaffUser, user_id)
    assert user is not None and user.totp_secret == stored
    assert account.recovery_codes_left(session, me(session, user_id)) == len(codes) == 10


def test_a_wrong_first_code_does_not_turn_two_factor_on(
    session: Session, clock: FixedClock
) -> None:
    user_id = make_owner(session, clock)
    account.begin_totp_setup(session, me(session, user_id))
    with pytest.raises(ValidationFailed, match="code is not right"):
        account.confirm_totp(
            session, me(session, user_id), code="123456", current_password=PASSWORD, clock=clock
        )
    session.rollback()
    assert not account.two_factor_enabled(session, me(session, user_id))


def test_recovery_codes_made_only_of_digits_still_work(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = make_owner(session, clock)
    enable_2fa(session, clock, user_id)
    session.add(
        RecoveryCode(
            user_id=user_id, code_hash=account.token_digest("12345-67890"), created_at=clock.now()
        )
    )
    session.commit()
    outcome = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert outcome.mfa_ticket_id
    done = account.complete_second_factor(
        session,
        mfa_ticket_id=outcome.mfa_ticket_id,
        browser=BROWSER,
        code=" 1234567890 ",
        clock=clock,
    )
    assert done.ticket


def test_changing_the_password_ends_reset_links_sent_before(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = make_owner(session, clock)
    request_reset(session, clock, settings, "owner@agency.test")
    token = delivered_token(session, "owner@agency.test", "/reset-password", settings, clock)
    account.change_password(
        session,
        me(session, user_id),
        current_password=PASSWORD,
        new_password="a new long passphrase",
        keep_session_id=None,
        clock=clock,
        settings=settings,
    )
    session.commit()
    with pytest.raises(ValidationFailed, match="not valid or was already used"):
        password_reset.check_reset_token(session, token, clock=clock)


def test_the_second_factor_step_works_only_in_the_browser_that_typed_the_password(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = make_owner(session, clock)
    secret, _ = enable_2fa(session, clock, user_id)
    outcome = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert outcome.mfa_ticket_id
    clock.advance(seconds=31)
    stolen = account.complete_second_factor(
        session,
        mfa_ticket_id=outcome.mfa_ticket_id,
        browser="another-browser",
        code=pyotp.TOTP(secret).at(clock.now()),
        clock=clock,
    )
    assert stolen.ticket is None and stolen.error == account.MFA_EXPIRED
