"""Sign in (/login): password, then the second factor when it is on."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.services.access import account, auth
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.auth.common import COOKIES_NEEDED, ensure_browser_cookie, handoff_url, safe_next
from billing_app.ui.kit.layout import auth_card
from billing_app.ui.kit.sign_in import code_step, password_step
from billing_app.ui.routes import hard_redirect
from billing_app.ui.session.staff import SessionState, current_caller, public


class LoginState(SessionState):
    errors: dict[str, str] = {}
    notice: str = ""
    mfa_step: bool = False
    # The second-factor ticket standing for the password typed in this browser. Its id only:
    # it is worth nothing without this browser's cookie. Backend only.
    _mfa_ticket_id: int = 0

    @public
    def load(self) -> Any:
        self.errors = {}
        self.mfa_step = False
        self._mfa_ticket_id = 0
        params = self.router.url.query_parameters
        self.notice = ""
        if params.get("expired"):
            self.notice = "Your sign-in took too long. Please sign in again."
        elif params.get("signed_out"):
            self.notice = "You are signed out."
        elif params.get("reset"):
            self.notice = "Your password was changed. Sign in with your new password."
        if run(auth.setup_required):
            return rx.redirect(routes.SETUP)
        redirect, error = ensure_browser_cookie(self)
        if error:
            self.errors = {"form": error}
        return redirect

    def _signed_in(self, ticket: str) -> Any:
        next_path = safe_next(self.router.url.query_parameters.get("next", "/"))
        return hard_redirect(handoff_url(ticket, next_path))

    @public
    def submit(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        self.notice = ""
        browser = current_caller().browser_id
        if not browser:
            self.errors = {"form": COOKIES_NEEDED}
            return None
        outcome = run(
            auth.authenticate,
            email=str(form.get("email", "")),
            password=str(form.get("password", "")),
            ip=self._client_ip(),
            browser=browser,
        )
        if outcome.mfa_ticket_id:
            self._mfa_ticket_id = outcome.mfa_ticket_id
            self.mfa_step = True
            return None
        if outcome.ticket is None:
            self.errors = {"form": outcome.error or auth.BAD_CREDENTIALS}
            return None
        return self._signed_in(outcome.ticket)

    @public
    def submit_code(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        outcome = run(
            account.complete_second_factor,
            mfa_ticket_id=self._mfa_ticket_id,
            browser=current_caller().browser_id,
            code=str(form.get("code", "")),
            ip=self._client_ip(),
        )
        if outcome.ticket is None:
            if outcome.mfa_ticket_id is None:
                self.mfa_step = False
                self._mfa_ticket_id = 0
                self.errors = {"form": outcome.error or account.MFA_EXPIRED}
            else:
                self.errors = {"code": outcome.error or account.MFA_EXPIRED}
            return None
        self._mfa_ticket_id = 0
        return self._signed_in(outcome.ticket)

    @public
    def cancel_code(self) -> None:
        self.mfa_step = False
        self._mfa_ticket_id = 0
        self.errors = {}


def _password_step() -> rx.Component:
    return password_step(LoginState, submit_id="login-submit", forgot_href=routes.FORGOT_PASSWORD)


def _code_step() -> rx.Component:
    return code_step(LoginState, submit_id="code-submit")


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
