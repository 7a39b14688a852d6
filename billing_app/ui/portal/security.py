"""The portal's Security page (/portal/security): change the password (the current one needed,
an email tells them), two-factor sign-in with an authenticator app (QR code, confirmed with a
code; 10 single-use recovery codes shown once), turning it off (password and a code), and
signing out everywhere else. When the agency requires two-factor sign-in, every other portal
page sends the user here until it is on.

Secrets shown once (the key, its QR code, fresh recovery codes) never enter the state: they are
pushed to browser-only variables and forgotten when the page loads again (docs/security.md
item 36)."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.experimental.client_state import ClientStateVar

from billing_app.services.access import portal_auth
from billing_app.services.common.errors import Conflict, ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.kit.layout import field, form_error
from billing_app.ui.kit.sign_in import password_change_form
from billing_app.ui.portal.frame import PortalPageState, portal_page
from billing_app.ui.session.portal import current_client_user, portal_guard
from billing_app.ui.session.staff import field_errors

portal_codes = ClientStateVar.create("portal_recovery_codes", default=[])
portal_qr = ClientStateVar.create("portal_totp_qr", default="")
portal_key = ClientStateVar.create("portal_totp_key", default="")


def _forget() -> list[Any]:
    return [portal_codes.push([]), portal_qr.push(""), portal_key.push("")]


class PortalSecurityState(PortalPageState):
    two_factor_on: bool = False
    required: bool = False
    recovery_left: int = 0
    other_sessions: int = 0
    password_errors: dict[str, str] = {}
    mfa_errors: dict[str, str] = {}
    setup_pending: bool = False

    def _refresh(self) -> None:
        user = current_client_user()
        self.two_factor_on = run(portal_auth.two_factor_enabled, user)
        self.required = run(portal_auth.two_factor_setup_required, user)
        self.recovery_left = run(portal_auth.recovery_codes_left, user)
        self.other_sessions = run(portal_auth.other_session_count, user)

    @portal_guard(None)
    def load(self) -> Any:
        self._frame()
        self.password_errors, self.mfa_errors, self.setup_pending = {}, {}, False
        self._refresh()
        return _forget()

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
        self.mfa_errors = {}
        try:
            setup = run(portal_auth.begin_totp_setup, current_client_user())
        except ServiceError as exc:  # already on (in another tab)
            self.mfa_errors = field_errors(exc)
            self._refresh()
            return None
        self.setup_pending = True
        return [portal_qr.push(setup.qr_svg_data_uri), portal_key.push(setup.secret)]

    @portal_guard(None)
    def confirm_two_factor(self, form: dict[str, Any]) -> Any:
        self.mfa_errors = {}
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
        return [
            portal_qr.push(""),
            portal_key.push(""),
            portal_codes.push(codes),
            rx.toast.success("Two-factor sign-in is on."),
        ]

    @portal_guard(None)
    def disable_two_factor(self, form: dict[str, Any]) -> Any:
        self.mfa_errors = {}
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
        return [*_forget(), rx.toast.success("Two-factor sign-in is off.")]

    @portal_guard(None)
    def renew_codes(self, form: dict[str, Any]) -> Any:
        self.mfa_errors = {}
        try:
            codes = run(
                portal_auth.regenerate_recovery_codes,
                current_client_user(),
                current_password=str(form.get("current_password", ""))[:2000],
            )
        except ServiceError as exc:
            self.mfa_errors = field_errors(exc)
            return None
        self._refresh()
        return [portal_codes.push(codes), rx.toast.success("New recovery codes are ready.")]

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


def _codes() -> rx.Component:
    return rx.cond(
        portal_codes.value.length() > 0,  # type: ignore[attr-defined]
        rx.callout(
            rx.vstack(
                rx.text("Your recovery codes", weight="bold"),
                rx.text(
                    "Print them or keep them in a password manager: each one signs you in once "
                    "if you lose your phone. They are shown only now.",
                    size="2",
                ),
                rx.grid(
                    rx.foreach(portal_codes.value, lambda c: rx.code(c, size="3")),
                    columns="2",
                    spacing="2",
                    id="portal-recovery-codes",
                ),
                rx.button(
                    rx.icon("printer", size=16),
                    "Print",
                    variant="soft",
                    on_click=rx.call_script("window.print()"),
                    id="portal-print-codes",
                ),
                spacing="2",
            ),
            icon="key-round",
            color_scheme="amber",
            width="100%",
        ),
    )


def _confirm_form(
    label: str, handler: Any, form_id: str, with_code: bool, color: str = "gray"
) -> rx.Component:
    e = S.mfa_errors
    return rx.form(
        rx.vstack(
            field(
                "Current password",
                "current_password",
                e,
                type_="password",
                id_=f"{form_id}-password",
            ),
            *([field("Code from your app", "code", e, id_=f"{form_id}-code")] if with_code else []),
            rx.button(label, type="submit", variant="soft", color_scheme=color, id=form_id),
            spacing="2",
            width="100%",
            max_width="420px",
        ),
        on_submit=handler,
        reset_on_submit=True,
    )


def _two_factor_card() -> rx.Component:
    e = S.mfa_errors
    on = rx.vstack(
        rx.hstack(
            rx.badge("On", color_scheme="green", high_contrast=True, id="portal-2fa-status"),
            rx.text(
                S.recovery_left,
                " recovery codes left",
                size="2",
                color_scheme="gray",
                id="portal-recovery-left",
            ),
            align="center",
        ),
        _codes(),
        form_error(e),
        _confirm_form("Make new recovery codes", S.renew_codes, "portal-renew-codes", False),
        _confirm_form(
            "Turn off two-factor sign-in", S.disable_two_factor, "portal-disable-2fa", True, "red"
        ),
        spacing="3",
        width="100%",
    )
    setup = rx.cond(
        S.setup_pending & (portal_key.value != ""),
        rx.flex(
            rx.image(
                src=portal_qr.value,
                width="180px",
                height="180px",
                alt="QR code for your authenticator app",
                id="portal-totp-qr",
            ),
            rx.form(
                rx.vstack(
                    rx.text("1. Scan the code with your authenticator app, or type this key:"),
                    rx.code(portal_key.value, id="portal-totp-secret", word_break="break-all"),
                    rx.text("2. Enter the 6-digit code it shows, and your password."),
                    field("Code", "code", e, auto_complete="one-time-code", id_="portal-2fa-code"),
                    field(
                        "Current password",
                        "current_password",
                        e,
                        type_="password",
                        id_="portal-2fa-password",
                    ),
                    rx.button("Turn on", type="submit", id="portal-confirm-2fa"),
                    spacing="2",
                    width="100%",
                ),
                on_submit=S.confirm_two_factor,
                width="100%",
                max_width="360px",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            spacing="5",
            align="start",
        ),
        rx.button("Set up two-factor sign-in", on_click=S.start_two_factor, id="portal-start-2fa"),
    )
    return _card(
        "Two-factor sign-in",
        "After your password, a code from an authenticator app on your phone.",
        rx.cond(
            S.two_factor_on,
            on,
            rx.vstack(
                rx.cond(
                    S.required,
                    rx.callout(
                        "Your account manager asks every user to turn this on before going on.",
                        icon="shield-alert",
                        color_scheme="amber",
                        id="portal-2fa-required",
                    ),
                ),
                rx.badge("Off", color_scheme="gray", high_contrast=True, id="portal-2fa-status"),
                form_error(e),
                setup,
                spacing="3",
                width="100%",
            ),
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
        portal_codes,
        portal_qr,
        portal_key,
        _password_card(),
        _two_factor_card(),
        _sessions_card(),
        spacing="4",
        width="100%",
    )


def portal_security_page() -> rx.Component:
    return portal_page("Security", _content)
