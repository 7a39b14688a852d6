"""POST /api/stripe/webhook: Stripe's events. Public (Stripe calls it), so its only key is the
signature: 400 and nothing written for a body Stripe did not sign with the agency's signing
secret, or signed too long ago; 200 once the event is stored (a second delivery of a stored
event too); 500 only when it could not be stored, so Stripe delivers it again
(docs/security.md items 1-4, 6). The events are handled by a job, never here."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from billing_app.adapters.stripe_gateway import MAX_WEBHOOK_BYTES
from billing_app.db.engine import session_scope
from billing_app.services.card_payments.webhooks import (
    InvalidWebhook,
    Received,
    receive_webhooks,
)

log = logging.getLogger(__name__)

_REFUSED = {"error": "This is not a valid Stripe event for this account."}


class _GroupCommit:
    """One thread stores the deliveries: each waits in a queue, and the thread takes all that
    are waiting into one transaction (a burst's group commit: one write lock and one commit for
    many events, where each used to take its own). A delivery is answered once the transaction
    holding it committed; when it fails, every delivery in it gets a 500 and Stripe delivers
    them again."""

    MAX_BATCH = 200

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[bytes, str | None, Future[Any]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, body: bytes, signature: str | None) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((body, signature, future))
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="stripe-webhook-writer", daemon=True
                )
                self._thread.start()
        return future

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with session_scope() as session:
                    answers = receive_webhooks(session, [(b, s) for b, s, _ in batch])
            except Exception as exc:  # noqa: BLE001 - each delivery is told, Stripe retries
                for _, _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, _, future), answer in zip(batch, answers, strict=True):
                if isinstance(answer, InvalidWebhook):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)


_writer = _GroupCommit()


async def _store(body: bytes, signature: str | None) -> Received:
    received: Received = await asyncio.wrap_future(_writer.submit(body, signature))
    return received


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
        received = await _store(bytes(body), request.headers.get("stripe-signature"))
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
