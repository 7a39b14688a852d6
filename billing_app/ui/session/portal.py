"""Who is calling the client portal, its guard, and what a portal tab's state may keep
(docs/security.md items 20-24, 36, 37, 45).

The portal is a realm of its own: its states descend from ``PortalSessionState`` (never from the
staff ``SessionState``), the caller is resolved on every event from the portal cookie only
(``billing_portal``, against ``portal_session``), and its handlers are wrapped by
``portal_guard(permission)`` (a client permission on the client the session looks at; None: any
signed-in client user) or ``portal_public``. The staff guard asks only the staff realm and this
one only the portal realm: a staff session never runs a portal handler and a portal session
never runs a staff one. ``tests/integration/test_handler_guards.py`` checks that every portal
handler is guarded and lives on a portal state.

``PortalSessionBinding`` wipes every portal state of a tab whose caller changed: signed out,
expired, deactivated, no longer a member, another client, another role.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import reflex as rx
from reflex.middleware.middleware import Middleware

from billing_app.api.cookies import browser_cookie_name, parse_cookie_header, portal_credentials
from billing_app.domain.permissions import ClientPermission
from billing_app.services.access import portal_auth, portal_preview
from billing_app.services.access.portal_identity import NOT_FOUND, ClientUser
from billing_app.services.common.errors import NotFound
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.format import optional_int
from billing_app.ui.routes import backend_path, frontend_url, hard_redirect
from billing_app.ui.session.staff import (
    PUBLIC,
    GuardSide,
    RealmState,
    bind_event,
    event_caller,
    from_cookies,
    required,
    wipe_states,
    wrap_handler,
)

F = TypeVar("F", bound=Callable[..., Any])


# Guard markers of portal handlers (tests/integration/test_handler_guards.py): never the
# staff ones, so a handler cannot be taken for the other realm's.
PORTAL_MARKER = "portal:"


PORTAL_SIGNED_IN = "portal:signed-in"


def portal_marker(permission: ClientPermission) -> str:
    return f"{PORTAL_MARKER}{permission.value}"


@dataclass(frozen=True)
class PortalCaller:
    """The browser behind a portal event: its signed-in client user (if any) and its browser
    cookie (what sign-in tickets are bound to). Never stored in a state."""

    user: ClientUser | None = None
    browser_id: str = ""

    @property
    def binding(self) -> str:
        """What a tab's portal states are filled for: a session, the client it looks at, and
        the clients and roles the user has."""
        if self.user is None:
            return ""
        access = sorted(
            f"{m.client_id}={','.join(sorted(p.value for p in m.permissions))}"
            for m in self.user.memberships
        )
        digest = hashlib.sha256(";".join(access).encode()).hexdigest()[:16]
        if self.user.preview:
            return f"preview:{self.user.email}:{self.user.client_id}:{digest}"
        return f"{self.user.session_id}:{self.user.client_id}:{digest}"


_portal_caller: contextvars.ContextVar[PortalCaller | None] = contextvars.ContextVar(
    "billing_portal_caller", default=None
)


_current_client_user: contextvars.ContextVar[ClientUser | None] = contextvars.ContextVar(
    "billing_current_client_user", default=None
)


def current_client_user() -> ClientUser:
    """The client user the running portal-guarded handler was authorised for."""
    return required(
        _current_client_user, "current_client_user() called outside a portal-guarded handler"
    )


def current_portal_caller() -> PortalCaller:
    """The caller of the running portal handler (public ones included)."""
    return required(_portal_caller, "current_portal_caller() called outside a portal handler")


def _resolve_portal_caller(cookie_header: str, ip: str) -> PortalCaller:
    cookies = parse_cookie_header(cookie_header)
    user = run(portal_preview.resolve_client_user, portal_credentials(cookies), ip=ip)
    return PortalCaller(user=user, browser_id=cookies.get(browser_cookie_name(), ""))


async def portal_caller_of(state: rx.State, upload: bool) -> PortalCaller:
    return await from_cookies(state, upload, _resolve_portal_caller)


async def _portal_user(state: rx.State, upload: bool) -> ClientUser | None:
    return (await event_caller(state, upload, _portal_caller, portal_caller_of)).user


PORTAL_SIDE = GuardSide(
    user_for=_portal_user,
    current=_current_client_user,
    allows=lambda user, needed: user.may(needed),
)


class PortalSessionBinding(Middleware):
    """Runs before every event: resolves the portal caller once for the event and wipes the
    tab's portal states when they were filled for another caller (docs/security.md item 36)."""

    async def preprocess(self, app: Any, state: Any, event: Any) -> Any:
        await bind_event(state, event, _portal_caller, portal_caller_of, PortalSessionState)
        return None


class PortalSessionState(RealmState, rx.State):
    """The signed-in client user as a portal page shows them. Display only: never trusted for
    access (the guard and the services take the client from the server-side session)."""

    user_name: str = ""
    user_email: str = ""
    # A staff member's read-only preview (the frame says so and offers the way out).
    preview: bool = False
    client_name: str = ""
    role_label: str = ""
    granted: list[str] = []
    # Their clients, for the client switcher: [{"id": "3", "name": "Acme"}].
    clients: list[dict[str, str]] = []
    # The session, client and roles this tab's portal states were filled for.
    _binding: str = ""

    def _show_user(self, user: ClientUser | None) -> None:
        membership = (
            next((m for m in user.memberships if m.client_id == user.client_id), None)
            if user
            else None
        )
        self.preview = bool(user and user.preview)
        self.leave_preview_url = backend_path(routes.PORTAL_PREVIEW_EXIT) if self.preview else ""
        self.user_name = user.name if user else ""
        self.user_email = user.email if user else ""
        self.client_name = membership.client_name if membership else ""
        self.role_label = membership.role_label if membership else ""
        granted = sorted(p.value for p in membership.permissions) if membership else []
        if granted != self.granted:
            self.granted = granted
        clients = (
            [{"id": str(m.client_id), "name": m.client_name} for m in user.memberships]
            if user
            else []
        )
        if clients != self.clients:
            self.clients = clients

    def _to_sign_in(self, path: str) -> Any:
        in_portal = path == routes.PORTAL or path.startswith(routes.PORTAL + "/")
        if in_portal and path != routes.PORTAL_LOGIN:
            return rx.redirect(routes.portal_login(next=path))
        return rx.redirect(routes.PORTAL_LOGIN)

    # Set by the page's frame (ui/portal/frame.py), read in the same transaction as the look.
    _two_factor_required: bool = False

    def _two_factor_gate(self) -> Any:
        """For a portal page's load, after its frame: the Security page when the agency
        requires two-factor sign-in and the user has not turned it on yet, else None."""
        if self._path() != routes.PORTAL_SECURITY and self._two_factor_required:
            return rx.redirect(routes.PORTAL_SECURITY)
        return None


def portal_guard(permission: ClientPermission | None) -> Callable[[F], F]:
    """Decorate a portal event handler that needs ``permission`` on the client the session
    looks at (None: any signed-in client user). Deny by default: no portal session, an
    expired one, a deactivated user or a missing permission is refused and changes nothing."""

    def decorator(fn: F) -> F:
        marker = PORTAL_SIGNED_IN if permission is None else portal_marker(permission)
        return wrap_handler(fn, permission, marker, needs_user=True, upload=False, side=PORTAL_SIDE)

    return decorator


def portal_public(fn: F) -> F:
    """Decorate a portal handler anyone may call (sign-in, forgot and reset password): it
    takes nothing from the browser but what the form sends and does its own checks."""
    return wrap_handler(fn, None, PUBLIC, needs_user=False, upload=False, side=PORTAL_SIDE)


def portal_handoff_url(ticket: str, next_path: str = routes.PORTAL) -> str:
    """Where the browser exchanges a portal ticket for the portal cookie, then opens
    ``next_path`` (a page of the portal)."""
    return backend_path(routes.portal_handoff(ticket, frontend_url(next_path)))


def _end_session(user: ClientUser, ip: str) -> None:
    run(portal_auth.end_session, user, ip=ip)


class PortalShellState(PortalSessionState):
    """What every portal page offers: sign out, and switch to another of one's clients."""

    @portal_guard(None)
    async def sign_out(self) -> Any:
        """End the session, wipe every portal state of this tab, then clear the cookie. A
        preview is left instead (the staff session goes on)."""
        if current_client_user().preview:
            await wipe_states(self, PortalSessionState)
            return hard_redirect(backend_path(routes.PORTAL_PREVIEW_EXIT))
        await asyncio.to_thread(_end_session, current_client_user(), self._client_ip())
        await wipe_states(self, PortalSessionState)
        next_url = frontend_url(routes.portal_login(signed_out="1"))
        return hard_redirect(backend_path(routes.portal_signed_out(next_url)))

    @portal_guard(None)
    async def switch_client(self, client_id: str) -> Any:
        """Look at another of the user's clients: what the tab showed of the previous one is
        wiped. Any id that is not one of theirs is "not found"."""
        wanted = optional_int(client_id)
        try:
            if wanted is None:
                raise NotFound(NOT_FOUND)
            await asyncio.to_thread(run, portal_auth.switch_client, current_client_user(), wanted)
        except NotFound as exc:
            return rx.toast.error(exc.message)
        await wipe_states(self, PortalSessionState)
        return rx.redirect(routes.PORTAL)
