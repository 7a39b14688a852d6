"""Accept an invitation to a client's portal (/portal/accept-invite?token=...): the brand, the
email pre-filled and read-only; a new person chooses a name and password, someone who already
has a portal account types theirs; then they are signed in, looking at that client."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.services.access import portal_accept, portal_auth
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.auth.common import COOKIES_NEEDED, PASSWORD_HINT
from billing_app.ui.kit.layout import field, field_label, form_error
from billing_app.ui.portal.frame import PortalPageState, portal_public_page
from billing_app.ui.portal.login import ensure_portal_browser_cookie
from billing_app.ui.routes import hard_redirect
from billing_app.ui.session.portal import current_portal_caller, portal_handoff_url, portal_public
from billing_app.ui.session.staff import field_errors


class PortalAcceptState(PortalPageState):
    errors: dict[str, str] = {}
    email: str = ""
    invited_name: str = ""
    invited_client: str = ""
    invited_role: str = ""
    has_account: bool = False
    invalid: str = ""

    def _token(self) -> str:
        return str(self.router.url.query_parameters.get("token", ""))[:200]

    @portal_public
    def load(self) -> Any:
        self._public_frame()
        self.errors, self.email, self.invalid = {}, "", ""
        try:
            view = run(portal_accept.check_portal_invitation, self._token())
        except ServiceError as exc:
            self.invalid = exc.message
            return None
        self._look(view.client_id)  # the inviting client's brand
        self.email, self.invited_name = view.email, view.invited_name
        self.invited_client, self.invited_role = view.client_name, view.role_label
        self.has_account = view.has_account
        redirect, error = ensure_portal_browser_cookie(self)
        if error:
            self.errors = {"form": error}
        return redirect

    @portal_public
    def submit(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        ip = self._client_ip()
        browser = current_portal_caller().browser_id
        if not browser:
            self.errors = {"form": COOKIES_NEEDED}
            return None
        try:
            user_id, client_id = run(
                portal_accept.accept_portal_invitation,
                self._token(),
                name=str(form.get("name", ""))[:400],
                password=str(form.get("password", ""))[:2000],
                confirm=None if self.has_account else str(form.get("confirm", ""))[:2000],
                ip=ip,
            )
            ticket = run(
                portal_auth.issue_ticket, user_id, ip=ip, browser=browser, client_id=client_id
            )
        except ServiceError as exc:
            if exc.field == "token":
                self.invalid = exc.message
            else:
                self.errors = field_errors(exc)
            return None
        return hard_redirect(portal_handoff_url(ticket, routes.PORTAL))


A: Any = PortalAcceptState


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            form_error(A.errors),
            field_label("Email", "accept-email"),
            rx.input(value=A.email, read_only=True, id="accept-email", width="100%"),
            rx.cond(
                A.has_account,
                rx.text(
                    "You already have an account with us: type its password to add ",
                    A.invited_client,
                    " to it.",
                    size="2",
                ),
                field("Your name", "name", A.errors, auto_complete="name"),
            ),
            rx.cond(
                A.has_account,
                field(
                    "Password",
                    "password",
                    A.errors,
                    type_="password",
                    auto_complete="current-password",
                ),
                field(
                    "Password", "password", A.errors, type_="password", auto_complete="new-password"
                ),
            ),
            rx.cond(
                A.has_account,
                rx.fragment(),
                field(
                    "Repeat the password",
                    "confirm",
                    A.errors,
                    type_="password",
                    auto_complete="new-password",
                ),
            ),
            rx.cond(A.has_account, rx.fragment(), rx.text(PASSWORD_HINT, size="1")),
            rx.button(
                rx.cond(A.has_account, "Add and sign in", "Create my account"),
                type="submit",
                size="3",
                width="100%",
                id="accept-submit",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=A.submit,
        width="100%",
    )


def portal_accept_page() -> rx.Component:
    return portal_public_page(
        "Your client portal",
        rx.cond(
            A.invalid != "",
            "This invitation cannot be used.",
            "You're invited to " + A.invited_client + " as " + A.invited_role + ".",
        ),
        rx.cond(
            A.invalid != "",
            rx.vstack(
                rx.callout(
                    A.invalid,
                    icon="triangle-alert",
                    color_scheme="red",
                    id="token-invalid",
                    width="100%",
                ),
                rx.link("Go to sign in", href=routes.PORTAL_LOGIN, size="2"),
                width="100%",
            ),
            _form(),
        ),
    )
