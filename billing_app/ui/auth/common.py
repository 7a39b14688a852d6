"""What the public sign-in pages share: the hand-off to the session cookie and the browser cookie
tickets are bound to."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import reflex as rx

from billing_app.ui import routes
from billing_app.ui.routes import backend_path, frontend_url, hard_redirect
from billing_app.ui.session.staff import current_caller

COOKIES_NEEDED = (
    "Your browser did not keep the cookie this page needs to sign you in. "
    "Allow cookies for this site, then reload the page."
)


def handoff_url(ticket: str, next_path: str = "/") -> str:
    """Where the browser exchanges its login ticket for the session cookie.

    Single-port (``make run``) serves our routes on the page's own origin; in ``make dev`` the
    backend listens on its own port."""
    return backend_path(routes.handoff(ticket, frontend_url(next_path)))


def safe_next(raw: str) -> str:
    if not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    return raw


def _without_cookie_check(state: Any) -> str:
    """The page's own path and query, minus the marker of a cookie round trip."""
    params = {k: v for k, v in state.router.url.query_parameters.items() if k != "browser_checked"}
    query = "&".join(f"{quote(k)}={quote(str(v))}" for k, v in params.items())
    return state._path() + (f"?{query}" if query else "")


def ensure_browser_cookie(state: Any, browser_id: str | None = None) -> tuple[Any, str]:
    """(redirect, error): a page that will sign someone in needs the browser cookie that
    tickets are bound to (``browser_id``: the caller's, the staff caller's when not given).
    Pages we serve set it; otherwise one round trip through the cookie route sets it, and a
    browser that still has none is told why sign-in cannot work. Staff and portal pages alike."""
    if browser_id is None:
        browser_id = current_caller().browser_id
    if browser_id:
        return None, ""
    if state.router.url.query_parameters.get("browser_checked"):
        return None, COOKIES_NEEDED
    back = _without_cookie_check(state)
    back += ("&" if "?" in back else "?") + "browser_checked=1"
    return hard_redirect(backend_path(routes.browser_cookie(frontend_url(back)))), ""


PASSWORD_HINT = "At least 8 characters. Long passphrases are welcome."


def invalid_link(message: rx.Var[str]) -> rx.Component:
    return rx.vstack(
        rx.callout(
            message, icon="triangle-alert", color_scheme="red", id="token-invalid", width="100%"
        ),
        rx.link("Back to sign in", href=routes.LOGIN, size="2"),
        width="100%",
    )
