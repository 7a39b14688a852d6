"""A client's portal users: what staff see and change on the client's Users tab, and what a
client user may do on the portal's Users page - only for their own client, never giving more
than they hold, never leaving a client without a user with full access. Removing access ends
the sessions looking at that client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from billing_app.db.models import AuditEvent, OutboxEmail
from billing_app.db.portal import ClientMembership, PortalInvitation, PortalSession, PortalUser
from billing_app.domain.permissions import BuiltinRole, ClientPermission
from billing_app.services.access import client_roles, client_users, colleagues
from billing_app.services.agency import portal_settings
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from billing_app.services.common.listing import ListRequest
from billing_app.services.common.tokens import new_token, token_digest
from billing_app.services.customers import imports
from billing_app.settings import Settings

from .test_clients import ADMIN, add_client
from .test_portal_invitations import (
    as_client_user,
    count,
    invite,
    join_portal,
    nord_client,
    staff_with,
)


def open_session(session: Session, clock: FixedClock, user_id: int, client_id: int) -> int:
    """A signed-in portal browser of ``user_id`` looking at ``client_id``."""
    now = clock.now()
    row = PortalSession(
        token_hash=token_digest(new_token()),
        user_id=user_id,
        client_id=client_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=1),
    )
    session.add(row)
    session.commit()
    return row.id or 0


def revoked(session: Session, session_id: int) -> bool:
    session.expire_all()
    row = session.get(PortalSession, session_id)
    assert row is not None
    return row.revoked_at is not None


def written(session: Session) -> tuple[object, ...]:
    """Memberships with their roles, invitations, emails and audit rows so far."""
    session.expire_all()
    return (
        sorted(
            session.exec(
                select(
                    ClientMembership.portal_user_id,
                    ClientMembership.client_id,
                    ClientMembership.role_key,
                )
            ).all()
        ),
        session.exec(select(PortalInvitation.id, PortalInvitation.revoked_at)).all(),
        count(session, OutboxEmail),
        count(session, AuditEvent),
    )


def test_staff_see_who_has_access_with_role_last_sign_in_and_two_factor(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock)
    bo = join_portal(session, clock, settings, client_id, "bo@acme.test", "billing", "Bo Berg")
    al = join_portal(session, clock, settings, client_id, "al@acme.test", "full", "Al Ahl")
    user = session.get(PortalUser, al)
    assert user is not None
    user.totp_enabled_at = user.last_login_at = clock.now()
    session.add(user)
    session.commit()
    invite(session, clock, settings, client_id, "cy@acme.test", role="view", name="Cy")
    clock.advance(days=8)
    invite(session, clock, settings, client_id, "di@acme.test", role="billing")
    viewer = staff_with(role=BuiltinRole.VIEWER)

    users = client_users.list_client_users(session, viewer, client_id, ListRequest())
    assert [(u.name, u.email, u.role_label, u.two_factor) for u in users.rows] == [
        ("Al Ahl", "al@acme.test", "Full access", True),
        ("Bo Berg", "bo@acme.test", "Billing only", False),
    ]
    assert users.rows[0].last_login_at == clock.now() - timedelta(days=8)
    assert users.rows[1].last_login_at is None and users.rows[1].user_id == bo
    assert users.rows[1].role_value == "billing"
    found = client_users.list_client_users(session, viewer, client_id, ListRequest(search="BERG"))
    assert [u.email for u in found.rows] == ["bo@acme.test"]

    pending = client_users.list_client_invitations(
        session, viewer, client_id, ListRequest(), clock=clock
    )
    assert [(i.email, i.role_label, i.expired, i.invited_by) for i in pending.rows] == [
        ("di@acme.test", "Billing only", False, "ada@agency.test"),
        ("cy@acme.test", "View only", True, "ada@agency.test"),
    ]
    # Pages by keyset: one at a time.
    first = client_users.list_client_users(session, viewer, client_id, ListRequest(per_page=1))
    second = client_users.list_client_users(
        session, viewer, client_id, ListRequest(per_page=1, after=first.last_key)
    )
    assert [u.email for u in first.rows + second.rows] == ["al@acme.test", "bo@acme.test"]
    with pytest.raises(NotFound):
        client_users.list_client_users(session, viewer, 424242, ListRequest())


def test_a_role_change_applies_at_the_next_event_and_is_audited(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock)
    user_id = join_portal(session, clock, settings, client_id, "bo@acme.test", "billing")
    assert as_client_user(session, user_id, client_id).may(ClientPermission.INVOICES_PAY)
    client_users.change_client_user_role(session, ADMIN, client_id, user_id, role="view")
    session.commit()
    after = as_client_user(session, user_id, client_id)
    assert after.membership.role_label == "View only"
    assert not after.may(ClientPermission.INVOICES_PAY)
    row = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "client_user.role_changed")
    ).one()
    assert (row.actor_label, row.target, row.details) == (
        "ada@agency.test",
        "bo@acme.test",
        "Acme Bakery: Billing only -> View only",
    )
    with pytest.raises(ValidationFailed, match="Choose a role"):
        client_users.change_client_user_role(session, ADMIN, client_id, user_id, role="root")


def test_removing_access_ends_the_sessions_on_that_client_only(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    acme = nord_client(session, clock)
    atelier = add_client(session, clock, company="Atelier Nord", email="hi@atelier.test").id or 0
    user_id = join_portal(session, clock, settings, acme, "bo@acme.test")
    invite(session, clock, settings, atelier, "bo@acme.test", role="view")  # given at once
    on_acme = [open_session(session, clock, user_id, acme) for _ in range(2)]
    on_atelier = open_session(session, clock, user_id, atelier)

    client_users.remove_client_user(session, ADMIN, acme, user_id, clock=clock)
    session.commit()
    assert all(revoked(session, s) for s in on_acme)
    assert not revoked(session, on_atelier)
    remaining = session.exec(select(ClientMembership.client_id)).all()
    assert remaining == [atelier]
    assert session.get(PortalUser, user_id) is not None  # the account stays
    row = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "client_user.removed")
    ).one()
    assert (row.target, row.details) == (
        "bo@acme.test",
        "Acme Bakery (Full access); 2 session(s) ended",
    )
    with pytest.raises(NotFound):
        client_users.remove_client_user(session, ADMIN, acme, user_id, clock=clock)


def test_a_client_user_manages_only_the_people_of_their_own_client(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    acme = nord_client(session, clock)
    atelier = add_client(session, clock, company="Atelier Nord", email="hi@atelier.test").id or 0
    manager_id = join_portal(session, clock, settings, acme, "max@acme.test")
    colleague = join_portal(session, clock, settings, acme, "col@acme.test", "view")
    outsider = join_portal(session, clock, settings, atelier, "out@atelier.test", "view")
    other_invitation = invite(session, clock, settings, atelier, "new@atelier.test").invitation_id
    manager = as_client_user(session, manager_id, acme)
    before = written(session)

    for call in (
        lambda: colleagues.change_colleague_role(session, manager, outsider, role="billing"),
        lambda: colleagues.remove_colleague(session, manager, outsider, clock=clock),
        lambda: colleagues.revoke_colleague_invitation(session, manager, other_invitation or 0),
        lambda: colleagues.resend_colleague_invitation(session, manager, other_invitation or 0),
    ):
        with pytest.raises(NotFound):
            call()
    session.rollback()
    assert written(session) == before
    listed = colleagues.list_colleagues(session, manager, ListRequest())
    assert sorted(u.email for u in listed.rows) == ["col@acme.test", "max@acme.test"]
    assert colleagues.list_colleague_invitations(session, manager, ListRequest()).rows == []
    # Their own client's people are theirs to manage.
    colleagues.change_colleague_role(session, manager, colleague, role="billing", clock=clock)
    session.commit()
    assert as_client_user(session, colleague, acme).membership.role_label == "Billing only"


@pytest.mark.parametrize("role", ["billing", "view"])
def test_a_user_without_users_manage_cannot_manage_users(
    session: Session, clock: FixedClock, settings: Settings, role: str
) -> None:
    client_id = nord_client(session, clock)
    full = join_portal(session, clock, settings, client_id, "max@acme.test")
    limited = as_client_user(
        session, join_portal(session, clock, settings, client_id, "bo@acme.test", role), client_id
    )
    pending = invite(session, clock, settings, client_id, "new@acme.test").invitation_id or 0
    before = written(session)
    for call in (
        lambda: colleagues.list_colleagues(session, limited, ListRequest()),
        lambda: colleagues.list_colleague_invitations(session, limited, ListRequest()),
        lambda: colleagues.colleague_role_options(session, limited),
        lambda: colleagues.invite_colleague(
            session, limited, email="x@acme.test", name="", role="view", settings=settings
        ),
        lambda: colleagues.change_colleague_role(session, limited, full, role="view"),
        lambda: colleagues.remove_colleague(session, limited, full),
        lambda: colleagues.revoke_colleague_invitation(session, limited, pending),
        lambda: colleagues.resend_colleague_invitation(session, limited, pending),
    ):
        with pytest.raises(NotAllowed):
            call()
    session.rollback()
    assert written(session) == before


def team_lead(session: Session, clock: FixedClock) -> str:
    """A custom client role that manages users and sees what View only sees, nothing more."""
    role_id = client_roles.create_client_role(
        session,
        SYSTEM,
        name="Team lead",
        description="",
        permissions=["users.manage", "invoices.view", "subscriptions.view"],
        clock=clock,
    )
    session.commit()
    return f"custom:{role_id}"


def test_a_client_user_cannot_give_or_touch_a_role_stronger_than_theirs(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock)
    lead_role = team_lead(session, clock)
    full = join_portal(session, clock, settings, client_id, "max@acme.test")
    lead = as_client_user(
        session,
        join_portal(session, clock, settings, client_id, "li@acme.test", lead_role),
        client_id,
    )
    viewer = join_portal(session, clock, settings, client_id, "vi@acme.test", "view")
    options = colleagues.colleague_role_options(session, lead)
    assert options == [("view", "View only"), (lead_role, "Team lead")]
    before = written(session)
    with pytest.raises(ValidationFailed, match="You can't give the Full access role") as caught:
        colleagues.invite_colleague(
            session, lead, email="new@acme.test", name="", role="full", settings=settings
        )
    assert caught.value.field == "role"
    assert "Pay invoices" in caught.value.message
    with pytest.raises(ValidationFailed, match="You can't give the Billing only role"):
        colleagues.change_colleague_role(session, lead, viewer, role="billing")
    with pytest.raises(ValidationFailed, match=r"their role \(Full access\) allows more"):
        colleagues.change_colleague_role(session, lead, full, role="view")
    with pytest.raises(ValidationFailed, match=r"their role \(Full access\) allows more"):
        colleagues.remove_colleague(session, lead, full)
    session.rollback()
    assert written(session) == before
    # Within their own permissions: fine, and the invitation names them.
    outcome = colleagues.invite_colleague(
        session, lead, email="new@acme.test", name="Nia", role="view", settings=settings
    )
    session.commit()
    mail = session.exec(
        select(OutboxEmail).where(col(OutboxEmail.to_address) == "new@acme.test")
    ).one()
    assert "Pat Client invited you to the Acme Bakery account in the Nord Hosting" in (
        mail.body_text
    )
    inv = session.get(PortalInvitation, outcome.invitation_id)
    assert inv is not None and inv.invited_by == "li@acme.test (client user)"
    assert colleagues.default_colleague_role(session, lead) == "view"


def test_the_last_user_with_full_access_stays(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client_id = nord_client(session, clock)
    max_id = join_portal(session, clock, settings, client_id, "max@acme.test")
    session_id = open_session(session, clock, max_id, client_id)
    maxi = as_client_user(session, max_id, client_id)
    before = written(session)
    with pytest.raises(Conflict, match="at least one user with full access"):
        colleagues.remove_colleague(session, maxi, max_id)
    with pytest.raises(Conflict, match="at least one user with full access"):
        colleagues.change_colleague_role(session, maxi, max_id, role="billing")
    session.rollback()
    assert written(session) == before
    # With a second full-access user, either may leave, and the other then stays.
    eve_id = join_portal(session, clock, settings, client_id, "eve@acme.test")
    colleagues.remove_colleague(session, maxi, max_id, clock=clock)
    session.commit()
    assert revoked(session, session_id)
    eve = as_client_user(session, eve_id, client_id)
    with pytest.raises(Conflict):
        colleagues.remove_colleague(session, eve, eve_id)
    # A custom role ticking every box is full access too.
    every = client_roles.create_client_role(
        session,
        SYSTEM,
        name="Everything",
        description="",
        permissions=[p.value for p in ClientPermission],
        clock=clock,
    )
    session.commit()
    colleagues.change_colleague_role(session, eve, eve_id, role=f"custom:{every}", clock=clock)
    session.commit()
    with pytest.raises(Conflict):
        colleagues.change_colleague_role(
            session, as_client_user(session, eve_id, client_id), eve_id, role="view"
        )


def test_a_client_user_invites_a_colleague_who_already_has_an_account(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    acme = nord_client(session, clock)
    atelier = add_client(session, clock, company="Atelier Nord", email="hi@atelier.test").id or 0
    manager = as_client_user(
        session, join_portal(session, clock, settings, acme, "max@acme.test", name="Max"), acme
    )
    join_portal(session, clock, settings, atelier, "bo@atelier.test")
    outcome = colleagues.invite_colleague(
        session, manager, email="bo@atelier.test", name="", role="billing", settings=settings
    )
    session.commit()
    assert outcome.granted_at_once
    mail = session.exec(
        select(OutboxEmail).where(col(OutboxEmail.kind) == "portal_access_granted")
    ).one()
    assert "Max gave you access to the Acme Bakery account" in mail.body_text
    granted = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "client_user.access_granted")
    ).one()
    assert granted.actor_label == "max@acme.test (client user)"


CSV = b"company,contact,email\nAtelier Nord,Aino Aalto,aino@atelier.test\nBlue Fox,,fox@blue.test\n"


def test_the_csv_import_can_invite_each_contact_with_the_default_role(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    accountant = staff_with(role=BuiltinRole.ACCOUNTANT)
    with pytest.raises(NotAllowed):
        imports.import_valid(session, accountant, CSV, invite=True, clock=clock)
    session.rollback()
    assert count(session, PortalInvitation) == 0 and count(session, OutboxEmail) == 0
    portal_settings.update_portal_settings(
        session, SYSTEM, default_role="billing", require_2fa=False, clock=clock
    )
    created = imports.import_valid(session, ADMIN, CSV, invite=True, clock=clock, settings=settings)
    session.commit()
    assert created == 2
    invitations = session.exec(select(PortalInvitation).order_by(col(PortalInvitation.id))).all()
    assert [(i.email, i.name, i.role_key) for i in invitations] == [
        ("aino@atelier.test", "Aino Aalto", "billing"),
        ("fox@blue.test", "", "billing"),
    ]
    assert count(session, OutboxEmail) == 2
    # Without the box ticked, nobody is invited (and clients.users is not needed).
    other = b"company,email\nCedar Lane,hello@cedar.test\n"
    assert imports.import_valid(session, accountant, other, clock=clock) == 1
    session.commit()
    assert count(session, PortalInvitation) == 2
