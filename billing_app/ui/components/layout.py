"""The admin shell (sidebar, user menu, guarded content) and the card layout of public pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.ui.state.base import SessionState
from billing_app.ui.state.shell import ShellState


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    icon: str
    permission: Permission


NAV: tuple[NavItem, ...] = (
    NavItem("Dashboard", "/", "layout-dashboard", Permission.DASHBOARD_VIEW),
    NavItem("Clients", "/clients", "building-2", Permission.CLIENTS_READ),
    NavItem("Products", "/products", "package", Permission.CATALOG_READ),
    NavItem("Tax rates", "/tax-rates", "percent", Permission.CATALOG_READ),
    NavItem("Subscriptions", "/subscriptions", "repeat", Permission.SUBSCRIPTIONS_READ),
    NavItem("Invoices", "/invoices", "file-text", Permission.INVOICES_READ),
    NavItem("Settings", "/settings", "settings", Permission.SETTINGS_READ),
    NavItem("Brands", "/brands", "palette", Permission.SETTINGS_READ),
    NavItem("Team", "/team", "users", Permission.TEAM_READ),
    NavItem("Roles", "/roles", "shield-check", Permission.TEAM_READ),
    NavItem("Emails", "/emails", "mail", Permission.EMAILS_VIEW),
    NavItem("Audit log", "/audit", "scroll-text", Permission.AUDIT_VIEW),
)


def _nav_link(item: NavItem) -> rx.Component:
    active = rx.State.router.url.path == item.href
    return rx.cond(
        SessionState.granted.contains(item.permission.value),
        rx.link(
            rx.hstack(
                rx.icon(item.icon, size=18),
                rx.text(item.label, size="3"),
                spacing="3",
                align="center",
                padding_x="12px",
                padding_y="8px",
                border_radius="8px",
                background=rx.cond(active, rx.color("accent", 4), "transparent"),
                color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 12)),
                _hover={"background": rx.color("accent", 3)},
                width="100%",
            ),
            href=item.href,
            underline="none",
            width="100%",
            id=f"nav-{item.href.strip('/') or 'dashboard'}",
        ),
    )


def _user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.avatar(fallback=SessionState.user_name[:1], size="2", radius="full"),
                rx.vstack(
                    rx.text(SessionState.user_name, size="2", weight="medium"),
                    rx.text(SessionState.role_label, size="1", color_scheme="gray"),
                    spacing="0",
                    align="start",
                ),
                variant="ghost",
                width="100%",
                justify="start",
                height="auto",
                padding="8px",
                id="user-menu",
            )
        ),
        rx.menu.content(
            rx.menu.item(
                rx.hstack(rx.icon("user-cog", size=16), rx.text("My account")),
                on_click=rx.redirect("/account"),
                id="my-account",
            ),
            rx.box(rx.text(SessionState.user_email, size="1", color_scheme="gray"), padding="8px"),
            rx.menu.separator(),
            rx.menu.item(
                rx.hstack(rx.icon("log-out", size=16), rx.text("Sign out")),
                on_click=ShellState.sign_out,
                id="sign-out",
            ),
        ),
    )


def sidebar() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon("receipt", size=22, color=rx.color("accent", 10)),
            rx.heading("Client Billing", size="4"),
            spacing="2",
            align="center",
            padding_x="12px",
            padding_bottom="16px",
        ),
        rx.vstack(*[_nav_link(item) for item in NAV], spacing="1", width="100%"),
        rx.spacer(),
        rx.divider(),
        _user_menu(),
        width="240px",
        min_width="240px",
        height="100vh",
        position="sticky",
        top="0",
        padding="16px",
        background=rx.color("gray", 2),
        border_right=f"1px solid {rx.color('gray', 5)}",
    )


def not_allowed() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("shield-x", size=40, color=rx.color("red", 9)),
            rx.heading("Not allowed", size="6", id="not-allowed"),
            rx.text(
                "Your role does not give you access to this page. "
                "Ask your team's owner if you need it.",
                color_scheme="gray",
                align="center",
            ),
            rx.link("Back to the dashboard", href="/"),
            align="center",
            spacing="3",
            max_width="420px",
        ),
        padding_top="80px",
        width="100%",
    )


def loading() -> rx.Component:
    return rx.center(rx.spinner(size="3"), padding_top="80px", width="100%")


def admin_page(
    title: str,
    status: rx.Var[str],
    content: Callable[[], rx.Component],
    actions: rx.Component | None = None,
) -> rx.Component:
    """A page of the admin: shell + header + content shown only once the server allowed it."""
    header = rx.hstack(
        rx.heading(title, size="7"),
        rx.spacer(),
        actions or rx.fragment(),
        width="100%",
        align="center",
        padding_bottom="16px",
    )
    return rx.hstack(
        sidebar(),
        rx.box(
            rx.match(
                status,
                ("denied", not_allowed()),
                ("ok", rx.vstack(header, content(), width="100%", spacing="4")),
                loading(),
            ),
            flex="1",
            padding="32px",
            max_width="1200px",
            min_width="0",
        ),
        spacing="0",
        align="start",
        width="100%",
        min_height="100vh",
    )


def auth_card(title: str, subtitle: str | rx.Var[str], *children: rx.Component) -> rx.Component:
    """The centred card of the public pages."""
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("receipt", size=24, color=rx.color("accent", 10)),
                    rx.text("Client Billing", weight="bold", size="4"),
                    align="center",
                    spacing="2",
                ),
                rx.heading(title, size="6", padding_top="8px"),
                rx.text(subtitle, color_scheme="gray", size="2"),
                *children,
                spacing="3",
                width="100%",
            ),
            width="100%",
            max_width="420px",
            size="4",
        ),
        min_height="100vh",
        padding="16px",
        background=rx.color("gray", 2),
    )


def field(
    label: str,
    name: str,
    errors: rx.Var[dict[str, str]],
    *,
    type_: str = "text",
    placeholder: str = "",
    default_value: str | rx.Var[str] | None = None,
    read_only: bool = False,
    auto_complete: str = "",
    required: bool = True,
    id_: str = "",
) -> rx.Component:
    """A labelled input with its error message right beneath it."""
    props: dict[str, object] = {}
    if default_value is not None:
        props["default_value"] = default_value
    if auto_complete:
        props["auto_complete"] = auto_complete
    return rx.vstack(
        rx.text(label, as_="label", size="2", weight="medium", html_for=name),
        rx.input(
            name=name,
            id=id_ or name,
            type=type_,
            placeholder=placeholder,
            read_only=read_only,
            required=required,
            width="100%",
            size="3",
            **props,
        ),
        rx.cond(
            errors.contains(name),
            rx.text(errors[name], color_scheme="red", size="2", id=f"{name}-error"),
        ),
        spacing="1",
        width="100%",
        align="start",
    )


def form_error(errors: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.cond(
        errors.contains("form"),
        rx.callout(
            errors["form"], icon="triangle-alert", color_scheme="red", id="form-error", width="100%"
        ),
    )


def pager(
    page: rx.Var[int],
    page_count: rx.Var[int],
    total: rx.Var[int],
    go: Callable[[int], rx.event.EventSpec],
) -> rx.Component:
    return rx.hstack(
        rx.text(total.to_string() + " in all", size="2", color_scheme="gray"),
        rx.spacer(),
        rx.button(
            rx.icon("chevron-left", size=16),
            "Previous",
            variant="soft",
            disabled=page <= 1,
            on_click=go(page - 1),
        ),  # type: ignore[operator]
        rx.text("Page ", page.to_string(), " of ", page_count.to_string(), size="2"),
        rx.button(
            "Next",
            rx.icon("chevron-right", size=16),
            variant="soft",
            disabled=page >= page_count,
            on_click=go(page + 1),
        ),  # type: ignore[operator]
        width="100%",
        align="center",
    )
