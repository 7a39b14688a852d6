"""The portal's Users page (/portal/users), for client users whose role manages the client's
people: who has access and with which role, pending invitations, inviting a colleague, changing
a role, removing access. Scoped by the session's client (services/access/colleagues.py)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import ClientPermission
from billing_app.services.access import colleagues
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.listing import MAX_PER_PAGE, ListRequest
from billing_app.services.common.transactions import run
from billing_app.ui.format import day, optional_int
from billing_app.ui.kit.forms import field_error, form_alert
from billing_app.ui.kit.layout import field_label, visually_hidden
from billing_app.ui.portal.frame import PortalPageState, portal_page
from billing_app.ui.session.portal import current_client_user, portal_guard
from billing_app.ui.session.staff import field_errors

MANAGE = ClientPermission.USERS_MANAGE


class PortalUsersState(PortalPageState):
    people: list[dict[str, str]] = []
    invitations: list[dict[str, str]] = []
    roles: list[dict[str, str]] = []
    default_role: str = ""
    invite_open: bool = False
    errors: dict[str, str] = {}

    def _refresh(self) -> None:
        user = current_client_user()
        everyone = ListRequest(per_page=MAX_PER_PAGE)
        self.people = [
            {
                "id": str(p.user_id),
                "name": p.name,
                "email": p.email,
                "role": p.role_value,
                "role_label": p.role_label,
                "two_factor": "On" if p.two_factor else "Off",
                "last": day(p.last_login_at.date()) if p.last_login_at else "Never",
                "me": "yes" if p.user_id == user.id else "",
            }
            for p in run(colleagues.list_colleagues, user, everyone).rows
        ]
        self.invitations = [
            {
                "id": str(i.id),
                "email": i.email,
                "name": i.name,
                "role_label": i.role_label,
                "state": "Expired" if i.expired else f"Until {day(i.expires_at.date())}",
            }
            for i in run(colleagues.list_colleague_invitations, user, everyone).rows
        ]
        self.roles = [
            {"value": value, "label": label}
            for value, label in run(colleagues.colleague_role_options, user)
        ]
        self.default_role = run(colleagues.default_colleague_role, user)

    @portal_guard(MANAGE)
    def load(self) -> Any:
        self._frame()
        gate = self._two_factor_gate()
        if gate is not None:
            return gate
        self.invite_open, self.errors = False, {}
        self._refresh()
        return None

    @portal_guard(MANAGE)
    def set_invite_open(self, value: bool) -> None:
        self.errors = {}
        self.invite_open = bool(value)

    @portal_guard(MANAGE)
    def invite(self, form: dict[str, Any]) -> Any:
        try:
            run(
                colleagues.invite_colleague,
                current_client_user(),
                email=str(form.get("email", ""))[:400],
                name=str(form.get("name", ""))[:400],
                role=str(form.get("role", ""))[:100],
            )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.invite_open, self.errors = False, {}
        self._refresh()
        return rx.toast.success("Invitation sent.")

    def _act(self, action: Any, done: str, *args: Any, **kwargs: Any) -> Any:
        try:
            run(action, current_client_user(), *args, **kwargs)
        except ServiceError as exc:
            self._refresh()
            return rx.toast.error(exc.message)
        self._refresh()
        return rx.toast.success(done)

    @portal_guard(MANAGE)
    def change_role(self, user_id: str, role: str) -> Any:
        return self._act(
            colleagues.change_colleague_role,
            "Role changed.",
            optional_int(user_id) or 0,
            role=str(role)[:100],
        )

    @portal_guard(MANAGE)
    def remove(self, user_id: str) -> Any:
        return self._act(colleagues.remove_colleague, "Access removed.", optional_int(user_id) or 0)

    @portal_guard(MANAGE)
    def resend(self, invitation_id: str) -> Any:
        return self._act(
            colleagues.resend_colleague_invitation,
            "Invitation sent again.",
            optional_int(invitation_id) or 0,
        )

    @portal_guard(MANAGE)
    def revoke(self, invitation_id: str) -> Any:
        return self._act(
            colleagues.revoke_colleague_invitation,
            "Invitation withdrawn.",
            optional_int(invitation_id) or 0,
        )


S: Any = PortalUsersState

SELECT_STYLE = {
    "padding": "6px 8px",
    "border_radius": "6px",
    "border": f"1px solid {rx.color('gray', 7)}",
    "background": rx.color("gray", 1),
}


def _person(p: Any) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(p["name"], weight="medium"),
                rx.text(p["email"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.el.select(
                rx.foreach(S.roles, lambda r: rx.el.option(r["label"], value=r["value"])),
                value=p["role"],
                on_change=lambda v: S.change_role(p["id"], v),
                aria_label="Role of " + p["name"],
                style=SELECT_STYLE,
            )
        ),
        rx.table.cell(p["two_factor"], display=["none", "table-cell"]),
        rx.table.cell(p["last"], display=["none", "table-cell"]),
        rx.table.cell(
            rx.cond(
                p["me"] == "yes",
                rx.text("You", size="1", color_scheme="gray"),
                rx.button(
                    "Remove",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=S.remove(p["id"]),
                    aria_label="Remove access of " + p["name"],
                ),
            )
        ),
    )


def _invitation(i: Any) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(i["name"], " ", i["email"], size="2", weight="medium"),
            rx.text(i["role_label"], " · ", i["state"], size="1", color_scheme="gray"),
            spacing="0",
            flex="1",
            min_width="0",
        ),
        rx.button("Send again", size="1", variant="soft", on_click=S.resend(i["id"])),
        rx.button(
            "Withdraw", size="1", variant="soft", color_scheme="red", on_click=S.revoke(i["id"])
        ),
        width="100%",
        align="center",
        wrap="wrap",
    )


def _invite_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("user-plus", size=16), "Invite", id="invite-colleague")
        ),
        rx.dialog.content(
            rx.dialog.title("Invite a colleague"),
            rx.dialog.description(
                "They get an email with a link to choose their password.", size="2"
            ),
            rx.form(
                rx.vstack(
                    form_alert(S.errors),
                    field_label("Email", "colleague-email"),
                    rx.input(name="email", type="email", id="colleague-email", width="100%"),
                    field_error(S.errors, "email"),
                    field_label("Name", "colleague-name"),
                    rx.input(name="name", id="colleague-name", width="100%"),
                    field_error(S.errors, "name"),
                    field_label("Role", "colleague-role"),
                    rx.el.select(
                        rx.foreach(S.roles, lambda r: rx.el.option(r["label"], value=r["value"])),
                        name="role",
                        default_value=S.default_role,
                        id="colleague-role",
                        style=SELECT_STYLE,
                    ),
                    field_error(S.errors, "role"),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Send invitation", type="submit", id="colleague-submit"),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="2",
                    width="100%",
                ),
                on_submit=S.invite,
                reset_on_submit=False,
            ),
            max_width="440px",
        ),
        open=S.invite_open,
        on_open_change=S.set_invite_open,
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("People who can sign in for ", S.client_name, ".", size="2"),
            rx.spacer(),
            _invite_dialog(),
            width="100%",
            align="center",
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Person"),
                    rx.table.column_header_cell("Role"),
                    rx.table.column_header_cell("Two-factor", display=["none", "table-cell"]),
                    rx.table.column_header_cell("Last sign-in", display=["none", "table-cell"]),
                    rx.table.column_header_cell(visually_hidden("Actions")),
                )
            ),
            rx.table.body(rx.foreach(S.people, _person)),
            width="100%",
            variant="surface",
            id="portal-people",
        ),
        rx.cond(
            S.invitations.length() > 0,
            rx.card(
                rx.vstack(
                    rx.heading("Pending invitations", size="3", as_="h2"),
                    rx.foreach(S.invitations, _invitation),
                    spacing="2",
                    width="100%",
                ),
                width="100%",
                id="portal-invitations",
            ),
        ),
        spacing="4",
        width="100%",
    )


def portal_users_page() -> rx.Component:
    return portal_page("Users", _content)
