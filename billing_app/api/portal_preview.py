"""Open and leave a staff member's read-only preview of a client's portal (docs/security.md
item 52): from the client's page, in a new tab; the preview cookie says which client, the staff
session cookie (checked on every portal event) is the authority.

Opening needs a navigation from our own pages: a link on another site (``Sec-Fetch-Site``
cross-site or same-site) cannot put a staff member's browser into a preview."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from billing_app.api.cookies import PREVIEW_MAX_AGE, preview_cookie_name, session_cookie_name
from billing_app.api.responses import client_ip, no_store
from billing_app.db.engine import session_scope
from billing_app.domain.numbers import parse_id
from billing_app.services.access import auth, portal_preview
from billing_app.services.common.errors import NotAllowed, NotFound
from billing_app.settings import get_settings

PORTAL_HOME = "/portal"


def _client_page(client_id: int | None) -> str:
    return f"/clients/{client_id}" if client_id is not None else "/clients"


def open_preview(request: Request) -> Response:
    """``?client=ID``: check the staff member, audit, set the preview cookie, open the portal."""
    client_id = parse_id(request.query_params.get("client"))
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return no_store(RedirectResponse(_client_page(client_id), status_code=303))
    with session_scope() as session:
        staff = auth.resolve_session(
            session, request.cookies.get(session_cookie_name()), ip=client_ip(request)
        )
        if staff is None:
            return no_store(RedirectResponse("/login", status_code=303))
        try:
            opened = portal_preview.open_preview(session, staff, client_id or 0)
        except (NotAllowed, NotFound):
            return no_store(Response("Not found", status_code=404))
    settings = get_settings()
    response = RedirectResponse(PORTAL_HOME, status_code=303)
    response.set_cookie(
        preview_cookie_name(settings),
        str(opened),
        max_age=PREVIEW_MAX_AGE,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
    )
    return no_store(response)


def leave_preview(request: Request) -> Response:
    """Clear the preview cookie and go back to the client's page."""
    client_id = parse_id(request.cookies.get(preview_cookie_name()))
    response = RedirectResponse(_client_page(client_id), status_code=303)
    response.delete_cookie(
        preview_cookie_name(),
        path="/",
        secure=get_settings().secure_cookies,
        httponly=True,
        samesite="lax",
    )
    return no_store(response)
