"""The custom-role editor of the Roles page, shared by staff roles (ui/admin/team/roles.py) and
client roles (ui/admin/team/client_roles.py): a name, a description and permission checkboxes.

A list state mixes ``RoleEditor`` in (with ListState and SessionState) and names the use cases
that create, update and delete its roles (``SERVICES``); ``role_editor`` draws its dialog.
Every handler needs roles.manage; the services check the same, and what each actor may tick."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.format import to_int
from billing_app.ui.kit.forms import LABEL_STYLE
from billing_app.ui.kit.layout import form_error
from billing_app.ui.session.staff import current_user, field_errors, guard

MANAGE = Permission.ROLES_MANAGE


@dataclass(frozen=True)
class RoleServices:
    """The use cases of one kind of role: create (session, actor, *, name, description,
    permissions), update (session, actor, role_id, *, ...) and delete (session, actor,
    role_id)."""

    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., Any]


class RoleEditor(rx.State, mixin=True):
    # What the roles are: a ClassVar, never a var or a handler the browser could reach.
    SERVICES: ClassVar[RoleServices]

    editor_open: bool = False
    editing_id: str = ""  # "" = new role
    form_name: str = ""
    form_description: str = ""
    form_permissions: list[str] = []
    errors: dict[str, str] = {}
    grantable: list[str] = []  # the codes the user may tick

    # -- the handlers

    @guard(MANAGE)
    def new_role(self) -> None:
        self.editing_id = ""
        self.form_name = ""
        self.form_description = ""
        self.form_permissions = []
        self.errors = {}
        self.editor_open = True

    @guard(MANAGE)
    def edit_role(self, role_id: str) -> None:
        row = next(
            (
                r
                for r in self.rows  # type: ignore[attr-defined]
                if r["id"] == role_id and not r["builtin"] and r["editable"]
            ),
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

    @guard(MANAGE)
    def set_editor_open(self, value: bool) -> None:
        self.editor_open = value

    @guard(MANAGE)
    def set_form_name(self, value: str) -> None:
        self.form_name = value

    @guard(MANAGE)
    def set_form_description(self, value: str) -> None:
        self.form_description = value

    @guard(MANAGE)
    def toggle_permission(self, code: str, checked: bool) -> None:
        if code not in self.grantable:
            return
        perms = [p for p in self.form_permissions if p != code]
        if checked:
            perms.append(code)
        self.form_permissions = perms

    @guard(MANAGE)
    def save(self) -> Any:
        self.errors = {}
        services, user = self.SERVICES, current_user()
        form = {
            "name": self.form_name,
            "description": self.form_description,
            "permissions": list(self.form_permissions),
        }
        try:
            if self.editing_id:
                run(services.update, user, to_int(self.editing_id), **form)
            else:
                run(services.create, user, **form)
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.editor_open = False
        self._reload()  # type: ignore[attr-defined]
        return rx.toast.success(f"Role “{' '.join(self.form_name.split())}” saved.")

    @guard(MANAGE)
    def delete_role(self, role_id: str) -> Any:
        try:
            run(self.SERVICES.delete, current_user(), to_int(role_id))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._reload()  # type: ignore[attr-defined]
        return rx.toast.success("Role deleted.")


def role_editor(state: Any, catalogue: Any, prefix: str, title: str) -> rx.Component:
    """The dialog of ``state`` (a RoleEditor); ``catalogue`` lists {"code", "text"} of every
    permission; ``prefix`` starts the ids of its fields ("role" -> "role-name")."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(state.editing_id == "", f"New {title}", f"Edit {title}")),
            rx.vstack(
                form_error(state.errors),
                rx.el.label("Name", html_for=f"{prefix}-name", style=LABEL_STYLE),
                rx.input(
                    value=state.form_name,
                    on_change=state.set_form_name,
                    id=f"{prefix}-name",
                    width="100%",
                ),
                rx.cond(
                    state.errors.contains("name"),
                    rx.text(state.errors["name"], color_scheme="red", size="2"),
                ),
                rx.el.label("Description", html_for=f"{prefix}-description", style=LABEL_STYLE),
                rx.input(
                    value=state.form_description,
                    on_change=state.set_form_description,
                    id=f"{prefix}-description",
                    width="100%",
                ),
                rx.text("Permissions", size="2", weight="medium"),
                rx.cond(
                    state.errors.contains("permissions"),
                    rx.text(state.errors["permissions"], color_scheme="red", size="2"),
                ),
                rx.grid(
                    rx.foreach(
                        catalogue,
                        lambda p: rx.checkbox(
                            p["text"],
                            checked=state.form_permissions.contains(p["code"]),
                            # Only permissions one may give (docs/security.md item 42).
                            disabled=~state.grantable.contains(p["code"]),
                            on_change=lambda checked: state.toggle_permission(p["code"], checked),
                            size="2",
                            id=f"{prefix}-perm-" + p["code"],
                        ),
                    ),
                    columns="2",
                    spacing="2",
                    width="100%",
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft")),
                    rx.button("Save role", on_click=state.save, id=f"{prefix}-save"),
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
        open=state.editor_open,
        on_open_change=state.set_editor_open,
    )
