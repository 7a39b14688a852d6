"""The portal's public pages under the brand: sign in (/portal/login, then the second factor when
it is on), forgot password (/portal/forgot-password) and reset password (/portal/reset-password).

They mirror the staff pages with the portal realm's services (services/access/portal_auth.py):
the same throttling and answers, tickets bound to the browser that asked, and the hand-off to
the portal's own cookie."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.services.access import portal_auth
from billing_app.services.access.auth import BAD_CREDENTIALS
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.auth.common import COOKIES_NEEDED, PASSWORD_HINT, ensure_browser_cookie
from billing_app.ui.kit.layout import field, form_error
from billing_app.ui.kit.sign_in import code_step, password_step
from billing_app.ui.portal.frame import PortalPageState, portal_public_page
from billing_app.ui.routes import hard_redirect
from billing_app.ui.session.portal import (
    current_portal_caller,
    portal_handoff_url,
    portal_public,
)
from billing_app.ui.session.staff import field_errors

MFA_EXPIRED = "Your sign-in took too long. Enter your email and password again."


def portal_next(raw: str) -> str:
    """A page of the portal to open after sign-in; anything else opens the overview."""
    if (
        not raw.startswith(routes.PORTAL)
        or raw.startswith("//")
        or "\\" in raw
        or (raw != routes.PORTAL and not raw.startswith(routes.PORTAL + "/"))
    ):
        return routes.PORTAL
    return raw


def ensure_portal_browser_cookie(state: PortalPageState) -> tuple[Any, str]:
    """The browser cookie sign-in tickets are bound to, for a portal page."""
    return ensure_browser_cookie(state, current_portal_caller().browser_id)


class PortalLoginState(PortalPageState):
    errors: dict[str, str] = {}
    notice: str = ""
    mfa_step: bool = False
    _mfa_ticket_id: int = 0

    @portal_public
    def load(self) -> Any:
        self._public_frame()
        self.errors, self.mfa_step, self._mfa_ticket_id = {}, False, 0
        params = self.router.url.query_parameters
        self.notice = ""
        if params.get("signed_out"):
            self.notice = "You are signed out."
        elif params.get("reset"):
            self.notice = "Your password was changed. Sign in with your new password."
        elif params.get("expired"):
            self.notice = "Your session ended. Please sign in again."
        if current_portal_caller().user is not None:
            return rx.redirect(portal_next(params.get("next", routes.PORTAL)))
        redirect, error = ensure_portal_browser_cookie(self)
        if error:
            self.errors = {"form": error}
        return redirect

    def _signed_in(self, ticket: str) -> Any:
        next_path = portal_next(self.router.url.query_parameters.get("next", routes.PORTAL))
        return hard_redirect(portal_handoff_url(ticket, next_path))

    @portal_public
    def submit(self, form: dict[str, Any]) -> Any:
        self.errors, self.notice = {}, ""
        browser = current_portal_caller().browser_id
        if not browser:
            self.errors = {"form": COOKIES_NEEDED}
            return None
        outcome = run(
            portal_auth.sign_in,
            email=str(form.get("email", ""))[:400],
            password=str(form.get("password", ""))[:2000],
            ip=self._client_ip(),
            browser=browser,
        )
        if outcome.mfa_ticket_id:
            self._mfa_ticket_id = outcome.mfa_ticket_id
            self.mfa_step = True
            return None
        if outcome.ticket is None:
            self.errors = {"form": outcome.error or BAD_CREDENTIALS}
            return None
        return self._signed_in(outcome.ticket)

    @portal_public
    def submit_code(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        outcome = run(
            portal_auth.complete_second_factor,
            mfa_ticket_id=self._mfa_ticket_id,
            browser=current_portal_caller().browser_id,
            code=str(form.get("code", ""))[:100],
            ip=self._client_ip(),
        )
        if outcome.ticket is None:
            if outcome.mfa_ticket_id is None:
                self.mfa_step, self._mfa_ticket_id = False, 0
                self.errors = {"form": outcome.error or MFA_EXPIRED}
            else:
                self.errors = {"code": outcome.error or MFA_EXPIRED}
            return None
        self._mfa_ticket_id = 0
        return self._signed_in(outcome.ticket)

    @portal_public
    def cancel_code(self) -> None:
        self.mfa_step, self._mfa_ticket_id, self.errors = False, 0, {}


L: Any = PortalLoginState


def _password_step() -> rx.Component:
    return password_step(
        L, submit_id="portal-login-submit", forgot_href=routes.PORTAL_FORGOT_PASSWORD
    )


def _code_step() -> rx.Component:
    return code_step(L, submit_id="portal-code-submit")


def portal_login_page() -> rx.Component:
    return portal_public_page(
        "Sign in",
        rx.cond(L.mfa_step, "Two-factor authentication", "Your invoices, services and account."),
        rx.cond(
            L.notice != "",
            rx.callout(L.notice, icon="info", id="portal-login-notice", width="100%"),
        ),
        rx.cond(L.mfa_step, _code_step(), _password_step()),
        host_brand=True,
    )


# --------------------------------------------------------------------------- forgot password


class PortalForgotState(PortalPageState):
    sent: bool = False
    errors: dict[str, str] = {}

    @portal_public
    def load(self) -> None:
        self._public_frame()
        self.sent, self.errors = False, {}

    @portal_public
    def submit(self, form: dict[str, Any]) -> None:
        email = str(form.get("email", "")).strip()[:400]
        if not email:
            self.errors = {"email": "Enter your email address."}
            return
        run(
            portal_auth.request_password_reset,
            email=email,
            ip=self._client_ip(),
            brand_id=self._brand_id or None,
        )
        self.sent, self.errors = True, {}


def portal_forgot_page() -> rx.Component:
    f: Any = PortalForgotState
    return portal_public_page(
        "Forgot your password?",
        "We'll email you a link to choose a new one.",
        rx.cond(
            f.sent,
            rx.callout(
                "If an account uses this address, a link is on its way. It works for one hour.",
                icon="mail-check",
                color_scheme="green",
                id="portal-forgot-sent",
                width="100%",
            ),
            rx.form(
                rx.vstack(
                    field("Email", "email", f.errors, type_="email", auto_complete="username"),
                    rx.button(
                        "Email me a link", type="submit", size="3", width="100%", id="forgot-submit"
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=f.submit,
                width="100%",
            ),
        ),
        rx.link("Back to sign in", href=routes.PORTAL_LOGIN, size="2"),
        host_brand=True,
    )


# --------------------------------------------------------------------------- reset password


class PortalResetState(PortalPageState):
    valid: bool = False
    problem: str = ""
    errors: dict[str, str] = {}

    def _token(self) -> str:
        return str(self.router.url.query_parameters.get("token", ""))[:200]

    @portal_public
    def load(self) -> None:
        self._public_frame()
        self.errors = {}
        try:
            run(portal_auth.check_reset_token, self._token())
        except ServiceError as exc:
            self.valid, self.problem = False, exc.message
            return
        self.valid, self.problem = True, ""

    @portal_public
    def submit(self, form: dict[str, Any]) -> Any:
        try:
            run(
                portal_auth.reset_password,
                token=self._token(),
                password=str(form.get("password", ""))[:2000],
                confirm=str(form.get("confirm", ""))[:2000],
                ip=self._client_ip(),
            )
        except ServiceError as exc:
            self.errors = field_errors(exc, "password")
            return None
        return rx.redirect(routes.portal_login(reset="1"))


def portal_reset_page() -> rx.Component:
    r: Any = PortalResetState
    return portal_public_page(
        "Choose a new password",
        PASSWORD_HINT,
        rx.cond(
            r.valid,
            rx.form(
                rx.vstack(
                    form_error(r.errors),
                    field(
                        "New password",
                        "password",
                        r.errors,
                        type_="password",
                        auto_complete="new-password",
                    ),
                    field(
                        "Repeat the new password",
                        "confirm",
                        r.errors,
                        type_="password",
                        auto_complete="new-password",
                    ),
                    rx.button(
                        "Save and sign in", type="submit", size="3", width="100%", id="reset-submit"
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=r.submit,
                width="100%",
            ),
            rx.callout(
                r.problem,
                icon="triangle-alert",
                color_scheme="red",
                id="token-invalid",
                width="100%",
            ),
        ),
        rx.link("Back to sign in", href=routes.PORTAL_LOGIN, size="2"),
        host_brand=True,
    )
