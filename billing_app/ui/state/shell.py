"""The admin shell: who is signed in, and signing out."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from billing_app.db.engine import session_scope
from billing_app.services.access import auth
from billing_app.ui.state.base import (
    SessionState,
    backend_path,
    current_user,
    frontend_url,
    hard_redirect,
    signed_in,
    wipe_states,
)


def _end_session(session_id: int | None, ip: str) -> None:
    if session_id is None:
        return
    with session_scope() as session:
        auth.end_session(session, session_id, ip=ip)


class ShellState(SessionState):
    @signed_in
    async def sign_out(self) -> Any:
        """End the session, wipe everything this tab holds, then clear the cookie."""
        await asyncio.to_thread(_end_session, current_user().session_id, self._client_ip())
        await wipe_states(self)
        next_url = quote(frontend_url("/login?signed_out=1"))
        return hard_redirect(backend_path(f"/api/auth/signed-out?next={next_url}"))
