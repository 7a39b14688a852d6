"""Forgot password (/forgot-password): the same answer whatever the address."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.services.access import password_reset
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.kit.layout import auth_card, field
from billing_app.ui.session.staff import SessionState, public


class ForgotPasswordState(SessionState):
    errors: dict[str, str] = {}
    sent_to: str = ""

    @public
    def submit(self, form: dict[str, Any]) -> None:
        self.errors = {}
        email = str(form.get("email", "")).strip()
        if not email or "@" not in email:
            self.errors = {"email": "Enter the email address you sign in with."}
            return
        run(password_reset.request_password_reset, email=email, ip=self._client_ip())
        # The same answer whether or not the address has an account.
        self.sent_to = email


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
        rx.link("Back to sign in", href=routes.LOGIN, size="2"),
    )
