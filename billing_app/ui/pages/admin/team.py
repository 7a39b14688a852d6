"""Team and Roles pages."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.components.layout import admin_page, field, form_error
from billing_app.ui.state.roles import RolesState
from billing_app.ui.state.team import TeamState


def _member_row(m: rx.Var[dict[str, str]]) -> rx.Component:
    editable = TeamState.can_manage & (m["is_self"] == "") & (m["manageable"] == "yes")
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
                rx.badge("Active", color_scheme="green"),
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
                    rx.text("Role", size="2", weight="medium"),
                    rx.select.root(
                        rx.select.trigger(
                            placeholder="Choose a role", id="invite-role", width="100%"
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
                    rx.table.column_header_cell(""),
                )
            ),
            rx.table.body(rx.foreach(TeamState.members, _member_row)),
            width="100%",
            variant="surface",
            id="members",
        ),
        rx.cond(
            TeamState.invitations.length() > 0,  # type: ignore[operator]
            rx.vstack(
                rx.heading("Pending invitations", size="4", padding_top="16px"),
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Email"),
                            rx.table.column_header_cell("Role"),
                            rx.table.column_header_cell("Invited by"),
                            rx.table.column_header_cell("Expires"),
                            rx.table.column_header_cell(""),
                        )
                    ),
                    rx.table.body(
                        rx.foreach(
                            TeamState.invitations,
                            lambda i: rx.table.row(
                                rx.table.cell(i["email"]),
                                rx.table.cell(i["role_label"]),
                                rx.table.cell(i["invited_by"]),
                                rx.table.cell(
                                    rx.cond(
                                        i["expired"] == "yes",
                                        rx.badge("Expired", color_scheme="orange"),
                                        rx.text(i["expires"], size="2"),
                                    )
                                ),
                                rx.table.cell(
                                    rx.cond(
                                        TeamState.can_manage,
                                        rx.button(
                                            "Revoke",
                                            size="1",
                                            variant="soft",
                                            color_scheme="red",
                                            on_click=TeamState.revoke_invitation(i["id"]),
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
        actions=rx.cond(TeamState.can_manage, _invite_dialog()),
    )


def _role_editor() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(RolesState.editing_id == "", "New role", "Edit role")),
            rx.vstack(
                form_error(RolesState.errors),
                rx.text("Name", size="2", weight="medium"),
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
                rx.text("Description", size="2", weight="medium"),
                rx.input(
                    value=RolesState.form_description,
                    on_change=RolesState.set_form_description,
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
                    rx.table.column_header_cell(""),
                )
            ),
            rx.table.body(
                rx.foreach(
                    RolesState.roles,
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
                                RolesState.can_manage
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
        _role_editor(),
        width="100%",
    )


def roles_page() -> rx.Component:
    return admin_page(
        "Roles",
        RolesState.status,
        _roles_content,
        actions=rx.cond(
            RolesState.can_manage,
            rx.button(
                rx.icon("plus", size=16), "New role", on_click=RolesState.new_role, id="role-new"
            ),
        ),
    )
