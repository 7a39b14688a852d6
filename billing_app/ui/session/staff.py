"""Who is calling, the permission guard shared by every state, and what a tab's state may keep
(docs/security.md items 20-24, 35-37, 44).

Every event handler of our states is wrapped by ``guard(permission)``, ``signed_in`` or
``public``. The caller is resolved on every event from the cookies of the request itself —
the websocket's handshake, or the upload request for an upload — against the database; the
guard refuses (and changes nothing) when the session is missing, expired or revoked, the user
is deactivated, or the role lacks the permission. Identity is never taken from a var the
browser can write, and no cookie or token is ever kept in a state.

A tab's state belongs to one signed-in session and one set of permissions: the
``SessionBinding`` middleware sees every event (hydration included) first, and when the
caller is not the one the state was filled for — signed out, expired, deactivated, another
user, another role, a cookieless socket reusing the tab's token — it wipes every state of
ours before anything is sent.

Handlers run in a worker thread (database work, password hashing, PDF rendering), so the
event loop that serves every user is never blocked by one of them.

The client portal is another realm with its own cookie, states, binding and guard
(ui/session/portal.py): the guard and the binding here are written for either realm
(``GuardSide``, ``bind_event``), and each realm's guard asks only its own realm who is calling
(docs/security.md item 45).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import reflex as rx
from reflex.middleware.middleware import Middleware
from reflex.state import OnLoadInternalState
from reflex_base.registry import RegistrationContext

from billing_app.api import edge
from billing_app.api.cookies import browser_cookie_name, parse_cookie_header, session_cookie_name
from billing_app.domain.permissions import ClientPermission, Permission
from billing_app.services.access import auth
from billing_app.services.access.identity import CurrentUser
from billing_app.services.access.portal_identity import ClientUser
from billing_app.services.common import audit
from billing_app.services.common.errors import FORM
from billing_app.services.common.transactions import run
from billing_app.ui import routes

log = logging.getLogger(__name__)


F = TypeVar("F", bound=Callable[..., Any])


T = TypeVar("T")


GUARD_ATTR = "_billing_guard"


UPLOAD_ATTR = "_billing_upload"


PUBLIC = "public"


SIGNED_IN = "signed-in"


# The marker of handlers that need their state's read permission (see read_guard).
READ_PERMISSION = "state-read-permission"


NOT_ALLOWED = "You're not allowed to do that."


@dataclass(frozen=True)
class Caller:
    """The browser behind the event being handled: its signed-in user (if any) and its
    browser cookie (what sign-in tickets are bound to). Never stored in a state."""

    user: CurrentUser | None = None
    browser_id: str = ""
    cookies: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def binding(self) -> str:
        """What a tab's state is filled for: a session and the permissions it had."""
        if self.user is None:
            return ""
        perms = ",".join(sorted(p.value for p in self.user.permissions))
        digest = hashlib.sha256(perms.encode()).hexdigest()[:16]
        return f"{self.user.session_id}:{digest}"


_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "billing_caller", default=None
)


_current_user: contextvars.ContextVar[CurrentUser | None] = contextvars.ContextVar(
    "billing_current_user", default=None
)


def required(var: contextvars.ContextVar[T | None], message: str) -> T:
    """What a running handler was given in ``var`` (RuntimeError with ``message`` outside)."""
    value = var.get()
    if value is None:
        raise RuntimeError(message)
    return value


def current_user() -> CurrentUser:
    """The user the running guarded handler was authorised for."""
    return required(_current_user, "current_user() called outside a guarded handler")


def current_caller() -> Caller:
    """The caller of the running handler (public handlers included)."""
    return required(_caller, "current_caller() called outside one of our handlers")


def is_upload_event(event_name: str) -> bool:
    registered = RegistrationContext.get().event_handlers.get(event_name)
    return bool(registered and getattr(registered.handler.fn, UPLOAD_ATTR, False))


def cookie_header_of(state: rx.State, *, upload: bool) -> str:
    """The ``Cookie`` header of the request that carries this event: the upload request for
    an upload handler, otherwise the tab's websocket handshake (never a remembered one)."""
    if upload:
        return edge.upload_cookie(state.router.session.client_token) or ""
    return edge.socket_cookie(state.router.session.session_id) or ""


def _resolve_caller(cookie_header: str, ip: str) -> Caller:
    cookies = parse_cookie_header(cookie_header)
    user = None
    token = cookies.get(session_cookie_name())
    if token:
        user = run(auth.resolve_session, token, ip=ip)
    return Caller(user=user, browser_id=cookies.get(browser_cookie_name(), ""), cookies=cookies)


async def from_cookies(state: rx.State, upload: bool, resolve: Callable[[str, str], T]) -> T:
    """``resolve(cookie header, client ip)`` of the request carrying this event, in a worker
    thread (it asks the database)."""
    header = cookie_header_of(state, upload=upload)
    ip = state.router.session.client_ip or ""
    return await asyncio.to_thread(resolve, header, ip)


async def caller_of(state: rx.State, upload: bool) -> Caller:
    return await from_cookies(state, upload, _resolve_caller)


async def event_caller(
    state: rx.State,
    upload: bool,
    var: contextvars.ContextVar[T | None],
    resolve: Callable[[rx.State, bool], Awaitable[T]],
) -> T:
    """The caller a binding resolved for this event into ``var`` (resolved here when a
    handler runs without it, as in tests that call a handler directly)."""
    caller = var.get()
    if caller is None:
        caller = await resolve(state, upload)
        var.set(caller)
    return caller


def _our_state_classes(cls: type[Any]) -> Iterator[type[Any]]:
    yield cls
    for sub in sorted(cls.get_substates(), key=lambda c: c.get_full_name()):
        yield from _our_state_classes(sub)


async def wipe_states(state: rx.State, realm_root: type[rx.State] | None = None) -> None:
    """Reset every state of ours in this tab under ``realm_root`` (the staff states by
    default; the portal's: ui/session/portal.py), loading each one first, so a state kept
    elsewhere, as in Redis, is wiped too."""
    realm_root = realm_root or SessionState
    root = state._get_root_state()
    for cls in _our_state_classes(realm_root):
        await root.get_state(cls)
    realm_state = await root.get_state(realm_root)
    realm_state.reset()


# Reflex's leaf events of a page load: which on_load handlers to queue, and the hydrated flag.
# They run none of our handlers and send no state of ours (no state of ours has a computed var,
# so only what they set is in their delta); the page's load event that follows is bound and
# guarded as usual. Binding them too cost two of the three caller lookups of every page open.
PAGE_LOAD_BOOKKEEPING = frozenset(
    {
        f"{OnLoadInternalState.get_full_name()}.on_load_internal",
        f"{OnLoadInternalState.get_full_name()}.set_is_hydrated",
    }
)


async def bind_event(
    state: rx.State,
    event: Any,
    var: contextvars.ContextVar[Any],
    resolve: Callable[[rx.State, bool], Awaitable[Any]],
    realm_root: type[rx.State],
) -> None:
    """What a realm's binding does before every event: resolve its caller once for the event
    (into ``var``) and wipe the realm's states of the tab when they were filled for another
    caller (docs/security.md item 36); ``realm_root`` keeps the binding in ``_binding``.
    Reflex's own page-load bookkeeping is left alone (``PAGE_LOAD_BOOKKEEPING``)."""
    if event.name in PAGE_LOAD_BOOKKEEPING:
        return
    caller = await resolve(state, is_upload_event(event.name))
    var.set(caller)
    realm_state: Any = await state.get_state(realm_root)
    if realm_state._binding != caller.binding:
        await wipe_states(state, realm_root)
        realm_state._binding = caller.binding


class SessionBinding(Middleware):
    """Runs before every event: resolves the caller once for the event and wipes the tab's
    states when they were filled for another caller (docs/security.md item 36)."""

    async def preprocess(self, app: Any, state: Any, event: Any) -> Any:
        await bind_event(state, event, _caller, caller_of, SessionState)
        return None


class RealmState(rx.State, mixin=True):
    """What the guards ask of the root state of a realm (``SessionState`` here,
    ``PortalSessionState`` for the portal): show or forget the caller, refuse."""

    def _client_ip(self) -> str:
        return self.router.session.client_ip or ""

    def _path(self) -> str:
        try:
            return self.router.url.path.rstrip("/") or "/"
        except AttributeError:
            return "/"

    def _show_user(self, user: Any) -> None:
        raise NotImplementedError

    def _to_sign_in(self, path: str) -> Any:
        """The redirect to this realm's sign-in page, back to ``path`` ("": no way back)."""
        raise NotImplementedError

    def _refuse_anonymous(self, is_page_load: bool) -> Any:
        self._show_user(None)
        if hasattr(self, "status"):
            self.status = "signed_out"
        return self._to_sign_in(self._path() if is_page_load else "")

    def _refuse(self, is_page_load: bool) -> Any:
        if hasattr(self, "status") and is_page_load:
            self.status = "denied"
        if is_page_load:
            return None
        return rx.toast.error(NOT_ALLOWED)


class SessionState(RealmState, rx.State):
    """The signed-in user as the page shows it. Display only: never trusted for access."""

    user_name: str = ""
    user_email: str = ""
    role_label: str = ""
    granted: list[str] = []
    # The session and permissions this tab's states were filled for (see SessionBinding).
    _binding: str = ""

    def _show_user(self, user: CurrentUser | None) -> None:
        self.user_name = user.name if user else ""
        self.user_email = user.email if user else ""
        self.role_label = user.role_label if user else ""
        granted = sorted(p.value for p in user.permissions) if user else []
        if granted != self.granted:
            self.granted = granted

    def _to_sign_in(self, path: str) -> Any:
        if path and path not in (routes.LOGIN, routes.DASHBOARD):
            return rx.redirect(routes.login(next=path))
        return rx.redirect(routes.LOGIN)


def _record_denial(
    user: CurrentUser | ClientUser, handler: str, permission: Permission | ClientPermission
) -> None:
    run(
        audit.record,
        "permission.denied",
        user.actor(),
        target=handler,
        details=f"needs {permission.value}",
    )


async def _staff_user(state: rx.State, upload: bool) -> CurrentUser | None:
    return (await event_caller(state, upload, _caller, caller_of)).user


@dataclass(frozen=True)
class GuardSide:
    """How a guard finds and checks the caller of one identity realm: staff members here,
    client users in ui/session/portal.py. A realm's guard asks only its own realm, so a staff
    session never runs a portal handler and a portal session never runs a staff one."""

    # (state, upload) -> the signed-in user of this realm, or None.
    user_for: Callable[[Any, bool], Awaitable[Any]]
    # Where the running handler finds its user (current_user(), current_client_user()).
    current: contextvars.ContextVar[Any]
    # (user, permission) -> whether the user holds it.
    allows: Callable[[Any, Any], bool]


STAFF_SIDE = GuardSide(
    user_for=_staff_user, current=_current_user, allows=lambda user, needed: user.can(needed)
)


def wrap_handler(
    fn: F,
    permission: Permission | ClientPermission | Callable[[Any], Permission] | None,
    marker: str,
    *,
    needs_user: bool,
    upload: bool,
    side: GuardSide = STAFF_SIDE,
) -> F:
    """``fn`` as an event handler that asks ``side`` (its realm) who calls and refuses, and
    changes nothing, unless the caller may run it; ``marker`` names the guard for the walk of
    tests/integration/test_handler_guards.py."""
    handler_name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__qualname__}"
    is_page_load = handler_name.endswith(".load") or handler_name.endswith("load_page")
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        msg = f"{handler_name}: our handlers return their events, they do not yield"
        raise TypeError(msg)
    is_async = inspect.iscoroutinefunction(fn)

    @functools.wraps(fn)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        user = await side.user_for(self, upload)
        if needs_user:
            if user is None:
                return self._refuse_anonymous(is_page_load)
            self._show_user(user)
            needed = permission(self) if callable(permission) else permission
            if needed is not None and not side.allows(user, needed):
                await asyncio.to_thread(_record_denial, user, handler_name, needed)
                return self._refuse(is_page_load)
        token = side.current.set(user)
        try:
            if is_async:
                return await fn(self, *args, **kwargs)
            return await asyncio.to_thread(fn, self, *args, **kwargs)
        finally:
            side.current.reset(token)

    setattr(wrapper, GUARD_ATTR, marker)
    setattr(wrapper, UPLOAD_ATTR, upload)
    return rx.event(wrapper)  # type: ignore[no-any-return,return-value]


def guard(permission: Permission, *, upload: bool = False) -> Callable[[F], F]:
    """Decorate an event handler that needs ``permission``. ``upload=True`` for a handler
    that receives files: it is authorised from the upload request's own cookie."""

    def decorator(fn: F) -> F:
        return wrap_handler(fn, permission, permission.value, needs_user=True, upload=upload)

    return decorator


def read_guard(fn: F) -> F:
    """Decorate a handler shared by several states (the list mixin, ui/kit/list_state.py): it
    needs the read permission of the ``LIST`` spec of the state class it runs on."""

    def needed(state: Any) -> Permission:
        spec = getattr(type(state), "LIST", None)
        permission = getattr(spec, "read", None)
        if not isinstance(permission, Permission):
            msg = f"{type(state).__name__} has no LIST spec with a read permission"
            raise TypeError(msg)
        return permission

    return wrap_handler(fn, needed, READ_PERMISSION, needs_user=True, upload=False)


def signed_in(fn: F) -> F:
    """Decorate an event handler that any signed-in, active staff member may call."""
    return wrap_handler(fn, None, SIGNED_IN, needs_user=True, upload=False)


def public(fn: F) -> F:
    """Decorate an event handler anyone may call (sign-in, setup, reset, invitation pages).

    Such handlers take nothing from the browser but what the form sends, and do their own
    checks (tokens, throttling) in the services."""
    return wrap_handler(fn, None, PUBLIC, needs_user=False, upload=False)


def field_errors(
    exc: Exception, default_field: str = "form", fields: Collection[str] | None = None
) -> dict[str, str]:
    """The messages of a failed use case by field name, for the form to show each under its
    field: every field's problem at once (``ValidationFailed.errors``), else the error's one
    field (``default_field`` when it names none). With ``fields``, the names the form shows an
    error under, a problem of any other field joins the form-wide message (``default_field``),
    so no message is lost."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, Mapping) and errors:
        found = {
            (default_field if str(name) == FORM else str(name)): str(message)
            for name, message in errors.items()
        }
    else:
        field_name = getattr(exc, "field", None) or default_field
        found = {field_name: getattr(exc, "message", str(exc))}
    if fields is None:
        return found
    shown = {name: message for name, message in found.items() if name in fields}
    elsewhere = [message for name, message in found.items() if name not in fields]
    if elsewhere:
        shown[default_field] = " ".join(elsewhere)
    return shown
