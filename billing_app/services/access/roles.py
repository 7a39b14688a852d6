"""Staff roles: the built-in ones (read-only) and custom roles made of permission checkboxes.

Nobody grants a permission they do not hold themselves (docs/security.md item 42): a role is
offered, given (invitation, role change) or edited only by someone holding all of its
permissions, and a member whose role holds more than the actor's cannot be changed or
deactivated by them. The owner holds every permission, so the owner may do all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from billing_app.db.models import CustomRole, Invitation, StaffUser
from billing_app.db.portal import ClientRole
from billing_app.domain.permissions import (
    BUILTIN_ROLE_DESCRIPTIONS,
    BUILTIN_ROLE_LABELS,
    BUILTIN_ROLE_PERMISSIONS,
    CATALOGUE,
    BuiltinRole,
    Permission,
    builtin_role,
    parse_permissions,
)
from billing_app.services.access.identity import CUSTOM, CurrentUser, RoleRef
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, Actor, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, FieldChecks, NotFound, ValidationFailed
from billing_app.services.common.listing import ListRequest, Page, keyset_page

# A custom role of either realm: staff (custom_role) or client (client_role).
RoleTable = type[CustomRole] | type[ClientRole]


@dataclass(frozen=True)
class RoleRow:
    value: str  # "owner" ... or "custom:<id>"
    name: str
    description: str
    permissions: tuple[str, ...]
    builtin: bool
    member_count: int  # staff: active members; client roles: client users (every client)
    custom_id: int | None
    is_default: bool = False  # client roles: the role new client users get


def _ordered(perms: frozenset[Permission] | set[Permission]) -> tuple[str, ...]:
    return tuple(info.permission.value for info in CATALOGUE if info.permission in perms)


def role_permissions(
    session: Session, role_key: str, custom_role_id: int | None
) -> frozenset[Permission]:
    """The permissions of a built-in role key, or of a custom role (none if it is gone)."""
    builtin = builtin_role(role_key)
    if builtin is not None:
        return BUILTIN_ROLE_PERMISSIONS[builtin]
    role = session.get(CustomRole, custom_role_id) if custom_role_id else None
    return parse_permissions(role.permissions.split()) if role else frozenset()


def lacking(actor: CurrentUser, permissions: frozenset[Permission]) -> str:
    """The permissions among ``permissions`` the actor does not hold, for a message
    ("Refund payments; See the audit log; and 3 more"), or "" when they hold them all."""
    missing = [
        i.label for i in CATALOGUE if i.permission in permissions and not actor.can(i.permission)
    ]
    if len(missing) > 3:
        missing = [*missing[:3], f"and {len(missing) - 3} more"]
    return "; ".join(missing)


def check_grantable(actor: CurrentUser, label: str, permissions: frozenset[Permission]) -> None:
    """Refuse giving someone the role ``label`` unless the actor holds all its permissions."""
    missing = lacking(actor, permissions)
    if missing:
        msg = f"You can't grant the {label} role: it has permissions you don't have ({missing})."
        raise ValidationFailed(msg, field="role")


def builtins_then_custom(
    session: Session, builtin_count: int, table: RoleTable, request: ListRequest
) -> Page[int]:
    """Built-in roles first (in their own order), then the custom roles of ``table`` by name:
    one list, paged by keyset like every other. A row is ``-(i + 1)`` for the i-th built-in
    role, else the custom role's id."""
    listed = sa.union_all(
        *[
            sa.select(
                sa.literal(0).label("grp"),
                sa.literal(f"{i:03d}").label("sort_name"),
                sa.literal(-(i + 1)).label("rid"),
            )
            for i in range(builtin_count)
        ],
        sa.select(
            sa.literal(1).label("grp"),
            sa.func.lower(col(table.name)).label("sort_name"),
            col(table.id).label("rid"),
        ),
    ).subquery("roles")
    return keyset_page(
        session,
        sa.select(listed.c.rid),
        sa.select(func.count()).select_from(listed),
        [listed.c.grp, listed.c.sort_name, listed.c.rid],
        replace(request, descending=False),
    )


def roles_listing(
    session: Session,
    request: ListRequest,
    table: RoleTable,
    builtins: Sequence[RoleRow],
    codes_of: Callable[[str], tuple[str, ...]],
    counts: Mapping[str, int],
    default: str = "",
) -> Page[RoleRow]:
    """The roles of a realm as one list: ``builtins`` (in their order), then the custom roles
    of ``table`` by name, each with ``counts[value]`` holders; ``codes_of`` gives a custom
    role's stored codes in catalogue order; ``default`` is the value of the default role."""
    page = builtins_then_custom(session, len(builtins), table, request)
    ids = [rid for rid in page.rows if rid > 0]
    customs = {
        role.id: role
        for role in session.execute(sa.select(table).where(col(table.id).in_(ids))).scalars()
    }

    def row(rid: int) -> RoleRow:
        if rid < 0:
            return builtins[-rid - 1]
        custom = customs[rid]
        value = RoleRef(CUSTOM, custom.id).value
        return RoleRow(
            value=value,
            name=custom.name,
            description=custom.description,
            permissions=codes_of(custom.permissions),
            builtin=False,
            member_count=counts.get(value, 0),
            custom_id=custom.id,
            is_default=value == default,
        )

    return page.map(row)


def list_roles(session: Session, viewer: Acting, request: ListRequest) -> Page[RoleRow]:
    """Built-in roles first (in their own order), then custom roles by name, each with how
    many active members hold it: one list, paged by keyset like every other."""
    require(viewer, Permission.TEAM_READ)
    counts: dict[str, int] = {}
    for key, custom_id, n in session.exec(
        select(StaffUser.role_key, StaffUser.custom_role_id, func.count())
        .where(col(StaffUser.is_active).is_(True))
        .group_by(col(StaffUser.role_key), col(StaffUser.custom_role_id))
    ).all():
        counts[f"custom:{custom_id}" if custom_id else key] = n
    builtins = [
        RoleRow(
            value=role.value,
            name=BUILTIN_ROLE_LABELS[role],
            description=BUILTIN_ROLE_DESCRIPTIONS[role],
            permissions=_ordered(BUILTIN_ROLE_PERMISSIONS[role]),
            builtin=True,
            member_count=counts.get(role.value, 0),
            custom_id=None,
        )
        for role in BuiltinRole
    ]
    return roles_listing(
        session,
        request,
        CustomRole,
        builtins,
        lambda codes: _ordered(parse_permissions(codes.split())),
        counts,
    )


def _clean_name(
    session: Session,
    name: str,
    role_id: int | None,
    table: RoleTable,
    builtin_labels: Iterable[str],
) -> str:
    name = " ".join(name.split())
    if not name:
        msg = "Give the role a name."
        raise ValidationFailed(msg, field="name")
    if len(name) > 80:
        msg = "Use at most 80 characters."
        raise ValidationFailed(msg, field="name")
    if name.lower() in {label.lower() for label in builtin_labels}:
        msg = f"“{name}” is a built-in role. Choose another name."
        raise ValidationFailed(msg, field="name")
    clash = sa.select(col(table.id)).where(func.lower(col(table.name)) == name.lower())
    if role_id is not None:
        clash = clash.where(col(table.id) != role_id)
    if session.execute(clash).first():
        msg = f"A role named “{name}” already exists."
        raise ValidationFailed(msg, field="name")
    return name


def checked_codes(permissions: list[str], catalogue: Sequence[str]) -> tuple[str, ...]:
    """The permission codes ticked, in ``catalogue`` order; refused when none is ticked or one
    is not in the catalogue."""
    unknown = [p for p in permissions if p not in catalogue]
    if unknown:
        msg = f"Unknown permission: {unknown[0]}."
        raise ValidationFailed(msg, field="permissions")
    if not permissions:
        msg = "Tick at least one permission."
        raise ValidationFailed(msg, field="permissions")
    return tuple(code for code in catalogue if code in permissions)


def _clean_permissions(actor: CurrentUser, permissions: list[str]) -> str:
    ordered = checked_codes(permissions, [info.permission.value for info in CATALOGUE])
    # A role holds only permissions its author holds (so one cannot widen one's own role).
    missing = lacking(actor, parse_permissions(ordered))
    if missing:
        msg = f"You can't give a role permissions you don't have ({missing})."
        raise ValidationFailed(msg, field="permissions")
    return " ".join(ordered)


def clean_role(
    session: Session,
    table: RoleTable,
    builtin_labels: Iterable[str],
    name: str,
    description: str,
    clean_permissions: Callable[[], str],
    role_id: int | None = None,
) -> tuple[str, str, str]:
    """A role form of either realm: its name (unique in ``table``, no built-in label),
    description and permission codes (``clean_permissions`` checks the ticked codes);
    every field's problem at once."""
    checks = FieldChecks()
    clean_name = checks.value(
        "name", "", _clean_name, session, name, role_id, table, builtin_labels
    )
    codes = checks.value("permissions", "", clean_permissions)
    checks.raise_if_failed()
    return clean_name, " ".join(description.split())[:500], codes


def _clean(
    session: Session,
    actor: CurrentUser,
    name: str,
    description: str,
    permissions: list[str],
    role_id: int | None = None,
) -> tuple[str, str, str]:
    """The role's name, description and permission codes; every field's problem at once."""
    return clean_role(
        session,
        CustomRole,
        BUILTIN_ROLE_LABELS.values(),
        name,
        description,
        lambda: _clean_permissions(actor, permissions),
        role_id,
    )


def insert_role(
    session: Session,
    who: Actor,
    table: RoleTable,
    values: tuple[str, str, str],
    action: str,
    clock: Clock,
) -> int:
    """Store a checked custom role of either realm (``values``: name, description, codes) and
    audit it as ``action``; returns its id."""
    name, description, codes = values
    now = clock.now()
    role = table(
        name=name, description=description, permissions=codes, created_at=now, updated_at=now
    )
    session.add(role)
    try:
        session.flush()
    except IntegrityError as exc:
        msg = f"A role named “{name}” already exists."
        raise ValidationFailed(msg, field="name") from exc
    audit.record(session, action, who, target=name, details=codes, clock=clock)
    assert role.id is not None
    return role.id


def apply_role(
    session: Session,
    who: Actor,
    role: CustomRole | ClientRole,
    values: tuple[str, str, str],
    action: str,
    clock: Clock,
) -> None:
    """Give a custom role of either realm its checked new values; its holders have them at
    their next event. Audited as ``action`` with the codes before and after."""
    before = role.permissions
    role.name, role.description, role.permissions = values
    role.updated_at = clock.now()
    session.add(role)
    audit.record(
        session, action, who, target=role.name, details=f"{before} -> {values[2]}", clock=clock
    )


def create_role(
    session: Session,
    actor: CurrentUser,
    *,
    name: str,
    description: str,
    permissions: list[str],
    clock: Clock = system_clock,
) -> int:
    require(actor, Permission.ROLES_MANAGE)
    values = _clean(session, actor, name, description, permissions)
    return insert_role(session, actor.actor(), CustomRole, values, "role.created", clock)


def update_role(
    session: Session,
    actor: CurrentUser,
    role_id: int,
    *,
    name: str,
    description: str,
    permissions: list[str],
    clock: Clock = system_clock,
) -> None:
    require(actor, Permission.ROLES_MANAGE)
    role = session.get(CustomRole, role_id)
    if role is None:
        msg = "That role does not exist."
        raise NotFound(msg)
    current = parse_permissions(role.permissions.split())
    missing = lacking(actor, current)
    if missing:
        msg = (
            f"You can't edit the role “{role.name}”: it has permissions you don't have ({missing})."
        )
        raise ValidationFailed(msg)
    values = _clean(session, actor, name, description, permissions, role_id)
    apply_role(session, actor.actor(), role, values, "role.updated", clock)


def delete_role(
    session: Session, actor: CurrentUser, role_id: int, *, clock: Clock = system_clock
) -> None:
    """Delete a custom role nobody holds (members must be given another role first)."""
    require(actor, Permission.ROLES_MANAGE)
    role = session.get(CustomRole, role_id)
    if role is None:
        msg = "That role does not exist."
        raise NotFound(msg)
    holders = session.exec(
        select(func.count()).select_from(StaffUser).where(col(StaffUser.custom_role_id) == role_id)
    ).one()
    if holders:
        noun = "member holds" if holders == 1 else "members hold"
        msg = f"{holders} {noun} the role “{role.name}”. Give them another role first."
        raise Conflict(msg)
    pending = session.exec(
        select(Invitation)
        .where(col(Invitation.custom_role_id) == role_id)
        .where(col(Invitation.accepted_at).is_(None))
        .where(col(Invitation.revoked_at).is_(None))
    ).all()
    for inv in pending:
        inv.revoked_at = clock.now()
        session.add(inv)
    for inv in session.exec(select(Invitation).where(col(Invitation.custom_role_id) == role_id)):
        inv.custom_role_id = None
        session.add(inv)
    session.flush()
    session.delete(role)
    audit.record(session, "role.deleted", actor.actor(), target=role.name, clock=clock)


def role_options(session: Session, actor: CurrentUser) -> list[tuple[str, str]]:
    """(value, label) pairs the actor may grant: owners only by owners, and only roles whose
    permissions the actor holds. For whoever may see the team or manage it."""
    if not actor.can(Permission.TEAM_MANAGE):
        require(actor, Permission.TEAM_READ)
    options = [
        (role.value, BUILTIN_ROLE_LABELS[role])
        for role in BuiltinRole
        if (role != BuiltinRole.OWNER or actor.is_owner)
        and BUILTIN_ROLE_PERMISSIONS[role] <= actor.permissions
    ]
    options += [
        (f"custom:{r.id}", r.name)
        for r in session.exec(select(CustomRole).order_by(col(CustomRole.name))).all()
        if parse_permissions(r.permissions.split()) <= actor.permissions
    ]
    return options
