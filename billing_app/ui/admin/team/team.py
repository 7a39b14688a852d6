"""The team (/team): members, invitations, roles given, deactivation."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.access import roles as roles_service
from billing_app.services.access import team as team_service
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import format_timestamp, to_int
from billing_app.ui.kit.forms import LABEL_STYLE
from billing_app.ui.kit.layout import field, form_error, visually_hidden
from billing_app.ui.kit.list_state import ListSpec, ListState
from billing_app.ui.kit.resource import resource_pager
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard


class TeamState(ListState, SessionState):
    """The members, and what a manager does to them (invite, change role, deactivate)."""

    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.TEAM_READ,
        write=Permission.TEAM_MANAGE,
        filters={"status": ("all", "active", "inactive")},
    )

    role_choices: list[dict[str, str]] = []  # only roles the user may grant
    default_role: str = "viewer"
    invite_open: bool = False
    invite_errors: dict[str, str] = {}

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        return run(team_service.list_members, user, request)

    def _row(self, user: Any, m: Any) -> dict[str, str]:
        return {
            "id": str(m.id),
            "name": m.name,
            "email": m.email,
            "role": m.role_value,
            "role_label": m.role_label,
            "active": "yes" if m.is_active else "",
            "last_login": format_timestamp(m.last_login_at, user.time_zone),
            "is_self": "yes" if m.id == user.id else "",
            "is_owner": "yes" if m.role_value == "owner" else "",
            # Members whose role holds a permission the user lacks are not theirs to change
            # or deactivate (docs/security.md item 42).
            "manageable": "yes"
            if not roles_service.lacking(user, m.permissions)
            and (m.role_value != "owner" or user.is_owner)
            else "",
        }

    def _shown(self, user: Any, page: Page[Any]) -> None:
        options = run(roles_service.role_options, user)
        self.role_choices = [{"value": v, "label": label} for v, label in options]
        values = [v for v, _ in options]
        self.default_role = "viewer" if "viewer" in values else next(iter(values), "")

    @guard(Permission.TEAM_READ)
    def load(self) -> None:
        self.invite_open = False
        self.invite_errors = {}
        self._defaults()
        self._first()

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
            run(team_service.invite, current_user(), email=email, role=str(form.get("role", "")))
        except ServiceError as exc:
            self.invite_errors = field_errors(exc)
            return None
        self.invite_open = False
        return [
            rx.toast.success(f"Invitation sent to {email.strip().lower()}."),
            InvitationsState.reload,
        ]

    @guard(Permission.TEAM_MANAGE)
    def change_role(self, user_id: str, role: str) -> Any:
        try:
            run(team_service.change_role, current_user(), to_int(user_id), role=role)
        except ServiceError as exc:
            self._reload()
            return rx.toast.error(exc.message)
        self._reload()
        return rx.toast.success("Role changed.")

    @guard(Permission.TEAM_MANAGE)
    def set_active(self, user_id: str, active: bool) -> Any:
        try:
            run(team_service.set_active, current_user(), to_int(user_id), active=active)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._reload()
        return rx.toast.success("Member reactivated." if active else "Member deactivated.")


class InvitationsState(ListState, SessionState):
    """Invitations neither accepted nor revoked, newest first."""

    LIST: ClassVar[ListSpec] = ListSpec(read=Permission.TEAM_READ, write=Permission.TEAM_MANAGE)

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        return run(team_service.list_pending_invitations, user, request)

    def _row(self, user: Any, i: Any) -> dict[str, str]:
        return {
            "id": str(i.id),
            "email": i.email,
            "role_label": i.role_label,
            "invited_by": i.invited_by,
            "expires": format_timestamp(i.expires_at, user.time_zone),
            "expired": "yes" if i.expired else "",
        }

    @guard(Permission.TEAM_MANAGE)
    def revoke_invitation(self, invitation_id: str) -> Any:
        try:
            run(team_service.revoke_invitation, current_user(), to_int(invitation_id))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._reload()
        return rx.toast.success("Invitation revoked.")


def _member_row(m: rx.Var[dict[str, str]]) -> rx.Component:
    editable = TeamState.can_write & (m["is_self"] == "") & (m["manageable"] == "yes")
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(m["name"], weight="medium"),
                rx.text(m["email"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.cond(
                editable,
                rx.select.root(
                    rx.select.trigger(aria_label="Role of " + m["email"]),
                    rx.select.content(
                        rx.foreach(
                            TeamState.role_choices,
                            lambda c: rx.select.item(c["label"], value=c["value"]),
                        )
                    ),
                    value=m["role"],
                    on_change=lambda v: TeamState.change_role(m["id"], v),
                    size="2",
                ),
                rx.badge(m["role_label"], variant="soft"),
            )
        ),
        rx.table.cell(
            rx.cond(
                m["active"] == "yes",
                rx.badge("Active", color_scheme="green", high_contrast=True),
                rx.badge("Deactivated", color_scheme="gray"),
            )
        ),
        rx.table.cell(rx.text(m["last_login"], size="2")),
        rx.table.cell(
            rx.cond(
                editable,
                rx.cond(
                    m["active"] == "yes",
                    rx.alert_dialog.root(
                        rx.alert_dialog.trigger(
                            rx.button("Deactivate", variant="soft", color_scheme="red", size="1")
                        ),
                        rx.alert_dialog.content(
                            rx.alert_dialog.title("Deactivate " + m["name"] + "?"),
                            rx.alert_dialog.description(
                                "They are signed out at once and can no longer sign in. "
                                "You can reactivate them later."
                            ),
                            rx.hstack(
                                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft")),
                                rx.alert_dialog.action(
                                    rx.button(
                                        "Deactivate",
                                        color_scheme="red",
                                        on_click=TeamState.set_active(m["id"], False),
                                    )
                                ),
                                justify="end",
                                spacing="3",
                                padding_top="12px",
                            ),
                        ),
                    ),
                    rx.button(
                        "Reactivate",
                        variant="soft",
                        size="1",
                        on_click=TeamState.set_active(m["id"], True),
                    ),
                ),
            )
        ),
        align="center",
    )


def _invite_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("user-plus", size=16), "Invite member", id="invite-open")
        ),
        rx.dialog.content(
            rx.dialog.title("Invite a team member"),
            rx.dialog.description(
                "They receive an email with a link to choose their name and password. "
                "The link expires in 7 days.",
                size="2",
            ),
            rx.form(
                rx.vstack(
                    form_error(TeamState.invite_errors),
                    field("Email", "email", TeamState.invite_errors, type_="email"),
                    rx.el.label("Role", html_for="invite-role", style=LABEL_STYLE),
                    rx.select.root(
                        rx.select.trigger(
                            placeholder="Choose a role",
                            id="invite-role",
                            width="100%",
                            aria_label="Role",
                        ),
                        rx.select.content(
                            rx.foreach(
                                TeamState.role_choices,
                                lambda c: rx.select.item(c["label"], value=c["value"]),
                            )
                        ),
                        name="role",
                        default_value=TeamState.default_role,
                    ),
                    rx.cond(
                        TeamState.invite_errors.contains("role"),
                        rx.text(TeamState.invite_errors["role"], color_scheme="red", size="2"),
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", variant="soft", type="button")),
                        rx.button("Send invitation", type="submit", id="invite-submit"),
                        justify="end",
                        spacing="3",
                        width="100%",
                        padding_top="8px",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=TeamState.invite,
                reset_on_submit=False,
            ),
        ),
        open=TeamState.invite_open,
        on_open_change=TeamState.set_invite_open,
    )


def _team_content() -> rx.Component:
    return rx.vstack(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Member"),
                    rx.table.column_header_cell("Role"),
                    rx.table.column_header_cell("Status"),
                    rx.table.column_header_cell("Last sign-in"),
                    rx.table.column_header_cell(visually_hidden("Actions")),
                )
            ),
            rx.table.body(rx.foreach(TeamState.rows, _member_row)),
            width="100%",
            variant="surface",
            id="members",
        ),
        resource_pager(TeamState, "members"),
        rx.cond(
            InvitationsState.total > 0,
            rx.vstack(
                rx.heading("Pending invitations", size="4", padding_top="16px"),
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Email"),
                            rx.table.column_header_cell("Role"),
                            rx.table.column_header_cell("Invited by"),
                            rx.table.column_header_cell("Expires"),
                            rx.table.column_header_cell(visually_hidden("Actions")),
                        )
                    ),
                    rx.table.body(
                        rx.foreach(
                            InvitationsState.rows,
                            lambda i: rx.table.row(
                                rx.table.cell(i["email"]),
                                rx.table.cell(i["role_label"]),
                                rx.table.cell(i["invited_by"]),
                                rx.table.cell(
                                    rx.cond(
                                        i["expired"] == "yes",
                                        rx.badge(
                                            "Expired", color_scheme="orange", high_contrast=True
                                        ),
                                        rx.text(i["expires"], size="2"),
                                    )
                                ),
                                rx.table.cell(
                                    rx.cond(
                                        InvitationsState.can_write,
                                        rx.button(
                                            "Revoke",
                                            size="1",
                                            variant="soft",
                                            color_scheme="red",
                                            on_click=InvitationsState.revoke_invitation(i["id"]),
                                        ),
                                    )
                                ),
                                align="center",
                            ),
                        )
                    ),
                    width="100%",
                    variant="surface",
                    id="invitations",
                ),
                resource_pager(InvitationsState, "invitations"),
                width="100%",
            ),
        ),
        width="100%",
    )


def team_page() -> rx.Component:
    return admin_page(
        "Team",
        TeamState.status,
        _team_content,
        actions=rx.cond(TeamState.can_write, _invite_dialog()),
    )
