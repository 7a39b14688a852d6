"""The portal's Users page: a client user whose role allows it (users.manage) invites colleagues
and manages their access, for the one client their session looks at.

Scoped by the actor's membership (``require_client``), never by a client id from the browser:
another client's people and invitations are "not found" (docs/architecture.md, "Two identity
realms"). A client user gives nobody a role holding a permission they lack, nor changes or
removes someone whose role holds one; a client always keeps one user with full access.
"""

from __future__ import annotations

from sqlmodel import Session

from billing_app.domain.permissions import ClientPermission, client_permissions_lacking
from billing_app.services.access import portal_invitations
from billing_app.services.access.client_roles import (
    all_client_roles,
    default_client_role,
    parse_client_role,
)
from billing_app.services.access.client_users import (
    ClientUserRow,
    PortalInvitationRow,
    client_of,
    invitations_page,
    keep_a_full_access_user,
    membership_of,
    remove_member,
    set_member_role,
    users_page,
)
from billing_app.services.access.portal_identity import (
    ClientUser,
    client_role_of,
    require_client,
)
from billing_app.services.access.portal_invitations import InviteOutcome
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import ValidationFailed
from billing_app.services.common.listing import ListRequest, Page
from billing_app.settings import Settings

MANAGE = ClientPermission.USERS_MANAGE


def _held(actor: ClientUser) -> frozenset[ClientPermission]:
    return actor.membership.permissions


def _missing(actor: ClientUser, permissions: frozenset[ClientPermission]) -> str:
    return "; ".join(i.label for i in client_permissions_lacking(_held(actor), permissions))


def check_grantable(
    actor: ClientUser, label: str, permissions: frozenset[ClientPermission]
) -> None:
    """Refuse giving the role ``label`` unless the actor holds all its permissions here."""
    missing = _missing(actor, permissions)
    if missing:
        msg = f"You can't give the {label} role: it allows what you can't do ({missing})."
        raise ValidationFailed(msg, field="role")


def _check_manageable(actor: ClientUser, session: Session, client_id: int, user_id: int) -> None:
    membership = membership_of(session, client_id, user_id)
    label, permissions = client_role_of(session, membership.role_key, membership.client_role_id)
    missing = _missing(actor, permissions)
    if missing:
        msg = (
            f"You can't change this person's access: their role ({label}) allows more ({missing})."
        )
        raise ValidationFailed(msg, field="member")


def colleague_role_options(session: Session, actor: ClientUser) -> list[tuple[str, str]]:
    """(value, label) of the roles the actor may give: those within their own permissions."""
    require_client(actor, MANAGE)
    held = _held(actor)
    return [(value, label) for value, label, perms in all_client_roles(session) if perms <= held]


def default_colleague_role(session: Session, actor: ClientUser) -> str:
    """The role preselected on the invite form: the agency's default when the actor may give
    it, else the first role they may give."""
    require_client(actor, MANAGE)
    options = [value for value, _ in colleague_role_options(session, actor)]
    default = default_client_role(session)
    return default if default in options else next(iter(options), "")


def list_colleagues(
    session: Session, actor: ClientUser, request: ListRequest
) -> Page[ClientUserRow]:
    """The people with access to the actor's client, by name."""
    return users_page(session, require_client(actor, MANAGE), request)


def list_colleague_invitations(
    session: Session, actor: ClientUser, request: ListRequest, *, clock: Clock = system_clock
) -> Page[PortalInvitationRow]:
    """The actor's client's pending invitations, newest first."""
    return invitations_page(session, require_client(actor, MANAGE), request, clock.now())


def invite_colleague(
    session: Session,
    actor: ClientUser,
    *,
    email: str,
    name: str,
    role: str,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> InviteOutcome:
    """Invite a colleague to the actor's client (someone with an account gets access now)."""
    client = client_of(session, require_client(actor, MANAGE))
    email, name, chosen = portal_invitations.checked_invite(
        session,
        client,
        email=email,
        name=name,
        role=role,
        grant=lambda label, permissions: check_grantable(actor, label, permissions),
    )
    return portal_invitations.send_invitation(
        session,
        client,
        actor.actor(),
        email=email,
        name=name,
        chosen=chosen,
        inviter=actor.name,
        clock=clock,
        settings=settings,
    )


def change_colleague_role(
    session: Session, actor: ClientUser, user_id: int, *, role: str, clock: Clock = system_clock
) -> None:
    """Give a colleague (or oneself, to fewer permissions) another role on the actor's client."""
    client_id = require_client(actor, MANAGE)
    _check_manageable(actor, session, client_id, user_id)
    chosen = parse_client_role(session, role)
    check_grantable(actor, chosen[1], chosen[2])
    membership = membership_of(session, client_id, user_id)
    keep_a_full_access_user(session, membership, chosen[2])
    set_member_role(
        session, actor.actor(), client_of(session, client_id), membership, chosen, clock=clock
    )


def remove_colleague(
    session: Session, actor: ClientUser, user_id: int, *, clock: Clock = system_clock
) -> None:
    """Take a colleague's access to the actor's client away (or leave it oneself); the last
    user with full access stays."""
    client_id = require_client(actor, MANAGE)
    _check_manageable(actor, session, client_id, user_id)
    membership = membership_of(session, client_id, user_id)
    keep_a_full_access_user(session, membership, frozenset())
    remove_member(session, actor.actor(), client_of(session, client_id), membership, clock=clock)


def resend_colleague_invitation(
    session: Session,
    actor: ClientUser,
    invitation_id: int,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> None:
    invitation = portal_invitations.pending_invitation(
        session, invitation_id, require_client(actor, MANAGE)
    )
    # Sending again gives the role for 7 more days: only a role the actor may give.
    check_grantable(actor, *client_role_of(session, invitation.role_key, invitation.client_role_id))
    portal_invitations.resend(
        session, invitation, actor.actor(), inviter=actor.name, clock=clock, settings=settings
    )


def revoke_colleague_invitation(
    session: Session, actor: ClientUser, invitation_id: int, *, clock: Clock = system_clock
) -> None:
    invitation = portal_invitations.pending_invitation(
        session, invitation_id, require_client(actor, MANAGE)
    )
    portal_invitations.revoke(session, invitation, actor.actor(), clock=clock)
