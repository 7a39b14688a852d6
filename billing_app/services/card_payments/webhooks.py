"""Stripe's webhooks, received: verify the signature on the raw body, store the event by its
id (unique) and answer. Handling is a job's work (never inside the request), so a slow or
failing handler never makes Stripe deliver again, and the same event delivered twice, one
after the other or at once, is stored once (docs/security.md items 1-4, 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from billing_app.adapters.stripe_gateway import InvalidWebhook, WebhookEvent, verify_webhook
from billing_app.db.card_payments import StripeEvent
from billing_app.services.card_payments.events import WAKE_STRIPE_EVENTS
from billing_app.services.card_payments.stripe_settings import webhook_secrets
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.transactions import wake
from billing_app.settings import Settings

__all__ = ["InvalidWebhook", "Received", "receive_webhook"]


@dataclass(frozen=True)
class Received:
    event_id: str
    type: str
    duplicate: bool  # already stored by an earlier delivery


def receive_webhook(
    session: Session,
    body: bytes,
    signature: str | None,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> Received:
    """Store the event Stripe signed (InvalidWebhook when the signature, its age or the body
    is wrong: nothing is written), in one statement that does nothing when the event is
    stored already; a delivery of a stored event, even one stored a moment ago by a concurrent
    delivery, only counts itself. The caller commits."""
    now = clock.now()
    event = verify_webhook(
        body, signature, webhook_secrets(session, settings=settings), now=now.timestamp()
    )
    table = StripeEvent.__table__  # type: ignore[attr-defined]
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgres_insert
    stored = session.execute(
        insert(table)
        .values(
            event_id=event.id,
            type=event.type,
            livemode=event.livemode,
            object_id=event.object_id[:255],
            created=event.created,
            payload=event.payload,
            received_at=now,
            deliveries=1,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            last_error="",
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    if not stored.rowcount:  # type: ignore[attr-defined]
        # Stored by an earlier delivery (or one a moment ago): only counted.
        _count_delivery(session, event)
        return Received(event.id, event.type, duplicate=True)
    wake(session, WAKE_STRIPE_EVENTS)  # the job handles it once this is committed
    return Received(event.id, event.type, duplicate=False)


def _count_delivery(session: Session, event: WebhookEvent) -> bool:
    table = StripeEvent.__table__  # type: ignore[attr-defined]
    done = session.execute(
        sa.update(table)
        .where(table.c.event_id == event.id)
        .values(deliveries=table.c.deliveries + 1)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]
