"""ASGI middleware in front of Reflex's own endpoints (docs/security.md items 37, 38, 44).

- ``/_event`` (the websocket): Reflex copies every handshake header into each tab's state, and
  states are kept in memory or in Redis. The ``Cookie`` header is taken out of the handshake
  before Reflex sees it and kept on the connection's ASGI scope only, where the guards read it
  (``socket_cookie``): the staff session, the portal session and the browser cookie alike. No
  credential ever reaches a state.
- ``/_upload``: an upload is authorised with the cookie of the upload request itself, never
  with what was remembered for the tab's websocket. While a request is in flight its cookie
  is kept under the tab's client token (``upload_cookie``); a second concurrent upload for the
  same tab is refused, so two requests can never swap identities.
- ``/api/stripe/webhook``: served here, before Reflex's middlewares (CORS, its exception
  handlers): Stripe's bursts of signed events need none of them.
- Pages: a browser without our browser cookie gets one with the page (the value sign-in
  tickets are bound to). A page asked for without its trailing slash ("/portal", as every
  link and email writes it) is served from its prerendered folder at once, instead of the
  static server's redirect to "/portal/" (a round trip before anything shows).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from billing_app.api import cookies, stripe_webhook
from billing_app.services.card_payments.stripe_settings import WEBHOOK_PATH
from billing_app.settings import get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

EVENT_PATH = "/_event"
UPLOAD_PATH = "/_upload"
SCOPE_COOKIE = "billing.cookie"
TOKEN_HEADER = b"reflex-client-token"

_uploads: dict[str, str] = {}
_app: Any = None
_pages: Path | None = None  # the prerendered pages `reflex run --env prod` serves


def bind_app(app: Any, pages: Path | None = None) -> None:
    """Remember the Reflex app, whose Socket.IO server knows each connection's scope, and the
    folder of its prerendered pages."""
    global _app, _pages  # noqa: PLW0603 - one app per process
    _app = app
    _pages = pages
    _is_prerendered_folder.cache_clear()


def socket_cookie(sid: str) -> str | None:
    """The ``Cookie`` header the websocket ``sid`` was opened with (None: not connected here)."""
    if _app is None or not sid:
        return None
    sio = getattr(_app, "sio", None)
    if sio is None:
        return None
    environ = sio.get_environ(sid, f"/{EVENT_PATH.strip('/')}")
    if not environ:
        return None
    scope = environ.get("asgi.scope") or {}
    value = scope.get(SCOPE_COOKIE)
    return value if isinstance(value, str) else ""


def upload_cookie(client_token: str) -> str | None:
    """The ``Cookie`` header of the upload request in flight for this tab, if any."""
    return _uploads.get(client_token)


def _header(scope: Scope, name: bytes) -> str:
    return "; ".join(
        value.decode("latin-1") for key, value in scope.get("headers") or [] if key == name
    )


def _without_cookie(scope: Scope, cookie: str) -> Scope:
    headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"cookie"]
    return {**scope, "headers": headers, SCOPE_COOKIE: cookie}


async def _json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def browser_cookie_header() -> bytes:
    """A ``Set-Cookie`` value giving this browser a new browser id."""
    settings = get_settings()
    parts = [
        f"{cookies.browser_cookie_name(settings)}={cookies.new_browser_id()}",
        "Path=/",
        f"Max-Age={cookies.BROWSER_MAX_AGE}",
        "HttpOnly",
        "SameSite=Lax",
    ]
    if settings.secure_cookies:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


@lru_cache(maxsize=512)
def _is_prerendered_folder(path: str) -> bool:
    parts = path.strip("/").split("/")
    if _pages is None or any(part in ("", ".", "..") or "." in part for part in parts):
        return False
    return (_pages.joinpath(*parts) / "index.html").is_file()


def _page_scope(scope: Scope) -> Scope:
    """``scope`` for "/x/index.html" when "/x" (no trailing slash) is a prerendered page."""
    path = scope.get("path", "")
    if path.endswith("/") or not _is_prerendered_folder(path):
        return scope
    raw = scope.get("raw_path")
    return {**scope, "path": path + "/", "raw_path": raw + b"/" if raw else raw}


# The built frontend's scripts and styles: their names carry a hash of their content, so a
# browser may keep them for a year and never ask again (a new build has new names).
ASSETS_PATH = "/assets/"
IMMUTABLE = b"public, max-age=31536000, immutable"


def _cached_for_good(send: Send) -> Send:
    async def send_cached(message: Message) -> None:
        if message["type"] == "http.response.start" and message.get("status") == 200:
            headers = [
                (k, v) for k, v in message.get("headers") or [] if k.lower() != b"cache-control"
            ]
            message = {**message, "headers": [*headers, (b"cache-control", IMMUTABLE)]}
        await send(message)

    return send_cached


class Edge:
    """Wraps the whole backend (our routes and Reflex's)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        cookie = _header(scope, b"cookie")
        if path.startswith(EVENT_PATH):
            await self.app(_without_cookie(scope, cookie), receive, send)
        elif path.rstrip("/") == UPLOAD_PATH and scope.get("method") == "POST":
            await self._upload(_without_cookie(scope, cookie), receive, send, cookie)
        elif scope["type"] == "http" and path == WEBHOOK_PATH and scope.get("method") == "POST":
            await stripe_webhook.serve(scope, receive, send)  # public, signed: no cookie
        elif scope["type"] == "http" and path.startswith(ASSETS_PATH):
            await self.app(scope, receive, _cached_for_good(send))
        elif scope["type"] == "http" and scope.get("method") == "GET":
            await self._page(_page_scope(scope), receive, send, cookie)
        else:
            await self.app(scope, receive, send)

    async def _upload(self, scope: Scope, receive: Receive, send: Send, cookie: str) -> None:
        token = _header(scope, TOKEN_HEADER)
        if not token:
            await _json(send, 400, "Missing reflex-client-token header.")
            return
        if token in _uploads:
            await _json(send, 409, "Another upload from this page is still running.")
            return
        _uploads[token] = cookie
        try:
            await self.app(scope, receive, send)
        finally:
            _uploads.pop(token, None)

    async def _page(self, scope: Scope, receive: Receive, send: Send, cookie: str) -> None:
        if cookies.browser_cookie_name() in cookies.parse_cookie_header(cookie):
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                is_html = any(
                    k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers
                )
                if is_html and message.get("status") == 200:
                    headers.append((b"set-cookie", browser_cookie_header()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
