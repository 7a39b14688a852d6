"""Who is signed in and what they may do: the resolved staff user and role lookups."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session

from billing_app.db.invoicing import AgencySettings
from billing_app.db.models import CustomRole, StaffUser
from billing_app.domain.permissions import (
    BUILTIN_ROLE_LABELS,
    BUILTIN_ROLE_PERMISSIONS,
    BuiltinRole,
    Permission,
    builtin_role,
    parse_permissions,
)
from billing_app.services.common.audit import Actor
from billing_app.services.common.errors import ValidationFailed

CUSTOM = "custom"


@dataclass(frozen=True)
class CurrentUser:
    """A signed-in, active staff member and the permissions of their current role."""

    id: int
    name: str
    email: str
    role_key: str
    role_label: str
    permissions: frozenset[Permission]
    ip: str = ""
    # The auth_session row the user is acting through (None outside a browser session).
    session_id: int | None = None
    # Where the user reads times: the agency's time zone (staff have no zone of their own).
    time_zone: str = "UTC"

    @property
    def is_owner(self) -> bool:
        return self.role_key == BuiltinRole.OWNER

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def actor(self) -> Actor:
        return Actor(user_id=self.id, label=self.email, ip=self.ip)


def normalize_email(raw: str, field: str = "email") -> str:
    """A trimmed, validated, lower-cased email address, or ValidationFailed."""
    candidate = raw.strip()
    if not candidate:
        msg = "Enter an email address."
        raise ValidationFailed(msg, field=field)
    try:
        info = validate_email(candidate, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        msg = f"Enter a valid email address ({exc})."
        raise ValidationFailed(msg, field=field) from exc
    return info.normalized.lower()


def role_of(session: Session, user: StaffUser) -> tuple[str, frozenset[Permission]]:
    """The label and permissions of a user's role."""
    builtin = builtin_role(user.role_key)
    if builtin is not None:
        return BUILTIN_ROLE_LABELS[builtin], BUILTIN_ROLE_PERMISSIONS[builtin]
    role = session.get(CustomRole, user.custom_role_id) if user.custom_role_id else None
    if role is None:
        return "No role", frozenset()
    return role.name, parse_permissions(role.permissions.split())


def current_user_from(
    session: Session, user: StaffUser, ip: str = "", session_id: int | None = None
) -> CurrentUser:
    label, permissions = role_of(session, user)
    assert user.id is not None
    agency = session.get(AgencySettings, 1)
    return CurrentUser(
        id=user.id,
        name=user.name,
        email=user.email,
        role_key=user.role_key,
        role_label=label,
        permissions=permissions,
        ip=ip,
        session_id=session_id,
        time_zone=(agency.time_zone if agency is not None else "") or "UTC",
    )


@dataclass(frozen=True)
class RoleRef:
    """A role chosen in a form: a built-in key, or ``custom:<id>``."""

    role_key: str
    custom_role_id: int | None

    @property
    def value(self) -> str:
        if self.custom_role_id is not None:
            return f"{CUSTOM}:{self.custom_role_id}"
        return self.role_key


def parse_role_ref(session: Session, value: str, field: str = "role") -> tuple[RoleRef, str]:
    """Validate a submitted role choice; returns it with its label."""
    builtin = builtin_role(value)
    if builtin is not None:
        return RoleRef(builtin.value, None), BUILTIN_ROLE_LABELS[builtin]
    prefix, _, raw_id = value.partition(":")
    if prefix == CUSTOM and raw_id.isdigit():
        role = session.get(CustomRole, int(raw_id))
        if role is not None:
            return RoleRef(CUSTOM, role.id), role.name
    msg = "Choose a role."
    raise ValidationFailed(msg, field=field)
