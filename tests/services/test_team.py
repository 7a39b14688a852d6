"""Team: invitations, role changes, deactivation, custom roles; the owner cannot be locked out."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, col, select

from billing_app.db.models import AuditEvent, Invitation, OutboxEmail, StaffUser
from billing_app.domain.permissions import Permission
from billing_app.services import auth, roles, team
from billing_app.services.clock import FixedClock
from billing_app.services.errors import Conflict, ValidationFailed
from billing_app.services.identity import CurrentUser, current_user_from
from billing_app.settings import Settings

from .test_auth import PASSWORD, make_owner, sign_in


def as_user(session: Session, user_id: int) -> CurrentUser:
    user = session.get(StaffUser, user_id)
    assert user is not None
    return current_user_from(session, user)


def invite_link(session: Session, email: str) -> str:
    body = session.exec(
        select(OutboxEmail.body_text)
        .where(col(OutboxEmail.to_address) == email)
        .order_by(col(OutboxEmail.id).desc())
    ).first()
    assert body
    match = re.search(r"https://billing\.agency\.test/accept-invite\?token=([\w-]+)", body)
    assert match
    return match.group(1)


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
        session, token=invite_link(session, email), name=name, password=PASSWORD, clock=clock
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
    token = invite_link(session, "alex@agency.test")
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
    token = invite_link(session, "late@agency.test")
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
    old = invite_link(session, "sam@agency.test")
    team.invite(
        session, owner, email="sam@agency.test", role="admin", clock=clock, settings=settings
    )
    session.commit()
    with pytest.raises(ValidationFailed, match="not valid"):
        team.check_invitation(session, old, clock=clock)
    assert (
        team.check_invitation(
            session, invite_link(session, "sam@agency.test"), clock=clock
        ).role_label
        == "Admin"
    )
    assert [i.email for i in team.list_pending_invitations(session, clock=clock)] == [
        "sam@agency.test"
    ]


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
    row = next(r for r in roles.list_roles(session) if r.custom_id == role_id)
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
    assert all(r.custom_id != role_id for r in roles.list_roles(session))


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
