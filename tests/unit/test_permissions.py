from __future__ import annotations

from billing_app.domain.permissions import (
    BUILTIN_ROLE_PERMISSIONS,
    CATALOGUE,
    BuiltinRole,
    Permission,
    parse_permissions,
)


def test_every_permission_is_in_the_catalogue_once() -> None:
    listed = [info.permission for info in CATALOGUE]
    assert sorted(listed) == sorted(Permission)
    assert len(listed) == len(set(listed))


def test_the_catalogue_covers_every_area_of_the_product() -> None:
    areas = {p.value.split(".")[0] for p in Permission}
    assert {
        "clients",
        "catalog",
        "subscriptions",
        "invoices",
        "payments",
        "refunds",
        "reports",
        "settings",
        "branding",
        "team",
    } <= areas


def test_owner_has_everything_and_viewer_changes_nothing() -> None:
    assert BUILTIN_ROLE_PERMISSIONS[BuiltinRole.OWNER] == frozenset(Permission)
    viewer = BUILTIN_ROLE_PERMISSIONS[BuiltinRole.VIEWER]
    assert all(p.value.endswith((".read", ".view")) for p in viewer)
    assert Permission.TEAM_MANAGE not in BUILTIN_ROLE_PERMISSIONS[BuiltinRole.ACCOUNTANT]
    assert Permission.ROLES_MANAGE not in BUILTIN_ROLE_PERMISSIONS[BuiltinRole.ADMIN]


def test_unknown_codes_are_ignored() -> None:
    assert parse_permissions(["clients.read", "gone.away"]) == {Permission.CLIENTS_READ}
