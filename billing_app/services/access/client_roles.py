"""Client roles: the built-in ones (Full access, Billing only, View only; read-only) and custom
client roles made of client permission checkboxes, shared by every client, and the default role
new client users get.

Staff holding roles.manage make and edit custom client roles; client permissions are not staff
permissions, so no staff member lacks one. Inside the portal a client user gives nobody a role
holding a permission they lack themselves (services/access/colleagues.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from billing_app.db.invoicing import AgencySettings
from billing_app.db.portal import ClientMembership, ClientRole, PortalInvitation
from billing_app.domain.permissions import (
    BUILTIN_CLIENT_ROLE_DESCRIPTIONS,
    BUILTIN_CLIENT_ROLE_LABELS,
    BUILTIN_CLIENT_ROLE_PERMISSIONS,
    CLIENT_CATALOGUE,
    BuiltinClientRole,
    ClientPermission,
    Permission,
    builtin_client_role,
    parse_client_permissions,
)
from billing_app.i18n import N_, gettext
from billing_app.services.access.identity import CUSTOM, RoleRef
from billing_app.services.access.portal_identity import client_role_of
from billing_app.services.access.roles import (
    RoleRow,
    apply_role,
    checked_codes,
    clean_role,
    insert_role,
    roles_listing,
)
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed
from billing_app.services.common.listing import ListRequest, Page

DEFAULT_ROLE = BuiltinClientRole.FULL.value
# The built-in labels (domain/permissions.py) as clients read them, in their language.
CLIENT_ROLE_NAMES = (N_("Full access"), N_("Billing only"), N_("View only"))
ROLE_GONE = "That role does not exist."


def ordered_client_codes(permissions: frozenset[ClientPermission]) -> tuple[str, ...]:
    return tuple(i.permission.value for i in CLIENT_CATALOGUE if i.permission in permissions)


def role_label_in(label: str, locale: str | None) -> str:
    """A role's label as a client reads it: built-in labels translated, custom names as typed."""
    return gettext(label, locale=locale) if label in CLIENT_ROLE_NAMES else label


def ref_of(role_key: str, client_role_id: int | None) -> RoleRef:
    return RoleRef(role_key, client_role_id if role_key == CUSTOM else None)


def parse_client_role(
    session: Session, value: str, field: str = "role"
) -> tuple[RoleRef, str, frozenset[ClientPermission]]:
    """A client role chosen in a form (a built-in key, or ``custom:<id>``), its label and its
    permissions; ValidationFailed under ``field`` for anything else."""
    builtin = builtin_client_role(value)
    if builtin is not None:
        return (
            RoleRef(builtin.value, None),
            BUILTIN_CLIENT_ROLE_LABELS[builtin],
            BUILTIN_CLIENT_ROLE_PERMISSIONS[builtin],
        )
    prefix, _, raw_id = value.partition(":")
    if prefix == CUSTOM and raw_id.isdigit() and len(raw_id) < 10:
        role = session.get(ClientRole, int(raw_id))
        if role is not None:
            label, permissions = client_role_of(session, CUSTOM, role.id)
            return RoleRef(CUSTOM, role.id), label, permissions
    msg = "Choose a role."
    raise ValidationFailed(msg, field=field)


def default_client_role(session: Session) -> str:
    """The role new client users get unless another is picked (Settings); Full access when the
    setting names a role that is gone."""
    agency = session.get(AgencySettings, 1)
    value = agency.client_default_role if agency is not None else DEFAULT_ROLE
    try:
        return parse_client_role(session, value)[0].value
    except ValidationFailed:
        return DEFAULT_ROLE


def all_client_roles(session: Session) -> list[tuple[str, str, frozenset[ClientPermission]]]:
    """(value, label, permissions) of every client role: the built-in ones, then custom ones by
    name (for use cases that checked their actor)."""
    roles = [
        (role.value, BUILTIN_CLIENT_ROLE_LABELS[role], BUILTIN_CLIENT_ROLE_PERMISSIONS[role])
        for role in BuiltinClientRole
    ]
    for custom in session.exec(select(ClientRole).order_by(func.lower(col(ClientRole.name)))):
        roles.append(
            (
                RoleRef(CUSTOM, custom.id).value,
                custom.name,
                parse_client_permissions(custom.permissions.split()),
            )
        )
    return roles


@dataclass(frozen=True)
class ClientRoleChoices:
    options: list[tuple[str, str]]  # (value, label) of every client role
    default: str  # the one preselected: the default client role


def client_role_choices(session: Session, viewer: Acting) -> ClientRoleChoices:
    """The client roles to choose from, for whoever gives client users a role or picks the
    default one (staff: any client role; client permissions are not theirs to lack)."""
    if not viewer.can(Permission.SETTINGS_READ):
        require(viewer, Permission.CLIENTS_USERS)
    return ClientRoleChoices(
        options=[(value, label) for value, label, _ in all_client_roles(session)],
        default=default_client_role(session),
    )


def list_client_roles(session: Session, viewer: Acting, request: ListRequest) -> Page[RoleRow]:
    """Built-in client roles first, then custom ones by name, each with how many client users
    hold it (every client counted) and whether it is the default."""
    require(viewer, Permission.TEAM_READ)
    counts: dict[str, int] = {}
    for key, custom_id, n in session.exec(
        select(ClientMembership.role_key, ClientMembership.client_role_id, func.count()).group_by(
            col(ClientMembership.role_key), col(ClientMembership.client_role_id)
        )
    ).all():
        value = ref_of(key, custom_id).value
        counts[value] = counts.get(value, 0) + n
    default = default_client_role(session)
    builtins = [
        RoleRow(
            value=role.value,
            name=BUILTIN_CLIENT_ROLE_LABELS[role],
            description=BUILTIN_CLIENT_ROLE_DESCRIPTIONS[role],
            permissions=ordered_client_codes(BUILTIN_CLIENT_ROLE_PERMISSIONS[role]),
            builtin=True,
            member_count=counts.get(role.value, 0),
            custom_id=None,
            is_default=role.value == default,
        )
        for role in BuiltinClientRole
    ]
    return roles_listing(
        session,
        request,
        ClientRole,
        builtins,
        lambda codes: ordered_client_codes(parse_client_permissions(codes.split())),
        counts,
        default,
    )


def _clean(
    session: Session,
    name: str,
    description: str,
    permissions: list[str],
    role_id: int | None = None,
) -> tuple[str, str, str]:
    codes = [info.permission.value for info in CLIENT_CATALOGUE]
    return clean_role(
        session,
        ClientRole,
        BUILTIN_CLIENT_ROLE_LABELS.values(),
        name,
        description,
        lambda: " ".join(checked_codes(permissions, codes)),
        role_id,
    )


def _custom_role(session: Session, role_id: int) -> ClientRole:
    role = session.get(ClientRole, role_id)
    if role is None:
        raise NotFound(ROLE_GONE)
    return role


def create_client_role(
    session: Session,
    actor: Acting,
    *,
    name: str,
    description: str,
    permissions: list[str],
    clock: Clock = system_clock,
) -> int:
    require(actor, Permission.ROLES_MANAGE)
    values = _clean(session, name, description, permissions)
    return insert_role(session, actor.actor(), ClientRole, values, "client_role.created", clock)


def update_client_role(
    session: Session,
    actor: Acting,
    role_id: int,
    *,
    name: str,
    description: str,
    permissions: list[str],
    clock: Clock = system_clock,
) -> None:
    """Change a custom client role; its users have the new permissions at their next event."""
    require(actor, Permission.ROLES_MANAGE)
    role = _custom_role(session, role_id)
    values = _clean(session, name, description, permissions, role_id)
    apply_role(session, actor.actor(), role, values, "client_role.updated", clock)


def delete_client_role(
    session: Session, actor: Acting, role_id: int, *, clock: Clock = system_clock
) -> None:
    """Delete a custom client role nobody holds and that is not the default; its pending
    invitations are revoked."""
    require(actor, Permission.ROLES_MANAGE)
    role = _custom_role(session, role_id)
    holders = session.exec(
        select(func.count())
        .select_from(ClientMembership)
        .where(col(ClientMembership.client_role_id) == role_id)
    ).one()
    if holders:
        noun = "client user holds" if holders == 1 else "client users hold"
        msg = f"{holders} {noun} the role “{role.name}”. Give them another role first."
        raise Conflict(msg)
    if default_client_role(session) == RoleRef(CUSTOM, role_id).value:
        msg = f"“{role.name}” is the default client role. Choose another default in Settings first."
        raise Conflict(msg)
    now = clock.now()
    for invitation in session.exec(
        select(PortalInvitation).where(col(PortalInvitation.client_role_id) == role_id)
    ):
        if invitation.accepted_at is None and invitation.revoked_at is None:
            invitation.revoked_at = now
        invitation.client_role_id = None
        session.add(invitation)
    session.flush()
    session.delete(role)
    audit.record(session, "client_role.deleted", actor.actor(), target=role.name, clock=clock)
