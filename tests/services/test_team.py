"""Team: invitations, role changes, deactivation, custom roles; the owner cannot be locked out."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from billing_app.db.models import AuditEvent, Invitation, OutboxEmail, StaffUser
from billing_app.domain.permissions import Permission
from billing_app.services.access import auth, password_reset, roles, team
from billing_app.services.access.identity import CurrentUser, current_user_from
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, ValidationFailed
from billing_app.services.common.listing import ListRequest
from billing_app.settings import Settings
from tests.support import delivered_token

from .test_auth import PASSWORD, make_owner, sign_in


def as_user(session: Session, user_id: int) -> CurrentUser:
    user = session.get(StaffUser, user_id)
    assert user is not None
    return current_user_from(session, user)


def invite_link(session: Session, email: str, clock: FixedClock, settings: Settings) -> str:
    """The token of the invitation link delivered to ``email`` (minted at delivery)."""
    return delivered_token(session, email, "/accept-invite", settings, clock)


def join(
    session: Session,
    clock: FixedClock,
    settings: Settings,
    inviter: CurrentUser,
    email: str,
    role: str,
    name: str = "Alex Accountant",
) -> int:
    team.invite(session, inviter, email=email, role=role, clock=clock, settings=settings)
    session.commit()
    user_id = team.accept_invitation(
        session,
        token=invite_link(session, email, clock, settings),
        name=name,
        password=PASSWORD,
        clock=clock,
    )
    session.commit()
    return user_id


def test_invitation_is_emailed_hashed_single_use_and_prefilled(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    team.invite(
        session,
        owner,
        email=" Alex@Agency.test ",
        role="accountant",
        clock=clock,
        settings=settings,
    )
    session.commit()
    mail = session.exec(select(OutboxEmail)).one()
    assert mail.subject == "You're invited to join Studio Nord"
    assert "Olivia Owner invited you" in mail.body_text
    assert "Accountant" in mail.body_text
    token = invite_link(session, "alex@agency.test", clock, settings)
    assert session.exec(select(Invitation.token_hash)).one() != token

    view = team.check_invitation(session, token, clock=clock)
    assert view.email == "alex@agency.test"
    assert view.role_label == "Accountant"

    user_id = team.accept_invitation(
        session, token=token, name="  Alex   Accountant ", password=PASSWORD, clock=clock
    )
    session.commit()
    member = as_user(session, user_id)
    assert member.name == "Alex Accountant"
    assert member.role_label == "Accountant"
    assert member.can(Permission.INVOICES_SEND)
    assert not member.can(Permission.TEAM_READ)
    with pytest.raises(ValidationFailed, match="already accepted"):
        team.accept_invitation(session, token=token, name="Eve", password=PASSWORD, clock=clock)


def test_expired_and_unknown_invitations_have_clear_messages(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    team.invite(
        session, owner, email="late@agency.test", role="viewer", clock=clock, settings=settings
    )
    session.commit()
    token = invite_link(session, "late@agency.test", clock, settings)
    clock.advance(days=7, seconds=1)
    with pytest.raises(ValidationFailed, match="This invitation has expired"):
        team.check_invitation(session, token, clock=clock)
    with pytest.raises(ValidationFailed, match="expired"):
        team.accept_invitation(session, token=token, name="Late", password=PASSWORD, clock=clock)
    with pytest.raises(ValidationFailed, match="not valid"):
        team.check_invitation(session, "made-up-token", clock=clock)
    assert (
        session.exec(select(StaffUser).where(col(StaffUser.email) == "late@agency.test")).first()
        is None
    )


def test_reinviting_replaces_the_pending_invitation(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    team.invite(
        session, owner, email="sam@agency.test", role="viewer", clock=clock, settings=settings
    )
    session.commit()
    old = invite_link(session, "sam@agency.test", clock, settings)
    team.invite(
        session, owner, email="sam@agency.test", role="admin", clock=clock, settings=settings
    )
    session.commit()
    with pytest.raises(ValidationFailed, match="not valid"):
        team.check_invitation(session, old, clock=clock)
    assert (
        team.check_invitation(
            session, invite_link(session, "sam@agency.test", clock, settings), clock=clock
        ).role_label
        == "Admin"
    )
    assert [
        i.email
        for i in team.list_pending_invitations(session, SYSTEM, ListRequest(), clock=clock).rows
    ] == ["sam@agency.test"]


@pytest.mark.parametrize(
    ("email", "role", "message"),
    [
        ("not-an-email", "viewer", "valid email"),
        ("owner@agency.test", "viewer", "already a member"),
        ("x@agency.test", "superuser", "Choose a role"),
        ("x@agency.test", "custom:999", "Choose a role"),
    ],
)
def test_bad_invitations_are_refused_and_nothing_is_sent(
    session: Session, clock: FixedClock, settings: Settings, email: str, role: str, message: str
) -> None:
    owner = as_user(session, make_owner(session, clock))
    with pytest.raises(ValidationFailed, match=message):
        team.invite(session, owner, email=email, role=role, clock=clock, settings=settings)
    session.rollback()
    assert session.exec(select(OutboxEmail)).all() == []
    assert session.exec(select(Invitation)).all() == []


def test_only_an_owner_can_invite_an_owner(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    admin_id = join(session, clock, settings, owner, "ada@agency.test", "admin", "Ada Admin")
    admin = as_user(session, admin_id)
    with pytest.raises(ValidationFailed, match="Only an owner"):
        team.invite(
            session, admin, email="o2@agency.test", role="owner", clock=clock, settings=settings
        )
    assert [v for v, _ in roles.role_options(session, admin)] == ["admin", "accountant", "viewer"]


def test_role_change_applies_to_the_next_event(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    member_id = join(session, clock, settings, owner, "alex@agency.test", "accountant")
    token = sign_in(session, clock, settings, "alex@agency.test", PASSWORD)
    before = auth.resolve_session(session, token, clock=clock, settings=settings)
    assert before is not None and before.can(Permission.PAYMENTS_RECORD)
    team.change_role(session, owner, member_id, role="viewer", clock=clock)
    session.commit()
    after = auth.resolve_session(session, token, clock=clock, settings=settings)
    assert after is not None
    assert after.role_label == "Viewer"
    assert not after.can(Permission.PAYMENTS_RECORD)
    audit_row = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "team.role_changed")
    ).one()
    assert audit_row.details == "Accountant -> Viewer"
    assert audit_row.target == "alex@agency.test"
    assert audit_row.actor_label == "owner@agency.test"


def test_deactivation_ends_open_sessions_and_sign_in(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    member_id = join(session, clock, settings, owner, "alex@agency.test", "accountant")
    token = sign_in(session, clock, settings, "alex@agency.test", PASSWORD)
    team.set_active(session, owner, member_id, active=False, clock=clock)
    session.commit()
    assert auth.resolve_session(session, token, clock=clock, settings=settings) is None
    outcome = auth.authenticate(
        session, email="alex@agency.test", password=PASSWORD, clock=clock, settings=settings
    )
    assert outcome.ticket is None
    assert outcome.error == "Email or password is incorrect."
    team.set_active(session, owner, member_id, active=True, clock=clock)
    session.commit()
    assert sign_in(session, clock, settings, "alex@agency.test", PASSWORD)


def test_the_owner_cannot_be_locked_out(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner_id = make_owner(session, clock)
    owner = as_user(session, owner_id)
    admin_id = join(session, clock, settings, owner, "ada@agency.test", "admin", "Ada Admin")
    admin = as_user(session, admin_id)
    with pytest.raises(ValidationFailed, match="Only an owner"):
        team.set_active(session, admin, owner_id, active=False, clock=clock)
    with pytest.raises(ValidationFailed, match="Only an owner"):
        team.change_role(session, admin, owner_id, role="viewer", clock=clock)
    with pytest.raises(ValidationFailed, match="yourself"):
        team.set_active(session, owner, owner_id, active=False, clock=clock)
    with pytest.raises(ValidationFailed, match="your own role"):
        team.change_role(session, owner, owner_id, role="admin", clock=clock)
    # A second owner may demote the first, but never the last one.
    team.change_role(session, owner, admin_id, role="owner", clock=clock)
    session.commit()
    second = as_user(session, admin_id)
    team.change_role(session, second, owner_id, role="admin", clock=clock)
    session.commit()
    demoted = as_user(session, owner_id)
    assert demoted.role_label == "Admin"
    # Now the second owner is the last one: nobody can demote or deactivate them.
    with pytest.raises(ValidationFailed, match="Only an owner"):
        team.change_role(session, demoted, admin_id, role="admin", clock=clock)
    with pytest.raises(ValidationFailed, match="Only an owner"):
        team.set_active(session, demoted, admin_id, active=False, clock=clock)
    with pytest.raises(ValidationFailed, match="your own role"):
        team.change_role(session, second, admin_id, role="admin", clock=clock)
    owners = session.exec(
        select(StaffUser).where(col(StaffUser.role_key) == "owner").where(col(StaffUser.is_active))
    ).all()
    assert [o.email for o in owners] == ["ada@agency.test"]


def test_custom_roles_from_checkboxes(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    role_id = roles.create_role(
        session,
        owner,
        name=" Bookkeeper ",
        description="Invoices only",
        permissions=["invoices.write", "invoices.read", "clients.read"],
        clock=clock,
    )
    session.commit()
    row = next(
        r
        for r in roles.list_roles(session, SYSTEM, ListRequest(per_page=200)).rows
        if r.custom_id == role_id
    )
    assert row.name == "Bookkeeper"
    assert row.permissions == ("clients.read", "invoices.read", "invoices.write")
    member_id = join(
        session, clock, settings, owner, "bo@agency.test", f"custom:{role_id}", "Bo Keeper"
    )
    member = as_user(session, member_id)
    assert member.role_label == "Bookkeeper"
    assert member.can(Permission.INVOICES_WRITE)
    assert not member.can(Permission.INVOICES_SEND)

    roles.update_role(
        session,
        owner,
        role_id,
        name="Bookkeeper",
        description="",
        permissions=["invoices.read"],
        clock=clock,
    )
    session.commit()
    assert not as_user(session, member_id).can(Permission.INVOICES_WRITE)

    with pytest.raises(Conflict, match="1 member holds the role “Bookkeeper”"):
        roles.delete_role(session, owner, role_id, clock=clock)
    team.change_role(session, owner, member_id, role="viewer", clock=clock)
    roles.delete_role(session, owner, role_id, clock=clock)
    session.commit()
    assert all(
        r.custom_id != role_id
        for r in roles.list_roles(session, SYSTEM, ListRequest(per_page=200)).rows
    )


@pytest.mark.parametrize(
    ("name", "permissions", "message"),
    [
        ("", ["clients.read"], "Give the role a name"),
        ("Owner", ["clients.read"], "built-in role"),
        ("Helper", [], "at least one permission"),
        ("Helper", ["clients.read", "root.everything"], "Unknown permission"),
    ],
)
def test_bad_roles_are_refused(
    session: Session, clock: FixedClock, name: str, permissions: list[str], message: str
) -> None:
    owner = as_user(session, make_owner(session, clock))
    with pytest.raises(ValidationFailed, match=message):
        roles.create_role(
            session, owner, name=name, description="", permissions=permissions, clock=clock
        )


def test_duplicate_role_names_are_refused(session: Session, clock: FixedClock) -> None:
    owner = as_user(session, make_owner(session, clock))
    roles.create_role(
        session, owner, name="Support", description="", permissions=["clients.read"], clock=clock
    )
    session.commit()
    with pytest.raises(ValidationFailed, match="already exists"):
        roles.create_role(
            session,
            owner,
            name="support",
            description="",
            permissions=["clients.read"],
            clock=clock,
        )


def member_with(
    session: Session,
    clock: FixedClock,
    settings: Settings,
    owner: CurrentUser,
    email: str,
    permissions: list[str],
) -> CurrentUser:
    """A member holding a custom role made of exactly ``permissions``."""
    role_id = roles.create_role(
        session, owner, name=f"Only {email}", description="", permissions=permissions, clock=clock
    )
    session.commit()
    return as_user(session, join(session, clock, settings, owner, email, f"custom:{role_id}"))


def written(session: Session) -> tuple[int, int, int, list[tuple[str, str, bool]]]:
    """Invitations, emails and audit rows so far, and every member's role."""
    return (
        len(session.exec(select(Invitation)).all()),
        len(session.exec(select(OutboxEmail)).all()),
        len(session.exec(select(AuditEvent)).all()),
        [(u.email, u.role_key, u.is_active) for u in session.exec(select(StaffUser)).all()],
    )


@pytest.mark.parametrize("role", ["admin", "owner", "accountant"])
def test_a_team_manager_cannot_invite_a_role_stronger_than_theirs(
    session: Session, clock: FixedClock, settings: Settings, role: str
) -> None:
    """docs/security.md item 42: team.manage alone once invited a new Admin (21 permissions)."""
    owner = as_user(session, make_owner(session, clock))
    manager = member_with(session, clock, settings, owner, "tm@agency.test", ["team.manage"])
    before = written(session)
    with pytest.raises(ValidationFailed, match=r"You can.t grant the|Only an owner") as caught:
        team.invite(
            session, manager, email="new@agency.test", role=role, clock=clock, settings=settings
        )
    assert caught.value.field == "role"
    session.rollback()
    assert written(session) == before
    offered = {v for v, _ in roles.role_options(session, manager)}
    assert offered.isdisjoint({"owner", "admin", "accountant", "viewer"})


def test_the_refusal_names_the_missing_permissions(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    manager = member_with(
        session, clock, settings, owner, "tm@agency.test", ["team.manage", *VIEWER_CODES]
    )
    with pytest.raises(ValidationFailed) as caught:
        team.invite(
            session,
            manager,
            email="n@agency.test",
            role="accountant",
            clock=clock,
            settings=settings,
        )
    assert caught.value.message == (
        "You can't grant the Accountant role: it has permissions you don't have "
        "(Add, edit, import and archive clients; Open a read-only preview of a client's "
        "portal, to help them; Create, change and cancel subscriptions; and 5 more)."
    )
    # A role within their own permissions is fine.
    team.invite(
        session, manager, email="v@agency.test", role="viewer", clock=clock, settings=settings
    )
    session.commit()
    assert "viewer" in [v for v, _ in roles.role_options(session, manager)]
    assert "accountant" not in [v for v, _ in roles.role_options(session, manager)]


VIEWER_CODES = [
    "dashboard.view",
    "clients.read",
    "catalog.read",
    "subscriptions.read",
    "invoices.read",
    "payments.read",
    "reports.view",
    "settings.read",
]


def test_a_team_manager_cannot_promote_demote_or_deactivate_stronger_members(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    admin_id = join(session, clock, settings, owner, "ada@agency.test", "admin", "Ada Admin")
    viewer_id = join(session, clock, settings, owner, "vic@agency.test", "viewer", "Vic Viewer")
    manager = member_with(
        session, clock, settings, owner, "tm@agency.test", ["team.manage", *VIEWER_CODES]
    )
    before = written(session)
    with pytest.raises(ValidationFailed, match="You can't grant the Admin role"):
        team.change_role(session, manager, viewer_id, role="admin", clock=clock)
    with pytest.raises(
        ValidationFailed, match=r"change the role of Ada Admin: their role \(Admin\)"
    ):
        team.change_role(session, manager, admin_id, role="viewer", clock=clock)
    with pytest.raises(ValidationFailed, match="You can't deactivate Ada Admin"):
        team.set_active(session, manager, admin_id, active=False, clock=clock)
    session.rollback()
    assert written(session) == before
    # Members within the manager's own permissions are theirs to manage.
    team.set_active(session, manager, viewer_id, active=False, clock=clock)
    team.set_active(session, manager, viewer_id, active=True, clock=clock)
    session.commit()


def test_a_role_manager_cannot_give_a_role_permissions_they_lack(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    manager = member_with(
        session, clock, settings, owner, "rm@agency.test", ["roles.manage", "team.read"]
    )
    own_role_id = session.exec(
        select(StaffUser.custom_role_id).where(col(StaffUser.email) == "rm@agency.test")
    ).one()
    assert own_role_id is not None
    refunds_role = roles.create_role(
        session, owner, name="Refunder", description="", permissions=["refunds.create"], clock=clock
    )
    session.commit()
    before = written(session)
    roles_before = [
        (r.value, r.permissions)
        for r in roles.list_roles(session, SYSTEM, ListRequest(per_page=200)).rows
    ]
    with pytest.raises(ValidationFailed, match=r"don't have \(Refund payments\)") as caught:
        roles.create_role(
            session,
            manager,
            name="Cashier",
            description="",
            permissions=["team.read", "refunds.create"],
            clock=clock,
        )
    assert caught.value.field == "permissions"
    session.rollback()
    helper = roles.create_role(
        session, manager, name="Helper", description="", permissions=["team.read"], clock=clock
    )
    session.commit()
    with pytest.raises(ValidationFailed, match=r"don't have \(Refund payments\)"):
        roles.update_role(
            session,
            manager,
            helper,
            name="Helper",
            description="",
            permissions=["team.read", "refunds.create"],
            clock=clock,
        )
    with pytest.raises(ValidationFailed, match=r"don't have \(Add, edit, import"):
        roles.update_role(  # widening one's own role
            session,
            manager,
            own_role_id,
            name="Only rm@agency.test",
            description="",
            permissions=["roles.manage", "team.read", "clients.write"],
            clock=clock,
        )
    with pytest.raises(ValidationFailed, match="You can't edit the role “Refunder”"):
        roles.update_role(  # nor take a permission away from those who hold it
            session,
            manager,
            refunds_role,
            name="Refunder",
            description="",
            permissions=["team.read"],
            clock=clock,
        )
    session.rollback()
    assert [
        (r.value, r.permissions)
        for r in roles.list_roles(session, SYSTEM, ListRequest(per_page=200)).rows
        if r.name != "Helper"
    ] == (roles_before)
    assert len(session.exec(select(AuditEvent)).all()) == before[2] + 1  # Helper only


def test_the_owner_can_grant_and_manage_everything(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    admin_id = join(session, clock, settings, owner, "ada@agency.test", "admin", "Ada Admin")
    for role in ("owner", "admin", "accountant"):
        team.invite(
            session,
            owner,
            email=f"new-{role}@agency.test",
            role=role,
            clock=clock,
            settings=settings,
        )
    role_id = roles.create_role(
        session,
        owner,
        name="Everything",
        description="",
        permissions=[p.value for p in Permission],
        clock=clock,
    )
    roles.update_role(
        session,
        owner,
        role_id,
        name="Everything",
        description="",
        permissions=["refunds.create"],
        clock=clock,
    )
    team.change_role(session, owner, admin_id, role="viewer", clock=clock)
    team.change_role(session, owner, admin_id, role="admin", clock=clock)
    team.set_active(session, owner, admin_id, active=False, clock=clock)
    session.commit()
    assert [v for v, _ in roles.role_options(session, owner)][:4] == [
        "owner",
        "admin",
        "accountant",
        "viewer",
    ]


def test_deactivation_ends_reset_links_for_good(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    """A link sent before a member was deactivated does not come back to life when they are
    reactivated."""
    from .test_auth import request_reset

    owner = as_user(session, make_owner(session, clock))
    member_id = join(session, clock, settings, owner, "alex@agency.test", "accountant")
    request_reset(session, clock, settings, "alex@agency.test")
    token = delivered_token(session, "alex@agency.test", "/reset-password", settings, clock)
    team.set_active(session, owner, member_id, active=False, clock=clock)
    session.commit()
    team.set_active(session, owner, member_id, active=True, clock=clock)
    session.commit()
    with pytest.raises(ValidationFailed, match="not valid or was already used"):
        password_reset.check_reset_token(session, token, clock=clock)


def test_the_outbox_never_holds_a_usable_invitation_link(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    team.invite(
        session, owner, email="sam@agency.test", role="viewer", clock=clock, settings=settings
    )
    session.commit()
    queued = session.exec(select(OutboxEmail)).one()
    token = invite_link(session, "sam@agency.test", clock, settings)
    sent = session.exec(select(OutboxEmail)).one()
    for stored in (queued, sent):
        assert token not in stored.body_text and token not in stored.body_html
        assert "accept-invite?token=OUTBOX-LINK-TOKEN" in stored.body_text
    assert team.check_invitation(session, token, clock=clock).email == "sam@agency.test"
