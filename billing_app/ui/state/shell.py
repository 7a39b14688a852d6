"""The admin shell: who is signed in, and signing out."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from billing_app.db.engine import session_scope
from billing_app.services import auth
from billing_app.ui.state.base import (
    SessionState,
    backend_path,
    frontend_url,
    hard_redirect,
    session_token_from_cookie_header,
    signed_in,
)


class ShellState(SessionState):
    @signed_in
    def sign_out(self) -> Any:
        token = session_token_from_cookie_header(self.router.headers.cookie)
        with session_scope() as session:
            auth.logout(session, token, ip=self._client_ip())
        self._show_user(None)
        next_url = quote(frontend_url("/login?signed_out=1"))
        return hard_redirect(backend_path(f"/api/auth/signed-out?next={next_url}"))
