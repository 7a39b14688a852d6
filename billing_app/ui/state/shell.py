"""The admin shell: who is signed in, and signing out."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.environment import environment

from billing_app.db.engine import session_scope
from billing_app.services import auth
from billing_app.ui.state.base import (
    SessionState,
    hard_redirect,
    session_token_from_cookie_header,
    signed_in,
)


def backend_path(path: str) -> str:
    if environment.REFLEX_MOUNT_FRONTEND_COMPILED_APP.get():
        return path
    return rx.config.get_config().api_url.rstrip("/") + path


class ShellState(SessionState):
    @signed_in
    def sign_out(self) -> Any:
        token = session_token_from_cookie_header(self.router.headers.cookie)
        with session_scope() as session:
            auth.logout(session, token, ip=self._client_ip())
        self._show_user(None)
        return hard_redirect(backend_path("/api/auth/signed-out"))
