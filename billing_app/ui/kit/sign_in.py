"""The two steps of a sign-in page, shared by the staff and the portal sign-in: email and
password, then the code from an authenticator app (or a recovery code)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.ui.kit.layout import field, form_error


def password_step(state: Any, *, submit_id: str, forgot_href: str) -> rx.Component:
    """Email and password, posted to ``state.submit``; errors from ``state.errors``."""
    return rx.form(
        rx.vstack(
            form_error(state.errors),
            field("Email", "email", state.errors, type_="email", auto_complete="username"),
            field(
                "Password",
                "password",
                state.errors,
                type_="password",
                auto_complete="current-password",
            ),
            rx.button("Sign in", type="submit", size="3", width="100%", id=submit_id),
            rx.link("Forgot your password?", href=forgot_href, size="2"),
            spacing="3",
            width="100%",
        ),
        on_submit=state.submit,
        width="100%",
    )


def code_step(state: Any, *, submit_id: str) -> rx.Component:
    """The second factor, posted to ``state.submit_code``; "Back" is ``state.cancel_code``."""
    return rx.form(
        rx.vstack(
            form_error(state.errors),
            rx.text(
                "Enter the 6-digit code from your authenticator app, or one of your "
                "recovery codes.",
                size="2",
            ),
            field("Code", "code", state.errors, auto_complete="one-time-code"),
            rx.button("Verify", type="submit", size="3", width="100%", id=submit_id),
            rx.button("Back", type="button", variant="ghost", on_click=state.cancel_code),
            spacing="3",
            width="100%",
        ),
        on_submit=state.submit_code,
        width="100%",
    )


def current_password_field(errors: Any, id_: str = "") -> rx.Component:
    """The current password, asked again before a change to the account."""
    return field(
        "Current password",
        "current_password",
        errors,
        type_="password",
        auto_complete="current-password",
        id_=id_,
    )


def password_change_form(
    errors: Any,
    on_submit: Any,
    *,
    submit_id: str,
    confirm_label: str,
    current_id: str = "",
) -> rx.Component:
    """Current password, new password and its confirmation (the account and security pages)."""
    return rx.form(
        rx.vstack(
            form_error(errors),
            current_password_field(errors, current_id),
            field(
                "New password",
                "new_password",
                errors,
                type_="password",
                auto_complete="new-password",
            ),
            field(confirm_label, "confirm", errors, type_="password", auto_complete="new-password"),
            rx.button("Change password", type="submit", id=submit_id),
            spacing="3",
            width="100%",
            max_width="420px",
        ),
        on_submit=on_submit,
        reset_on_submit=True,
    )
