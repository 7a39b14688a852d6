"""The public pages: first-run setup, sign in, forgot/reset password, accept an invitation.

These handlers are public by nature; each takes only the submitted form (and the token in the
page URL) and relies on the services for its checks: one-time setup, throttling, hashed tokens.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import reflex as rx

from billing_app.db.engine import session_scope
from billing_app.jobs.tasks import kick_outbox, kick_reset_requests
from billing_app.services.access import account, auth, team
from billing_app.services.common.errors import ServiceError
from billing_app.ui.state.base import (
    SessionState,
    backend_path,
    current_caller,
    field_errors,
    frontend_url,
    hard_redirect,
    public,
)

COOKIES_NEEDED = (
    "Your browser did not keep the cookie this page needs to sign you in. "
    "Allow cookies for this site, then reload the page."
)


def handoff_url(ticket: str, next_path: str = "/") -> str:
    """Where the browser exchanges its login ticket for the session cookie.

    Single-port (``make run``) serves our routes on the page's own origin; in ``make dev`` the
    backend listens on its own port."""
    return backend_path(
        f"/api/auth/handoff?ticket={quote(ticket)}&next={quote(frontend_url(next_path))}"
    )


def _safe_next(raw: str) -> str:
    if not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    return raw


def _without_cookie_check(state: SessionState) -> str:
    """The page's own path and query, minus the marker of a cookie round trip."""
    params = {k: v for k, v in state.router.url.query_parameters.items() if k != "browser_checked"}
    query = "&".join(f"{quote(k)}={quote(str(v))}" for k, v in params.items())
    return state._path() + (f"?{query}" if query else "")


def ensure_browser_cookie(state: SessionState) -> tuple[Any, str]:
    """(redirect, error): a page that will sign someone in needs the browser cookie that
    tickets are bound to. Pages we serve set it; otherwise one round trip through the cookie
    route sets it, and a browser that still has none is told why sign-in cannot work."""
    if current_caller().browser_id:
        return None, ""
    if state.router.url.query_parameters.get("browser_checked"):
        return None, COOKIES_NEEDED
    back = _without_cookie_check(state)
    back += ("&" if "?" in back else "?") + "browser_checked=1"
    return hard_redirect(backend_path(f"/api/auth/browser?next={quote(frontend_url(back))}")), ""


class SetupState(SessionState):
    """First run: create the owner account."""

    errors: dict[str, str] = {}
    busy: bool = False

    @public
    def load(self) -> Any:
        with session_scope() as session:
            if not auth.setup_required(session):
                return rx.redirect("/login")
        redirect, error = ensure_browser_cookie(self)
        self.errors = {"form": error} if error else {}
        return redirect

    @public
    def submit(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        password = str(form.get("password", ""))
        if password != str(form.get("confirm", "")):
            self.errors = {"confirm": "The two passwords differ."}
            return None
        browser = current_caller().browser_id
        if not browser:
            self.errors = {"form": COOKIES_NEEDED}
            return None
        ip = self._client_ip()
        try:
            with session_scope() as session:
                user_id = auth.create_owner(
                    session,
                    name=str(form.get("name", "")),
                    email=str(form.get("email", "")),
                    password=password,
                    ip=ip,
                )
            with session_scope() as session:
                ticket = auth.issue_ticket(session, user_id, ip=ip, browser=browser)
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        return hard_redirect(handoff_url(ticket, "/"))


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
        with session_scope() as session:
            if auth.setup_required(session):
                return rx.redirect("/setup")
        redirect, error = ensure_browser_cookie(self)
        if error:
            self.errors = {"form": error}
        return redirect

    def _signed_in(self, ticket: str) -> Any:
        next_path = _safe_next(self.router.url.query_parameters.get("next", "/"))
        return hard_redirect(handoff_url(ticket, next_path))

    @public
    def submit(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        self.notice = ""
        browser = current_caller().browser_id
        if not browser:
            self.errors = {"form": COOKIES_NEEDED}
            return None
        with session_scope() as session:
            outcome = auth.authenticate(
                session,
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
        with session_scope() as session:
            outcome = account.complete_second_factor(
                session,
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
        with session_scope() as session:
            auth.request_password_reset(session, email=email, ip=self._client_ip())
        kick_reset_requests()
        # The same answer whether or not the address has an account.
        self.sent_to = email


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
            with session_scope() as session:
                self.email = auth.check_reset_token(session, self._token())
        except ServiceError as exc:
            self.invalid = exc.message

    @public
    def submit(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        password = str(form.get("password", ""))
        if password != str(form.get("confirm", "")):
            self.errors = {"confirm": "The two passwords differ."}
            return None
        try:
            with session_scope() as session:
                auth.reset_password(
                    session,
                    token=self._token(),
                    password=password,
                    ip=self._client_ip(),
                )
        except ServiceError as exc:
            if exc.field == "token":
                self.invalid = exc.message
            else:
                self.errors = field_errors(exc)
            return None
        kick_outbox()
        return rx.redirect("/login?reset=1")


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
            with session_scope() as session:
                view = team.check_invitation(session, self._token())
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
        password = str(form.get("password", ""))
        if password != str(form.get("confirm", "")):
            self.errors = {"confirm": "The two passwords differ."}
            return None
        ip = self._client_ip()
        browser = current_caller().browser_id
        if not browser:
            self.errors = {"form": COOKIES_NEEDED}
            return None
        try:
            with session_scope() as session:
                user_id = team.accept_invitation(
                    session,
                    token=self._token(),
                    name=str(form.get("name", "")),
                    password=password,
                    ip=ip,
                )
                ticket = auth.issue_ticket(session, user_id, ip=ip, browser=browser)
        except ServiceError as exc:
            if exc.field == "token":
                self.invalid = exc.message
            else:
                self.errors = field_errors(exc)
            return None
        return hard_redirect(handoff_url(ticket, "/"))
