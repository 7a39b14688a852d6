"""The Roles page: built-in roles (read-only) and custom roles from permission checkboxes."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.db.engine import session_scope
from billing_app.domain.permissions import CATALOGUE, Permission, parse_permissions
from billing_app.services.access import roles as roles_service
from billing_app.services.common.errors import ServiceError
from billing_app.ui.format import to_int
from billing_app.ui.state.base import SessionState, current_user, field_errors, guard

PERMISSION_LABELS = {info.permission.value: info.label for info in CATALOGUE}


class RolesState(SessionState):
    status: str = "loading"
    roles: list[dict[str, str]] = []
    can_manage: bool = False
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

    def _refresh(self) -> None:
        user = current_user()
        with session_scope() as session:
            rows = roles_service.list_roles(session)
        self.roles = [
            {
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
            for r in rows
        ]
        self.grantable = sorted(p.value for p in user.permissions)
        self.can_manage = user.can(Permission.ROLES_MANAGE)
        self.status = "ok"

    @guard(Permission.TEAM_READ)
    def load(self) -> None:
        self.editor_open = False
        self._refresh()

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
            (r for r in self.roles if r["id"] == role_id and not r["builtin"] and r["editable"]),
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
            with session_scope() as session:
                if self.editing_id:
                    roles_service.update_role(
                        session,
                        current_user(),
                        to_int(self.editing_id),
                        name=self.form_name,
                        description=self.form_description,
                        permissions=list(self.form_permissions),
                    )
                else:
                    roles_service.create_role(
                        session,
                        current_user(),
                        name=self.form_name,
                        description=self.form_description,
                        permissions=list(self.form_permissions),
                    )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.editor_open = False
        self._refresh()
        return rx.toast.success(f"Role “{' '.join(self.form_name.split())}” saved.")

    @guard(Permission.ROLES_MANAGE)
    def delete_role(self, role_id: str) -> Any:
        try:
            with session_scope() as session:
                roles_service.delete_role(session, current_user(), to_int(role_id))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._refresh()
        return rx.toast.success("Role deleted.")
