"""First run (/setup): create the owner account."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.services.access import auth
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.auth.common import (
    COOKIES_NEEDED,
    PASSWORD_HINT,
    ensure_browser_cookie,
    handoff_url,
)
from billing_app.ui.kit.layout import auth_card, field, form_error
from billing_app.ui.routes import hard_redirect
from billing_app.ui.session.staff import SessionState, current_caller, field_errors, public


class SetupState(SessionState):
    """First run: create the owner account."""

    errors: dict[str, str] = {}
    busy: bool = False

    @public
    def load(self) -> Any:
        if not run(auth.setup_required):
            return rx.redirect(routes.LOGIN)
        redirect, error = ensure_browser_cookie(self)
        self.errors = {"form": error} if error else {}
        return redirect

    @public
    def submit(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        browser = current_caller().browser_id
        if not browser:
            self.errors = {"form": COOKIES_NEEDED}
            return None
        ip = self._client_ip()
        try:
            user_id = run(
                auth.create_owner,
                name=str(form.get("name", "")),
                email=str(form.get("email", "")),
                password=str(form.get("password", "")),
                confirm=str(form.get("confirm", "")),
                ip=ip,
            )
            ticket = run(auth.issue_ticket, user_id, ip=ip, browser=browser)
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        return hard_redirect(handoff_url(ticket, "/"))


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
