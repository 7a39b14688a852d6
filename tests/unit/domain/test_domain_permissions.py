"""Who sees which money figures (docs/security.md item 43), and built-in versus custom roles."""

from __future__ import annotations

import pytest

from billing_app.domain.permissions import (
    BUILTIN_ROLE_PERMISSIONS,
    BuiltinRole,
    Permission,
    builtin_role,
    visible_figures,
)

ALL_FIGURES = frozenset({"mrr", "net_invoiced", "outstanding"})


@pytest.mark.parametrize(
    ("permissions", "figures"),
    [
        (frozenset(), frozenset()),
        (frozenset({Permission.CLIENTS_READ}), frozenset()),
        (frozenset({Permission.CLIENTS_READ, Permission.REPORTS_VIEW}), frozenset({"mrr"})),
        (
            frozenset({Permission.CLIENTS_READ, Permission.INVOICES_READ}),
            frozenset({"net_invoiced", "outstanding"}),
        ),
        (frozenset({Permission.REPORTS_VIEW, Permission.INVOICES_READ}), ALL_FIGURES),
    ],
)
def test_each_money_figure_needs_its_own_permission(
    permissions: frozenset[Permission], figures: frozenset[str]
) -> None:
    assert visible_figures(permissions) == figures


def test_every_built_in_role_sees_the_figures_of_its_permissions() -> None:
    for role in BuiltinRole:
        assert visible_figures(BUILTIN_ROLE_PERMISSIONS[role]) == ALL_FIGURES, role


def test_built_in_role_keys_and_custom_role_keys() -> None:
    assert builtin_role("owner") is BuiltinRole.OWNER
    assert builtin_role("viewer") is BuiltinRole.VIEWER
    assert builtin_role("Owner") is None
    assert builtin_role("custom:7") is None
    assert builtin_role("") is None
