"""The client roles section of the Roles page (/roles): the built-in client roles (Full access,
Billing only, View only) and custom ones made of client permission checkboxes (roles.manage),
with how many client users hold each and which is the default (Settings)."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import CLIENT_CATALOGUE, Permission
from billing_app.services.access import client_roles as client_roles_service
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.admin.team.role_editor import RoleEditor, RoleServices, role_editor
from billing_app.ui.kit.layout import data_table
from billing_app.ui.kit.list_state import ListSpec, ListState
from billing_app.ui.kit.resource import confirm_button, resource_pager
from billing_app.ui.session.staff import SessionState, guard

CLIENT_PERMISSION_LABELS = {info.permission.value: info.label for info in CLIENT_CATALOGUE}


class ClientRolesState(RoleEditor, ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(read=Permission.TEAM_READ, write=Permission.ROLES_MANAGE)
    SERVICES: ClassVar[RoleServices] = RoleServices(
        create=client_roles_service.create_client_role,
        update=client_roles_service.update_client_role,
        delete=client_roles_service.delete_client_role,
    )

    catalogue: list[dict[str, str]] = [
        {"code": info.permission.value, "text": info.label} for info in CLIENT_CATALOGUE
    ]

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        return run(client_roles_service.list_client_roles, user, request)

    def _row(self, user: Any, r: Any) -> dict[str, str]:
        return {
            "id": str(r.custom_id or ""),
            "name": r.name,
            "description": r.description,
            "builtin": "yes" if r.builtin else "",
            "users": str(r.member_count),
            "permissions": ", ".join(CLIENT_PERMISSION_LABELS[p] for p in r.permissions),
            "codes": " ".join(r.permissions),
            # Client permissions are not staff permissions: roles.manage edits every one.
            "editable": "yes",
            "default": "yes" if r.is_default else "",
        }

    def _shown(self, user: Any, page: Page[Any]) -> None:
        self.grantable = [info.permission.value for info in CLIENT_CATALOGUE]

    @guard(Permission.TEAM_READ)
    def load(self) -> None:
        self.editor_open = False
        self._defaults()
        self._first()


def _role_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    s = ClientRolesState
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.hstack(
                    rx.text(r["name"], weight="medium"),
                    rx.cond(r["builtin"] == "yes", rx.badge("Built-in", variant="soft", size="1")),
                    rx.cond(
                        r["default"] == "yes",
                        rx.badge(
                            "Default",
                            color_scheme="green",
                            variant="soft",
                            size="1",
                            high_contrast=True,
                        ),
                    ),
                ),
                rx.text(r["description"], size="1", color_scheme="gray"),
                spacing="1",
            )
        ),
        rx.table.cell(rx.text(r["permissions"], size="1"), max_width="480px"),
        rx.table.cell(r["users"]),
        rx.table.cell(
            rx.cond(
                s.can_write & (r["builtin"] == ""),
                rx.hstack(
                    rx.button("Edit", size="1", variant="soft", on_click=s.edit_role(r["id"])),
                    confirm_button(
                        rx.button("Delete", size="1", variant="soft", color_scheme="red"),
                        "Delete the client role " + r["name"] + "?",
                        "Its pending invitations are withdrawn. A role someone holds, or the "
                        "default role, cannot be deleted.",
                        "Delete",
                        s.delete_role(r["id"]),
                        "red",
                    ),
                ),
            )
        ),
    )


def client_roles_section() -> rx.Component:
    s = ClientRolesState
    return rx.vstack(
        rx.hstack(
            rx.vstack(
                rx.heading("Client roles", size="5", as_="h2"),
                rx.text(
                    "What clients' people may do in the portal. The default role is chosen in ",
                    rx.link("Settings", href=routes.SETTINGS),
                    ".",
                    size="2",
                    color_scheme="gray",
                ),
                spacing="1",
            ),
            rx.spacer(),
            rx.cond(
                s.can_write,
                rx.button(
                    rx.icon("plus", size=16),
                    "New client role",
                    on_click=s.new_role,
                    variant="soft",
                    id="client-role-new",
                ),
            ),
            width="100%",
            align="end",
            padding_top="24px",
        ),
        data_table(["Client role", "Permissions", "Users"], s.rows, _role_row, "client-roles"),
        resource_pager(s, "client-roles"),
        role_editor(s, s.catalogue, "client-role", "client role"),
        width="100%",
    )
