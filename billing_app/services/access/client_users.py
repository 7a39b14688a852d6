"""A client's portal users as staff manage them (the client's Users tab): who has access and
with which role, pending invitations, role changes, removing access.

Staff need clients.read to see them and clients.users to change anything; every change is
audited. Removing access deletes the membership and ends at once the user's portal sessions
looking at that client (docs/security.md, client portal); the portal re-checks memberships on
every event anyway. The same rules serve the portal's own Users page (colleagues.py), scoped
there to the client user's own client.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Client
from billing_app.db.portal import ClientMembership, PortalInvitation, PortalSession, PortalUser
from billing_app.domain.permissions import ClientPermission, Permission, is_full_access
from billing_app.domain.timestamps import as_utc
from billing_app.services.access.client_roles import parse_client_role, ref_of
from billing_app.services.access.identity import RoleRef
from billing_app.services.access.portal_identity import client_role_of
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, Actor, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound
from billing_app.services.common.listing import ListRequest, Page, keyset_page, like_pattern

CLIENT_GONE = "That client does not exist."
USER_GONE = "That person has no access to this client."
# A client role chosen in a form: its reference, label and permissions (parse_client_role).
ChosenRole = tuple[RoleRef, str, frozenset[ClientPermission]]


@dataclass(frozen=True)
class ClientUserRow:
    user_id: int
    name: str
    email: str
    role_value: str
    role_label: str
    permissions: frozenset[ClientPermission]
    two_factor: bool
    last_login_at: datetime | None
    member_since: datetime


@dataclass(frozen=True)
class PortalInvitationRow:
    id: int
    email: str
    name: str
    role_label: str
    invited_by: str
    created_at: datetime
    expires_at: datetime
    expired: bool


def client_of(session: Session, client_id: int) -> Client:
    """The client (for use cases that checked their actor); NotFound when there is none."""
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(CLIENT_GONE)
    return client


def users_page(session: Session, client_id: int, request: ListRequest) -> Page[ClientUserRow]:
    """The people with access to a client by name (search: name or email)."""
    conditions: list[sa.ColumnElement[bool]] = [col(ClientMembership.client_id) == client_id]
    if request.term:
        like = like_pattern(request.term)
        conditions.append(
            sa.or_(
                func.lower(col(PortalUser.name)).like(like, escape="\\"),
                func.lower(col(PortalUser.email)).like(like, escape="\\"),
            )
        )
    joined = sa.join(
        PortalUser, ClientMembership, col(ClientMembership.portal_user_id) == col(PortalUser.id)
    )
    page = keyset_page(
        session,
        sa.select(PortalUser, ClientMembership).select_from(joined).where(*conditions),
        sa.select(func.count()).select_from(joined).where(*conditions),
        [func.lower(col(PortalUser.name)), col(PortalUser.id)],
        replace(request, descending=False),
    )

    def row(pair: tuple[PortalUser, ClientMembership]) -> ClientUserRow:
        user, membership = pair
        label, permissions = client_role_of(session, membership.role_key, membership.client_role_id)
        assert user.id is not None
        return ClientUserRow(
            user_id=user.id,
            name=user.name,
            email=user.email,
            role_value=ref_of(membership.role_key, membership.client_role_id).value,
            role_label=label,
            permissions=permissions,
            two_factor=user.totp_enabled_at is not None,
            last_login_at=user.last_login_at,
            member_since=membership.created_at,
        )

    return page.map(row)


def invitations_page(
    session: Session, client_id: int, request: ListRequest, now: datetime
) -> Page[PortalInvitationRow]:
    """A client's invitations neither accepted nor revoked, newest first (expired ones say
    so: they can be sent again)."""
    pending = [
        col(PortalInvitation.client_id) == client_id,
        col(PortalInvitation.accepted_at).is_(None),
        col(PortalInvitation.revoked_at).is_(None),
    ]
    page = keyset_page(
        session,
        sa.select(PortalInvitation).where(*pending),
        sa.select(func.count()).select_from(PortalInvitation).where(*pending),
        [col(PortalInvitation.created_at), col(PortalInvitation.id)],
        replace(request, descending=True),
    )

    def row(inv: PortalInvitation) -> PortalInvitationRow:
        assert inv.id is not None
        return PortalInvitationRow(
            id=inv.id,
            email=inv.email,
            name=inv.name,
            role_label=client_role_of(session, inv.role_key, inv.client_role_id)[0],
            invited_by=inv.invited_by,
            created_at=inv.created_at,
            expires_at=inv.expires_at,
            expired=as_utc(inv.expires_at) <= now,
        )

    return page.map(row)


def membership_of(session: Session, client_id: int, user_id: int) -> ClientMembership:
    """A user's membership of a client; NotFound when they have none (another client's user
    included: one client never learns of another's people)."""
    membership = session.exec(
        select(ClientMembership)
        .where(col(ClientMembership.client_id) == client_id)
        .where(col(ClientMembership.portal_user_id) == user_id)
    ).first()
    if membership is None:
        raise NotFound(USER_GONE)
    return membership


def _full_access_count(session: Session, client_id: int) -> int:
    memberships = session.exec(
        select(ClientMembership).where(col(ClientMembership.client_id) == client_id)
    ).all()
    return sum(
        1
        for m in memberships
        if is_full_access(client_role_of(session, m.role_key, m.client_role_id)[1])
    )


def keep_a_full_access_user(
    session: Session, membership: ClientMembership, new_permissions: frozenset[ClientPermission]
) -> None:
    """Refuse taking full access from the last user of a client who has it (the portal's
    Users page must never lock a client out of managing its own people)."""
    _, current = client_role_of(session, membership.role_key, membership.client_role_id)
    if not is_full_access(current) or is_full_access(new_permissions):
        return
    if _full_access_count(session, membership.client_id) <= 1:
        msg = (
            "A client keeps at least one user with full access. Give someone else full "
            "access first."
        )
        raise Conflict(msg)


def _target(session: Session, membership: ClientMembership, client: Client) -> tuple[str, str]:
    """Who a change concerns, as the audit log names them: their email, and the client."""
    user = session.get(PortalUser, membership.portal_user_id)
    return (user.email if user else f"portal user {membership.portal_user_id}"), client.company


def set_member_role(
    session: Session,
    who: Actor,
    client: Client,
    membership: ClientMembership,
    role: ChosenRole,
    *,
    clock: Clock = system_clock,
) -> None:
    """Give a member of ``client`` another client role (it applies to their next event)."""
    ref, label, _ = role
    old_label, _ = client_role_of(session, membership.role_key, membership.client_role_id)
    membership.role_key, membership.client_role_id = ref.role_key, ref.custom_role_id
    session.add(membership)
    email, company = _target(session, membership, client)
    audit.record(
        session,
        "client_user.role_changed",
        who,
        target=email,
        details=f"{company}: {old_label} -> {label}",
        clock=clock,
    )


def end_client_sessions(
    session: Session, user_id: int, client_id: int, *, clock: Clock = system_clock
) -> int:
    """End the user's open portal sessions looking at this client; returns how many."""
    result = session.execute(
        sa.update(PortalSession)
        .where(col(PortalSession.user_id) == user_id)
        .where(col(PortalSession.client_id) == client_id)
        .where(col(PortalSession.revoked_at).is_(None))
        .values(revoked_at=clock.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def remove_member(
    session: Session,
    who: Actor,
    client: Client,
    membership: ClientMembership,
    *,
    clock: Clock = system_clock,
) -> None:
    """Take a user's access to ``client`` away: the membership goes and their portal sessions
    on that client end now. Their account stays (other clients, a later invitation)."""
    assert client.id is not None
    label, _ = client_role_of(session, membership.role_key, membership.client_role_id)
    email, company = _target(session, membership, client)
    session.delete(membership)
    ended = end_client_sessions(session, membership.portal_user_id, client.id, clock=clock)
    audit.record(
        session,
        "client_user.removed",
        who,
        target=email,
        details=f"{company} ({label}); {ended} session(s) ended",
        clock=clock,
    )


# --------------------------------------------------------------------------- staff use cases


def list_client_users(
    session: Session, viewer: Acting, client_id: int, request: ListRequest
) -> Page[ClientUserRow]:
    """The client's portal users, for the client's Users tab."""
    require(viewer, Permission.CLIENTS_READ)
    client_of(session, client_id)
    return users_page(session, client_id, request)


def list_client_invitations(
    session: Session,
    viewer: Acting,
    client_id: int,
    request: ListRequest,
    *,
    clock: Clock = system_clock,
) -> Page[PortalInvitationRow]:
    """The client's pending portal invitations, newest first."""
    require(viewer, Permission.CLIENTS_READ)
    client_of(session, client_id)
    return invitations_page(session, client_id, request, clock.now())


def change_client_user_role(
    session: Session,
    actor: Acting,
    client_id: int,
    user_id: int,
    *,
    role: str,
    clock: Clock = system_clock,
) -> None:
    require(actor, Permission.CLIENTS_USERS)
    client = client_of(session, client_id)
    membership = membership_of(session, client_id, user_id)
    chosen = parse_client_role(session, role)
    set_member_role(session, actor.actor(), client, membership, chosen, clock=clock)


def remove_client_user(
    session: Session, actor: Acting, client_id: int, user_id: int, *, clock: Clock = system_clock
) -> None:
    require(actor, Permission.CLIENTS_USERS)
    client = client_of(session, client_id)
    remove_member(
        session, actor.actor(), client, membership_of(session, client_id, user_id), clock=clock
    )
