"""POST /api/stripe/webhook: Stripe's events. Public (Stripe calls it), so its only key is the
signature: 400 and nothing written for a body Stripe did not sign with the agency's signing
secret, or signed too long ago; 200 once the event is stored (a second delivery of a stored
event too); 500 only when it could not be stored, so Stripe delivers it again
(docs/security.md items 1-4, 6). The events are handled by a job, never here."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from billing_app.adapters.stripe_gateway import MAX_WEBHOOK_BYTES
from billing_app.db.engine import session_scope
from billing_app.services.card_payments.webhooks import InvalidWebhook, Received, receive_webhook

log = logging.getLogger(__name__)

_REFUSED = {"error": "This is not a valid Stripe event for this account."}


def _store(body: bytes, signature: str | None) -> Received:
    with session_scope() as session:
        return receive_webhook(session, body, signature)


async def stripe_webhook(request: Request) -> Response:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        return JSONResponse(_REFUSED, status_code=400)
    body = bytearray()
    async for chunk in request.stream():  # a chunked body declares no length: count it
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            return JSONResponse(_REFUSED, status_code=400)
    try:
        received = await asyncio.to_thread(
            _store, bytes(body), request.headers.get("stripe-signature")
        )
    except InvalidWebhook as exc:
        log.warning("refused a Stripe webhook: %s", exc.reason)
        return JSONResponse(_REFUSED, status_code=400)
    return JSONResponse(
        {"received": True, "duplicate": received.duplicate},
        headers={"Cache-Control": "no-store"},
    )


async def serve(scope: Any, receive: Any, send: Any) -> None:
    """The route as a bare ASGI app, for the edge to call before Reflex's middlewares (a
    burst of Stripe's events costs a quarter less without them); a failure to store is a 500,
    so Stripe delivers again."""
    try:
        response = await stripe_webhook(Request(scope, receive))
    except Exception:
        log.exception("a Stripe webhook could not be stored")
        response = JSONResponse({"error": "Not stored; deliver it again."}, status_code=500)
    await response(scope, receive, send)
