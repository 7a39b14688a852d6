"""The client's Users tab (on /clients/[client_id]): who has access to the client's portal, with
their role, last sign-in and two-factor; pending invitations; invite, resend, revoke, change a
role, remove access (clients.users)."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.admin.clients.overview_state import ClientState
from billing_app.ui.admin.clients.users_state import ClientInvitationsState, ClientUsersState
from billing_app.ui.kit.forms import LABEL_STYLE
from billing_app.ui.kit.layout import data_table, field, form_error
from billing_app.ui.kit.resource import confirm_button, empty_state, resource_pager

U = ClientUsersState
I = ClientInvitationsState  # noqa: E741


def _role_select(row: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label="Role of " + row["email"]),
        rx.select.content(
            rx.foreach(U.role_choices, lambda c: rx.select.item(c["label"], value=c["value"]))
        ),
        value=row["role"],
        on_change=lambda value: U.change_role(row["id"], value),
        size="2",
    )


def _user_row(row: rx.Var[dict[str, str]]) -> rx.Component:
    company = ClientState.client["company"]
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(row["name"], weight="medium"),
                rx.text(row["email"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.cond(U.can_write, _role_select(row), rx.badge(row["role_label"], variant="soft"))
        ),
        rx.table.cell(rx.text(row["last_login"], size="2", white_space="nowrap")),
        rx.table.cell(
            rx.cond(
                row["two_factor"] == "yes",
                rx.badge(rx.icon("shield-check", size=12), "On", color_scheme="green"),
                rx.badge("Off", color_scheme="gray"),
            )
        ),
        rx.table.cell(
            rx.cond(
                U.can_write,
                confirm_button(
                    rx.button("Remove access", variant="soft", color_scheme="red", size="1"),
                    "Remove " + row["name"] + "'s access to " + company + "?",
                    "They are signed out of this client's portal at once. Their account stays "
                    "for other clients and later invitations.",
                    "Remove access",
                    U.remove(row["id"]),
                    "red",
                ),
            ),
            text_align="right",
        ),
        align="center",
    )


def _users_table() -> rx.Component:
    return rx.cond(
        U.total > 0,
        rx.vstack(
            data_table(
                ["Person", "Role", "Last sign-in", "Two-factor"], U.rows, _user_row, "client-users"
            ),
            resource_pager(U, "client-users"),
            width="100%",
        ),
        empty_state(
            "users",
            "Nobody has access yet",
            "Invite the client's people: they choose a password and see their invoices, "
            "services and payment methods in the portal, under the client's brand.",
        ),
    )


def _invitation_row(row: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(row["email"], weight="medium"),
                rx.cond(row["name"] != "", rx.text(row["name"], size="1", color_scheme="gray")),
                spacing="0",
            )
        ),
        rx.table.cell(rx.text(row["role_label"], size="2")),
        rx.table.cell(rx.text(row["invited_by"], size="2")),
        rx.table.cell(
            rx.cond(
                row["expired"] == "yes",
                rx.badge("Expired", color_scheme="orange", high_contrast=True),
                rx.text(row["expires"], size="2", white_space="nowrap"),
            )
        ),
        rx.table.cell(
            rx.cond(
                I.can_write,
                rx.hstack(
                    rx.button("Resend", size="1", variant="soft", on_click=I.resend(row["id"])),
                    rx.button(
                        "Revoke",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=I.revoke(row["id"]),
                    ),
                    spacing="2",
                    justify="end",
                ),
            ),
            text_align="right",
        ),
        align="center",
    )


def _invitations() -> rx.Component:
    return rx.cond(
        I.total > 0,
        rx.vstack(
            rx.heading("Pending invitations", size="3", as_="h3", padding_top="8px"),
            data_table(
                ["Invited", "Role", "By", "Expires"], I.rows, _invitation_row, "client-invitations"
            ),
            resource_pager(I, "client-invitations"),
            width="100%",
        ),
    )


def _invite_dialog() -> rx.Component:
    errors = U.invite_errors
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("user-plus", size=16), "Invite to the portal", id="client-invite")
        ),
        rx.dialog.content(
            rx.dialog.title("Invite to " + ClientState.client["company"] + "'s portal"),
            rx.dialog.description(
                "The client's brand emails them a link to choose a password (valid 7 days). "
                "Someone who already has a portal account gets access at once.",
                size="2",
            ),
            rx.form(
                rx.vstack(
                    form_error(errors),
                    field("Email", "email", errors, type_="email", id_="client-invite-email"),
                    field("Name", "name", errors, required=False, id_="client-invite-name"),
                    rx.el.label("Role", html_for="client-invite-role", style=LABEL_STYLE),
                    rx.select.root(
                        rx.select.trigger(id="client-invite-role", width="100%", aria_label="Role"),
                        rx.select.content(
                            rx.foreach(
                                U.role_choices,
                                lambda c: rx.select.item(c["label"], value=c["value"]),
                            )
                        ),
                        name="role",
                        default_value=U.default_role,
                    ),
                    rx.cond(
                        errors.contains("role"),
                        rx.text(errors["role"], color_scheme="red", size="2", id="role-error"),
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", variant="soft", type="button")),
                        rx.button("Send invitation", type="submit", id="client-invite-submit"),
                        justify="end",
                        spacing="3",
                        width="100%",
                        padding_top="8px",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=U.invite,
                reset_on_submit=False,
            ),
            max_width="480px",
        ),
        open=U.invite_open,
        on_open_change=U.set_invite_open,
    )


def users_tab() -> rx.Component:
    """The tab's content: people, then pending invitations."""
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.text("Portal users", weight="bold", size="3"),
                    rx.text(
                        "People of this client who sign in to its portal, and their role.",
                        size="2",
                        color_scheme="gray",
                    ),
                    spacing="1",
                ),
                rx.spacer(),
                rx.cond(U.can_write & (ClientState.client["archived"] != "yes"), _invite_dialog()),
                width="100%",
                align="center",
            ),
            _users_table(),
            _invitations(),
            spacing="4",
            width="100%",
        ),
        width="100%",
    )
