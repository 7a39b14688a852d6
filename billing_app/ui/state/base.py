"""Session resolution and the permission guard shared by every state (DESIGN.md §6-7).

Every event handler of our states is wrapped by ``guard(permission)``, ``signed_in`` or
``public``. ``guard`` resolves the staff session from the HttpOnly cookie on the websocket's
request headers, against the database, on every event; it refuses (and changes nothing) when the
session is missing, expired or revoked, the user is deactivated, or the role lacks the
permission. Identity is never taken from a var the browser can write.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import logging
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar
from urllib.parse import quote

import reflex as rx
from reflex.environment import environment

from billing_app.api.routes import SESSION_COOKIE
from billing_app.db.engine import session_scope
from billing_app.domain.permissions import Permission
from billing_app.services import audit, auth
from billing_app.services.identity import CurrentUser

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

GUARD_ATTR = "_billing_guard"
PUBLIC = "public"
SIGNED_IN = "signed-in"
NOT_ALLOWED = "You're not allowed to do that."

_current_user: contextvars.ContextVar[CurrentUser | None] = contextvars.ContextVar(
    "billing_current_user", default=None
)


def current_user() -> CurrentUser:
    """The user the running guarded handler was authorised for."""
    user = _current_user.get()
    if user is None:
        msg = "current_user() called outside a guarded handler"
        raise RuntimeError(msg)
    return user


def session_token_from_cookie_header(header: str) -> str | None:
    if not header:
        return None
    try:
        jar: SimpleCookie = SimpleCookie(header)
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel else None


class SessionState(rx.State):
    """The signed-in user as the page shows it. Display only: never trusted for access."""

    user_name: str = ""
    user_email: str = ""
    role_label: str = ""
    granted: list[str] = []

    def _client_ip(self) -> str:
        return self.router.session.client_ip or ""

    def _resolve_user(self) -> CurrentUser | None:
        token = session_token_from_cookie_header(self.router.headers.cookie)
        with session_scope() as session:
            return auth.resolve_session(session, token, ip=self._client_ip())

    def _show_user(self, user: CurrentUser | None) -> None:
        root = self
        root.user_name = user.name if user else ""
        root.user_email = user.email if user else ""
        root.role_label = user.role_label if user else ""
        root.granted = sorted(p.value for p in user.permissions) if user else []

    def _record_denial(self, user: CurrentUser, handler: str, permission: Permission) -> None:
        with session_scope() as session:
            audit.record(
                session,
                "permission.denied",
                user.actor(),
                target=handler,
                details=f"needs {permission.value}",
            )

    def _path(self) -> str:
        try:
            return self.router.url.path.rstrip("/") or "/"
        except AttributeError:
            return "/"

    def _refuse_anonymous(self, is_page_load: bool) -> Any:
        self._show_user(None)
        if hasattr(self, "status"):
            self.status = "signed_out"
        path = self._path()
        if is_page_load and path not in ("/login", "/"):
            return rx.redirect(f"/login?next={quote(path)}")
        return rx.redirect("/login")

    def _refuse(self, user: CurrentUser, is_page_load: bool) -> Any:
        if hasattr(self, "status") and is_page_load:
            self.status = "denied"
        if is_page_load:
            return None
        return rx.toast.error(NOT_ALLOWED)

    def _authorise(
        self, permission: Permission | None, handler: str
    ) -> tuple[CurrentUser | None, Any]:
        """The user if allowed; otherwise None and the refusal to return to the browser."""
        is_page_load = handler.endswith(".load") or handler.endswith("load_page")
        user = self._resolve_user()
        if user is None:
            return None, self._refuse_anonymous(is_page_load)
        self._show_user(user)
        if permission is not None and not user.can(permission):
            self._record_denial(user, handler, permission)
            return None, self._refuse(user, is_page_load)
        return user, None


def _wrap(fn: F, permission: Permission | None, marker: str) -> F:
    handler_name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__qualname__}"

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen_wrapper(self: SessionState, *args: Any, **kwargs: Any) -> Any:
            user, refusal = self._authorise(permission, handler_name)
            if user is None:
                yield refusal
                return
            token = _current_user.set(user)
            try:
                async for item in fn(self, *args, **kwargs):
                    yield item
            finally:
                _current_user.reset(token)

        wrapper: Any = agen_wrapper
    elif inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(self: SessionState, *args: Any, **kwargs: Any) -> Any:
            user, refusal = self._authorise(permission, handler_name)
            if user is None:
                return refusal
            token = _current_user.set(user)
            try:
                return await fn(self, *args, **kwargs)
            finally:
                _current_user.reset(token)

        wrapper = async_wrapper
    else:

        @functools.wraps(fn)
        def sync_wrapper(self: SessionState, *args: Any, **kwargs: Any) -> Any:
            user, refusal = self._authorise(permission, handler_name)
            if user is None:
                return refusal
            token = _current_user.set(user)
            try:
                return fn(self, *args, **kwargs)
            finally:
                _current_user.reset(token)

        wrapper = sync_wrapper
    setattr(wrapper, GUARD_ATTR, marker)
    return rx.event(wrapper)  # type: ignore[no-any-return,return-value]


def guard(permission: Permission) -> Callable[[F], F]:
    """Decorate an event handler that needs ``permission``."""

    def decorator(fn: F) -> F:
        return _wrap(fn, permission, permission.value)

    return decorator


def signed_in(fn: F) -> F:
    """Decorate an event handler that any signed-in, active staff member may call."""
    return _wrap(fn, None, SIGNED_IN)


def public(fn: F) -> F:
    """Decorate an event handler anyone may call (sign-in, setup, reset, invitation pages).

    Such handlers take nothing from the browser but what the form sends, and do their own
    checks (tokens, throttling) in the services."""
    setattr(fn, GUARD_ATTR, PUBLIC)
    return rx.event(fn)  # type: ignore[no-any-return,return-value]


def _single_port() -> bool:
    """``make run`` serves pages and our routes on one origin; ``make dev`` splits them."""
    return bool(environment.REFLEX_MOUNT_FRONTEND_COMPILED_APP.get())


def backend_path(path: str) -> str:
    """The URL of one of our backend routes, as the browser must load it."""
    if _single_port():
        return path
    return rx.config.get_config().api_url.rstrip("/") + path


def frontend_url(path: str) -> str:
    """Where a backend route sends the browser back to (a page of the app)."""
    if _single_port():
        return path
    return (rx.config.get_config().deploy_url or "").rstrip("/") + path


def hard_redirect(url: str) -> Any:
    """A full page load (not a client-side navigation): needed for our backend routes, which
    set or clear the HttpOnly session cookie."""
    return rx.call_script(f"window.location.assign({json.dumps(url)})")


def field_errors(exc: Exception, default_field: str = "form") -> dict[str, str]:
    field = getattr(exc, "field", None) or default_field
    return {field: getattr(exc, "message", str(exc))}
