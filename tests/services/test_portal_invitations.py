"""Invitations to a client's portal: branded, hashed, single use, 7 days, revocable at once,
never a usable link in the outbox; someone with an account is simply given access; accepting
reports every field at once and one of two simultaneous accepts wins."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Client
from billing_app.db.models import AuditEvent, OutboxEmail
from billing_app.db.portal import ClientMembership, PortalInvitation, PortalUser
from billing_app.domain.permissions import BUILTIN_ROLE_PERMISSIONS, BuiltinRole, Permission
from billing_app.services.access import client_users, portal_accept, portal_invitations
from billing_app.services.access.identity import CurrentUser
from billing_app.services.access.portal_identity import ClientUser, client_user_from
from billing_app.services.agency import branding
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed, ValidationFailed
from billing_app.services.common.outbox import SECRET_PLACEHOLDER
from billing_app.services.common.tokens import token_digest
from billing_app.settings import Settings
from tests.support import deliver, delivered_token, link_token

from .test_auth import PASSWORD
from .test_clients import ADMIN, add_client

ACCEPT = "/portal/accept-invite"

NORD = branding.BrandInput(
    name="Nord Hosting",
    primary_color="#0f766e",
    accent_color="#f59e0b",
    sender_name="Nord Hosting Billing",
    reply_to="help@nord-hosting.test",
    support_email="support@nord-hosting.test",
    support_url="",
    email_footer="Nord Hosting · Mannerheimintie 1, Helsinki",
    custom_domain="billing.nord-hosting.test",
)


def staff_with(*permissions: Permission, role: BuiltinRole | None = None) -> CurrentUser:
    """A staff member holding a built-in role's permissions, or exactly ``permissions``."""
    return CurrentUser(
        id=998,
        name="Sam Staff",
        email="sam@agency.test",
        role_key=role.value if role else "custom",
        role_label=role.value.capitalize() if role else "Custom",
        permissions=BUILTIN_ROLE_PERMISSIONS[role] if role else frozenset(permissions),
    )


def nord_client(session: Session, clock: FixedClock, **overrides: object) -> int:
    """A client of the Nord Hosting brand (custom domain, own sender and footer)."""
    client = add_client(session, clock, **overrides)
    brand_id = branding.create_brand(session, SYSTEM, NORD, clock=clock)
    branding.assign_client_brand(session, SYSTEM, client.id or 0, brand_id, clock=clock)
    session.commit()
    return client.id or 0


def invite(
    session: Session,
    clock: FixedClock,
    settings: Settings,
    client_id: int,
    email: str,
    role: str = "full",
    name: str = "",
) -> portal_invitations.InviteOutcome:
    outcome = portal_invitations.invite_client_user(
        session, ADMIN, client_id, email=email, name=name, role=role, clock=clock, settings=settings
    )
    session.commit()
    return outcome


def join_portal(
    session: Session,
    clock: FixedClock,
    settings: Settings,
    client_id: int,
    email: str,
    role: str = "full",
    name: str = "Pat Client",
) -> int:
    """A portal user of ``client_id`` (invited by staff, accepted); their id."""
    invite(session, clock, settings, client_id, email, role)
    token = delivered_token(session, email, ACCEPT, settings, clock)
    user_id, _ = portal_accept.accept_portal_invitation(
        session, token, name=name, password=PASSWORD, confirm=PASSWORD, clock=clock
    )
    session.commit()
    return user_id


def as_client_user(session: Session, user_id: int, client_id: int) -> ClientUser:
    user = session.get(PortalUser, user_id)
    assert user is not None
    found = client_user_from(session, user, client_id)
    assert found is not None and found.client_id == client_id
    return found


def count(session: Session, table: type) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def test_the_invitation_is_branded_hashed_single_use_and_links_to_the_brand_domain(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock, contact_name="Amélie Martin")
    outcome = invite(session, clock, settings, client_id, " Amelie@Acme.test ", name="Amélie")
    assert outcome.email == "amelie@acme.test" and not outcome.granted_at_once
    row = session.exec(select(OutboxEmail)).one()
    # The brand's identity, as invoice emails have it.
    assert row.kind == "portal_invitation"
    assert row.from_name == "Nord Hosting Billing"
    assert row.reply_to == "help@nord-hosting.test"
    assert row.subject == "Your invitation to Acme Bakery's account with Nord Hosting"
    assert "Nord Hosting · Mannerheimintie 1, Helsinki" in row.body_text
    assert "#0f766e" in row.body_html and "support@nord-hosting.test" in row.body_html
    assert "Hello Amélie," in row.body_text
    assert "Nord Hosting invited you to the Acme Bakery account" in row.body_text
    assert "as Full access" in row.body_text and "March 21, 2026" in row.body_text
    # No usable link in the outbox: a placeholder, minted at delivery.
    assert f"{ACCEPT}?token={SECRET_PLACEHOLDER}" in row.body_text
    assert (row.secret_kind, row.secret_ref) == ("portal_invitation", outcome.invitation_id)
    sent = [m for m in deliver(session, settings, clock) if m.to_address == "amelie@acme.test"]
    assert sent[0].from_name == "Nord Hosting Billing"
    assert f"https://billing.nord-hosting.test{ACCEPT}?token=" in sent[0].text
    assert f'href="https://billing.nord-hosting.test{ACCEPT}?token=' in sent[0].html
    token = link_token(sent[0], ACCEPT)
    stored = session.exec(select(PortalInvitation)).one()
    assert stored.token_hash == token_digest(token) != token
    assert token not in session.exec(select(OutboxEmail)).one().body_text

    view = portal_accept.check_portal_invitation(session, token, clock=clock)
    assert (view.client_name, view.email, view.invited_name) == (
        "Acme Bakery",
        "amelie@acme.test",
        "Amélie",
    )
    assert view.role_label == "Full access" and not view.has_account
    client = session.get(Client, client_id)
    assert client is not None and (view.brand_id, view.client_id) == (client.brand_id, client_id)

    user_id, accepted_client = portal_accept.accept_portal_invitation(
        session,
        token,
        name="  Amélie   Martin ",
        password=PASSWORD,
        confirm=PASSWORD,
        ip="10.0.0.7",
        clock=clock,
    )
    session.commit()
    assert accepted_client == client_id
    user = session.get(PortalUser, user_id)
    assert user is not None and user.name == "Amélie Martin" and user.email == "amelie@acme.test"
    assert user.password_hash.startswith("$argon2id$")
    assert as_client_user(session, user_id, client_id).membership.role_label == "Full access"
    with pytest.raises(ValidationFailed, match="already accepted") as caught:
        portal_accept.accept_portal_invitation(
            session, token, name="Eve", password=PASSWORD, clock=clock
        )
    assert caught.value.field == "token"
    actions = [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]
    assert actions[-2:] == ["client_user.invited", "client_user.invitation_accepted"]
    accepted = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "client_user.invitation_accepted")
    ).one()
    assert (accepted.actor_label, accepted.ip) == ("amelie@acme.test (client user)", "10.0.0.7")
    assert token not in " ".join(
        f"{e.target} {e.details}" for e in session.exec(select(AuditEvent))
    )


def test_without_a_custom_domain_the_link_is_on_the_configured_base_url(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client = add_client(session, clock)
    invite(session, clock, settings, client.id or 0, "pat@acme.test")
    sent = deliver(session, settings, clock)
    assert f"https://billing.agency.test{ACCEPT}?token=" in sent[0].text


def test_links_expire_after_7_days_and_unknown_ones_are_invalid(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock)
    invite(session, clock, settings, client_id, "late@acme.test")
    token = delivered_token(session, "late@acme.test", ACCEPT, settings, clock)
    clock.advance(days=7, seconds=-1)
    assert portal_accept.check_portal_invitation(session, token, clock=clock)
    clock.advance(seconds=1)
    with pytest.raises(ValidationFailed, match="This invitation has expired"):
        portal_accept.check_portal_invitation(session, token, clock=clock)
    with pytest.raises(ValidationFailed, match="expired"):
        portal_accept.accept_portal_invitation(
            session, token, name="Late", password=PASSWORD, clock=clock
        )
    with pytest.raises(ValidationFailed, match="not valid"):
        portal_accept.check_portal_invitation(session, "made-up-token", clock=clock)
    assert count(session, PortalUser) == 0


def test_revoking_works_at_once_even_before_the_email_left(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock)
    first = invite(session, clock, settings, client_id, "gone@acme.test")
    token = delivered_token(session, "gone@acme.test", ACCEPT, settings, clock)
    portal_invitations.revoke_portal_invitation(
        session, ADMIN, first.invitation_id or 0, clock=clock
    )
    session.commit()
    with pytest.raises(ValidationFailed, match="withdrawn"):
        portal_accept.check_portal_invitation(session, token, clock=clock)
    # Revoked while its email waits in the outbox: it is never delivered.
    second = invite(session, clock, settings, client_id, "never@acme.test")
    portal_invitations.revoke_portal_invitation(
        session, ADMIN, second.invitation_id or 0, clock=clock
    )
    assert [m.to_address for m in deliver(session, settings, clock)] == []
    waiting = session.exec(
        select(OutboxEmail).where(col(OutboxEmail.to_address) == "never@acme.test")
    ).one()
    assert waiting.status == "dead"
    revoked = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "client_user.invitation_revoked")
    ).all()
    assert [e.target for e in revoked] == ["gone@acme.test", "never@acme.test"]


def test_resending_gives_7_more_days_and_the_old_link_stops_working(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock)
    outcome = invite(session, clock, settings, client_id, "pat@acme.test")
    old = delivered_token(session, "pat@acme.test", ACCEPT, settings, clock)
    clock.advance(days=6)
    portal_invitations.resend_portal_invitation(
        session, ADMIN, outcome.invitation_id or 0, clock=clock, settings=settings
    )
    session.commit()
    new = delivered_token(session, "pat@acme.test", ACCEPT, settings, clock)
    assert new != old
    with pytest.raises(ValidationFailed, match="not valid"):
        portal_accept.check_portal_invitation(session, old, clock=clock)
    clock.advance(days=6)
    assert portal_accept.check_portal_invitation(session, new, clock=clock).email == (
        "pat@acme.test"
    )


def test_reinviting_replaces_the_pending_invitation(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock)
    invite(session, clock, settings, client_id, "pat@acme.test", role="view")
    old = delivered_token(session, "pat@acme.test", ACCEPT, settings, clock)
    invite(session, clock, settings, client_id, "pat@acme.test", role="billing")
    new = delivered_token(session, "pat@acme.test", ACCEPT, settings, clock)
    with pytest.raises(ValidationFailed, match="withdrawn"):
        portal_accept.check_portal_invitation(session, old, clock=clock)
    view = portal_accept.check_portal_invitation(session, new, clock=clock)
    assert view.role_label == "Billing only"
    pending = client_users.list_client_invitations(
        session, ADMIN, client_id, client_users.ListRequest(), clock=clock
    )
    assert [(i.email, i.role_label) for i in pending.rows] == [("pat@acme.test", "Billing only")]


def test_someone_with_an_account_is_given_access_at_once_and_told(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    first = add_client(session, clock, company="Atelier Nord", email="hello@atelier.test").id
    user_id = join_portal(session, clock, settings, first or 0, "pat@acme.test", name="Pat Lee")
    client_id = nord_client(session, clock)
    outcome = invite(session, clock, settings, client_id, "PAT@acme.test", role="billing")
    assert outcome.granted_at_once and outcome.invitation_id is None
    pending = session.exec(
        select(PortalInvitation).where(col(PortalInvitation.client_id) == client_id)
    ).all()
    assert pending == []
    assert as_client_user(session, user_id, client_id).membership.role_label == "Billing only"
    mail = session.exec(
        select(OutboxEmail).where(col(OutboxEmail.kind) == "portal_access_granted")
    ).one()
    assert mail.subject == "You now have access to Acme Bakery in Nord Hosting's portal"
    assert mail.from_name == "Nord Hosting Billing" and mail.secret_kind == ""
    assert "Hello Pat Lee," in mail.body_text and "as Billing only" in mail.body_text
    assert "https://billing.nord-hosting.test/portal" in mail.body_text
    assert "token=" not in mail.body_text
    granted = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "client_user.access_granted")
    ).one()
    assert (granted.target, granted.details) == ("pat@acme.test", "Acme Bakery (Billing only)")
    # Already a member: said under the email field, nothing written.
    with pytest.raises(ValidationFailed, match="already has access to Acme Bakery") as caught:
        invite(session, clock, settings, client_id, "pat@acme.test")
    assert caught.value.field == "email"


def test_an_invitation_to_an_address_with_an_account_asks_for_its_password(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    first = add_client(session, clock, company="Atelier Nord", email="hello@atelier.test").id
    second = nord_client(session, clock)
    invite(session, clock, settings, second, "pat@acme.test")  # before the account exists
    token = delivered_token(session, "pat@acme.test", ACCEPT, settings, clock)
    user_id = join_portal(session, clock, settings, first or 0, "pat@acme.test")
    assert portal_accept.check_portal_invitation(session, token, clock=clock).has_account
    with pytest.raises(ValidationFailed) as caught:
        portal_accept.accept_portal_invitation(
            session, token, name="", password="not the password", clock=clock
        )
    assert caught.value.errors == {
        "password": "This email address already has an account here: enter its password."
    }
    accepted = portal_accept.accept_portal_invitation(
        session, token, name="", password=PASSWORD, clock=clock
    )
    session.commit()
    assert accepted == (user_id, second)
    assert count(session, PortalUser) == 1


def test_accepting_reports_every_field_at_once_and_writes_nothing(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock)
    invite(session, clock, settings, client_id, "pat@acme.test")
    token = delivered_token(session, "pat@acme.test", ACCEPT, settings, clock)
    audits = count(session, AuditEvent)
    with pytest.raises(ValidationFailed) as caught:
        portal_accept.accept_portal_invitation(
            session, token, name="  ", password="short", confirm="shorter", clock=clock
        )
    assert caught.value.errors == {
        "name": "Enter your name.",
        "password": "Use at least 8 characters.",
        "confirm": "The two passwords differ.",
    }
    session.rollback()
    assert count(session, PortalUser) == 0 and count(session, ClientMembership) == 0
    assert count(session, AuditEvent) == audits
    assert session.exec(select(PortalInvitation.accepted_at)).one() is None


@pytest.mark.parametrize(
    ("email", "name", "role", "errors"),
    [
        (
            "not-an-email",
            "x" * 201,
            "superuser",
            {"email", "name", "role"},
        ),
        ("pat@acme.test", "", "custom:999", {"role"}),
    ],
)
def test_a_bad_invitation_names_every_field_and_writes_nothing(
    session: Session,
    clock: FixedClock,
    settings: Settings,
    email: str,
    name: str,
    role: str,
    errors: set[str],
) -> None:
    client_id = nord_client(session, clock)
    with pytest.raises(ValidationFailed) as caught:
        invite(session, clock, settings, client_id, email, role=role, name=name)
    assert set(caught.value.errors) == errors
    session.rollback()
    assert count(session, PortalInvitation) == 0 and count(session, OutboxEmail) == 0


def test_two_simultaneous_accepts_of_one_invitation_make_one_account(
    engine: sa.Engine, session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock)
    invite(session, clock, settings, client_id, "pat@acme.test")
    token = delivered_token(session, "pat@acme.test", ACCEPT, settings, clock)
    barrier = threading.Barrier(2)
    results: list[object] = []
    lock = threading.Lock()

    def accept(name: str) -> None:
        outcome: object
        try:
            with Session(engine, expire_on_commit=False) as s:
                barrier.wait(timeout=30)
                outcome = portal_accept.accept_portal_invitation(
                    s, token, name=name, password=PASSWORD, clock=clock
                )
                s.commit()
        except ValidationFailed as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=accept, args=(n,)) for n in ("First", "Second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(results) == 2 and len(refused) == 1, results
    assert "already accepted" in refused[0].message
    session.expire_all()
    assert count(session, PortalUser) == 1 and count(session, ClientMembership) == 1


def test_staff_without_clients_users_are_refused_and_nothing_is_written(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock)
    user_id = join_portal(session, clock, settings, client_id, "pat@acme.test")
    pending = invite(session, clock, settings, client_id, "sam@acme.test").invitation_id or 0
    accountant = staff_with(role=BuiltinRole.ACCOUNTANT)
    viewer = staff_with(role=BuiltinRole.VIEWER)
    nobody = staff_with()

    def written() -> tuple[object, ...]:
        session.expire_all()
        return (
            count(session, PortalInvitation),
            count(session, OutboxEmail),
            count(session, AuditEvent),
            session.exec(select(ClientMembership.role_key)).all(),
            session.exec(select(PortalInvitation.revoked_at, PortalInvitation.expires_at)).all(),
        )

    before = written()
    calls = [
        lambda a: portal_invitations.invite_client_user(
            session, a, client_id, email="x@acme.test", name="", role="view", settings=settings
        ),
        lambda a: portal_invitations.resend_portal_invitation(session, a, pending, clock=clock),
        lambda a: portal_invitations.revoke_portal_invitation(session, a, pending, clock=clock),
        lambda a: client_users.change_client_user_role(
            session, a, client_id, user_id, role="view", clock=clock
        ),
        lambda a: client_users.remove_client_user(session, a, client_id, user_id, clock=clock),
    ]
    for actor in (accountant, viewer, nobody):
        assert not actor.can(Permission.CLIENTS_USERS)
        for call in calls:
            with pytest.raises(NotAllowed):
                call(actor)
    with pytest.raises(NotAllowed):
        client_users.list_client_users(session, nobody, client_id, client_users.ListRequest())
    with pytest.raises(NotAllowed):
        client_users.list_client_invitations(session, nobody, client_id, client_users.ListRequest())
    assert written() == before
    # The admin holds clients.users (the owner too); reading needs clients.read only.
    assert staff_with(role=BuiltinRole.ADMIN).can(Permission.CLIENTS_USERS)
    assert (
        client_users.list_client_users(session, viewer, client_id, client_users.ListRequest()).total
        == 1
    )


def test_a_french_client_is_invited_in_french(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock, locale="fr_FR")
    invite(session, clock, settings, client_id, "amelie@acme.test", role="view", name="Amélie")
    mail = session.exec(select(OutboxEmail)).one()
    assert mail.subject == "Votre invitation au compte Acme Bakery chez Nord Hosting"
    assert "Bonjour Amélie," in mail.body_text
    assert "Lecture seule" in mail.body_text and "21 mars 2026" in mail.body_text
    token = delivered_token(session, "amelie@acme.test", ACCEPT, settings, clock)
    view = portal_accept.check_portal_invitation(session, token, clock=clock)
    assert (view.locale, view.role_label) == ("fr_FR", "Lecture seule")
    clock.advance(days=8)
    with pytest.raises(ValidationFailed, match="Cette invitation a expiré"):
        portal_accept.check_portal_invitation(session, token, clock=clock)


def test_deleting_a_custom_client_role_withdraws_its_pending_invitations(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    from billing_app.services.access import client_roles

    client_id = nord_client(session, clock)
    role_id = client_roles.create_client_role(
        session, SYSTEM, name="Payer", description="", permissions=["invoices.pay"], clock=clock
    )
    session.commit()
    invite(session, clock, settings, client_id, "pat@acme.test", role=f"custom:{role_id}")
    token = delivered_token(session, "pat@acme.test", ACCEPT, settings, clock)
    assert portal_accept.check_portal_invitation(session, token, clock=clock).role_label == (
        "Payer"
    )
    # Deleting the role withdraws its pending invitations.
    client_roles.delete_client_role(session, SYSTEM, role_id, clock=clock)
    session.commit()
    with pytest.raises(ValidationFailed, match="withdrawn"):
        portal_accept.check_portal_invitation(session, token, clock=clock)
