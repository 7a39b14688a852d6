"""The portal's Security page (/portal/security): change the password (the current one needed,
an email tells them), two-factor sign-in with an authenticator app (QR code, confirmed with a
code; 10 single-use recovery codes shown once), turning it off (password and a code), and
signing out everywhere else. When the agency requires two-factor sign-in, every other portal
page sends the user here until it is on.

Secrets shown once (the key, its QR code, fresh recovery codes) never enter the state: they are
pushed to browser-only variables and forgotten when the page loads again (docs/security.md
item 36). The two-factor pieces are the staff account page's (ui/kit/two_factor.py)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.services.access import portal_auth
from billing_app.services.common.errors import Conflict, ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.kit.sign_in import password_change_form
from billing_app.ui.kit.two_factor import ShownOnce, TwoFactorIds, two_factor_panel
from billing_app.ui.portal.frame import PortalPageState, portal_page
from billing_app.ui.session.portal import current_client_user, portal_guard
from billing_app.ui.session.staff import field_errors

SHOWN = ShownOnce.create("portal")
IDS = TwoFactorIds(
    status="portal-2fa-status",
    start="portal-start-2fa",
    qr="portal-totp-qr",
    key="portal-totp-secret",
    setup_code="portal-2fa-code",
    setup_current="portal-2fa-password",
    confirm="portal-confirm-2fa",
    codes="portal-recovery-codes",
    download="portal-download-codes",
    print="portal-print-codes",
    renew="portal-renew-codes",
    disable="portal-disable-2fa",
    left="portal-recovery-left",
)


class PortalSecurityState(PortalPageState):
    two_factor_on: bool = False
    required: bool = False
    recovery_left: int = 0
    other_sessions: int = 0
    password_errors: dict[str, str] = {}
    mfa_errors: dict[str, str] = {}
    renew_errors: dict[str, str] = {}  # the "new recovery codes" form's own
    setup_pending: bool = False

    def _refresh(self) -> None:
        user = current_client_user()
        self.two_factor_on = run(portal_auth.two_factor_enabled, user)
        self.required = run(portal_auth.two_factor_setup_required, user)
        self.recovery_left = run(portal_auth.recovery_codes_left, user)
        self.other_sessions = run(portal_auth.other_session_count, user)

    @portal_guard(None)
    def load(self) -> Any:
        if current_client_user().preview:  # a preview has no account of its own
            return rx.redirect(routes.PORTAL)
        self._frame()
        self.password_errors, self.mfa_errors, self.renew_errors = {}, {}, {}
        self.setup_pending = False
        self._refresh()
        return SHOWN.forget()

    @portal_guard(None)
    def change_password(self, form: dict[str, Any]) -> Any:
        self.password_errors = {}
        try:
            ended = run(
                portal_auth.change_password,
                current_client_user(),
                current_password=str(form.get("current_password", ""))[:2000],
                new_password=str(form.get("new_password", ""))[:2000],
                confirm=str(form.get("confirm", ""))[:2000],
            )
        except ServiceError as exc:
            errors = field_errors(exc)
            self.password_errors = {
                "new_password" if k == "password" else k: v for k, v in errors.items()
            }
            return None
        self._refresh()
        others = f" {ended} other session(s) were signed out." if ended else ""
        return rx.toast.success("Your password was changed." + others)

    @portal_guard(None)
    def start_two_factor(self) -> Any:
        self.mfa_errors, self.renew_errors = {}, {}
        try:
            setup = run(portal_auth.begin_totp_setup, current_client_user())
        except ServiceError as exc:  # already on (in another tab)
            self.mfa_errors = field_errors(exc)
            self._refresh()
            return None
        self.setup_pending = True
        return SHOWN.show_setup(setup.qr_svg_data_uri, setup.secret)

    @portal_guard(None)
    def confirm_two_factor(self, form: dict[str, Any]) -> Any:
        self.mfa_errors, self.renew_errors = {}, {}
        try:
            codes = run(
                portal_auth.confirm_totp,
                current_client_user(),
                code=str(form.get("code", ""))[:100],
                current_password=str(form.get("current_password", ""))[:2000],
            )
        except ServiceError as exc:
            self.mfa_errors = field_errors(exc)
            if isinstance(exc, Conflict):  # start again, or it was turned on in another tab
                self.setup_pending = False
                self._refresh()
            return None
        self.setup_pending = False
        self._refresh()
        return [*SHOWN.show_codes(codes), rx.toast.success("Two-factor sign-in is on.")]

    @portal_guard(None)
    def disable_two_factor(self, form: dict[str, Any]) -> Any:
        self.mfa_errors, self.renew_errors = {}, {}
        try:
            run(
                portal_auth.disable_totp,
                current_client_user(),
                current_password=str(form.get("current_password", ""))[:2000],
                code=str(form.get("code", ""))[:100],
            )
        except ServiceError as exc:
            self.mfa_errors = field_errors(exc)
            return None
        self._refresh()
        return [*SHOWN.forget(), rx.toast.success("Two-factor sign-in is off.")]

    @portal_guard(None)
    def renew_codes(self, form: dict[str, Any]) -> Any:
        self.mfa_errors, self.renew_errors = {}, {}
        try:
            codes = run(
                portal_auth.regenerate_recovery_codes,
                current_client_user(),
                current_password=str(form.get("current_password", ""))[:2000],
            )
        except ServiceError as exc:
            self.renew_errors = field_errors(exc)
            return None
        self._refresh()
        return [*SHOWN.show_codes(codes), rx.toast.success("New recovery codes are ready.")]

    @portal_guard(None)
    def sign_out_others(self) -> Any:
        ended = run(portal_auth.sign_out_everywhere_else, current_client_user())
        self._refresh()
        return rx.toast.success(f"{ended} other session(s) signed out.")


S: Any = PortalSecurityState


def _card(title: str, description: Any, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4", as_="h2"),
            rx.text(description, size="2", color_scheme="gray"),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _password_card() -> rx.Component:
    e = S.password_errors
    return _card(
        "Password",
        "Changing it signs you out on your other devices, and we email you a notice.",
        password_change_form(
            e,
            S.change_password,
            submit_id="portal-change-password",
            confirm_label="Repeat the new password",
            current_id="portal-current-password",
        ),
    )


def _two_factor_card() -> rx.Component:
    required = rx.cond(
        S.required,
        rx.callout(
            "Your account manager asks every user to turn this on before going on.",
            icon="shield-alert",
            color_scheme="amber",
            id="portal-2fa-required",
        ),
    )
    return _card(
        "Two-factor sign-in",
        "After your password, a code from an authenticator app on your phone.",
        two_factor_panel(
            S,
            SHOWN,
            IDS,
            account=S.user_email + " (" + S.brand_name + ")",
            start_label="Set up two-factor sign-in",
            disable_label="Turn off two-factor sign-in",
            disable_needs_code=True,
            notice=required,
        ),
    )


def _sessions_card() -> rx.Component:
    return _card(
        "Devices",
        rx.cond(
            S.other_sessions > 0,
            "You are also signed in on " + S.other_sessions.to_string() + " other device(s).",
            "You are signed in only here.",
        ),
        rx.button(
            "Sign out everywhere else",
            on_click=S.sign_out_others,
            variant="soft",
            disabled=S.other_sessions == 0,
            id="portal-sign-out-others",
        ),
    )


def _content() -> rx.Component:
    return rx.vstack(
        *SHOWN.holders(),
        _password_card(),
        _two_factor_card(),
        _sessions_card(),
        spacing="4",
        width="100%",
    )


def portal_security_page() -> rx.Component:
    return portal_page("Security", _content)
