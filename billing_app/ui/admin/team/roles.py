"""Roles (/roles): the built-in ones and custom roles made of permission checkboxes."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import CATALOGUE, Permission, parse_permissions
from billing_app.services.access import roles as roles_service
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import to_int
from billing_app.ui.kit.forms import LABEL_STYLE
from billing_app.ui.kit.layout import form_error, visually_hidden
from billing_app.ui.kit.list_state import ListSpec, ListState
from billing_app.ui.kit.resource import resource_pager
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

PERMISSION_LABELS = {info.permission.value: info.label for info in CATALOGUE}


class RolesState(ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(read=Permission.TEAM_READ, write=Permission.ROLES_MANAGE)

    grantable: list[str] = []  # permission codes the user holds, the only ones they can give
    editor_open: bool = False
    editing_id: str = ""  # "" = new role
    form_name: str = ""
    form_description: str = ""
    form_permissions: list[str] = []
    errors: dict[str, str] = {}
    catalogue: list[dict[str, str]] = [
        {"code": info.permission.value, "area": info.area, "label": info.label}
        for info in CATALOGUE
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

    @guard(Permission.ROLES_MANAGE)
    def new_role(self) -> None:
        self.editing_id = ""
        self.form_name = ""
        self.form_description = ""
        self.form_permissions = []
        self.errors = {}
        self.editor_open = True

    @guard(Permission.ROLES_MANAGE)
    def edit_role(self, role_id: str) -> None:
        row = next(
            (r for r in self.rows if r["id"] == role_id and not r["builtin"] and r["editable"]),
            None,
        )
        if row is None:
            return
        self.editing_id = role_id
        self.form_name = row["name"]
        self.form_description = row["description"]
        self.form_permissions = row["codes"].split()
        self.errors = {}
        self.editor_open = True

    @guard(Permission.ROLES_MANAGE)
    def set_editor_open(self, value: bool) -> None:
        self.editor_open = value

    @guard(Permission.ROLES_MANAGE)
    def set_form_name(self, value: str) -> None:
        self.form_name = value

    @guard(Permission.ROLES_MANAGE)
    def set_form_description(self, value: str) -> None:
        self.form_description = value

    @guard(Permission.ROLES_MANAGE)
    def toggle_permission(self, code: str, checked: bool) -> None:
        if code not in self.grantable:
            return
        perms = [p for p in self.form_permissions if p != code]
        if checked:
            perms.append(code)
        self.form_permissions = perms

    @guard(Permission.ROLES_MANAGE)
    def save(self) -> Any:
        self.errors = {}
        try:
            if self.editing_id:
                run(
                    roles_service.update_role,
                    current_user(),
                    to_int(self.editing_id),
                    name=self.form_name,
                    description=self.form_description,
                    permissions=list(self.form_permissions),
                )
            else:
                run(
                    roles_service.create_role,
                    current_user(),
                    name=self.form_name,
                    description=self.form_description,
                    permissions=list(self.form_permissions),
                )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.editor_open = False
        self._reload()
        return rx.toast.success(f"Role “{' '.join(self.form_name.split())}” saved.")

    @guard(Permission.ROLES_MANAGE)
    def delete_role(self, role_id: str) -> Any:
        try:
            run(roles_service.delete_role, current_user(), to_int(role_id))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._reload()
        return rx.toast.success("Role deleted.")


def _role_editor() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(RolesState.editing_id == "", "New role", "Edit role")),
            rx.vstack(
                form_error(RolesState.errors),
                rx.el.label("Name", html_for="role-name", style=LABEL_STYLE),
                rx.input(
                    value=RolesState.form_name,
                    on_change=RolesState.set_form_name,
                    id="role-name",
                    width="100%",
                ),
                rx.cond(
                    RolesState.errors.contains("name"),
                    rx.text(RolesState.errors["name"], color_scheme="red", size="2"),
                ),
                rx.el.label("Description", html_for="role-description", style=LABEL_STYLE),
                rx.input(
                    value=RolesState.form_description,
                    on_change=RolesState.set_form_description,
                    id="role-description",
                    width="100%",
                ),
                rx.text("Permissions", size="2", weight="medium"),
                rx.cond(
                    RolesState.errors.contains("permissions"),
                    rx.text(RolesState.errors["permissions"], color_scheme="red", size="2"),
                ),
                rx.grid(
                    rx.foreach(
                        RolesState.catalogue,
                        lambda p: rx.checkbox(
                            p["area"] + ": " + p["label"],
                            checked=RolesState.form_permissions.contains(p["code"]),
                            # Only permissions one holds can be given (docs/security.md item 42).
                            disabled=~RolesState.grantable.contains(p["code"]),
                            on_change=lambda checked: RolesState.toggle_permission(
                                p["code"], checked
                            ),
                            size="2",
                            id="perm-" + p["code"],
                        ),
                    ),
                    columns="2",
                    spacing="2",
                    width="100%",
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft")),
                    rx.button("Save role", on_click=RolesState.save, id="role-save"),
                    justify="end",
                    spacing="3",
                    width="100%",
                    padding_top="8px",
                ),
                spacing="2",
                width="100%",
            ),
            max_width="640px",
        ),
        open=RolesState.editor_open,
        on_open_change=RolesState.set_editor_open,
    )


def _roles_content() -> rx.Component:
    return rx.vstack(
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
        _role_editor(),
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
