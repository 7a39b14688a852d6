"""The admin shell: sidebar navigation, the user menu, signing out, and the page frame every admin
page uses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.access import auth
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.kit.forms import choice_lists
from billing_app.ui.kit.layout import loading, not_allowed
from billing_app.ui.routes import backend_path, frontend_url, hard_redirect
from billing_app.ui.session.staff import SessionState, current_user, signed_in, wipe_states


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    icon: str
    permission: Permission


NAV: tuple[NavItem, ...] = (
    NavItem("Dashboard", "/", "layout-dashboard", Permission.DASHBOARD_VIEW),
    NavItem("Clients", routes.CLIENTS, "building-2", Permission.CLIENTS_READ),
    NavItem("Products", routes.PRODUCTS, "package", Permission.CATALOG_READ),
    NavItem("Tax rates", routes.TAX_RATES, "percent", Permission.CATALOG_READ),
    NavItem("Subscriptions", routes.SUBSCRIPTIONS, "repeat", Permission.SUBSCRIPTIONS_READ),
    NavItem("Invoices", routes.INVOICES, "file-text", Permission.INVOICES_READ),
    NavItem("MRR report", routes.REPORTS_MRR, "chart-line", Permission.REPORTS_VIEW),
    NavItem("Cash report", routes.REPORTS_CASH, "banknote", Permission.REPORTS_VIEW),
    NavItem("Settings", routes.SETTINGS, "settings", Permission.SETTINGS_READ),
    NavItem("Brands", routes.BRANDS, "palette", Permission.SETTINGS_READ),
    NavItem("Payments", routes.PAYMENTS_SETTINGS, "credit-card", Permission.PAYMENTS_CONFIGURE),
    NavItem("Sign-in", routes.SIGN_IN_SETTINGS, "key-round", Permission.ROLES_MANAGE),
    NavItem("Team", routes.TEAM, "users", Permission.TEAM_READ),
    NavItem("Roles", routes.ROLES, "shield-check", Permission.TEAM_READ),
    NavItem("Emails", routes.EMAILS, "mail", Permission.EMAILS_VIEW),
    NavItem("Audit log", routes.AUDIT, "scroll-text", Permission.AUDIT_VIEW),
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
            id=f"nav-{item.href.strip('/').replace('/', '-') or 'dashboard'}",
            aria_current=rx.cond(active, "page", "false"),
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
                on_click=rx.redirect(routes.ACCOUNT),
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
    """The navigation landmark beside each admin page's main one. The app's name is not a
    heading: the page's title is the page's one h1."""
    return rx.el.nav(
        rx.vstack(
            rx.hstack(
                rx.icon("receipt", size=22, color=rx.color("accent", 10)),
                rx.text("Client Billing", size="4", weight="bold"),
                spacing="2",
                align="center",
                padding_x="12px",
                padding_bottom="16px",
            ),
            rx.vstack(*[_nav_link(item) for item in NAV], spacing="1", width="100%"),
            rx.spacer(),
            rx.divider(),
            _user_menu(),
            height="100%",
            width="100%",
        ),
        aria_label="Main",
        box_sizing="border-box",
        width="240px",
        min_width="240px",
        height="100vh",
        position="sticky",
        top="0",
        padding="16px",
        background=rx.color("gray", 2),
        border_right=f"1px solid {rx.color('gray', 5)}",
    )


def admin_page(
    title: str,
    status: rx.Var[str],
    content: Callable[[], rx.Component],
    actions: rx.Component | None = None,
) -> rx.Component:
    """A page of the admin: shell + header + content shown only once the server allowed it."""
    header = rx.hstack(
        # A page without a title (a client's overview) shows its own heading in its content.
        rx.heading(title, size="7", as_="h1") if title else rx.fragment(),
        rx.spacer(),
        actions or rx.fragment(),
        width="100%",
        align="center",
        padding_bottom="16px",
    )
    return rx.hstack(
        sidebar(),
        rx.el.main(
            rx.match(
                status,
                ("denied", not_allowed()),
                ("ok", rx.vstack(header, content(), width="100%", spacing="4")),
                loading(),
            ),
            choice_lists(),
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


def _end_session(session_id: int | None, ip: str) -> None:
    if session_id is None:
        return
    run(auth.end_session, session_id, ip=ip)


class ShellState(SessionState):
    @signed_in
    async def sign_out(self) -> Any:
        """End the session, wipe everything this tab holds, then clear the cookie."""
        await asyncio.to_thread(_end_session, current_user().session_id, self._client_ip())
        await wipe_states(self)
        next_url = frontend_url(routes.login(signed_out="1"))
        return hard_redirect(backend_path(routes.signed_out(next_url)))
