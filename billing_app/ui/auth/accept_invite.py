"""Join the team from an invitation link (/accept-invite)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.services.access import auth, team
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.auth.common import (
    COOKIES_NEEDED,
    PASSWORD_HINT,
    ensure_browser_cookie,
    handoff_url,
    invalid_link,
)
from billing_app.ui.kit.layout import auth_card, field, form_error
from billing_app.ui.routes import hard_redirect
from billing_app.ui.session.staff import SessionState, current_caller, field_errors, public


class AcceptInviteState(SessionState):
    errors: dict[str, str] = {}
    email: str = ""
    invited_role: str = ""
    invalid: str = ""

    def _token(self) -> str:
        return self.router.url.query_parameters.get("token", "")

    @public
    def load(self) -> Any:
        self.errors = {}
        self.email = ""
        self.invalid = ""
        try:
            view = run(team.check_invitation, self._token())
        except ServiceError as exc:
            self.invalid = exc.message
            return None
        self.email = view.email
        self.invited_role = view.role_label
        redirect, error = ensure_browser_cookie(self)
        if error:
            self.errors = {"form": error}
        return redirect

    @public
    def submit(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        ip = self._client_ip()
        browser = current_caller().browser_id
        if not browser:
            self.errors = {"form": COOKIES_NEEDED}
            return None
        try:
            user_id = run(
                team.accept_invitation,
                token=self._token(),
                name=str(form.get("name", "")),
                password=str(form.get("password", "")),
                confirm=str(form.get("confirm", "")),
                ip=ip,
            )
            ticket = run(auth.issue_ticket, user_id, ip=ip, browser=browser)
        except ServiceError as exc:
            if exc.field == "token":
                self.invalid = exc.message
            else:
                self.errors = field_errors(exc)
            return None
        return hard_redirect(handoff_url(ticket, "/"))


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
            invalid_link(AcceptInviteState.invalid),
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
