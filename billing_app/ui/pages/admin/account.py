"""My account: password, two-factor authentication, sessions."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.components.layout import admin_page, field, form_error
from billing_app.ui.state.account import (
    AccountState,
    shown_recovery_codes,
    shown_totp_key,
    shown_totp_qr,
)


def _section(title: str, description: str | rx.Var, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4"),
            rx.text(description, size="2", color_scheme="gray"),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        size="3",
    )


def _password() -> rx.Component:
    e = AccountState.password_errors
    return _section(
        "Password",
        "Changing it signs you out everywhere else.",
        rx.form(
            rx.vstack(
                form_error(e),
                field(
                    "Current password",
                    "current_password",
                    e,
                    type_="password",
                    auto_complete="current-password",
                ),
                field(
                    "New password",
                    "new_password",
                    e,
                    type_="password",
                    auto_complete="new-password",
                ),
                field(
                    "Confirm the new password",
                    "confirm",
                    e,
                    type_="password",
                    auto_complete="new-password",
                ),
                rx.button("Change password", type="submit", id="change-password"),
                spacing="3",
                width="100%",
                max_width="420px",
            ),
            on_submit=AccountState.change_password,
            reset_on_submit=True,
        ),
    )


def _codes() -> rx.Component:
    return rx.cond(
        shown_recovery_codes.value.length() > 0,
        rx.callout(
            rx.vstack(
                rx.text("Your recovery codes", weight="bold"),
                rx.text(
                    "Keep them somewhere safe. Each works once if you lose your phone. "
                    "They are shown only now.",
                    size="2",
                ),
                rx.grid(
                    rx.foreach(shown_recovery_codes.value, lambda c: rx.code(c, size="3")),
                    columns="2",
                    spacing="2",
                    id="recovery-codes",
                ),
                spacing="2",
            ),
            icon="key-round",
            color_scheme="amber",
            width="100%",
        ),
    )


def _password_form(label: str, handler, button_id: str, color: str = "indigo") -> rx.Component:
    e = AccountState.mfa_errors
    return rx.form(
        rx.hstack(
            rx.box(
                field(
                    "Current password",
                    "current_password",
                    e,
                    type_="password",
                    id_=f"{button_id}-password",
                ),
                width="280px",
            ),
            rx.button(label, type="submit", color_scheme=color, id=button_id),
            align="end",
            spacing="3",
        ),
        on_submit=handler,
        reset_on_submit=True,
    )


def _two_factor() -> rx.Component:
    e = AccountState.mfa_errors
    enabled = rx.vstack(
        rx.hstack(
            rx.badge("On", color_scheme="green", size="2", id="two-factor-status"),
            rx.text(
                AccountState.recovery_left.to_string() + " recovery codes left",
                size="2",
                color_scheme="gray",
            ),
        ),
        _codes(),
        _password_form("Make new recovery codes", AccountState.renew_codes, "renew-codes"),
        _password_form(
            "Turn off two-factor", AccountState.disable_two_factor, "disable-two-factor", "red"
        ),
        spacing="3",
        width="100%",
    )
    setup = rx.cond(
        AccountState.setup_pending,
        rx.hstack(
            rx.image(
                src=shown_totp_qr.value,
                width="200px",
                height="200px",
                id="totp-qr",
                alt="QR code for your authenticator app",
            ),
            rx.form(
                rx.vstack(
                    rx.text(
                        "1. Scan the code with your authenticator app (or type the key).", size="2"
                    ),
                    rx.code(shown_totp_key.value, id="totp-secret"),
                    rx.text("2. Enter the 6-digit code it shows, and your password.", size="2"),
                    form_error(e),
                    field("Code", "code", e, auto_complete="one-time-code"),
                    field(
                        "Current password",
                        "current_password",
                        e,
                        type_="password",
                        id_="confirm-two-factor-password",
                    ),
                    rx.button("Turn on", type="submit", id="confirm-two-factor"),
                    spacing="2",
                    width="320px",
                ),
                on_submit=AccountState.confirm_two_factor,
            ),
            spacing="6",
            align="start",
        ),
        rx.button(
            "Set up two-factor authentication",
            on_click=AccountState.start_two_factor,
            id="start-two-factor",
        ),
    )
    return _section(
        "Two-factor authentication",
        "A code from an authenticator app is asked after your password.",
        rx.cond(
            AccountState.two_factor_on,
            enabled,
            rx.vstack(
                rx.badge("Off", color_scheme="gray", size="2", id="two-factor-status"),
                setup,
                spacing="3",
                width="100%",
            ),
        ),
    )


def _sessions() -> rx.Component:
    return _section(
        "Sessions",
        rx.cond(
            AccountState.other_sessions > 0,
            "You are also signed in "
            + AccountState.other_sessions.to_string()
            + " other time(s), on other browsers or devices.",
            "You are signed in only here.",
        ),
        rx.button(
            "Sign out everywhere else",
            on_click=AccountState.sign_out_others,
            variant="soft",
            disabled=AccountState.other_sessions == 0,
            id="sign-out-others",
        ),
    )


def _content() -> rx.Component:
    return rx.vstack(
        # The browser-only variables live here (they render nothing).
        shown_recovery_codes,
        shown_totp_qr,
        shown_totp_key,
        rx.text(
            AccountState.user_name,
            " · ",
            AccountState.user_email,
            " · ",
            AccountState.role_label,
            color_scheme="gray",
        ),
        _password(),
        _two_factor(),
        _sessions(),
        spacing="4",
        width="100%",
    )


def account_page() -> rx.Component:
    return admin_page("My account", AccountState.status, _content)
