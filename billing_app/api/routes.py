"""Our own HTTP routes, mounted on Reflex's backend (api_transformer): the auth cookie
hand-off and sign-out of staff and of the client portal, health and private files. Cookies are
HttpOnly so page JavaScript never sees them (api/cookies.py). Each realm's routes read only its
own cookie: a portal cookie opens no staff route and a staff cookie no portal one
(docs/security.md item 45).

Every route is a plain function: Starlette runs it in its thread pool, so database work and
PDF rendering never block the event loop that serves every other user (docs/security.md
item 35)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from billing_app.api import portal_files, portal_preview, sso
from billing_app.api.cookies import (
    BROWSER_MAX_AGE,
    browser_cookie_name,
    new_browser_id,
    portal_cookie_name,
    session_cookie_name,
)
from billing_app.api.responses import client_ip, no_store, pdf_response
from billing_app.db.engine import get_engine, session_scope
from billing_app.domain.numbers import parse_id
from billing_app.services.access import auth, portal_auth
from billing_app.services.access.identity import CurrentUser
from billing_app.services.access.realms import PORTAL, STAFF
from billing_app.settings import get_settings

log = logging.getLogger(__name__)


def _safe_next(raw: str | None, default: str = "/") -> str:
    """A relative path, or an absolute URL on one of our own origins (``make dev`` serves the
    pages on another port than these routes): never an open redirect."""
    if not raw or "\\" in raw:
        return default
    if raw.startswith("/") and not raw.startswith("//"):
        return raw
    parts = urlsplit(raw)
    origin = f"{parts.scheme}://{parts.netloc}"
    if parts.scheme in ("http", "https") and origin in get_settings().allowed_origins:
        return raw
    return default


PORTAL_HOME = "/portal"


def _safe_portal_next(raw: str | None, default: str) -> str:
    """``_safe_next``, and a page of the portal: never a staff page, nor a path that leaves
    the portal through dot segments."""
    target = _safe_next(raw, default)
    path = unquote(urlsplit(target).path)
    in_portal = path == PORTAL_HOME or path.startswith(PORTAL_HOME + "/")
    if not in_portal or any(part in (".", "..") for part in path.split("/")):
        return default
    return target


def _hand_off(
    request: Request,
    *,
    redeem: Callable[..., str | None],
    cookie: str,
    lifetime: timedelta,
    next_url: str,
    expired_url: str,
) -> Response:
    """Exchange the request's one-time ticket (``redeem``) for a new session cookie
    ``cookie``, then go to ``next_url`` (``expired_url`` when the ticket is no good).

    The ticket is only honoured from the browser it was issued to (its browser cookie, which
    a top-level navigation carries, also when coming back from an identity provider): a page
    that makes someone else's browser open this URL with the attacker's ticket signs nobody
    in (docs/security.md item 38)."""
    settings = get_settings()
    with session_scope() as session:
        token = redeem(
            session,
            request.query_params.get("ticket", ""),
            browser=request.cookies.get(browser_cookie_name(settings), ""),
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            settings=settings,
        )
    if token is None:
        return no_store(RedirectResponse(expired_url, status_code=303))
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        cookie,
        token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
    )
    return no_store(response)


def handoff(request: Request) -> Response:
    """Exchange a one-time staff login ticket for a new session cookie, then go to the app."""
    settings = get_settings()
    return _hand_off(
        request,
        redeem=auth.redeem_ticket,
        cookie=session_cookie_name(settings),
        lifetime=STAFF.absolute(settings),
        next_url=_safe_next(request.query_params.get("next")),
        expired_url="/login?expired=1",
    )


def portal_handoff(request: Request) -> Response:
    """Exchange a one-time portal ticket for a new portal session cookie, then go to a page of
    the portal (``next``: only a portal path)."""
    settings = get_settings()
    return _hand_off(
        request,
        redeem=portal_auth.redeem_ticket,
        cookie=portal_cookie_name(settings),
        lifetime=PORTAL.absolute(settings),
        next_url=_safe_portal_next(request.query_params.get("next"), PORTAL_HOME),
        expired_url=f"{PORTAL_HOME}/login?expired=1",
    )


def browser_cookie(request: Request) -> Response:
    """Give this browser a browser cookie (when the page it came from was not served by us,
    as in ``make dev``), then go back."""
    settings = get_settings()
    response = RedirectResponse(_safe_next(request.query_params.get("next"), "/login"), 303)
    if browser_cookie_name(settings) not in request.cookies:
        response.set_cookie(
            browser_cookie_name(settings),
            new_browser_id(),
            max_age=BROWSER_MAX_AGE,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="lax",
            path="/",
        )
    return no_store(response)


def _sign_out(
    request: Request, *, logout: Callable[..., None], cookie: str, next_url: str
) -> Response:
    """End the session of cookie ``cookie`` (``logout``), clear the cookie, go to ``next_url``."""
    token = request.cookies.get(cookie)
    if token:
        with session_scope() as session:
            logout(session, token, ip=client_ip(request))
    response = RedirectResponse(next_url, status_code=303)
    response.delete_cookie(
        cookie, path="/", secure=get_settings().secure_cookies, httponly=True, samesite="lax"
    )
    return no_store(response)


def signed_out(request: Request) -> Response:
    """Clear the cookie (the session itself is revoked by the sign-out event or here)."""
    return _sign_out(
        request,
        logout=auth.logout,
        cookie=session_cookie_name(),
        next_url=_safe_next(request.query_params.get("next"), "/login?signed_out=1"),
    )


def portal_signed_out(request: Request) -> Response:
    """Clear the portal cookie (its session is revoked by the sign-out event or here)."""
    return _sign_out(
        request,
        logout=portal_auth.logout,
        cookie=portal_cookie_name(),
        next_url=_safe_portal_next(
            request.query_params.get("next"), f"{PORTAL_HOME}/login?signed_out=1"
        ),
    )


def healthz(_: Request) -> Response:
    try:
        with get_engine().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        log.exception("health check failed")
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok"})


def product_image(request: Request) -> Response:
    """A product's image, for signed-in staff with catalog.read; 404 for anything else."""
    from billing_app.adapters import storage
    from billing_app.db.customers import Product
    from billing_app.domain.permissions import Permission

    not_found = _not_found()
    product_id = _path_int(request, "product_id")
    if product_id is None:
        return not_found
    with session_scope() as session:
        user = _staff(session, request)
        if user is None or not user.can(Permission.CATALOG_READ):
            return not_found
        product = session.get(Product, product_id)
        key = product.image_key if product else ""
    path = storage.path_of(key) if key else None
    if path is None:
        return not_found
    return Response(
        path.read_bytes(),
        media_type=storage.content_type(key),
        headers={
            "Cache-Control": "private, max-age=300",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )


def _staff(session: Session, request: Request) -> CurrentUser | None:
    """The active staff member whose session cookie the request carries."""
    return auth.resolve_session(
        session, request.cookies.get(session_cookie_name()), ip=client_ip(request)
    )


def _staff_with(request: Request, permission: str) -> bool:
    """Whether the request's session cookie belongs to active staff with ``permission``."""
    from billing_app.domain.permissions import Permission

    with session_scope() as session:
        user = _staff(session, request)
    return user is not None and user.can(Permission(permission))


def _path_int(request: Request, name: str) -> int | None:
    """An id from the path; None (so "not found") for anything that is not one, huge ones
    included (docs/security.md item 34)."""
    return parse_id(request.path_params.get(name))


PRIVATE_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
}


def _not_found() -> Response:
    return Response("Not found", status_code=404, headers={"Cache-Control": "no-store"})


def invoice_pdf(request: Request) -> Response:
    """An invoice's PDF for signed-in staff with invoices.read (404 for anyone else, and for an
    id that does not exist: a guessed URL learns nothing). By default the PDF as the invoice
    stands now (paid, partially paid with what is still due, void, refunded); ``?original=1``
    gives the one that was sent, byte for byte from private storage. Drafts are rendered on
    demand. A plain function: Starlette runs it, rendering included, in its thread pool."""
    from billing_app.services.common.errors import NotAllowed, NotFound
    from billing_app.services.invoicing import views as invoice_views

    invoice_id = _path_int(request, "invoice_id")
    if invoice_id is None:
        return _not_found()
    with session_scope() as session:
        user = _staff(session, request)
        if user is None:
            return _not_found()
        try:
            pdf = invoice_views.invoice_pdf(
                session, user, invoice_id, original=request.query_params.get("original") == "1"
            )
        except (NotFound, NotAllowed):
            return _not_found()
        except Exception:
            log.exception("could not render the PDF of invoice %s", invoice_id)
            return Response("This invoice cannot be rendered yet.", status_code=409)
    return pdf_response(pdf.data, pdf.filename, download=bool(request.query_params.get("download")))


def credit_note_pdf(request: Request) -> Response:
    """A credit note's PDF for signed-in staff with invoices.read (404 for anyone else and for
    an id that does not exist)."""
    from billing_app.services.common.errors import NotAllowed, NotFound
    from billing_app.services.credit_notes import queries as credit_queries

    note_id = _path_int(request, "note_id")
    if note_id is None:
        return _not_found()
    with session_scope() as session:
        user = _staff(session, request)
        if user is None:
            return _not_found()
        try:
            pdf = credit_queries.credit_note_pdf(session, user, note_id)
        except (NotFound, NotAllowed):
            return _not_found()
    return pdf_response(pdf.data, pdf.filename, download=bool(request.query_params.get("download")))


def brand_logo(request: Request) -> Response:
    """A brand's logo for staff (the brand pages); 404 for anyone else."""
    from billing_app.adapters import storage
    from billing_app.db.invoicing import Brand

    brand_id = _path_int(request, "brand_id")
    if brand_id is None or not _staff_with(request, "settings.read"):
        return _not_found()
    with session_scope() as session:
        brand = session.get(Brand, brand_id)
        key = brand.logo_key if brand else ""
    path = storage.path_of(key, "brand-logos") if key else None
    if path is None:
        return _not_found()
    return Response(
        path.read_bytes(),
        media_type=storage.content_type(key),
        headers={**PRIVATE_HEADERS, "Cache-Control": "private, max-age=300"},
    )


def brand_sample_pdf(request: Request) -> Response:
    """A sample invoice PDF in a brand's colours and logo (brand page preview)."""
    from billing_app.services.common.errors import NotAllowed, NotFound
    from billing_app.services.invoicing import samples as invoice_samples

    brand_id = _path_int(request, "brand_id")
    if brand_id is None or not _staff_with(request, "settings.read"):
        return _not_found()
    with session_scope() as session:
        user = _staff(session, request)
        if user is None:
            return _not_found()
        try:
            data = invoice_samples.sample_pdf(session, user, brand_id)
        except (NotFound, NotAllowed):
            return _not_found()
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": 'inline; filename="sample.pdf"',
        },
    )


def build_api() -> Starlette:
    return Starlette(
        routes=[
            Route("/api/auth/handoff", handoff, methods=["GET"]),
            Route("/api/auth/signed-out", signed_out, methods=["GET"]),
            Route("/api/auth/browser", browser_cookie, methods=["GET"]),
            Route("/api/auth/sso/start", sso.start, methods=["GET"]),
            Route("/api/auth/sso/callback", sso.callback, methods=["GET"]),
            Route("/api/portal/session", portal_handoff, methods=["GET"]),
            Route("/api/portal/signed-out", portal_signed_out, methods=["GET"]),
            Route("/api/portal/logo/{logo_key}", portal_files.portal_logo, methods=["GET"]),
            Route("/api/portal/brand-logo", portal_files.host_logo, methods=["GET"]),
            Route("/api/portal/brand.css", portal_files.host_theme, methods=["GET"]),
            Route("/api/portal/preview", portal_preview.open_preview, methods=["GET"]),
            Route("/api/portal/preview/exit", portal_preview.leave_preview, methods=["GET"]),
            Route("/favicon.ico", portal_files.favicon, methods=["GET"]),
            Route(
                "/api/portal/invoices/{invoice_id}/pdf",
                portal_files.portal_invoice_pdf,
                methods=["GET"],
            ),
            Route(
                "/api/portal/credit-notes/{note_id}/pdf",
                portal_files.portal_credit_note_pdf,
                methods=["GET"],
            ),
            Route("/api/credit-notes/{note_id}/pdf", credit_note_pdf, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            # /api/stripe/webhook is served by the edge (api/edge.py), before the middlewares.
            Route("/api/catalog/product-image/{product_id}", product_image, methods=["GET"]),
            Route("/api/invoices/{invoice_id}/pdf", invoice_pdf, methods=["GET"]),
            Route("/api/brands/{brand_id}/logo", brand_logo, methods=["GET"]),
            Route("/api/brands/{brand_id}/sample.pdf", brand_sample_pdf, methods=["GET"]),
        ]
    )
