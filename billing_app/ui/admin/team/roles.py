"""Roles (/roles): the team's built-in roles and custom roles made of permission checkboxes, then
the client roles (ui/admin/team/client_roles.py)."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import CATALOGUE, Permission, parse_permissions
from billing_app.services.access import roles as roles_service
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.admin.team.client_roles import client_roles_section
from billing_app.ui.admin.team.role_editor import RoleEditor, RoleServices, role_editor
from billing_app.ui.kit.layout import visually_hidden
from billing_app.ui.kit.list_state import ListSpec, ListState
from billing_app.ui.kit.resource import resource_pager
from billing_app.ui.session.staff import SessionState, guard

PERMISSION_LABELS = {info.permission.value: info.label for info in CATALOGUE}


class RolesState(RoleEditor, ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(read=Permission.TEAM_READ, write=Permission.ROLES_MANAGE)
    SERVICES: ClassVar[RoleServices] = RoleServices(
        create=roles_service.create_role,
        update=roles_service.update_role,
        delete=roles_service.delete_role,
    )

    catalogue: list[dict[str, str]] = [
        {"code": info.permission.value, "text": f"{info.area}: {info.label}"} for info in CATALOGUE
    ]

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        return run(roles_service.list_roles, user, request)

    def _row(self, user: Any, r: Any) -> dict[str, str]:
        return {
            "id": str(r.custom_id or ""),
            "value": r.value,
            "name": r.name,
            "description": r.description,
            "builtin": "yes" if r.builtin else "",
            "members": str(r.member_count),
            "permissions": ", ".join(PERMISSION_LABELS[p] for p in r.permissions),
            "codes": " ".join(r.permissions),
            "editable": ""
            if roles_service.lacking(user, parse_permissions(r.permissions))
            else "yes",
        }

    def _shown(self, user: Any, page: Page[Any]) -> None:
        self.grantable = sorted(p.value for p in user.permissions)

    @guard(Permission.TEAM_READ)
    def load(self) -> None:
        self.editor_open = False
        self._defaults()
        self._first()


def _roles_content() -> rx.Component:
    return rx.vstack(
        rx.heading("Team roles", size="5", as_="h2"),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Role"),
                    rx.table.column_header_cell("Permissions"),
                    rx.table.column_header_cell("Members"),
                    rx.table.column_header_cell(visually_hidden("Actions")),
                )
            ),
            rx.table.body(
                rx.foreach(
                    RolesState.rows,
                    lambda r: rx.table.row(
                        rx.table.cell(
                            rx.vstack(
                                rx.hstack(
                                    rx.text(r["name"], weight="medium"),
                                    rx.cond(
                                        r["builtin"] == "yes",
                                        rx.badge("Built-in", variant="soft", size="1"),
                                    ),
                                ),
                                rx.text(r["description"], size="1", color_scheme="gray"),
                                spacing="1",
                            )
                        ),
                        rx.table.cell(rx.text(r["permissions"], size="1"), max_width="480px"),
                        rx.table.cell(r["members"]),
                        rx.table.cell(
                            rx.cond(
                                RolesState.can_write
                                & (r["builtin"] == "")
                                & (r["editable"] == "yes"),
                                rx.hstack(
                                    rx.button(
                                        "Edit",
                                        size="1",
                                        variant="soft",
                                        on_click=RolesState.edit_role(r["id"]),
                                    ),
                                    rx.button(
                                        "Delete",
                                        size="1",
                                        variant="soft",
                                        color_scheme="red",
                                        on_click=RolesState.delete_role(r["id"]),
                                    ),
                                ),
                            )
                        ),
                    ),
                )
            ),
            width="100%",
            variant="surface",
            id="roles",
        ),
        resource_pager(RolesState, "roles"),
        role_editor(RolesState, RolesState.catalogue, "role", "role"),
        client_roles_section(),
        width="100%",
    )


def roles_page() -> rx.Component:
    return admin_page(
        "Roles",
        RolesState.status,
        _roles_content,
        actions=rx.cond(
            RolesState.can_write,
            rx.button(
                rx.icon("plus", size=16), "New role", on_click=RolesState.new_role, id="role-new"
            ),
        ),
    )
