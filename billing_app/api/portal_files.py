"""Files of the client portal: a brand's logo (public: it is on the sign-in page and in every
email; also the site's /favicon.ico, which browsers ask for by themselves) and an invoice's
PDF for the client user whose portal cookie the request carries (404 for anyone else, the same
as for an id that does not exist; docs/security.md item 45).

Plain functions: Starlette runs them, rendering included, in its thread pool (item 35)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response

from billing_app.adapters import storage
from billing_app.api.cookies import portal_credentials
from billing_app.api.responses import client_ip, pdf_response
from billing_app.db.engine import session_scope
from billing_app.db.invoicing import Brand
from billing_app.domain.numbers import parse_id
from billing_app.services.access import portal_preview
from billing_app.services.agency import portal_brand
from billing_app.services.common.errors import NotAllowed, NotFound
from billing_app.services.credit_notes import queries as credit_queries
from billing_app.services.invoicing import portal_invoices

log = logging.getLogger(__name__)

_NO_STORE = {"Cache-Control": "no-store"}


def _not_found() -> Response:
    return Response("Not found", status_code=404, headers=_NO_STORE)


def portal_logo(request: Request) -> Response:
    """The logo a brand uses now, by its storage key (random: it names no brand by id)."""
    key = str(request.path_params.get("logo_key", ""))[:100]
    path = storage.path_of(key, "brand-logos") if key else None
    if path is None:
        return _not_found()
    with session_scope() as session:
        in_use = session.exec(select(Brand.id).where(col(Brand.logo_key) == key)).first()
    if in_use is None:
        return _not_found()
    return _logo(key)


def _host_look(request: Request) -> portal_brand.BrandLook:
    """The look of the brand of the request's host (else the default brand's)."""
    with session_scope() as session:
        return portal_brand.portal_look(session, netloc=request.headers.get("host", ""))


def _host_logo_key(request: Request) -> str:
    """The logo key of the brand of the request's host (else the default brand's), or ""."""
    key = _host_look(request).logo_key
    return key if key and storage.path_of(key, "brand-logos") is not None else ""


def favicon(request: Request) -> Response:
    """/favicon.ico: the logo of the brand of the page's host (else the default brand's), as
    a portal page shows it, never a logo of ours; nothing (204) when that brand has none, so
    the browser logs no failed request on any page."""
    key = _host_logo_key(request)
    if not key:
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=3600"})
    return _logo(key)


# A 1x1 transparent PNG: what a sign-in page's logo slot shows for a brand without a logo,
# until the page's script puts the brand's name there.
_NO_LOGO = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63606060600000000500017aa857500000000049454e44ae426082"
)


def host_logo(request: Request) -> Response:
    """The logo of the brand of the page's host (else the default brand's): the address is
    the same for every brand, so a prerendered sign-in page shows the right logo in its
    first paint, before its script knows the brand. Revalidated on every use (the brand may
    change its logo; the answer is a 304 while it has not)."""
    key = _host_logo_key(request)
    if not key:
        return _revalidated(request, '"none"', lambda: _NO_LOGO, "image/png")
    path = storage.path_of(key, "brand-logos")
    assert path is not None
    return _revalidated(request, f'"{key}"', path.read_bytes, storage.content_type(key))


def host_theme(request: Request) -> Response:
    """The accent scale of the brand of the page's host (else the default brand's) as CSS: a
    prerendered sign-in page paints in the brand's colours before its script knows the brand.
    Revalidated on every use."""
    css = portal_brand.theme_css(_host_look(request))
    etag = '"' + hashlib.sha256(css.encode()).hexdigest()[:32] + '"'
    return _revalidated(request, etag, css.encode, "text/css")


_FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


def _revalidated(
    request: Request, etag: str, body: Callable[[], bytes], media_type: str
) -> Response:
    """A file of the host's brand the browser checks again on every use: 304 (the body not
    read) while ``etag`` still names it."""
    headers = {"Cache-Control": "no-cache", "ETag": etag, "Vary": "Host", **_FILE_HEADERS}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body(), media_type=media_type, headers=headers)


def _logo(key: str) -> Response:
    path = storage.path_of(key, "brand-logos")
    assert path is not None
    return Response(
        path.read_bytes(),
        media_type=storage.content_type(key),
        headers={"Cache-Control": "public, max-age=3600", **_FILE_HEADERS},
    )


def _client_user(session: Any, request: Request) -> Any:
    """The client user of the request's portal session (or a staff preview), else None."""
    return portal_preview.resolve_client_user(
        session, portal_credentials(request.cookies), ip=client_ip(request)
    )


def portal_invoice_pdf(request: Request) -> Response:
    """One of the signed-in client user's invoices as a PDF (as it stands now; ``?original=1``
    as it was sent). Another client's invoice, a draft, no portal session: 404."""
    invoice_id = parse_id(request.path_params.get("invoice_id"))
    if invoice_id is None:
        return _not_found()
    with session_scope() as session:
        user = _client_user(session, request)
        if user is None:
            return _not_found()
        try:
            pdf = portal_invoices.client_invoice_pdf(
                session, user, invoice_id, original=request.query_params.get("original") == "1"
            )
        except (NotFound, NotAllowed):
            return _not_found()
        except Exception:
            log.exception("could not render the PDF of invoice %s for its client", invoice_id)
            return Response("This invoice cannot be shown yet.", status_code=409)
    return pdf_response(pdf.data, pdf.filename)


def portal_credit_note_pdf(request: Request) -> Response:
    """One of the signed-in client user's credit notes as a PDF; another client's, or no
    portal session: 404."""
    note_id = parse_id(request.path_params.get("note_id"))
    if note_id is None:
        return _not_found()
    with session_scope() as session:
        user = _client_user(session, request)
        if user is None:
            return _not_found()
        try:
            pdf = credit_queries.portal_credit_note_pdf(session, user, note_id)
        except (NotFound, NotAllowed):
            return _not_found()
    return pdf_response(pdf.data, pdf.filename)
