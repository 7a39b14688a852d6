"""A client user's password and two-factor sign-in, and the portal's "forgot password"
(docs/security.md items 13-19, 40, 45, 48): branded emails from the brand of the client (or
of the page the reset was asked on) linking to the portal on the brand's domain, links that
work once for an hour and end every session, codes asked after the password, ten single-use
recovery codes, two-factor off only with the password and a code, and the agency's rule that
every client user turns two-factor on."""

from __future__ import annotations

import re

import pyotp
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters import crypto
from billing_app.db.invoicing import AgencySettings
from billing_app.db.models import AuditEvent, OutboxEmail, PasswordReset, PasswordResetRequest
from billing_app.db.portal import (
    PortalPasswordReset,
    PortalRecoveryCode,
    PortalResetRequest,
    PortalUser,
)
from billing_app.services.access import account, portal_auth, secrets_check
from billing_app.services.access.portal_identity import ClientUser
from billing_app.services.agency.portal_brand import PORTAL_PATH
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, ValidationFailed
from billing_app.settings import Settings
from billing_app.ui import routes
from tests.support import BROWSER, deliver, delivered_token

from .test_portal_auth import (
    EMAIL,
    PASSWORD,
    add_brand,
    add_client,
    add_portal_user,
    attempt,
    member_of_two_clients,
    portal_sign_in,
    resolve,
)

RESET_PATH = "/portal/reset-password"


def signed_in(session: Session, clock: FixedClock, settings: Settings) -> tuple[str, ClientUser]:
    token = portal_sign_in(session, clock, settings)
    user = resolve(session, clock, settings, token)
    assert user is not None
    return token, user


def request_reset(
    session: Session,
    clock: FixedClock,
    settings: Settings,
    email: str = EMAIL,
    brand_id: int | None = None,
) -> None:
    """What the portal's page does (queue the request) and what the job then does."""
    portal_auth.request_password_reset(
        session, email=email, ip="10.0.0.9", brand_id=brand_id, clock=clock
    )
    session.commit()
    portal_auth.answer_reset_requests(session, clock=clock, settings=settings)
    session.commit()


def enable_2fa(
    session: Session, clock: FixedClock, user: ClientUser, settings: Settings
) -> tuple[str, list[str]]:
    setup = portal_auth.begin_totp_setup(session, user, settings=settings)
    session.commit()
    assert setup.qr_svg_data_uri.startswith("data:image/svg+xml")
    assert setup.uri.startswith("otpauth://totp/") and "issuer=" in setup.uri
    code = pyotp.TOTP(setup.secret).at(clock.now())
    codes = portal_auth.confirm_totp(
        session, user, code=code, current_password=PASSWORD, clock=clock, settings=settings
    )
    session.commit()
    return setup.secret, codes


def mfa_step(session: Session, clock: FixedClock, settings: Settings) -> int:
    outcome = attempt(session, clock, settings)
    assert outcome.ticket is None and outcome.mfa_ticket_id, "the code comes after the password"
    return outcome.mfa_ticket_id


def test_the_reset_email_carries_the_brand_of_the_request_and_links_to_its_domain(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    nord = add_brand(
        session,
        clock,
        name="Studio Nord",
        sender_name="Studio Nord Billing",
        primary_color="#aa3300",
        email_footer="Studio Nord Oy · Helsinki",
        reply_to="help@studionord.test",
        support_email="support@studionord.test",
        custom_domain="billing.studionord.test",
    )
    plain = add_brand(session, clock, name="Plain Brand", email_footer="Plain footer")
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy", brand_id=plain.id))

    request_reset(session, clock, settings, brand_id=nord.id)
    (mail,) = deliver(session, settings, clock)
    assert mail.to_address == EMAIL
    assert mail.from_name == "Studio Nord Billing" and mail.reply_to == "help@studionord.test"
    assert mail.subject == "Reset your Studio Nord Billing client portal password"
    assert "Studio Nord Oy · Helsinki" in mail.text and "#aa3300" in mail.html
    assert "support@studionord.test" in mail.text
    assert re.search(r"https://billing\.studionord\.test/portal/reset-password\?token=", mail.text)
    assert session.exec(select(PortalPasswordReset.brand_id)).one() == nord.id

    # Without a brand from the page: the client's brand, on the app's own address.
    request_reset(session, clock, settings)
    (plain_mail,) = deliver(session, settings, clock)
    assert plain_mail.from_name == "Plain Brand" and "Plain footer" in plain_mail.text
    assert "https://billing.agency.test/portal/reset-password?token=" in plain_mail.text
    assert PORTAL_PATH + "/reset-password" == routes.PORTAL_RESET_PASSWORD == RESET_PATH


def test_portal_reset_link_is_single_use_expires_in_an_hour_and_ends_sessions(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    token, _ = signed_in(session, clock, settings)
    for _ in range(settings.login_max_failures):
        attempt(session, clock, settings, password="wrong")
    request_reset(session, clock, settings)
    link = delivered_token(session, EMAIL, RESET_PATH, settings, clock)
    stored = session.exec(select(OutboxEmail).where(col(OutboxEmail.kind).like("portal_%"))).one()
    assert link not in stored.body_text and link not in stored.body_html
    assert session.exec(select(PasswordReset)).all() == [], "no staff reset"
    assert portal_auth.check_reset_token(session, link, clock=clock) == EMAIL

    portal_auth.reset_password(
        session, token=link, password="a brand new passphrase", clock=clock, settings=settings
    )
    session.commit()
    assert resolve(session, clock, settings, token) is None, "every session ended"
    assert attempt(session, clock, settings, password="a brand new passphrase").ticket, (
        "the lock is lifted"
    )
    with pytest.raises(ValidationFailed, match="not valid or was already used"):
        portal_auth.reset_password(session, token=link, password="yet another passphrase")
    session.rollback()
    kinds = session.exec(select(OutboxEmail.kind).order_by(col(OutboxEmail.id))).all()
    assert kinds == ["portal_password_reset", "portal_password_changed"]
    (changed,) = deliver(session, settings, clock)
    assert "every signed-in session was ended" in changed.text

    request_reset(session, clock, settings)
    late = delivered_token(session, EMAIL, RESET_PATH, settings, clock)
    clock.advance(minutes=61)
    with pytest.raises(ValidationFailed, match="expired"):
        portal_auth.check_reset_token(session, late, clock=clock)
    assert "portal.password_reset.completed" in session.exec(select(AuditEvent.action)).all()


def test_portal_forgot_password_does_the_same_work_for_known_and_unknown_addresses(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    add_portal_user(session, clock, email="former@cafe.test")  # belongs to no client

    def rows() -> dict[str, int]:
        tables = ("portal_reset_request", "portal_password_reset", "outbox_email", "audit_event")
        return {
            table: session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in tables
        }

    before = rows()
    for email in (EMAIL, "nobody@cafe.test", "former@cafe.test"):
        portal_auth.request_password_reset(session, email=email, ip="10.0.0.9", clock=clock)
        session.commit()
    after = rows()
    assert after["portal_reset_request"] == before["portal_reset_request"] + 3
    assert {k: v for k, v in after.items() if k != "portal_reset_request"} == {
        k: v for k, v in before.items() if k != "portal_reset_request"
    }
    assert session.exec(select(PasswordResetRequest)).all() == [], "not a staff request"
    assert portal_auth.answer_reset_requests(session, clock=clock, settings=settings) == 3
    session.commit()
    assert session.exec(select(OutboxEmail.to_address)).all() == [EMAIL]
    assert session.exec(select(PortalResetRequest)).all() == []
    requested = session.exec(
        select(AuditEvent.details).where(
            col(AuditEvent.action) == "portal.password_reset.requested"
        )
    ).all()
    assert requested == ["", "no active account", "no active account"]


def test_portal_reset_requests_are_throttled_per_address(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    for _ in range(15):
        portal_auth.request_password_reset(session, email=EMAIL, ip="6.6.6.6", clock=clock)
        session.commit()
    assert portal_auth.answer_reset_requests(session, clock=clock, settings=settings) == 10
    session.commit()
    assert len(session.exec(select(OutboxEmail)).all()) == 3, "three live links an hour"
    keys = set(session.execute(sa.text("SELECT key FROM auth_throttle")).scalars())
    assert keys == {"portal:reset-address:6.6.6.6"}


def test_changing_the_password_needs_the_current_one_notifies_and_ends_other_sessions(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    nord = add_brand(session, clock, name="Studio Nord", sender_name="Studio Nord Billing")
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy", brand_id=nord.id))
    here, user = signed_in(session, clock, settings)
    elsewhere, _ = signed_in(session, clock, settings)
    request_reset(session, clock, settings)
    link = delivered_token(session, EMAIL, RESET_PATH, settings, clock)
    with pytest.raises(ValidationFailed) as exc:
        portal_auth.change_password(
            session, user, current_password="guess", new_password="password1", clock=clock
        )
    session.rollback()
    assert set(exc.value.errors) == {"current_password", "new_password"}
    ended = portal_auth.change_password(
        session,
        user,
        current_password=PASSWORD,
        new_password="a new long passphrase",
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert ended == 1
    assert resolve(session, clock, settings, here) is not None
    assert resolve(session, clock, settings, elsewhere) is None
    with pytest.raises(ValidationFailed, match="not valid or was already used"):
        portal_auth.check_reset_token(session, link, clock=clock)
    (notice,) = deliver(session, settings, clock)
    assert notice.subject == "Security notice for your Studio Nord Billing client portal account"
    assert notice.from_name == "Studio Nord Billing"
    assert "password was changed" in notice.text
    assert "portal.account.password_changed" in session.exec(select(AuditEvent.action)).all()


def test_two_factor_setup_sign_in_with_a_code_and_a_recovery_code_once(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    _, user = signed_in(session, clock, settings)
    secret, codes = enable_2fa(session, clock, user, settings)
    assert len(codes) == 10 and all(re.fullmatch(r"[0-9a-f]{5}-[0-9a-f]{5}", c) for c in codes)
    assert not set(codes) & set(session.exec(select(PortalRecoveryCode.code_hash)).all())
    stored = session.execute(sa.text("SELECT totp_secret FROM portal_user")).scalar_one()
    assert stored.startswith("v1:") and secret not in stored, "encrypted at rest"
    assert secrets_check.encrypted_sample(session) is not None

    ticket_id = mfa_step(session, clock, settings)
    clock.advance(seconds=30)
    code = pyotp.TOTP(secret).at(clock.now())
    done = portal_auth.complete_second_factor(
        session, mfa_ticket_id=ticket_id, browser=BROWSER, code=code, clock=clock
    )
    session.commit()
    assert done.ticket
    token = portal_auth.redeem_ticket(
        session, done.ticket, browser=BROWSER, clock=clock, settings=settings
    )
    assert token and resolve(session, clock, settings, token) is not None

    again = mfa_step(session, clock, settings)
    replay = portal_auth.complete_second_factor(
        session, mfa_ticket_id=again, browser=BROWSER, code=code, clock=clock
    )
    assert replay.ticket is None and replay.error == account.WRONG_CODE
    stolen = portal_auth.complete_second_factor(
        session, mfa_ticket_id=again, browser="another-browser", code=codes[0], clock=clock
    )
    assert stolen.error == account.MFA_EXPIRED, "only the browser that typed the password"
    ok = portal_auth.complete_second_factor(
        session, mfa_ticket_id=again, browser=BROWSER, code=codes[0], clock=clock
    )
    session.commit()
    assert ok.ticket
    third = mfa_step(session, clock, settings)
    reused = portal_auth.complete_second_factor(
        session, mfa_ticket_id=third, browser=BROWSER, code=codes[0], clock=clock
    )
    assert reused.ticket is None
    assert portal_auth.recovery_codes_left(session, user) == 9
    kinds = session.exec(select(OutboxEmail.kind)).all()
    assert "portal_account_changed" in kinds and "account_changed" not in kinds


def test_wrong_codes_are_throttled_per_portal_account(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    _, user = signed_in(session, clock, settings)
    secret, _ = enable_2fa(session, clock, user, settings)
    ticket_id = mfa_step(session, clock, settings)
    for _ in range(5):
        result = portal_auth.complete_second_factor(
            session, mfa_ticket_id=ticket_id, browser=BROWSER, code="000000", clock=clock
        )
        session.commit()
    assert result.error == "Too many wrong codes. Try again in 15 minutes."
    clock.advance(seconds=60)
    locked = portal_auth.complete_second_factor(
        session,
        mfa_ticket_id=ticket_id,
        browser=BROWSER,
        code=pyotp.TOTP(secret).at(clock.now()),
        clock=clock,
    )
    assert locked.ticket is None
    keys = set(session.execute(sa.text("SELECT key FROM auth_throttle")).scalars())
    assert f"portal:2fa:{user_id}" in keys


def test_turning_two_factor_off_needs_the_password_and_a_code(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    _, user = signed_in(session, clock, settings)
    secret, codes = enable_2fa(session, clock, user, settings)
    with pytest.raises(ValidationFailed) as exc:
        portal_auth.disable_totp(session, user, current_password="nope", code="123456")
    session.rollback()
    assert set(exc.value.errors) == {"current_password", "code"}
    with pytest.raises(ValidationFailed) as exc:
        portal_auth.disable_totp(session, user, current_password=PASSWORD, clock=clock)
    session.rollback()
    assert set(exc.value.errors) == {"code"}
    assert portal_auth.two_factor_enabled(session, user)
    clock.advance(seconds=30)
    portal_auth.disable_totp(
        session,
        user,
        current_password=PASSWORD,
        code=pyotp.TOTP(secret).at(clock.now()),
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert not portal_auth.two_factor_enabled(session, user)
    assert session.exec(select(PortalRecoveryCode)).all() == []
    assert attempt(session, clock, settings).ticket, "the password alone again"

    _, codes = enable_2fa(session, clock, user, settings)
    portal_auth.disable_totp(session, user, current_password=PASSWORD, code=codes[3], clock=clock)
    session.commit()
    assert not portal_auth.two_factor_enabled(session, user), "a recovery code works too"


def test_the_authenticator_cannot_be_replaced_without_turning_two_factor_off_first(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    """Setting up another authenticator while two-factor is on would swap the second factor
    with the password alone, skipping the code that turning it off asks for."""
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    _, user = signed_in(session, clock, settings)
    _, codes = enable_2fa(session, clock, user, settings)
    stored = session.execute(sa.text("SELECT totp_secret FROM portal_user")).scalar_one()

    with pytest.raises(Conflict):
        portal_auth.begin_totp_setup(session, user, settings=settings)
    session.rollback()
    # Nor is a key already waiting confirmed over the one in use.
    other = pyotp.random_base32()
    pending = crypto.encrypt(other, purpose=account.TOTP_PURPOSE)
    session.execute(sa.update(PortalUser).values(totp_pending_secret=pending))
    session.commit()
    with pytest.raises(Conflict):
        portal_auth.confirm_totp(
            session,
            user,
            code=pyotp.TOTP(other).at(clock.now()),
            current_password=PASSWORD,
            clock=clock,
            settings=settings,
        )
    session.rollback()
    assert session.execute(sa.text("SELECT totp_secret FROM portal_user")).scalar_one() == stored
    assert portal_auth.recovery_codes_left(session, user) == 10
    ticket_id = mfa_step(session, clock, settings)
    done = portal_auth.complete_second_factor(
        session, mfa_ticket_id=ticket_id, browser=BROWSER, code=codes[0], clock=clock
    )
    assert done.ticket, "the recovery codes shown when it was turned on still work"


def test_the_agency_can_require_two_factor_of_every_client_user(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    _, user = signed_in(session, clock, settings)
    assert not portal_auth.two_factor_setup_required(session, user)
    session.merge(AgencySettings(id=1, client_require_2fa=True, updated_at=clock.now()))
    session.commit()
    assert portal_auth.two_factor_setup_required(session, user)
    enable_2fa(session, clock, user, settings)
    assert not portal_auth.two_factor_setup_required(session, user)
    mfa_step(session, clock, settings)


def test_the_second_factor_keeps_the_client_the_sign_in_asked_for(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    _, zebra, _ = member_of_two_clients(session, clock)
    _, user = signed_in(session, clock, settings)
    secret, _ = enable_2fa(session, clock, user, settings)
    asked = portal_auth.sign_in(
        session, email=EMAIL, password=PASSWORD, browser=BROWSER, client_id=zebra, clock=clock
    )
    session.commit()
    assert asked.mfa_ticket_id
    clock.advance(seconds=30)
    done = portal_auth.complete_second_factor(
        session,
        mfa_ticket_id=asked.mfa_ticket_id,
        browser=BROWSER,
        code=pyotp.TOTP(secret).at(clock.now()),
        clock=clock,
    )
    session.commit()
    assert done.ticket
    token = portal_auth.redeem_ticket(
        session, done.ticket, browser=BROWSER, clock=clock, settings=settings
    )
    session.commit()
    assert token
    looking = resolve(session, clock, settings, token)
    assert looking is not None and looking.client_id == zebra
