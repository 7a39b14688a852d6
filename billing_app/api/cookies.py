"""Our cookies, all HttpOnly, SameSite=Lax, path /, set only by our backend routes:

- the session cookie: a random token whose SHA-256 is an ``auth_session`` row (staff);
- the portal cookie: the same for a ``portal_session`` row (client users). Each realm reads
  only its own cookie, against its own table (docs/security.md item 45);
- the browser cookie: a random value that binds sign-in tickets to the browser that asked for
  them (no login CSRF, docs/security.md item 38). It carries no authority by itself.

Over https they take the ``__Host-`` prefix (Secure, no Domain, path /), so a sibling domain
or a plain-http page can never set or shadow them.
"""

from __future__ import annotations

from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie

from billing_app.services.access.portal_preview import PortalCredentials
from billing_app.services.access.realms import PORTAL, STAFF
from billing_app.services.common.tokens import new_token
from billing_app.settings import Settings, get_settings

SESSION_NAME = STAFF.cookie
PORTAL_NAME = PORTAL.cookie
BROWSER_NAME = "billing_browser"
# Which client a staff member's read-only portal preview shows (services/access/
# portal_preview.py): no authority by itself, the staff session cookie is checked on every event.
PREVIEW_NAME = "billing_preview"
PREVIEW_MAX_AGE = 3600
BROWSER_MAX_AGE = 400 * 24 * 3600  # as long as browsers keep a cookie


def _named(name: str, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return f"__Host-{name}" if settings.secure_cookies else name


def session_cookie_name(settings: Settings | None = None) -> str:
    return _named(SESSION_NAME, settings)


def portal_cookie_name(settings: Settings | None = None) -> str:
    return _named(PORTAL_NAME, settings)


def preview_cookie_name(settings: Settings | None = None) -> str:
    return _named(PREVIEW_NAME, settings)


def browser_cookie_name(settings: Settings | None = None) -> str:
    return _named(BROWSER_NAME, settings)


def portal_credentials(cookies: Mapping[str, str]) -> PortalCredentials:
    """What tells who a portal request is (``portal_preview.resolve_client_user``): the portal
    cookie, and for a staff member's preview the preview cookie and the staff session cookie."""
    return PortalCredentials(
        portal_token=cookies.get(portal_cookie_name()),
        staff_token=cookies.get(session_cookie_name()),
        preview=cookies.get(preview_cookie_name()),
    )


def parse_cookie_header(header: str) -> dict[str, str]:
    """The cookies of a ``Cookie`` request header (an empty dict when it is malformed)."""
    if not header:
        return {}
    try:
        jar: SimpleCookie = SimpleCookie(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def new_browser_id() -> str:
    return new_token()
