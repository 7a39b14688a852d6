"""Staff authentication against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from argon2 import extract_parameters
from sqlmodel import Session, col, select

from billing_app.db.models import (
    AuditEvent,
    AuthSession,
    LoginTicket,
    OutboxEmail,
    PasswordReset,
    StaffUser,
)
from billing_app.domain.permissions import Permission
from billing_app.services.access import auth, password_reset
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, ValidationFailed
from billing_app.settings import Settings
from tests.support import BROWSER, deliver, delivered_token

PASSWORD = "correct horse battery"


def request_reset(session: Session, clock: FixedClock, settings: Settings, email: str) -> None:
    """What the page does (queue the request) and what the job then does (answer it)."""
    password_reset.request_password_reset(session, email=email, ip="10.0.0.9", clock=clock)
    session.commit()
    password_reset.answer_reset_requests(session, clock=clock, settings=settings)
    session.commit()


def make_owner(session: Session, clock: FixedClock, email: str = "owner@agency.test") -> int:
    user_id = auth.create_owner(
        session, name="Olivia Owner", email=email, password=PASSWORD, clock=clock
    )
    session.commit()
    return user_id


def sign_in(
    session: Session, clock: FixedClock, settings: Settings, email: str, password: str
) -> str:
    outcome = auth.authenticate(
        session,
        email=email,
        password=password,
        ip="10.0.0.1",
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert outcome.ticket, outcome.error
    token = auth.redeem_ticket(
        session, outcome.ticket, browser=BROWSER, clock=clock, settings=settings
    )
    session.commit()
    assert token
    return token


def actions(session: Session) -> list[str]:
    return list(session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))))


def test_setup_creates_the_owner_once(session: Session, clock: FixedClock) -> None:
    assert auth.setup_required(session)
    user_id = make_owner(session, clock)
    user = session.get(StaffUser, user_id)
    assert user is not None
    assert user.role_key == "owner"
    assert user.email == "owner@agency.test"
    assert not auth.setup_required(session)
    with pytest.raises(Conflict, match="already set up"):
        auth.create_owner(
            session, name="Mallory", email="m@evil.test", password=PASSWORD, clock=clock
        )
    assert actions(session) == ["setup.owner_created"]


def test_password_is_hashed_with_argon2id_at_owasp_strength(
    session: Session, clock: FixedClock
) -> None:
    user = session.get(StaffUser, make_owner(session, clock))
    assert user is not None
    params = extract_parameters(user.password_hash)
    assert user.password_hash.startswith("$argon2id$")
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2
    assert params.parallelism == 1
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 8 characters"),
        ("password1", "too common"),
        ("iloveyou", "too common"),
        ("owner@agency.test", "name or email"),
    ],
)
def test_weak_passwords_are_refused_and_nothing_is_written(
    session: Session, clock: FixedClock, password: str, message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message) as exc:
        auth.create_owner(
            session, name="Olivia", email="owner@agency.test", password=password, clock=clock
        )
    assert exc.value.field == "password"
    session.rollback()
    assert session.exec(select(StaffUser)).all() == []
    assert auth.setup_required(session)


def test_long_passwords_are_accepted(session: Session, clock: FixedClock) -> None:
    long_password = "a sentence that is much longer than sixty four characters, and that is fine"
    auth.create_owner(
        session, name="Olivia", email="owner@agency.test", password=long_password, clock=clock
    )
    session.commit()
    outcome = auth.authenticate(
        session, email="owner@agency.test", password=long_password, clock=clock
    )
    assert outcome.ticket


def test_sign_in_gives_a_fresh_session_each_time_and_stores_only_hashes(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    make_owner(session, clock)
    first = sign_in(session, clock, settings, " Owner@Agency.test ", PASSWORD)
    second = sign_in(session, clock, settings, "owner@agency.test", PASSWORD)
    assert first != second
    stored = session.exec(select(AuthSession.token_hash)).all()
    assert first not in stored and second not in stored
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)
    user = auth.resolve_session(session, first, clock=clock, settings=settings)
    assert user is not None
    assert user.email == "owner@agency.test"
    assert user.can(Permission.ROLES_MANAGE)


def test_wrong_password_and_unknown_email_get_the_same_answer(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    make_owner(session, clock)
    wrong = auth.authenticate(
        session,
        email="owner@agency.test",
        password="not the password",
        clock=clock,
        settings=settings,
    )
    unknown = auth.authenticate(
        session,
        email="nobody@agency.test",
        password="not the password",
        clock=clock,
        settings=settings,
    )
    assert wrong.ticket is None and unknown.ticket is None
    assert wrong.error == unknown.error == "Email or password is incorrect."
    session.commit()
    assert actions(session)[-2:] == ["login.failed", "login.failed"]


@pytest.mark.parametrize("email", ["owner@agency.test", "nobody@agency.test"])
def test_failed_sign_ins_lock_the_email_out_whether_or_not_it_exists(
    session: Session, clock: FixedClock, settings: Settings, email: str
) -> None:
    make_owner(session, clock)
    for _ in range(settings.login_max_failures - 1):
        outcome = auth.authenticate(
            session, email=email, password="wrong guess", clock=clock, settings=settings
        )
        session.commit()
        assert outcome.error == "Email or password is incorrect."
    locked = auth.authenticate(
        session, email=email, password="wrong guess", clock=clock, settings=settings
    )
    session.commit()
    assert locked.error is not None
    assert "Too many failed sign-in attempts" in locked.error
    # Even the right password is refused while locked.
    still = auth.authenticate(
        session, email=email, password=PASSWORD, clock=clock, settings=settings
    )
    session.commit()
    assert still.ticket is None
    assert still.error is not None and "Try again in 15 minutes" in still.error
    clock.advance(minutes=settings.login_lockout_minutes, seconds=1)
    after = auth.authenticate(
        session, email=email, password=PASSWORD, clock=clock, settings=settings
    )
    assert (after.ticket is not None) == (email == "owner@agency.test")


def test_password_reset_lifts_the_lockout(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    make_owner(session, clock)
    for _ in range(settings.login_max_failures):
        auth.authenticate(
            session, email="owner@agency.test", password="wrong", clock=clock, settings=settings
        )
        session.commit()
    request_reset(session, clock, settings, "owner@agency.test")
    token = delivered_token(session, "owner@agency.test", "/reset-password", settings, clock)
    password_reset.reset_password(
        session,
        token=token,
        password="a brand new passphrase",
        clock=clock,
        settings=settings,
    )
    session.commit()
    ok = auth.authenticate(
        session,
        email="owner@agency.test",
        password="a brand new passphrase",
        clock=clock,
        settings=settings,
    )
    assert ok.ticket


def test_login_ticket_is_single_use_and_short_lived(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    make_owner(session, clock)
    outcome = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert outcome.ticket
    assert session.exec(select(LoginTicket.ticket_hash)).one() != outcome.ticket
    assert auth.redeem_ticket(
        session, outcome.ticket, browser=BROWSER, clock=clock, settings=settings
    )
    session.commit()
    assert (
        auth.redeem_ticket(session, outcome.ticket, browser=BROWSER, clock=clock, settings=settings)
        is None
    )
    late = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert late.ticket
    clock.advance(seconds=61)
    assert (
        auth.redeem_ticket(session, late.ticket, browser=BROWSER, clock=clock, settings=settings)
        is None
    )


def test_sessions_expire_when_idle_and_at_their_absolute_limit(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    make_owner(session, clock)
    token = sign_in(session, clock, settings, "owner@agency.test", PASSWORD)
    # Activity keeps it alive until the absolute limit.
    for _ in range(settings.session_absolute_hours * 2 - 1):
        clock.advance(minutes=30)
        assert auth.resolve_session(session, token, clock=clock, settings=settings) is not None
        session.commit()
    clock.advance(minutes=30)
    assert auth.resolve_session(session, token, clock=clock, settings=settings) is None

    idle = sign_in(session, clock, settings, "owner@agency.test", PASSWORD)
    clock.advance(minutes=settings.session_idle_minutes - 1)
    assert auth.resolve_session(session, idle, clock=clock, settings=settings) is not None
    session.commit()
    clock.advance(minutes=settings.session_idle_minutes)
    assert auth.resolve_session(session, idle, clock=clock, settings=settings) is None


def test_logout_ends_the_session(session: Session, clock: FixedClock, settings: Settings) -> None:
    make_owner(session, clock)
    token = sign_in(session, clock, settings, "owner@agency.test", PASSWORD)
    auth.logout(session, token, clock=clock)
    session.commit()
    assert auth.resolve_session(session, token, clock=clock, settings=settings) is None
    assert actions(session)[-1] == "logout"
    assert auth.resolve_session(session, "forged-token", clock=clock, settings=settings) is None
    assert auth.resolve_session(session, None, clock=clock, settings=settings) is None


def test_reset_link_is_single_use_expires_in_an_hour_and_ends_sessions(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    make_owner(session, clock)
    open_session = sign_in(session, clock, settings, "owner@agency.test", PASSWORD)
    request_reset(session, clock, settings, "owner@agency.test")
    (mail,) = deliver(session, settings, clock)
    assert mail.to_address == "owner@agency.test"
    assert mail.subject == "Reset your Studio Nord password"
    match = re.search(r"https://billing\.agency\.test/reset-password\?token=([\w-]+)", mail.text)
    assert match, "the link is built from the configured base URL"
    token = match.group(1)
    assert token not in session.exec(select(PasswordReset.token_hash)).one()
    stored = session.exec(select(OutboxEmail)).one()
    assert token not in stored.body_text and token not in stored.body_html
    assert password_reset.check_reset_token(session, token, clock=clock) == "owner@agency.test"

    with pytest.raises(ValidationFailed, match="too common"):
        password_reset.reset_password(session, token=token, password="password1", clock=clock)
    session.rollback()

    password_reset.reset_password(
        session, token=token, password="another long passphrase", clock=clock, settings=settings
    )
    session.commit()
    assert auth.resolve_session(session, open_session, clock=clock, settings=settings) is None
    with pytest.raises(ValidationFailed, match="not valid or was already used"):
        password_reset.reset_password(
            session, token=token, password="yet another passphrase", clock=clock
        )
    session.rollback()
    kinds = session.exec(select(OutboxEmail.kind).order_by(col(OutboxEmail.id))).all()
    assert kinds == ["password_reset", "password_changed"]

    request_reset(session, clock, settings, "owner@agency.test")
    late = delivered_token(session, "owner@agency.test", "/reset-password", settings, clock)
    clock.advance(minutes=61)
    with pytest.raises(ValidationFailed, match="expired"):
        password_reset.check_reset_token(session, late, clock=clock)


def test_reset_for_an_unknown_email_sends_nothing(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    make_owner(session, clock)
    request_reset(session, clock, settings, "nobody@agency.test")
    assert session.exec(select(OutboxEmail)).all() == []
    assert session.exec(select(PasswordReset)).all() == []


def test_audit_log_is_append_only(session: Session, clock: FixedClock) -> None:
    make_owner(session, clock)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        session.execute(sa.text("UPDATE audit_event SET action = 'tampered'"))
        session.commit()
    session.rollback()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        session.execute(sa.text("DELETE FROM audit_event"))
        session.commit()
    session.rollback()
    assert actions(session) == ["setup.owner_created"]


def test_audit_never_holds_passwords_or_tokens(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    make_owner(session, clock)
    token = sign_in(session, clock, settings, "owner@agency.test", PASSWORD)
    auth.authenticate(session, email="owner@agency.test", password="typo in it", clock=clock)
    session.commit()
    dump = " ".join(
        f"{e.action} {e.actor_label} {e.target} {e.details}"
        for e in session.exec(select(AuditEvent)).all()
    )
    assert PASSWORD not in dump and "typo in it" not in dump and token not in dump


def test_a_ticket_is_redeemed_only_by_the_browser_that_asked_for_it(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    """Login CSRF: a ticket minted by the attacker's browser, opened in the victim's browser
    (another browser cookie, or none), signs nobody in; the attacker's own browser still can."""
    make_owner(session, clock)
    outcome = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        browser="attacker-browser",
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert outcome.ticket
    for victim in ("victim-browser", ""):
        assert (
            auth.redeem_ticket(
                session, outcome.ticket, browser=victim, clock=clock, settings=settings
            )
            is None
        )
        session.commit()
    assert auth.redeem_ticket(
        session, outcome.ticket, browser="attacker-browser", clock=clock, settings=settings
    )


def test_forgot_password_does_the_same_work_for_known_and_unknown_addresses(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    """The page's request writes one queued request and nothing else, whoever it names (no
    enumeration by timing); the job answers only the registered, active address."""
    make_owner(session, clock)

    def rows() -> dict[str, int]:
        return {
            table: session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("password_reset_request", "password_reset", "outbox_email", "audit_event")
        }

    before = rows()
    for email in ("owner@agency.test", "nobody@agency.test"):
        password_reset.request_password_reset(session, email=email, ip="10.0.0.9", clock=clock)
        session.commit()
    after = rows()
    assert after["password_reset_request"] == before["password_reset_request"] + 2
    assert {k: after[k] for k in after if k != "password_reset_request"} == {
        k: before[k] for k in before if k != "password_reset_request"
    }
    assert password_reset.answer_reset_requests(session, clock=clock, settings=settings) == 2
    session.commit()
    assert session.exec(select(OutboxEmail.to_address)).all() == ["owner@agency.test"]
    assert session.execute(sa.text("SELECT count(*) FROM password_reset_request")).scalar() == 0
    requested = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "password_reset.requested")
    ).all()
    assert [(e.target, e.details) for e in requested] == [
        ("owner@agency.test", ""),
        (auth.typed_address_label("nobody@agency.test"), "no active account"),
    ]


def test_reset_requests_from_one_address_are_throttled_and_capped_per_account(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    make_owner(session, clock)
    for _ in range(15):
        password_reset.request_password_reset(
            session, email="owner@agency.test", ip="6.6.6.6", clock=clock
        )
        session.commit()
    assert password_reset.answer_reset_requests(session, clock=clock, settings=settings) == 10
    session.commit()
    # At most three live links an hour per account, however many requests got through.
    assert len(session.exec(select(OutboxEmail)).all()) == password_reset.RESETS_PER_HOUR
    # Another address is not slowed by the first one's flood.
    password_reset.request_password_reset(
        session, email="owner@agency.test", ip="10.1.1.1", clock=clock
    )
    session.commit()
    assert session.execute(sa.text("SELECT count(*) FROM password_reset_request")).scalar() == 1


def test_reset_links_sent_before_a_reset_stop_working(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    make_owner(session, clock)
    request_reset(session, clock, settings, "owner@agency.test")
    first = delivered_token(session, "owner@agency.test", "/reset-password", settings, clock)
    request_reset(session, clock, settings, "owner@agency.test")
    second = delivered_token(session, "owner@agency.test", "/reset-password", settings, clock)
    password_reset.reset_password(
        session, token=second, password="another long passphrase", clock=clock, settings=settings
    )
    session.commit()
    with pytest.raises(ValidationFailed, match="not valid or was already used"):
        password_reset.check_reset_token(session, first, clock=clock)


def test_a_queued_reset_email_whose_link_died_is_not_sent(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    make_owner(session, clock)
    request_reset(session, clock, settings, "owner@agency.test")
    clock.advance(minutes=61)
    assert deliver(session, settings, clock) == []
    mail = session.exec(select(OutboxEmail)).one()
    assert mail.status == "dead"
    assert "no longer valid" in mail.last_error


def test_sign_in_failures_are_throttled_per_client_address_across_accounts(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    """Spraying one password over many accounts from one address is slowed even though no
    single account reaches its own limit; other addresses are not affected."""
    make_owner(session, clock)
    for i in range(settings.login_address_max_failures):
        outcome = auth.authenticate(
            session,
            email=f"user{i}@agency.test",
            password="Summer2026!",
            ip="6.6.6.6",
            clock=clock,
            settings=settings,
        )
        session.commit()
    assert outcome.error and "from your network" in outcome.error
    refused = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        ip="6.6.6.6",
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    assert refused.ticket is None and refused.error and "from your network" in refused.error
    elsewhere = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        ip="10.0.0.1",
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    assert elsewhere.ticket
    # Backoff: each failure after the lock ends doubles the next wait.
    clock.advance(minutes=1, seconds=1)
    again = auth.authenticate(
        session,
        email="x@agency.test",
        password="nope",
        ip="6.6.6.6",
        clock=clock,
        settings=settings,
    )
    assert again.error and "Try again in 2 minutes" in again.error


def test_a_flood_of_failures_tightens_every_address(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    """A distributed attack (each address below its own limit) trips the app-wide throttle:
    then every address is locked after a few failures."""
    settings = settings.model_copy(update={"login_global_max_failures": 30})
    make_owner(session, clock)
    for i in range(30):
        auth.authenticate(
            session,
            email=f"user{i}@agency.test",
            password="Summer2026!",
            ip=f"7.7.{i}.1",
            clock=clock,
            settings=settings,
        )
        session.commit()
    for attempt in range(settings.login_address_max_failures_under_attack):
        outcome = auth.authenticate(
            session,
            email=f"new{attempt}@agency.test",
            password="Winter2026!",
            ip="8.8.8.8",
            clock=clock,
            settings=settings,
        )
        session.commit()
    assert outcome.error and "from your network" in outcome.error


def test_failed_sign_ins_never_store_what_was_typed_as_the_email(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    """People type their password into the email field: neither the audit log nor the
    throttle table may keep it."""
    make_owner(session, clock)
    auth.authenticate(
        session, email="correct horse staple", password="x", ip="1.2.3.4", clock=clock
    )
    session.commit()
    audit_dump = " ".join(
        f"{e.actor_label} {e.target} {e.details}" for e in session.exec(select(AuditEvent)).all()
    )
    keys = " ".join(session.execute(sa.text("SELECT key FROM auth_throttle")).scalars())
    assert "horse" not in audit_dump and "horse" not in keys
    assert auth.typed_address_label("correct horse staple") in audit_dump
