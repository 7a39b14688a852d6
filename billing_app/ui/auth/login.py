"""Sign in (/login): password, then the second factor when it is on; or "Sign in with <label>"
(the agency's identity provider, services/access/sso.py), which comes back here for our second
factor when the provider did not assert one."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import reflex as rx

from billing_app.services.access import account, auth, sso_config
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.auth.common import COOKIES_NEEDED, ensure_browser_cookie, handoff_url, safe_next
from billing_app.ui.kit.layout import auth_card
from billing_app.ui.kit.sign_in import code_step, password_step
from billing_app.ui.routes import backend_path, frontend_url, hard_redirect
from billing_app.ui.session.staff import SessionState, current_caller, public


class LoginState(SessionState):
    errors: dict[str, str] = {}
    notice: str = ""
    mfa_step: bool = False
    sso_label: str = ""
    sso_href: str = ""
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
        self.sso_label = run(sso_config.sign_in_button)
        next_path = safe_next(params.get("next", "/"))
        self.sso_href = backend_path(
            f"{sso_config.START_PATH}?next={quote(frontend_url(next_path))}"
        )
        self._resume_sso(str(params.get("sso_mfa", "")))
        return redirect

    def _resume_sso(self, raw: str) -> None:
        """Back from the identity provider without its second factor: our code step, for
        the second-factor ticket the callback issued to this browser only."""
        if not raw.isdigit() or len(raw) > 18:
            return
        row = run(auth.pending_mfa_ticket, int(raw), browser=current_caller().browser_id)
        if row is not None and row.id is not None:
            self._mfa_ticket_id = row.id
            self.mfa_step = True

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


def _sso_button() -> rx.Component:
    s = LoginState
    return rx.cond(
        s.sso_label != "",
        rx.vstack(
            # A link (a full page load: the backend route sends the browser on to the
            # provider), drawn as a button.
            rx.button(
                rx.el.a(
                    rx.icon("key-round", size=16),
                    "Sign in with " + s.sso_label,
                    href=s.sso_href,
                    id="sso-sign-in",
                    # rx.el.a is React Router's link: leave the app for the backend route.
                    reload_document=True,
                ),
                as_child=True,
                size="3",
                width="100%",
                variant="outline",
            ),
            rx.hstack(
                rx.separator(size="4"),
                rx.text("or", size="1", color_scheme="gray"),
                rx.separator(size="4"),
                align="center",
                width="100%",
            ),
            width="100%",
            spacing="3",
        ),
    )


def _password_step() -> rx.Component:
    return rx.vstack(
        _sso_button(),
        password_step(LoginState, submit_id="login-submit", forgot_href=routes.FORGOT_PASSWORD),
        width="100%",
        spacing="3",
    )


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
