"""Public pages: setup, sign in, forgot/reset password, accept invitation."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.components.layout import auth_card, field, form_error
from billing_app.ui.state.auth_pages import (
    AcceptInviteState,
    ForgotPasswordState,
    LoginState,
    ResetPasswordState,
    SetupState,
)

PASSWORD_HINT = "At least 8 characters. Long passphrases are welcome."


def setup_page() -> rx.Component:
    return auth_card(
        "Set up your billing",
        "Create the owner account. You can invite your team afterwards.",
        rx.form(
            rx.vstack(
                form_error(SetupState.errors),
                field("Your name", "name", SetupState.errors, auto_complete="name"),
                field("Email", "email", SetupState.errors, type_="email", auto_complete="email"),
                field(
                    "Password",
                    "password",
                    SetupState.errors,
                    type_="password",
                    auto_complete="new-password",
                ),
                rx.text(PASSWORD_HINT, size="1", color_scheme="gray"),
                field(
                    "Confirm password",
                    "confirm",
                    SetupState.errors,
                    type_="password",
                    auto_complete="new-password",
                ),
                rx.button(
                    "Create owner account", type="submit", size="3", width="100%", id="setup-submit"
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=SetupState.submit,
            width="100%",
        ),
    )


def _password_step() -> rx.Component:
    return rx.form(
        rx.vstack(
            form_error(LoginState.errors),
            field("Email", "email", LoginState.errors, type_="email", auto_complete="username"),
            field(
                "Password",
                "password",
                LoginState.errors,
                type_="password",
                auto_complete="current-password",
            ),
            rx.button("Sign in", type="submit", size="3", width="100%", id="login-submit"),
            rx.link("Forgot your password?", href="/forgot-password", size="2"),
            spacing="3",
            width="100%",
        ),
        on_submit=LoginState.submit,
        width="100%",
    )


def _code_step() -> rx.Component:
    return rx.form(
        rx.vstack(
            form_error(LoginState.errors),
            rx.text(
                "Enter the 6-digit code from your authenticator app, or one of your "
                "recovery codes.",
                size="2",
            ),
            field("Code", "code", LoginState.errors, auto_complete="one-time-code"),
            rx.button("Verify", type="submit", size="3", width="100%", id="code-submit"),
            rx.button("Back", type="button", variant="ghost", on_click=LoginState.cancel_code),
            spacing="3",
            width="100%",
        ),
        on_submit=LoginState.submit_code,
        width="100%",
    )


def login_page() -> rx.Component:
    return auth_card(
        "Sign in",
        rx.cond(LoginState.mfa_step, "Two-factor authentication", "Welcome back."),
        rx.cond(
            LoginState.notice != "",
            rx.callout(LoginState.notice, icon="info", id="login-notice", width="100%"),
        ),
        rx.cond(LoginState.mfa_step, _code_step(), _password_step()),
    )


def forgot_password_page() -> rx.Component:
    return auth_card(
        "Reset your password",
        "Enter the email you sign in with and we'll send you a link.",
        rx.cond(
            ForgotPasswordState.sent_to != "",
            rx.callout(
                "If an account exists for "
                + ForgotPasswordState.sent_to
                + ", we've sent it a link to choose a new password. The link expires in an hour.",
                icon="mail-check",
                color_scheme="green",
                id="forgot-sent",
                width="100%",
            ),
            rx.form(
                rx.vstack(
                    field(
                        "Email",
                        "email",
                        ForgotPasswordState.errors,
                        type_="email",
                        auto_complete="username",
                    ),
                    rx.button(
                        "Send the link", type="submit", size="3", width="100%", id="forgot-submit"
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=ForgotPasswordState.submit,
                width="100%",
            ),
        ),
        rx.link("Back to sign in", href="/login", size="2"),
    )


def _invalid(message: rx.Var[str]) -> rx.Component:
    return rx.vstack(
        rx.callout(
            message, icon="triangle-alert", color_scheme="red", id="token-invalid", width="100%"
        ),
        rx.link("Back to sign in", href="/login", size="2"),
        width="100%",
    )


def reset_password_page() -> rx.Component:
    return auth_card(
        "Choose a new password",
        rx.cond(ResetPasswordState.email != "", "For " + ResetPasswordState.email, ""),
        rx.cond(
            ResetPasswordState.invalid != "",
            _invalid(ResetPasswordState.invalid),
            rx.form(
                rx.vstack(
                    form_error(ResetPasswordState.errors),
                    field(
                        "New password",
                        "password",
                        ResetPasswordState.errors,
                        type_="password",
                        auto_complete="new-password",
                    ),
                    rx.text(PASSWORD_HINT, size="1", color_scheme="gray"),
                    field(
                        "Confirm password",
                        "confirm",
                        ResetPasswordState.errors,
                        type_="password",
                        auto_complete="new-password",
                    ),
                    rx.button(
                        "Save the new password",
                        type="submit",
                        size="3",
                        width="100%",
                        id="reset-submit",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=ResetPasswordState.submit,
                width="100%",
            ),
        ),
    )


def accept_invite_page() -> rx.Component:
    return auth_card(
        "Join the team",
        rx.cond(
            AcceptInviteState.invited_role != "",
            "You're invited as " + AcceptInviteState.invited_role + ".",
            "",
        ),
        rx.cond(
            AcceptInviteState.invalid != "",
            _invalid(AcceptInviteState.invalid),
            rx.cond(
                AcceptInviteState.email != "",
                rx.form(
                    rx.vstack(
                        form_error(AcceptInviteState.errors),
                        field(
                            "Email",
                            "email",
                            AcceptInviteState.errors,
                            default_value=AcceptInviteState.email,
                            read_only=True,
                        ),
                        field("Your name", "name", AcceptInviteState.errors, auto_complete="name"),
                        field(
                            "Password",
                            "password",
                            AcceptInviteState.errors,
                            type_="password",
                            auto_complete="new-password",
                        ),
                        rx.text(PASSWORD_HINT, size="1", color_scheme="gray"),
                        field(
                            "Confirm password",
                            "confirm",
                            AcceptInviteState.errors,
                            type_="password",
                            auto_complete="new-password",
                        ),
                        rx.button(
                            "Join", type="submit", size="3", width="100%", id="accept-submit"
                        ),
                        spacing="3",
                        width="100%",
                    ),
                    on_submit=AcceptInviteState.submit,
                    width="100%",
                ),
                rx.center(rx.spinner(), width="100%"),
            ),
        ),
    )
