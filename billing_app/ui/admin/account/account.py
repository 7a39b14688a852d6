"""The "My account" page: password, two-factor authentication and sessions of the signed-in
staff member. Every change needs the current password (docs/security.md item 19).

Secrets shown once — the TOTP setup key and its QR code, fresh recovery codes — never enter
the state (docs/security.md item 36): they are pushed straight to variables that live only in
the browser page (``ClientStateVar``), and cleared from it when the page loads again. The
two-factor pieces are the portal Security page's (ui/kit/two_factor.py)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.access import account
from billing_app.services.card_payments import notices
from billing_app.services.common.errors import Conflict, ServiceError
from billing_app.services.common.transactions import run
from billing_app.settings import get_settings
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.kit.sign_in import password_change_form
from billing_app.ui.kit.two_factor import ShownOnce, TwoFactorIds, two_factor_panel
from billing_app.ui.session.staff import SessionState, current_user, field_errors, signed_in

# Browser-only values: the backend pushes them once and never keeps them.
SHOWN = ShownOnce.create("shown")
IDS = TwoFactorIds(
    status="two-factor-status",
    start="start-two-factor",
    qr="totp-qr",
    key="totp-secret",
    setup_code="code",
    setup_current="confirm-two-factor-password",
    confirm="confirm-two-factor",
    codes="recovery-codes",
    download="download-recovery-codes",
    print="print-recovery-codes",
    renew="renew-codes",
    disable="disable-two-factor",
    left="recovery-left",
)


class AccountState(SessionState):
    status: str = "loading"
    two_factor_on: bool = False
    recovery_left: int = 0
    other_sessions: int = 0
    password_errors: dict[str, str] = {}
    mfa_errors: dict[str, str] = {}
    renew_errors: dict[str, str] = {}  # the "new recovery codes" form's own
    # Two-factor setup in progress (its key and QR code are in the page only).
    setup_pending: bool = False
    payment_notices: str = "off"
    notice_options: list[list[str]] = []
    may_read_payments: bool = False

    def _refresh(self) -> None:
        user = current_user()
        self.two_factor_on = run(account.two_factor_enabled, user)
        self.recovery_left = run(account.recovery_codes_left, user)
        self.other_sessions = run(account.other_session_count, user, user.session_id)
        self.may_read_payments = user.can(Permission.PAYMENTS_READ)
        if self.may_read_payments:
            choice = run(notices.payment_notices_choice, user)
            self.payment_notices = choice.value
            self.notice_options = [[value, label] for value, label in choice.options]
        self.status = "ok"

    @signed_in
    def load(self) -> Any:
        self.password_errors = {}
        self.mfa_errors, self.renew_errors = {}, {}
        self.setup_pending = False
        self._refresh()
        return SHOWN.forget()

    @signed_in
    def change_password(self, form: dict[str, Any]) -> Any:
        self.password_errors = {}
        try:
            ended = run(
                account.change_password,
                current_user(),
                current_password=str(form.get("current_password", "")),
                new_password=str(form.get("new_password", "")),
                confirm=str(form.get("confirm", "")),
                keep_session_id=current_user().session_id,
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

    @signed_in
    def start_two_factor(self) -> Any:
        self.mfa_errors, self.renew_errors = {}, {}
        try:
            setup = run(
                account.begin_totp_setup, current_user(), issuer=get_settings().mail_from_name
            )
        except ServiceError as exc:  # already on (in another tab)
            self.mfa_errors = field_errors(exc)
            self._refresh()
            return None
        self.setup_pending = True
        return SHOWN.show_setup(setup.qr_svg_data_uri, setup.secret)

    @signed_in
    def confirm_two_factor(self, form: dict[str, Any]) -> Any:
        self.mfa_errors, self.renew_errors = {}, {}
        try:
            codes = run(
                account.confirm_totp,
                current_user(),
                code=str(form.get("code", "")),
                current_password=str(form.get("current_password", "")),
            )
        except ServiceError as exc:
            self.mfa_errors = field_errors(exc)
            if isinstance(exc, Conflict):  # start again, or it was turned on in another tab
                self.setup_pending = False
                self._refresh()
            return None
        self.setup_pending = False
        self._refresh()
        return [*SHOWN.show_codes(codes), rx.toast.success("Two-factor authentication is on.")]

    @signed_in
    def disable_two_factor(self, form: dict[str, Any]) -> Any:
        self.mfa_errors, self.renew_errors = {}, {}
        try:
            run(
                account.disable_totp,
                current_user(),
                current_password=str(form.get("current_password", "")),
            )
        except ServiceError as exc:
            self.mfa_errors = field_errors(exc)
            return None
        self._refresh()
        return [*SHOWN.forget(), rx.toast.success("Two-factor authentication is off.")]

    @signed_in
    def renew_codes(self, form: dict[str, Any]) -> Any:
        self.mfa_errors, self.renew_errors = {}, {}
        try:
            codes = run(
                account.regenerate_recovery_codes,
                current_user(),
                current_password=str(form.get("current_password", "")),
            )
        except ServiceError as exc:
            self.renew_errors = field_errors(exc)
            return None
        self._refresh()
        return [
            *SHOWN.show_codes(codes),
            rx.toast.success("New recovery codes made; the old ones no longer work."),
        ]

    @signed_in
    def choose_payment_notices(self, value: str) -> Any:
        try:
            run(notices.set_payment_notices, current_user(), str(value))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self.payment_notices = str(value)
        return rx.toast.success("Saved.")

    @signed_in
    def sign_out_others(self) -> Any:
        ended = run(
            account.sign_out_other_sessions,
            current_user(),
            keep_session_id=current_user().session_id,
        )
        self._refresh()
        return rx.toast.success(f"{ended} other session(s) signed out.")


def _section(title: str, description: str | rx.Var, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4", as_="h2"),
            rx.text(description, size="2", color_scheme="gray"),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        size="3",
    )


def _password() -> rx.Component:
    e = AccountState.password_errors
    return _section(
        "Password",
        "Changing it signs you out everywhere else.",
        password_change_form(
            e,
            AccountState.change_password,
            submit_id="change-password",
            confirm_label="Confirm the new password",
        ),
    )


def _two_factor() -> rx.Component:
    return _section(
        "Two-factor authentication",
        "A code from an authenticator app is asked after your password.",
        two_factor_panel(
            AccountState,
            SHOWN,
            IDS,
            account=AccountState.user_email,
            start_label="Set up two-factor authentication",
            disable_label="Turn off two-factor",
            disable_needs_code=False,
        ),
    )


def _sessions() -> rx.Component:
    return _section(
        "Sessions",
        rx.cond(
            AccountState.other_sessions > 0,
            "You are also signed in "
            + AccountState.other_sessions.to_string()
            + " other time(s), on other browsers or devices.",
            "You are signed in only here.",
        ),
        rx.button(
            "Sign out everywhere else",
            on_click=AccountState.sign_out_others,
            variant="soft",
            disabled=AccountState.other_sessions == 0,
            id="sign-out-others",
        ),
    )


def _notices() -> rx.Component:
    return _section(
        "Payment notifications",
        "Be emailed when a client pays by card, when a card payment fails, and when a payment "
        "is disputed.",
        rx.radio_group.root(
            rx.vstack(
                rx.foreach(
                    AccountState.notice_options,
                    lambda option: rx.el.label(
                        rx.hstack(
                            rx.radio_group.item(value=option[0], id="notices-" + option[0]),
                            rx.text(option[1], size="2"),
                            spacing="2",
                            align="center",
                        ),
                        html_for="notices-" + option[0],
                    ),
                ),
                spacing="2",
            ),
            value=AccountState.payment_notices,
            on_change=AccountState.choose_payment_notices,
            aria_label="Payment notifications",
            id="payment-notices",
        ),
    )


def _content() -> rx.Component:
    return rx.vstack(
        # The browser-only variables live here (they render nothing).
        *SHOWN.holders(),
        rx.text(
            AccountState.user_name,
            " · ",
            AccountState.user_email,
            " · ",
            AccountState.role_label,
            color_scheme="gray",
        ),
        _password(),
        _two_factor(),
        _sessions(),
        rx.cond(AccountState.may_read_payments, _notices()),
        spacing="4",
        width="100%",
    )


def account_page() -> rx.Component:
    return admin_page("My account", AccountState.status, _content)
