"""Why single sign-on did not sign you in (/login/sso-error?reason=...): one plain sentence
from a fixed list (the reason word only selects it), and the way back. Never a stack trace."""

from __future__ import annotations

import reflex as rx

from billing_app.services.access import sso
from billing_app.ui import routes
from billing_app.ui.kit.layout import auth_card
from billing_app.ui.session.staff import SessionState, public


class SsoErrorState(SessionState):
    message: str = ""

    @public
    def load(self) -> None:
        reason = str(self.router.url.query_parameters.get("reason", ""))[:40]
        self.message = sso.message_for(reason)


def sso_error_page() -> rx.Component:
    return auth_card(
        "You are not signed in",
        "Single sign-on",
        rx.cond(
            SsoErrorState.message != "",
            rx.callout(
                SsoErrorState.message,
                icon="triangle-alert",
                color_scheme="red",
                id="sso-error",
                width="100%",
            ),
        ),
        rx.link("Back to sign in", href=routes.LOGIN, size="3", id="sso-back"),
    )
