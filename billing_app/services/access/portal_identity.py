"""Who is signed in to the portal and what they may do: a client user, their memberships and the
one client their session is looking at (docs/architecture.md, "Two identity realms").

A ``ClientUser`` holds no staff permission: passed to a staff use case, ``require`` refuses it.
Portal use cases call ``require_client``: it answers the client the session looks at (from the
server-side session, never from the browser) and refuses a permission the role lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from billing_app.db.customers import Client
from billing_app.db.portal import ClientMembership, ClientRole, PortalUser
from billing_app.domain.permissions import (
    BUILTIN_CLIENT_ROLE_LABELS,
    BUILTIN_CLIENT_ROLE_PERMISSIONS,
    ClientPermission,
    Permission,
    builtin_client_role,
    parse_client_permissions,
)
from billing_app.services.common.actors import NOT_ALLOWED, Actor
from billing_app.services.common.errors import NotAllowed, NotFound

CUSTOM = "custom"
NOT_FOUND = "Not found."


@dataclass(frozen=True)
class Membership:
    """A client user's access to one client."""

    client_id: int
    client_name: str
    brand_id: int | None
    role_key: str
    role_label: str
    permissions: frozenset[ClientPermission]


@dataclass(frozen=True)
class ClientUser:
    """A signed-in, active client user, looking at one of their clients (``client_id``)."""

    id: int
    name: str
    email: str
    memberships: tuple[Membership, ...]
    client_id: int
    ip: str = ""
    # The portal_session row acted through (None outside a browser session).
    session_id: int | None = None
    # A staff member's read-only preview of the client's portal (services/access/
    # portal_preview.py): no portal user behind it (``id`` 0), and nothing of one's own.
    preview: bool = False

    @property
    def membership(self) -> Membership:
        """The membership of the client the session looks at."""
        for membership in self.memberships:
            if membership.client_id == self.client_id:
                return membership
        raise NotFound(NOT_FOUND)

    def may(self, permission: ClientPermission) -> bool:
        """Whether the role on the current client grants ``permission``."""
        return any(
            m.client_id == self.client_id and permission in m.permissions for m in self.memberships
        )

    def can(self, permission: Permission) -> bool:
        """A client user holds no staff permission (staff use cases refuse them)."""
        del permission
        return False

    def actor(self) -> Actor:
        who = "staff preview" if self.preview else "client user"
        return Actor(user_id=None, label=f"{self.email} ({who})", ip=self.ip)


PREVIEW_READ_ONLY = "This is a read-only preview: nothing can be changed here."


def require_own_account(actor: ClientUser) -> None:
    """For what a client user does to their own account (password, two-factor sign-in,
    sessions): a staff preview has no account of its own and changes nothing."""
    if actor.preview:
        raise NotAllowed(PREVIEW_READ_ONLY)


def require_client(actor: ClientUser, permission: ClientPermission) -> int:
    """The client ``actor`` acts for, if their role there grants ``permission``."""
    if not actor.may(permission):
        raise NotAllowed(NOT_ALLOWED)
    return actor.client_id


def require_member(actor: ClientUser) -> int:
    """The client ``actor`` acts for, whatever their role there (what every member may read)."""
    return actor.membership.client_id


def role_of_membership(
    session: Session, membership: ClientMembership
) -> tuple[str, frozenset[ClientPermission]]:
    """The label and permissions of a membership's client role."""
    return client_role_of(session, membership.role_key, membership.client_role_id)


def client_role_of(
    session: Session, role_key: str, client_role_id: int | None
) -> tuple[str, frozenset[ClientPermission]]:
    """The label and permissions of a client role (a membership's or an invitation's): a
    built-in key, or a custom role (none when it is gone)."""
    builtin = builtin_client_role(role_key)
    if builtin is not None:
        return BUILTIN_CLIENT_ROLE_LABELS[builtin], BUILTIN_CLIENT_ROLE_PERMISSIONS[builtin]
    role = session.get(ClientRole, client_role_id) if client_role_id else None
    if role is None:
        return "No role", frozenset()
    return role.name, parse_client_permissions(role.permissions.split())


@cache
def _memberships() -> sa.Select[*tuple[Any, ...]]:
    """A user's memberships of clients not archived, by company name; built once (every portal
    event reads them)."""
    return (
        sa.select(
            col(ClientMembership.client_id),
            col(ClientMembership.role_key),
            col(ClientMembership.client_role_id),
            col(Client.company),
            col(Client.brand_id),
        )
        .join(Client, col(Client.id) == col(ClientMembership.client_id))
        .where(col(ClientMembership.portal_user_id) == sa.bindparam("user_id", type_=sa.Integer()))
        .where(col(Client.status) != "archived")
        .order_by(col(Client.company), col(Client.id))
    )


def memberships_of(session: Session, user_id: int) -> tuple[Membership, ...]:
    """Every client the user belongs to (archived clients excluded), by company name."""
    rows = session.execute(_memberships(), {"user_id": user_id}).all()
    memberships = []
    for client_id, role_key, client_role_id, company, brand_id in rows:
        label, permissions = client_role_of(session, role_key, client_role_id)
        memberships.append(
            Membership(
                client_id=client_id,
                client_name=company,
                brand_id=brand_id,
                role_key=role_key,
                role_label=label,
                permissions=permissions,
            )
        )
    return tuple(memberships)


def client_user_from(
    session: Session,
    user: PortalUser,
    client_id: int | None,
    *,
    ip: str = "",
    session_id: int | None = None,
) -> ClientUser | None:
    """The client user looking at ``client_id`` (their first client when it is None or no
    longer theirs); None when they belong to no client any more."""
    memberships = memberships_of(session, user.id or 0)
    if not memberships:
        return None
    chosen = next((m for m in memberships if m.client_id == client_id), memberships[0])
    assert user.id is not None
    return ClientUser(
        id=user.id,
        name=user.name,
        email=user.email,
        memberships=memberships,
        client_id=chosen.client_id,
        ip=ip,
        session_id=session_id,
    )
