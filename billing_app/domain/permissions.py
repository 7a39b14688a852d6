"""The permission catalogues and the built-in roles: staff (the agency team) and client users
(the people of a client who sign in to the portal), two realms that never mix.

A permission is a dotted string ``area.action``. Every event handler that reads or changes data
names one of these; roles are sets of them. Built-in roles are defined here and cannot be edited;
custom roles are stored in the database as a set of permission codes from this catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    """Every permission a staff member can hold."""

    DASHBOARD_VIEW = "dashboard.view"
    CLIENTS_READ = "clients.read"
    CLIENTS_WRITE = "clients.write"
    CLIENTS_USERS = "clients.users"
    CLIENTS_PORTAL_PREVIEW = "clients.portal_preview"
    CATALOG_READ = "catalog.read"
    CATALOG_WRITE = "catalog.write"
    SUBSCRIPTIONS_READ = "subscriptions.read"
    SUBSCRIPTIONS_WRITE = "subscriptions.write"
    INVOICES_READ = "invoices.read"
    INVOICES_WRITE = "invoices.write"
    INVOICES_SEND = "invoices.send"
    PAYMENTS_READ = "payments.read"
    PAYMENTS_RECORD = "payments.record"
    PAYMENTS_CONFIGURE = "payments.configure"
    REFUNDS_CREATE = "refunds.create"
    REPORTS_VIEW = "reports.view"
    SETTINGS_READ = "settings.read"
    SETTINGS_WRITE = "settings.write"
    BRANDING_WRITE = "branding.write"
    EMAILS_VIEW = "emails.view"
    TEAM_READ = "team.read"
    TEAM_MANAGE = "team.manage"
    ROLES_MANAGE = "roles.manage"
    AUDIT_VIEW = "audit.view"


@dataclass(frozen=True)
class PermissionInfo:
    """How a permission is presented on the Roles page."""

    permission: Permission
    area: str
    label: str


CATALOGUE: tuple[PermissionInfo, ...] = (
    PermissionInfo(Permission.DASHBOARD_VIEW, "Dashboard", "See the dashboard"),
    PermissionInfo(Permission.CLIENTS_READ, "Clients", "See clients and their websites"),
    PermissionInfo(Permission.CLIENTS_WRITE, "Clients", "Add, edit, import and archive clients"),
    PermissionInfo(
        Permission.CLIENTS_USERS, "Clients", "Invite clients' people to the portal, manage access"
    ),
    PermissionInfo(
        Permission.CLIENTS_PORTAL_PREVIEW,
        "Clients",
        "Open a read-only preview of a client's portal, to help them",
    ),
    PermissionInfo(Permission.CATALOG_READ, "Catalog", "See products, services and tax rates"),
    PermissionInfo(Permission.CATALOG_WRITE, "Catalog", "Manage products, services and tax rates"),
    PermissionInfo(Permission.SUBSCRIPTIONS_READ, "Subscriptions", "See subscriptions"),
    PermissionInfo(
        Permission.SUBSCRIPTIONS_WRITE, "Subscriptions", "Create, change and cancel subscriptions"
    ),
    PermissionInfo(Permission.INVOICES_READ, "Invoices", "See invoices and download PDFs"),
    PermissionInfo(Permission.INVOICES_WRITE, "Invoices", "Create and edit draft invoices"),
    PermissionInfo(Permission.INVOICES_SEND, "Invoices", "Send, resend and void invoices"),
    PermissionInfo(Permission.PAYMENTS_READ, "Payments", "See payments"),
    PermissionInfo(Permission.PAYMENTS_RECORD, "Payments", "Record offline payments"),
    PermissionInfo(
        Permission.PAYMENTS_CONFIGURE, "Payments", "Connect Stripe: enter and change its keys"
    ),
    PermissionInfo(Permission.REFUNDS_CREATE, "Refunds", "Refund payments"),
    PermissionInfo(Permission.REPORTS_VIEW, "Reports", "See revenue and MRR reports"),
    PermissionInfo(Permission.SETTINGS_READ, "Settings", "See agency settings"),
    PermissionInfo(Permission.SETTINGS_WRITE, "Settings", "Change agency settings"),
    PermissionInfo(Permission.BRANDING_WRITE, "Branding", "Manage brands, logos and emails"),
    PermissionInfo(Permission.EMAILS_VIEW, "Emails", "See sent and queued emails"),
    PermissionInfo(Permission.TEAM_READ, "Team", "See the team"),
    PermissionInfo(Permission.TEAM_MANAGE, "Team", "Invite, change and deactivate members"),
    PermissionInfo(Permission.ROLES_MANAGE, "Team", "Create, edit and delete custom roles"),
    PermissionInfo(Permission.AUDIT_VIEW, "Audit", "See the audit log"),
)

ALL_PERMISSIONS: frozenset[Permission] = frozenset(Permission)


class BuiltinRole(StrEnum):
    """The roles every agency has. Their keys are stored on users."""

    OWNER = "owner"
    ADMIN = "admin"
    ACCOUNTANT = "accountant"
    VIEWER = "viewer"


_READ_ONLY: frozenset[Permission] = frozenset(
    {
        Permission.DASHBOARD_VIEW,
        Permission.CLIENTS_READ,
        Permission.CATALOG_READ,
        Permission.SUBSCRIPTIONS_READ,
        Permission.INVOICES_READ,
        Permission.PAYMENTS_READ,
        Permission.REPORTS_VIEW,
        Permission.SETTINGS_READ,
    }
)

BUILTIN_ROLE_PERMISSIONS: dict[BuiltinRole, frozenset[Permission]] = {
    BuiltinRole.OWNER: ALL_PERMISSIONS,
    # The Stripe keys move the agency's money: the owner's unless they give them to a role.
    BuiltinRole.ADMIN: ALL_PERMISSIONS - {Permission.ROLES_MANAGE, Permission.PAYMENTS_CONFIGURE},
    BuiltinRole.ACCOUNTANT: _READ_ONLY
    | {
        Permission.CLIENTS_WRITE,
        Permission.SUBSCRIPTIONS_WRITE,
        Permission.INVOICES_WRITE,
        Permission.INVOICES_SEND,
        Permission.PAYMENTS_RECORD,
        Permission.REFUNDS_CREATE,
        Permission.EMAILS_VIEW,
        Permission.CLIENTS_PORTAL_PREVIEW,
    },
    BuiltinRole.VIEWER: _READ_ONLY,
}

BUILTIN_ROLE_LABELS: dict[BuiltinRole, str] = {
    BuiltinRole.OWNER: "Owner",
    BuiltinRole.ADMIN: "Admin",
    BuiltinRole.ACCOUNTANT: "Accountant",
    BuiltinRole.VIEWER: "Viewer",
}

BUILTIN_ROLE_DESCRIPTIONS: dict[BuiltinRole, str] = {
    BuiltinRole.OWNER: "Everything, including roles. The owner cannot be removed or demoted.",
    BuiltinRole.ADMIN: "Everything except editing custom roles and the Stripe keys.",
    BuiltinRole.ACCOUNTANT: "Clients, subscriptions, invoices, payments and refunds.",
    BuiltinRole.VIEWER: "Sees clients, invoices and reports; changes nothing.",
}


# Money figures shown beside clients and subscriptions need more than the permission to see
# them (docs/security.md item 43): MRR and ARR are reports, net invoiced and outstanding come from
# invoices. A role without the permission gets no such figure, column or sort.
FIGURE_PERMISSIONS: dict[str, Permission] = {
    "mrr": Permission.REPORTS_VIEW,
    "net_invoiced": Permission.INVOICES_READ,
    "outstanding": Permission.INVOICES_READ,
}


def visible_figures(permissions: frozenset[Permission]) -> frozenset[str]:
    """The names of FIGURE_PERMISSIONS that a holder of ``permissions`` may see."""
    return frozenset(name for name, needs in FIGURE_PERMISSIONS.items() if needs in permissions)


def parse_permissions(
    codes: list[str] | tuple[str, ...] | frozenset[str],
) -> frozenset[Permission]:
    """Turn stored or submitted codes into permissions, ignoring codes no longer listed."""
    known = {p.value for p in Permission}
    return frozenset(Permission(c) for c in codes if c in known)


def builtin_role(key: str) -> BuiltinRole | None:
    """The built-in role with this key, or None for a custom role key."""
    try:
        return BuiltinRole(key)
    except ValueError:
        return None


# --------------------------------------------------------------------------- client users


class ClientPermission(StrEnum):
    """What a client user may do in the portal for one client (through a membership)."""

    INVOICES_VIEW = "invoices.view"
    INVOICES_PAY = "invoices.pay"
    SUBSCRIPTIONS_VIEW = "subscriptions.view"
    CANCELLATION_REQUEST = "subscriptions.cancel"
    SUBSCRIPTIONS_CHANGE = "subscriptions.change"
    PAYMENT_METHODS_MANAGE = "payment_methods.manage"
    BILLING_DETAILS_EDIT = "billing_details.edit"
    USERS_MANAGE = "users.manage"


@dataclass(frozen=True)
class ClientPermissionInfo:
    """How a client permission is presented where client roles are made."""

    permission: ClientPermission
    label: str


CLIENT_CATALOGUE: tuple[ClientPermissionInfo, ...] = (
    ClientPermissionInfo(ClientPermission.INVOICES_VIEW, "See invoices and download PDFs"),
    ClientPermissionInfo(ClientPermission.INVOICES_PAY, "Pay invoices"),
    ClientPermissionInfo(ClientPermission.SUBSCRIPTIONS_VIEW, "See products and services"),
    ClientPermissionInfo(ClientPermission.CANCELLATION_REQUEST, "Ask to cancel a service"),
    ClientPermissionInfo(ClientPermission.SUBSCRIPTIONS_CHANGE, "Change subscriptions"),
    ClientPermissionInfo(ClientPermission.PAYMENT_METHODS_MANAGE, "Manage saved cards"),
    ClientPermissionInfo(ClientPermission.BILLING_DETAILS_EDIT, "Edit company and billing details"),
    ClientPermissionInfo(ClientPermission.USERS_MANAGE, "Invite colleagues and manage access"),
)

ALL_CLIENT_PERMISSIONS: frozenset[ClientPermission] = frozenset(ClientPermission)


class BuiltinClientRole(StrEnum):
    """The client roles every agency has. Their keys are stored on memberships."""

    FULL = "full"
    BILLING = "billing"
    VIEW = "view"


BUILTIN_CLIENT_ROLE_PERMISSIONS: dict[BuiltinClientRole, frozenset[ClientPermission]] = {
    BuiltinClientRole.FULL: ALL_CLIENT_PERMISSIONS,
    BuiltinClientRole.BILLING: frozenset(
        {
            ClientPermission.INVOICES_VIEW,
            ClientPermission.INVOICES_PAY,
            ClientPermission.SUBSCRIPTIONS_VIEW,
            ClientPermission.PAYMENT_METHODS_MANAGE,
            ClientPermission.BILLING_DETAILS_EDIT,
        }
    ),
    BuiltinClientRole.VIEW: frozenset(
        {ClientPermission.INVOICES_VIEW, ClientPermission.SUBSCRIPTIONS_VIEW}
    ),
}

BUILTIN_CLIENT_ROLE_LABELS: dict[BuiltinClientRole, str] = {
    BuiltinClientRole.FULL: "Full access",
    BuiltinClientRole.BILLING: "Billing only",
    BuiltinClientRole.VIEW: "View only",
}

BUILTIN_CLIENT_ROLE_DESCRIPTIONS: dict[BuiltinClientRole, str] = {
    BuiltinClientRole.FULL: "Everything in the portal, including the client's users.",
    BuiltinClientRole.BILLING: "Invoices, payments, cards and billing details.",
    BuiltinClientRole.VIEW: "Sees invoices and services; changes nothing.",
}


def parse_client_permissions(
    codes: list[str] | tuple[str, ...] | frozenset[str],
) -> frozenset[ClientPermission]:
    """Turn stored or submitted codes into client permissions, ignoring unknown codes."""
    known = {p.value for p in ClientPermission}
    return frozenset(ClientPermission(c) for c in codes if c in known)


def builtin_client_role(key: str) -> BuiltinClientRole | None:
    """The built-in client role with this key, or None for a custom one."""
    try:
        return BuiltinClientRole(key)
    except ValueError:
        return None


def client_permissions_lacking(
    held: frozenset[ClientPermission], wanted: frozenset[ClientPermission]
) -> tuple[ClientPermissionInfo, ...]:
    """The permissions of ``wanted`` that ``held`` lacks, in catalogue order: a client user
    gives nobody a role stronger than their own (docs/security.md, client portal)."""
    return tuple(info for info in CLIENT_CATALOGUE if info.permission in wanted - held)


def is_full_access(permissions: frozenset[ClientPermission]) -> bool:
    """Whether a client role holds every client permission (Full access, or a custom role with
    every box ticked): a client always keeps one such user."""
    return permissions >= ALL_CLIENT_PERMISSIONS
