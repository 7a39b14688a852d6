"""The client portal's sign-in and sessions, against a real database (SQLite and PostgreSQL):
a realm of its own (docs/security.md item 45) with the staff rules (items 17, 18, 20, 21, 38,
40): the same answers for every refusal, throttling per account and address, browser-bound
tickets, idle and absolute expiry, and a session that looks at one of the user's clients."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import Brand
from billing_app.db.models import AuditEvent, AuthSession
from billing_app.db.portal import ClientMembership, PortalLoginTicket, PortalSession, PortalUser
from billing_app.services.access import auth, portal_auth
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotFound
from billing_app.services.common.tokens import hash_password, token_digest
from billing_app.settings import Settings
from tests.support import BROWSER

PASSWORD = "correct horse battery"
EMAIL = "jurgen@cafe.test"
BAD = "Email or password is incorrect."


def add_brand(session: Session, clock: FixedClock, **values: object) -> Brand:
    now = clock.now()
    brand = Brand(**{"name": "Studio Nord", "created_at": now, "updated_at": now, **values})
    session.add(brand)
    session.commit()
    return brand


def add_client(
    session: Session, clock: FixedClock, company: str, *, brand_id: int | None = None
) -> int:
    now = clock.now()
    slug = company.lower().replace(" ", "-")
    client = Client(
        company=company,
        email=f"ap@{slug}.test",
        brand_id=brand_id,
        created_at=now,
        updated_at=now,
    )
    session.add(client)
    session.commit()
    assert client.id is not None
    return client.id


def add_member(
    session: Session, clock: FixedClock, user_id: int, client_id: int, role: str = "full"
) -> None:
    session.add(
        ClientMembership(
            portal_user_id=user_id, client_id=client_id, role_key=role, created_at=clock.now()
        )
    )
    session.commit()


def add_portal_user(
    session: Session, clock: FixedClock, *client_ids: int, email: str = EMAIL
) -> int:
    user = PortalUser(
        email=email, name="Jürgen", password_hash=hash_password(PASSWORD), created_at=clock.now()
    )
    session.add(user)
    session.commit()
    assert user.id is not None
    for client_id in client_ids:
        add_member(session, clock, user.id, client_id)
    return user.id


def member_of_two_clients(session: Session, clock: FixedClock) -> tuple[int, int, int]:
    """A client user of Acme and Zebra; and Foreign, a client of the agency not theirs."""
    acme = add_client(session, clock, "Acme Oy")
    zebra = add_client(session, clock, "Zebra GmbH")
    foreign = add_client(session, clock, "Foreign AB")
    add_portal_user(session, clock, acme, zebra)
    return acme, zebra, foreign


def portal_sign_in(
    session: Session,
    clock: FixedClock,
    settings: Settings,
    email: str = EMAIL,
    password: str = PASSWORD,
    client_id: int | None = None,
) -> str:
    outcome = portal_auth.sign_in(
        session,
        email=email,
        password=password,
        ip="10.0.0.1",
        browser=BROWSER,
        client_id=client_id,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert outcome.ticket, outcome.error
    token = portal_auth.redeem_ticket(
        session, outcome.ticket, browser=BROWSER, clock=clock, settings=settings
    )
    session.commit()
    assert token
    return token


def attempt(
    session: Session,
    clock: FixedClock,
    settings: Settings,
    email: str = EMAIL,
    password: str = PASSWORD,
    ip: str = "10.0.0.1",
) -> portal_auth.LoginOutcome:
    outcome = portal_auth.sign_in(
        session,
        email=email,
        password=password,
        ip=ip,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    return outcome


def resolve(
    session: Session, clock: FixedClock, settings: Settings, token: str
) -> portal_auth.ClientUser | None:
    user = portal_auth.resolve_portal_session(session, token, clock=clock, settings=settings)
    session.commit()
    return user


def actions(session: Session) -> list[str]:
    return list(session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))))


def test_sign_in_opens_a_portal_session_on_their_first_client_storing_only_hashes(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    zebra = add_client(session, clock, "Zebra GmbH")
    acme = add_client(session, clock, "Acme Oy")
    add_portal_user(session, clock, zebra, acme)
    first = portal_sign_in(session, clock, settings, email=" Jurgen@Cafe.TEST ")
    second = portal_sign_in(session, clock, settings)
    assert first != second
    stored = session.exec(select(PortalSession.token_hash)).all()
    assert first not in stored and second not in stored
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)
    user = resolve(session, clock, settings, first)
    assert user is not None and user.email == EMAIL
    assert user.client_id == acme, "the first client by name"
    assert [m.client_name for m in user.memberships] == ["Acme Oy", "Zebra GmbH"]
    assert session.exec(select(AuthSession)).all() == [], "no staff session was made"
    assert actions(session)[-1] == "portal.login.succeeded"


def test_a_ticket_opens_the_client_it_names_only_when_it_is_theirs(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    acme, zebra, foreign = member_of_two_clients(session, clock)
    token = portal_sign_in(session, clock, settings, client_id=zebra)
    user = resolve(session, clock, settings, token)
    assert user is not None and user.client_id == zebra
    elsewhere = portal_sign_in(session, clock, settings, client_id=foreign)
    user = resolve(session, clock, settings, elsewhere)
    assert user is not None and user.client_id == acme


def test_staff_and_portal_sessions_never_resolve_in_the_other_realm(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    """The same address in both realms: each password opens only its own realm, each token
    resolves only in its own realm, and each realm's ticket is redeemed only by its own."""
    acme = add_client(session, clock, "Acme Oy")
    add_portal_user(session, clock, acme, email="owner@agency.test")
    user = session.exec(select(PortalUser)).one()
    user.password_hash = hash_password("the portal passphrase")
    session.add(user)
    session.commit()
    auth.create_owner(
        session, name="Olivia", email="owner@agency.test", password=PASSWORD, clock=clock
    )
    session.commit()

    def redeem(redeem_ticket: Any, ticket: str | None) -> str | None:
        assert ticket
        token = redeem_ticket(session, ticket, browser=BROWSER, clock=clock, settings=settings)
        session.commit()
        return cast("str | None", token)

    staff_login = auth.authenticate(
        session, email="owner@agency.test", password=PASSWORD, browser=BROWSER, clock=clock
    )
    session.commit()
    assert redeem(portal_auth.redeem_ticket, staff_login.ticket) is None, "no portal session"
    staff_token = redeem(auth.redeem_ticket, staff_login.ticket)
    assert staff_token

    assert attempt(session, clock, settings, "owner@agency.test", PASSWORD).error == BAD
    portal_login = attempt(session, clock, settings, "owner@agency.test", "the portal passphrase")
    assert redeem(auth.redeem_ticket, portal_login.ticket) is None, "no staff session"
    portal_token = redeem(portal_auth.redeem_ticket, portal_login.ticket)
    assert portal_token

    assert auth.resolve_session(session, staff_token, clock=clock, settings=settings)
    assert auth.resolve_session(session, portal_token, clock=clock, settings=settings) is None
    assert resolve(session, clock, settings, portal_token) is not None
    assert resolve(session, clock, settings, staff_token) is None


def test_a_portal_ticket_is_redeemed_only_by_the_browser_that_asked_for_it(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    outcome = portal_auth.sign_in(
        session, email=EMAIL, password=PASSWORD, browser="attacker-browser", clock=clock
    )
    session.commit()
    assert outcome.ticket
    assert session.exec(select(PortalLoginTicket.ticket_hash)).one() == token_digest(outcome.ticket)
    for victim in ("victim-browser", ""):
        redeemed = portal_auth.redeem_ticket(
            session, outcome.ticket, browser=victim, clock=clock, settings=settings
        )
        session.commit()
        assert redeemed is None
    assert portal_auth.redeem_ticket(
        session, outcome.ticket, browser="attacker-browser", clock=clock, settings=settings
    )
    session.commit()
    assert (
        portal_auth.redeem_ticket(
            session, outcome.ticket, browser="attacker-browser", clock=clock, settings=settings
        )
        is None
    ), "single use"
    late = attempt(session, clock, settings)
    clock.advance(seconds=61)
    assert late.ticket
    assert (
        portal_auth.redeem_ticket(
            session, late.ticket, browser=BROWSER, clock=clock, settings=settings
        )
        is None
    ), "a minute at most"


def test_unknown_wrong_deactivated_and_memberless_users_get_the_same_answer(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    acme = add_client(session, clock, "Acme Oy")
    add_portal_user(session, clock, acme)
    add_portal_user(session, clock, email="former@cafe.test")
    inactive_id = add_portal_user(session, clock, acme, email="gone@cafe.test")
    inactive = session.get(PortalUser, inactive_id)
    assert inactive is not None
    inactive.is_active = False
    session.add(inactive)
    session.commit()
    answers = [
        attempt(session, clock, settings, EMAIL, "not the password", ip="10.0.0.2"),
        attempt(session, clock, settings, "nobody@cafe.test", PASSWORD, ip="10.0.0.3"),
        attempt(session, clock, settings, "gone@cafe.test", PASSWORD, ip="10.0.0.4"),
        attempt(session, clock, settings, "former@cafe.test", PASSWORD, ip="10.0.0.5"),
    ]
    assert [(a.ticket, a.mfa_ticket_id, a.error) for a in answers] == [(None, None, BAD)] * 4
    failed = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "portal.login.failed")
    ).all()
    assert [e.details for e in failed] == [
        "reason: password",
        "reason: unknown email",
        "reason: inactive",
        "reason: no client",
    ]
    assert all("(client user)" in e.actor_label and e.actor_id is None for e in failed)
    assert "login.failed" not in actions(session), "staff failures are not counted"


def test_sign_in_failures_lock_the_email_out_and_are_counted_apart_from_staff(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    auth.create_owner(session, name="Olivia", email=EMAIL, password=PASSWORD, clock=clock)
    session.commit()
    for email in (EMAIL, "nobody@cafe.test"):
        for _ in range(settings.login_max_failures - 1):
            assert attempt(session, clock, settings, email, "wrong guess").error == BAD
        locked = attempt(session, clock, settings, email, "wrong guess")
        assert locked.error and "Too many failed sign-in attempts" in locked.error
    still = attempt(session, clock, settings)
    assert still.ticket is None and still.error and "Try again in 15 minutes" in still.error
    keys = set(session.execute(sa.text("SELECT key FROM auth_throttle")).scalars())
    assert keys and all(key.startswith("portal:") for key in keys)
    staff = auth.authenticate(
        session, email=EMAIL, password=PASSWORD, browser=BROWSER, clock=clock, settings=settings
    )
    assert staff.ticket, "the portal lock does not lock the staff account of the same address"
    session.rollback()
    clock.advance(minutes=settings.login_lockout_minutes, seconds=1)
    assert attempt(session, clock, settings).ticket


def test_sign_in_failures_are_throttled_per_client_address(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    for i in range(settings.login_address_max_failures):
        outcome = attempt(session, clock, settings, f"user{i}@cafe.test", "Summer2026!", "6.6.6.6")
    assert outcome.error and "from your network" in outcome.error
    refused = attempt(session, clock, settings, ip="6.6.6.6")
    assert refused.ticket is None and refused.error and "from your network" in refused.error
    assert attempt(session, clock, settings, ip="10.0.0.1").ticket


def test_sessions_expire_when_idle_and_at_their_absolute_limit(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    idle = settings.portal_session_idle_minutes
    token = portal_sign_in(session, clock, settings)
    # Activity keeps it alive until the absolute limit.
    steps = settings.portal_session_absolute_hours * 60 // (idle // 2)
    for _ in range(steps - 1):
        clock.advance(minutes=idle // 2)
        assert resolve(session, clock, settings, token) is not None
    clock.advance(minutes=idle // 2)
    assert resolve(session, clock, settings, token) is None, "absolute limit"

    token = portal_sign_in(session, clock, settings)
    clock.advance(minutes=idle - 1)
    assert resolve(session, clock, settings, token) is not None
    clock.advance(minutes=idle)
    assert resolve(session, clock, settings, token) is None, "idle"
    assert resolve(session, clock, settings, "forged-token") is None
    assert portal_auth.resolve_portal_session(session, None, clock=clock) is None


def test_deactivation_or_removed_memberships_end_the_session_and_a_lost_client_falls_back(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    acme = add_client(session, clock, "Acme Oy")
    zebra = add_client(session, clock, "Zebra GmbH")
    user_id = add_portal_user(session, clock, acme, zebra)
    token = portal_sign_in(session, clock, settings, client_id=zebra)
    session.execute(sa.delete(ClientMembership).where(col(ClientMembership.client_id) == zebra))
    session.commit()
    user = resolve(session, clock, settings, token)
    assert user is not None and user.client_id == acme, "falls back to a client still theirs"
    assert [m.client_id for m in user.memberships] == [acme]
    assert session.exec(select(PortalSession.client_id)).one() == acme

    archived = session.get(Client, acme)
    assert archived is not None
    archived.status = "archived"
    session.add(archived)
    session.commit()
    assert resolve(session, clock, settings, token) is None, "no client left"
    assert attempt(session, clock, settings).error == BAD

    archived.status = "active"
    session.add(archived)
    session.commit()
    token = portal_sign_in(session, clock, settings)
    person = session.get(PortalUser, user_id)
    assert person is not None
    person.is_active = False
    session.add(person)
    session.commit()
    assert resolve(session, clock, settings, token) is None, "deactivated"


def test_switching_client_only_to_ones_own_clients_else_not_found(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    acme, zebra, foreign = member_of_two_clients(session, clock)
    token = portal_sign_in(session, clock, settings)
    user = resolve(session, clock, settings, token)
    assert user is not None and user.client_id == acme
    switched = portal_auth.switch_client(session, user, zebra)
    session.commit()
    assert switched.client_id == zebra
    again = resolve(session, clock, settings, token)
    assert again is not None and again.client_id == zebra
    for other in (foreign, 10**12, -1):
        with pytest.raises(NotFound) as exc:
            portal_auth.switch_client(session, again, other)
        session.rollback()
        assert exc.value.message == "Not found."
    after = resolve(session, clock, settings, token)
    assert after is not None and after.client_id == zebra


def test_logout_and_signing_out_everywhere_else(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    add_portal_user(session, clock, add_client(session, clock, "Acme Oy"))
    here = portal_sign_in(session, clock, settings)
    elsewhere = portal_sign_in(session, clock, settings)
    third = portal_sign_in(session, clock, settings)
    user = resolve(session, clock, settings, here)
    assert user is not None
    assert portal_auth.other_session_count(session, user, clock=clock) == 2
    assert portal_auth.sign_out_everywhere_else(session, user, clock=clock) == 2
    session.commit()
    assert resolve(session, clock, settings, here) is not None
    assert resolve(session, clock, settings, elsewhere) is None
    assert resolve(session, clock, settings, third) is None
    portal_auth.logout(session, here, clock=clock)
    session.commit()
    assert resolve(session, clock, settings, here) is None
    assert actions(session)[-2:] == ["portal.account.signed_out_others", "portal.logout"]
