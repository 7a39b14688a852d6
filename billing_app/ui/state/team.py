"""The Team page: members, invitations, role changes, deactivation."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.db.engine import session_scope
from billing_app.domain.permissions import Permission
from billing_app.jobs.tasks import kick_outbox
from billing_app.services.access import roles as roles_service
from billing_app.services.access import team as team_service
from billing_app.services.common.errors import ServiceError
from billing_app.ui.format import format_timestamp, to_int
from billing_app.ui.state.base import SessionState, current_user, field_errors, guard


class TeamState(SessionState):
    status: str = "loading"
    members: list[dict[str, str]] = []
    invitations: list[dict[str, str]] = []
    role_choices: list[dict[str, str]] = []  # only roles the user may grant
    default_role: str = "viewer"
    can_manage: bool = False
    invite_open: bool = False
    invite_errors: dict[str, str] = {}

    def _refresh(self) -> None:
        user = current_user()
        with session_scope() as session:
            members = team_service.list_members(session)
            invitations = team_service.list_pending_invitations(session)
            options = roles_service.role_options(session, user)
        self.members = [
            {
                "id": str(m.id),
                "name": m.name,
                "email": m.email,
                "role": m.role_value,
                "role_label": m.role_label,
                "active": "yes" if m.is_active else "",
                "last_login": format_timestamp(m.last_login_at),
                "is_self": "yes" if m.id == user.id else "",
                "is_owner": "yes" if m.role_value == "owner" else "",
                # Members whose role holds a permission the user lacks are not theirs to
                # change or deactivate (docs/security.md item 42).
                "manageable": "yes"
                if not roles_service.lacking(user, m.permissions)
                and (m.role_value != "owner" or user.is_owner)
                else "",
            }
            for m in members
        ]
        self.invitations = [
            {
                "id": str(i.id),
                "email": i.email,
                "role_label": i.role_label,
                "invited_by": i.invited_by,
                "expires": format_timestamp(i.expires_at),
                "expired": "yes" if i.expired else "",
            }
            for i in invitations
        ]
        self.role_choices = [{"value": v, "label": label} for v, label in options]
        values = [v for v, _ in options]
        self.default_role = "viewer" if "viewer" in values else next(iter(values), "")
        self.can_manage = user.can(Permission.TEAM_MANAGE)
        self.status = "ok"

    @guard(Permission.TEAM_READ)
    def load(self) -> None:
        self.invite_open = False
        self.invite_errors = {}
        self._refresh()

    @guard(Permission.TEAM_MANAGE)
    def open_invite(self) -> None:
        self.invite_errors = {}
        self.invite_open = True

    @guard(Permission.TEAM_MANAGE)
    def close_invite(self) -> None:
        self.invite_open = False

    @guard(Permission.TEAM_MANAGE)
    def set_invite_open(self, value: bool) -> None:
        self.invite_open = value

    @guard(Permission.TEAM_MANAGE)
    def invite(self, form: dict[str, Any]) -> Any:
        self.invite_errors = {}
        email = str(form.get("email", ""))
        try:
            with session_scope() as session:
                team_service.invite(
                    session, current_user(), email=email, role=str(form.get("role", ""))
                )
        except ServiceError as exc:
            self.invite_errors = field_errors(exc)
            return None
        kick_outbox()
        self.invite_open = False
        self._refresh()
        return rx.toast.success(f"Invitation sent to {email.strip().lower()}.")

    @guard(Permission.TEAM_MANAGE)
    def revoke_invitation(self, invitation_id: str) -> Any:
        try:
            with session_scope() as session:
                team_service.revoke_invitation(session, current_user(), to_int(invitation_id))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._refresh()
        return rx.toast.success("Invitation revoked.")

    @guard(Permission.TEAM_MANAGE)
    def change_role(self, user_id: str, role: str) -> Any:
        try:
            with session_scope() as session:
                team_service.change_role(session, current_user(), to_int(user_id), role=role)
        except ServiceError as exc:
            self._refresh()
            return rx.toast.error(exc.message)
        self._refresh()
        return rx.toast.success("Role changed.")

    @guard(Permission.TEAM_MANAGE)
    def set_active(self, user_id: str, active: bool) -> Any:
        try:
            with session_scope() as session:
                team_service.set_active(session, current_user(), to_int(user_id), active=active)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._refresh()
        return rx.toast.success("Member reactivated." if active else "Member deactivated.")
