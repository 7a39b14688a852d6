"""The "My account" page: password, two-factor authentication and sessions of the signed-in
staff member. Every change needs the current password (docs/security.md item 19).

Secrets shown once — the TOTP setup key and its QR code, fresh recovery codes — never enter
the state (docs/security.md item 36): they are pushed straight to variables that live only in
the browser page (``ClientStateVar``), and cleared from it when the page loads again."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.experimental.client_state import ClientStateVar

from billing_app.db.engine import session_scope
from billing_app.jobs.tasks import kick_outbox
from billing_app.services.access import account
from billing_app.services.common.errors import ServiceError
from billing_app.settings import get_settings
from billing_app.ui.state.base import (
    SessionState,
    current_user,
    field_errors,
    signed_in,
)

# Browser-only values: the backend pushes them once and never keeps them.
shown_recovery_codes = ClientStateVar.create("shown_recovery_codes", default=[])
shown_totp_qr = ClientStateVar.create("shown_totp_qr", default="")
shown_totp_key = ClientStateVar.create("shown_totp_key", default="")


def _forget_shown_secrets() -> list[Any]:
    return [shown_recovery_codes.push([]), shown_totp_qr.push(""), shown_totp_key.push("")]


class AccountState(SessionState):
    status: str = "loading"
    two_factor_on: bool = False
    recovery_left: int = 0
    other_sessions: int = 0
    password_errors: dict[str, str] = {}
    mfa_errors: dict[str, str] = {}
    # Two-factor setup in progress (its key and QR code are in the page only).
    setup_pending: bool = False

    def _refresh(self) -> None:
        user = current_user()
        with session_scope() as session:
            self.two_factor_on = account.two_factor_enabled(session, user.id)
            self.recovery_left = account.recovery_codes_left(session, user.id)
            self.other_sessions = account.other_session_count(session, user, user.session_id)
        self.status = "ok"

    @signed_in
    def load(self) -> Any:
        self.password_errors = {}
        self.mfa_errors = {}
        self.setup_pending = False
        self._refresh()
        return _forget_shown_secrets()

    @signed_in
    def change_password(self, form: dict[str, Any]) -> Any:
        self.password_errors = {}
        if str(form.get("new_password", "")) != str(form.get("confirm", "")):
            self.password_errors = {"confirm": "The two passwords differ."}
            return None
        try:
            with session_scope() as session:
                ended = account.change_password(
                    session,
                    current_user(),
                    current_password=str(form.get("current_password", "")),
                    new_password=str(form.get("new_password", "")),
                    keep_session_id=current_user().session_id,
                )
        except ServiceError as exc:
            errors = field_errors(exc)
            self.password_errors = {
                "new_password" if k == "password" else k: v for k, v in errors.items()
            }
            return None
        kick_outbox()
        self._refresh()
        others = f" {ended} other session(s) were signed out." if ended else ""
        return rx.toast.success("Your password was changed." + others)

    @signed_in
    def start_two_factor(self) -> Any:
        self.mfa_errors = {}
        with session_scope() as session:
            setup = account.begin_totp_setup(
                session, current_user(), issuer=get_settings().mail_from_name
            )
        self.setup_pending = True
        return [shown_totp_qr.push(setup.qr_svg_data_uri), shown_totp_key.push(setup.secret)]

    @signed_in
    def confirm_two_factor(self, form: dict[str, Any]) -> Any:
        self.mfa_errors = {}
        try:
            with session_scope() as session:
                codes = account.confirm_totp(
                    session,
                    current_user(),
                    code=str(form.get("code", "")),
                    current_password=str(form.get("current_password", "")),
                )
        except ServiceError as exc:
            self.mfa_errors = field_errors(exc)
            return None
        kick_outbox()
        self.setup_pending = False
        self._refresh()
        return [
            shown_totp_qr.push(""),
            shown_totp_key.push(""),
            shown_recovery_codes.push(codes),
            rx.toast.success("Two-factor authentication is on."),
        ]

    @signed_in
    def disable_two_factor(self, form: dict[str, Any]) -> Any:
        self.mfa_errors = {}
        try:
            with session_scope() as session:
                account.disable_totp(
                    session,
                    current_user(),
                    current_password=str(form.get("current_password", "")),
                )
        except ServiceError as exc:
            self.mfa_errors = field_errors(exc)
            return None
        kick_outbox()
        self._refresh()
        return [*_forget_shown_secrets(), rx.toast.success("Two-factor authentication is off.")]

    @signed_in
    def renew_codes(self, form: dict[str, Any]) -> Any:
        self.mfa_errors = {}
        try:
            with session_scope() as session:
                codes = account.regenerate_recovery_codes(
                    session,
                    current_user(),
                    current_password=str(form.get("current_password", "")),
                )
        except ServiceError as exc:
            self.mfa_errors = field_errors(exc)
            return None
        self._refresh()
        return [
            shown_recovery_codes.push(codes),
            rx.toast.success("New recovery codes made; the old ones no longer work."),
        ]

    @signed_in
    def sign_out_others(self) -> Any:
        with session_scope() as session:
            ended = account.sign_out_other_sessions(
                session, current_user(), keep_session_id=current_user().session_id
            )
        self._refresh()
        return rx.toast.success(f"{ended} other session(s) signed out.")
