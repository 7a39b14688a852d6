"""Choose a new password from a reset link (/reset-password)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.services.access import password_reset
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.auth.common import PASSWORD_HINT, invalid_link
from billing_app.ui.kit.layout import auth_card, field, form_error
from billing_app.ui.session.staff import SessionState, field_errors, public


class ResetPasswordState(SessionState):
    errors: dict[str, str] = {}
    email: str = ""
    invalid: str = ""

    def _token(self) -> str:
        return self.router.url.query_parameters.get("token", "")

    @public
    def load(self) -> None:
        self.errors = {}
        self.email = ""
        self.invalid = ""
        try:
            self.email = run(password_reset.check_reset_token, self._token())
        except ServiceError as exc:
            self.invalid = exc.message

    @public
    def submit(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        try:
            run(
                password_reset.reset_password,
                token=self._token(),
                password=str(form.get("password", "")),
                confirm=str(form.get("confirm", "")),
                ip=self._client_ip(),
            )
        except ServiceError as exc:
            if exc.field == "token":
                self.invalid = exc.message
            else:
                self.errors = field_errors(exc)
            return None
        return rx.redirect(routes.login(reset="1"))


def reset_password_page() -> rx.Component:
    return auth_card(
        "Choose a new password",
        rx.cond(ResetPasswordState.email != "", "For " + ResetPasswordState.email, ""),
        rx.cond(
            ResetPasswordState.invalid != "",
            invalid_link(ResetPasswordState.invalid),
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
