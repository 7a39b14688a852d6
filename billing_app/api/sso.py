"""Staff single sign-on routes (services/access/sso.py): ``start`` sends the browser to the
agency's provider; ``callback`` checks its answer and ends in the same hand-off as the
password sign-in (/api/auth/handoff with our own one-time ticket, bound to this browser), in
our second-factor step, or on a page that says in plain words why nobody was signed in.

Plain functions: Starlette runs them in its thread pool, so waiting for the provider never
blocks the event loop. Nothing here logs a token, a code or a secret."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from billing_app.api.cookies import browser_cookie_name
from billing_app.api.responses import client_ip, no_store
from billing_app.db.engine import session_scope
from billing_app.services.access import sso
from billing_app.settings import get_settings

log = logging.getLogger(__name__)

ERROR_PAGE = "/login/sso-error"


def _safe_next(raw: str | None) -> str:
    """A relative path or an absolute URL on one of our own origins, else "/"."""
    if not raw or "\\" in raw:
        return "/"
    if raw.startswith("/") and not raw.startswith("//"):
        return raw
    parts = urlsplit(raw)
    origin = f"{parts.scheme}://{parts.netloc}"
    if parts.scheme in ("http", "https") and origin in get_settings().allowed_origins:
        return raw
    return "/"


def _go(url: str) -> Response:
    return no_store(RedirectResponse(url, status_code=303))


def _refused(reason: str) -> Response:
    return _go(f"{ERROR_PAGE}?reason={quote(reason)}")


def start(request: Request) -> Response:
    """Begin a sign-in at the provider, from a browser that has its browser cookie."""
    settings = get_settings()
    next_path = _safe_next(request.query_params.get("next"))
    browser = request.cookies.get(browser_cookie_name(settings), "")
    if not browser:
        if request.query_params.get("checked"):
            return _refused("cookies")
        back = f"/api/auth/sso/start?checked=1&next={quote(next_path)}"
        return _go(f"/api/auth/browser?next={quote(back)}")
    try:
        with session_scope() as session:
            url = sso.start(session, browser=browser, next_path=next_path, settings=settings)
    except sso.SsoRefused as exc:
        log.warning("single sign-on could not start: %s", exc.reason)
        return _refused(exc.reason)
    except Exception as exc:  # noqa: BLE001 - a clear page, never a stack trace (nor a token)
        log.error("single sign-on could not start: %s", type(exc).__name__)
        return _refused("provider_down")
    return _go(url)


def callback(request: Request) -> Response:
    """The provider sends the browser back here with ``code`` and ``state`` (or ``error``)."""
    settings = get_settings()
    params = request.query_params
    try:
        with session_scope() as session:
            outcome = sso.complete(
                session,
                state=params.get("state", "")[:200],
                code=params.get("code", "")[:2000],
                error=params.get("error", "")[:100],
                browser=request.cookies.get(browser_cookie_name(settings), ""),
                ip=client_ip(request),
                settings=settings,
            )
    except Exception as exc:  # noqa: BLE001 - a clear page, never a stack trace (nor a token)
        log.error("single sign-on callback failed: %s", type(exc).__name__)
        return _refused("provider_error")
    if outcome.reason:
        log.info("single sign-on refused: %s", outcome.reason)
        return _refused(outcome.reason)
    next_path = quote(_safe_next(outcome.next_path))
    if outcome.mfa_ticket_id is not None:
        return _go(f"/login?sso_mfa={outcome.mfa_ticket_id}&next={next_path}")
    assert outcome.ticket is not None
    return _go(f"/api/auth/handoff?ticket={quote(outcome.ticket)}&next={next_path}")
