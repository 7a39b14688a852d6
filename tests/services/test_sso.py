"""Staff single sign-on against a small OpenID provider built in the tests
(tests/oidc_provider.py) on 127.0.0.1, on SQLite and PostgreSQL: the happy path, each refusal
(nothing written but its audit entry), the subject link, MFA, and an SSO session that behaves
as a password session."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.models import AuditEvent, AuthSession, Invitation, LoginTicket, StaffUser
from billing_app.db.sso import SsoIdentity, SsoSettings
from billing_app.domain.permissions import Permission
from billing_app.services.access import auth, sso, sso_config, team
from billing_app.services.access.identity import CurrentUser
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed, ValidationFailed
from billing_app.settings import Settings
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider
from tests.services.test_auth import PASSWORD, make_owner, sign_in
from tests.support import BROWSER


@pytest.fixture
def provider(clock: FixedClock) -> Iterator[Provider]:
    with running_provider() as p:
        p.now = lambda: clock.now().timestamp()
        yield p


def owner(session: Session, clock: FixedClock, settings: Settings) -> CurrentUser:
    if auth.setup_required(session):
        make_owner(session, clock)
    token = sign_in(session, clock, settings, "owner@agency.test", PASSWORD)
    user = auth.resolve_session(session, token, clock=clock, settings=settings)
    assert user is not None
    return user


def configure(
    session: Session, clock: FixedClock, settings: Settings, provider: Provider, **changes: object
) -> CurrentUser:
    me = owner(session, clock, settings)
    form: dict[str, object] = {
        "issuer_url": provider.issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "button_label": "Acme SSO",
        "allowed_domains": "",
    }
    form.update(changes)
    sso_config.save_sso(session, me, sso_config.SsoForm(**form), clock=clock, settings=settings)  # type: ignore[arg-type]
    session.commit()
    return me


def member(session: Session, clock: FixedClock, email: str, *, active: bool = True) -> int:
    user = StaffUser(
        email=email,
        name="Sam Staff",
        password_hash="x",
        role_key="accountant",
        is_active=active,
        created_at=clock.now(),
    )
    session.add(user)
    session.commit()
    assert user.id is not None
    return user.id


def go(
    session: Session,
    clock: FixedClock,
    settings: Settings,
    email: str,
    *,
    browser: str = BROWSER,
    tamper: dict[str, str] | None = None,
) -> tuple[sso.SsoOutcome, dict[str, str]]:
    """Start, let the provider answer for ``email``, come back to our callback."""
    url = sso.start(session, browser=BROWSER, next_path="/invoices", clock=clock, settings=settings)
    session.commit()
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    answer = httpx.get(url + "&login=" + email, follow_redirects=False)
    back = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    back.update(tamper or {})
    outcome = sso.complete(
        session,
        state=back.get("state", ""),
        code=back.get("code", ""),
        error=back.get("error", ""),
        browser=browser,
        ip="10.0.0.7",
        clock=clock,
        settings=settings,
    )
    session.commit()
    return outcome, back


def counts(session: Session) -> tuple[int, int, int, int]:
    def n(table: type) -> int:
        return session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()

    return n(StaffUser), n(SsoIdentity), n(LoginTicket), n(AuthSession)


def last_audit(session: Session, prefix: str = "sso.") -> AuditEvent:
    query = select(AuditEvent).where(col(AuditEvent.action).startswith(prefix))
    return session.exec(query.order_by(col(AuditEvent.id).desc())).first()  # type: ignore[return-value]


def test_a_member_signs_in_and_their_subject_is_linked(
    session: Session, clock: FixedClock, settings: Settings, provider: Provider
) -> None:
    configure(session, clock, settings, provider)
    user_id = member(session, clock, "sam@agency.test")
    outcome, _ = go(session, clock, settings, "sam@agency.test")
    assert outcome.ticket and outcome.next_path == "/invoices"
    token = auth.redeem_ticket(
        session, outcome.ticket, browser=BROWSER, clock=clock, settings=settings
    )
    session.commit()
    me = auth.resolve_session(session, token, clock=clock, settings=settings)
    assert me is not None and me.id == user_id
    link = session.exec(select(SsoIdentity)).one()
    assert (link.staff_user_id, link.subject, link.issuer) == (
        user_id,
        "sub-sam@agency.test",
        provider.issuer,
    )
    event = last_audit(session)
    assert event.action == "sso.login" and "linked on first sign-in" in event.details
    # The secret is stored encrypted.
    row = session.get(SsoSettings, 1)
    assert row is not None and CLIENT_SECRET not in row.client_secret


def test_the_linked_subject_signs_in_even_when_the_email_changes_and_cannot_take_another(
    session: Session, clock: FixedClock, settings: Settings, provider: Provider
) -> None:
    configure(session, clock, settings, provider)
    sam = member(session, clock, "sam@agency.test")
    member(session, clock, "kim@agency.test")
    provider.users["sam@agency.test"] = {"sub": "acme-1"}
    assert go(session, clock, settings, "sam@agency.test")[0].ticket
    # At the provider, acme-1 now says it is kim: it still signs in as Sam, never as Kim.
    provider.users["kim@agency.test"] = {"sub": "acme-1"}
    outcome, _ = go(session, clock, settings, "kim@agency.test")
    assert outcome.ticket
    row = session.exec(select(LoginTicket).order_by(col(LoginTicket.id).desc())).first()
    assert row is not None and row.user_id == sam
    # Another subject claiming Sam's email is refused: Sam is linked to acme-1.
    provider.users["sam@agency.test"] = {"sub": "acme-2"}
    assert go(session, clock, settings, "sam@agency.test")[0].reason == "linked_elsewhere"


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("audience", "audience"),
        ("issuer", "issuer"),
        ("expired", "expired"),
        ("signature", "signature"),
        ("nonce", "nonce"),
    ],
)
def test_a_bad_id_token_is_refused_with_nothing_written_but_the_audit(
    session: Session,
    clock: FixedClock,
    settings: Settings,
    provider: Provider,
    fault: str,
    reason: str,
) -> None:
    configure(session, clock, settings, provider)
    member(session, clock, "sam@agency.test")
    before = counts(session)
    provider.faults.add(fault)
    outcome, _ = go(session, clock, settings, "sam@agency.test")
    assert outcome.reason == reason and outcome.ticket is None and outcome.mfa_ticket_id is None
    assert counts(session) == before
    event = last_audit(session)
    assert event.action == "sso.login_refused" and event.details.startswith(f"reason: {reason}")
    assert "sso.member_created" not in [a.action for a in session.exec(select(AuditEvent))]


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("missing_state", "state"),
        ("wrong_state", "state"),
        ("other_browser", "state"),
        ("unverified", "email_unverified"),
        ("unknown", "not_member"),
        ("deactivated", "deactivated"),
        ("domain", "domain"),
        ("cancelled", "cancelled"),
    ],
)
def test_each_refusal_writes_only_its_audit_entry(
    session: Session,
    clock: FixedClock,
    settings: Settings,
    provider: Provider,
    setup: str,
    reason: str,
) -> None:
    configure(session, clock, settings, provider, allowed_domains="agency.test")
    member(session, clock, "sam@agency.test", active=setup != "deactivated")
    email = "sam@agency.test"
    tamper: dict[str, str] = {}
    browser = BROWSER
    if setup == "missing_state":
        tamper = {"state": ""}
    elif setup == "wrong_state":
        tamper = {"state": "not-the-state"}
    elif setup == "other_browser":
        browser = "another-browser"
    elif setup == "unverified":
        provider.users[email] = {"email_verified": False}
    elif setup == "unknown":
        email = "stranger@agency.test"
    elif setup == "domain":
        email = "sam@gmail.example"
    elif setup == "cancelled":
        tamper = {"error": "access_denied", "code": ""}
    before = counts(session)
    token_calls = provider.token_calls
    outcome, _ = go(session, clock, settings, email, browser=browser, tamper=tamper)
    assert outcome.reason == reason and outcome.ticket is None
    assert counts(session) == before
    assert last_audit(session).action == "sso.login_refused"
    assert last_audit(session).details.startswith(f"reason: {reason}")
    if setup in ("missing_state", "wrong_state", "other_browser", "cancelled"):
        assert provider.token_calls == token_calls  # the code was never even exchanged


def test_a_replayed_callback_is_refused(
    session: Session, clock: FixedClock, settings: Settings, provider: Provider
) -> None:
    configure(session, clock, settings, provider)
    member(session, clock, "sam@agency.test")
    outcome, back = go(session, clock, settings, "sam@agency.test")
    assert outcome.ticket
    before = counts(session)
    again = sso.complete(
        session,
        state=back["state"],
        code=back["code"],
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert again.reason == "state" and again.ticket is None
    assert counts(session) == before


def test_email_trusted_when_the_agency_says_so(
    session: Session, clock: FixedClock, settings: Settings, provider: Provider
) -> None:
    configure(session, clock, settings, provider, trust_email=True)
    member(session, clock, "sam@agency.test")
    provider.users["sam@agency.test"] = {"email_verified": None}  # as Microsoft Entra
    assert go(session, clock, settings, "sam@agency.test")[0].ticket


def test_our_second_factor_unless_the_provider_asserts_mfa(
    session: Session, clock: FixedClock, settings: Settings, provider: Provider
) -> None:
    configure(session, clock, settings, provider)
    user_id = member(session, clock, "sam@agency.test")
    user = session.get(StaffUser, user_id)
    assert user is not None
    user.totp_secret = "set"
    session.add(user)
    session.commit()
    outcome = go(session, clock, settings, "sam@agency.test")[0]
    assert outcome.mfa_ticket_id and outcome.ticket is None
    provider.users["sam@agency.test"] = {"amr": ["pwd", "mfa"]}
    assert go(session, clock, settings, "sam@agency.test")[0].ticket
    provider.users["sam@agency.test"] = {"amr": ["pwd"]}
    assert go(session, clock, settings, "sam@agency.test")[0].mfa_ticket_id
    configure(session, clock, settings, provider, provider_mfa=True)
    assert go(session, clock, settings, "sam@agency.test")[0].ticket


def test_just_in_time_and_invitations(
    session: Session, clock: FixedClock, settings: Settings, provider: Provider
) -> None:
    me = configure(session, clock, settings, provider, allowed_domains="agency.test")
    assert go(session, clock, settings, "new@agency.test")[0].reason == "not_member"
    team.invite(session, me, email="invited@agency.test", role="accountant", clock=clock)
    session.commit()
    assert go(session, clock, settings, "invited@agency.test")[0].ticket
    invited = session.exec(select(StaffUser).where(StaffUser.email == "invited@agency.test")).one()
    assert invited.role_key == "accountant"
    inv = session.exec(select(Invitation).where(Invitation.email == "invited@agency.test")).one()
    assert inv.accepted_at is not None
    configure(
        session,
        clock,
        settings,
        provider,
        allowed_domains="agency.test",
        jit_enabled=True,
        jit_role_key="viewer",
    )
    assert go(session, clock, settings, "new@agency.test")[0].ticket
    new = session.exec(select(StaffUser).where(StaffUser.email == "new@agency.test")).one()
    assert new.role_key == "viewer" and new.name == "New"
    assert not auth.authenticate(
        session,
        email="new@agency.test",
        password="",
        browser=BROWSER,
        clock=clock,
        settings=settings,
    ).ticket


def test_an_sso_session_behaves_as_a_password_session(
    session: Session, clock: FixedClock, settings: Settings, provider: Provider
) -> None:
    me = configure(session, clock, settings, provider)
    user_id = member(session, clock, "sam@agency.test")

    def signed_in() -> str:
        outcome = go(session, clock, settings, "sam@agency.test")[0]
        assert outcome.ticket
        token = auth.redeem_ticket(
            session, outcome.ticket, browser=BROWSER, clock=clock, settings=settings
        )
        session.commit()
        assert token
        return token

    token = signed_in()
    me_now = auth.resolve_session(session, token, clock=clock, settings=settings)
    assert me_now is not None and not me_now.can(Permission.SETTINGS_WRITE)
    # Role change: the next event sees the new permissions.
    team.change_role(session, me, user_id, role="admin", clock=clock)
    session.commit()
    me_now = auth.resolve_session(session, token, clock=clock, settings=settings)
    assert me_now is not None and me_now.can(Permission.SETTINGS_WRITE)
    # Idle expiry.
    clock.advance(minutes=settings.session_idle_minutes + 1)
    assert auth.resolve_session(session, token, clock=clock, settings=settings) is None
    # Absolute expiry, even when used all along.
    token = signed_in()
    for _ in range(settings.session_absolute_hours * 2 + 1):
        clock.advance(minutes=30)
        seen = auth.resolve_session(session, token, clock=clock, settings=settings)
        session.commit()
    assert seen is None
    # Sign out everywhere.
    token = signed_in()
    auth.revoke_sessions(session, user_id, clock=clock)
    session.commit()
    assert auth.resolve_session(session, token, clock=clock, settings=settings) is None
    # Deactivation: refused at the provider's door too.
    team.set_active(session, me, user_id, active=False, clock=clock)
    session.commit()
    assert go(session, clock, settings, "sam@agency.test")[0].reason == "deactivated"


def test_settings_are_the_owners_and_checked(
    session: Session, clock: FixedClock, settings: Settings, provider: Provider
) -> None:
    me = configure(session, clock, settings, provider)
    view = sso_config.sso_view(session, me, settings=settings)
    assert view.configured and CLIENT_SECRET not in view.secret_hint
    assert view.callback_url == "https://billing.agency.test/api/auth/sso/callback"
    with pytest.raises(ValidationFailed):
        sso_config.save_sso(
            session,
            me,
            sso_config.SsoForm(
                issuer_url="not a url",
                client_id="",
                button_label="",
                allowed_domains="bad domain!",
                jit_enabled=True,
            ),
            clock=clock,
            settings=settings,
        )
    session.rollback()
    assert sso_config.sso_view(session, me, settings=settings).button_label == "Acme SSO"
    admin_id = member(session, clock, "admin@agency.test")
    team.change_role(session, me, admin_id, role="admin", clock=clock)
    session.commit()
    admin = CurrentUser(
        id=admin_id,
        name="A",
        email="admin@agency.test",
        role_key="admin",
        role_label="Admin",
        permissions=frozenset(Permission),
    )
    with pytest.raises(NotAllowed):
        sso_config.sso_view(session, admin, settings=settings)
    with pytest.raises(NotAllowed):
        sso_config.remove_sso(session, admin, clock=clock)
    ok = sso_config.check_provider(session, me, settings=settings)
    assert ok.ok and "1 signing key" in ok.message
    provider.down = True
    down = sso_config.check_provider(session, me, settings=settings)
    assert not down.ok and "answered 503" in down.message
    assert [e.action for e in session.exec(select(AuditEvent))].count("sso.settings_saved") == 1


def test_password_sign_in_off_for_staff_but_the_owner_keeps_it(
    session: Session, clock: FixedClock, settings: Settings, provider: Provider
) -> None:
    me = configure(session, clock, settings, provider, password_allowed=False)
    user_id = member(session, clock, "sam@agency.test")
    user = session.get(StaffUser, user_id)
    assert user is not None
    from billing_app.services.common.tokens import hash_password

    user.password_hash = hash_password(PASSWORD)
    session.add(user)
    session.commit()
    refused = auth.authenticate(
        session,
        email="sam@agency.test",
        password=PASSWORD,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    assert refused.ticket is None and refused.error == auth.PASSWORD_SIGN_IN_OFF
    assert sign_in(session, clock, settings, me.email, PASSWORD)
    provider.down = True
    with pytest.raises(sso.SsoRefused) as exc:
        sso.start(session, browser=BROWSER, clock=clock, settings=settings)
    assert exc.value.reason == "provider_down"
