"""Stripe's webhooks, received: verify the signature on the raw body, store the event by its
id (unique) and answer. Handling is a job's work (never inside the request), so a slow or
failing handler never makes Stripe deliver again, and the same event delivered twice, one
after the other or at once, is stored once (docs/security.md items 1-4, 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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

__all__ = ["InvalidWebhook", "Received", "receive_webhook", "receive_webhooks"]


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
    [answer] = receive_webhooks(session, [(body, signature)], clock=clock, settings=settings)
    if isinstance(answer, InvalidWebhook):
        raise answer
    return answer


def receive_webhooks(
    session: Session,
    deliveries: list[tuple[bytes, str | None]],
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> list[Received | InvalidWebhook]:
    """``receive_webhook`` for several deliveries in one transaction (a burst's group
    commit): each answered on its own (a refused one writes nothing), the secrets read once,
    the new events stored by one statement and the second deliveries counted by one each.
    The caller commits."""
    now = clock.now()
    secrets = webhook_secrets(session, settings=settings)
    verified: list[WebhookEvent | InvalidWebhook] = []
    for body, signature in deliveries:
        try:
            verified.append(verify_webhook(body, signature, secrets, now=now.timestamp()))
        except InvalidWebhook as exc:
            verified.append(exc)
    first: dict[str, WebhookEvent] = {}
    for item in verified:
        if isinstance(item, WebhookEvent):
            first.setdefault(item.id, item)
    new = _insert_new(session, list(first.values()), now)
    if new:
        wake(session, WAKE_STRIPE_EVENTS)  # the job handles them once this is committed
    answers: list[Received | InvalidWebhook] = []
    seen: set[str] = set()
    again: dict[str, int] = {}
    for item in verified:
        if isinstance(item, InvalidWebhook):
            answers.append(item)
            continue
        is_new = item.id in new and item.id not in seen
        seen.add(item.id)
        if not is_new:  # stored by an earlier delivery (or one a moment ago): only counted
            again[item.id] = again.get(item.id, 0) + 1
        answers.append(Received(item.id, item.type, duplicate=not is_new))
    table = StripeEvent.__table__  # type: ignore[attr-defined]
    for event_id, count in again.items():
        session.execute(
            sa.update(table)
            .where(table.c.event_id == event_id)
            .values(deliveries=table.c.deliveries + count)
        )
    return answers


def _insert_new(session: Session, events: list[WebhookEvent], now: datetime) -> set[str]:
    """Store the events not stored yet, in one statement; the ids it stored."""
    if not events:
        return set()
    table = StripeEvent.__table__  # type: ignore[attr-defined]
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgres_insert
    rows = [
        {
            "event_id": event.id,
            "type": event.type,
            "livemode": event.livemode,
            "object_id": event.object_id[:255],
            "created": event.created,
            "payload": event.payload,
            "received_at": now,
            "deliveries": 1,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
        }
        for event in events
    ]
    stored = session.execute(
        insert(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.event_id)
    )
    return {str(event_id) for event_id in stored.scalars()}
