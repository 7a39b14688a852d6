from __future__ import annotations

from billing_app.domain.permissions import (
    BUILTIN_CLIENT_ROLE_PERMISSIONS,
    BUILTIN_ROLE_PERMISSIONS,
    CATALOGUE,
    BuiltinClientRole,
    BuiltinRole,
    ClientPermission,
    Permission,
    client_permissions_lacking,
    is_full_access,
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


def test_a_client_role_is_full_access_when_it_holds_every_client_permission() -> None:
    full = BUILTIN_CLIENT_ROLE_PERMISSIONS[BuiltinClientRole.FULL]
    assert is_full_access(full)
    assert is_full_access(frozenset(ClientPermission))
    assert not is_full_access(full - {ClientPermission.USERS_MANAGE})
    assert not is_full_access(BUILTIN_CLIENT_ROLE_PERMISSIONS[BuiltinClientRole.BILLING])
    assert not is_full_access(frozenset())


def test_what_a_client_user_lacks_to_give_a_role_is_named_in_catalogue_order() -> None:
    view = BUILTIN_CLIENT_ROLE_PERMISSIONS[BuiltinClientRole.VIEW]
    billing = BUILTIN_CLIENT_ROLE_PERMISSIONS[BuiltinClientRole.BILLING]
    assert client_permissions_lacking(billing, view) == ()
    assert client_permissions_lacking(billing, billing) == ()
    lacking = client_permissions_lacking(view, billing)
    assert [i.permission for i in lacking] == [
        ClientPermission.INVOICES_PAY,
        ClientPermission.PAYMENT_METHODS_MANAGE,
        ClientPermission.BILLING_DETAILS_EDIT,
    ]
    assert lacking[0].label == "Pay invoices"
    full = BUILTIN_CLIENT_ROLE_PERMISSIONS[BuiltinClientRole.FULL]
    assert [i.permission for i in client_permissions_lacking(billing, full)] == [
        ClientPermission.CANCELLATION_REQUEST,
        ClientPermission.SUBSCRIPTIONS_CHANGE,
        ClientPermission.USERS_MANAGE,
    ]
