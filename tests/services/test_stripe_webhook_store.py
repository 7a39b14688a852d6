"""Storing Stripe's events on both databases: deliveries of one event racing each other store
it once, the loser of the race counting itself as a duplicate."""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa
import stripe
from sqlmodel import Session, select

from billing_app.db.card_payments import PaymentSettings, StripeEvent
from billing_app.services.card_payments import webhooks
from billing_app.services.common.clock import FixedClock
from billing_app.settings import Settings

SECRET = "whsec_store_test_secret_01"


@pytest.fixture
def signing(session: Session, clock: FixedClock, settings: Settings) -> Settings:
    from billing_app.adapters import crypto

    session.add(
        PaymentSettings(
            id=1,
            stripe_publishable_key="pk_test_store0001",
            stripe_secret_key=crypto.encrypt("sk_test_store0001", purpose="stripe-secret"),
            stripe_webhook_secret=crypto.encrypt(SECRET, purpose="stripe-webhook"),
            updated_at=clock.now(),
        )
    )
    session.commit()
    return settings


def _delivery(event_id: str) -> tuple[bytes, str]:
    payload = json.dumps({"id": event_id, "type": "charge.refunded", "data": {"object": {}}})
    return payload.encode(), stripe.WebhookSignature.generate_signature_header(payload, SECRET)


def test_the_loser_of_a_race_is_a_duplicate(
    session: Session, signing: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first look finds nothing (as when both deliveries look at once), the insert then
    collides with the stored row: a duplicate, counted, and the transaction still usable."""
    body, header = _delivery("evt_race")
    first = webhooks.receive_webhook(session, body, header)
    session.commit()
    assert not first.duplicate
    real = webhooks._count_delivery
    calls: list[str] = []

    def first_look_finds_nothing(s: Session, event: object) -> bool:
        calls.append("look")
        return False if len(calls) == 1 else real(s, event)  # type: ignore[arg-type]

    monkeypatch.setattr(webhooks, "_count_delivery", first_look_finds_nothing)
    second = webhooks.receive_webhook(session, body, header)
    session.commit()
    assert second.duplicate
    assert calls == ["look", "look"]  # the insert collided, then the delivery was counted
    (row,) = session.exec(select(StripeEvent)).all()
    assert row.deliveries == 2


def test_concurrent_deliveries_store_one_event(session: Session, signing: Settings) -> None:
    body, header = _delivery("evt_concurrent")
    engine: sa.Engine = session.get_bind()  # type: ignore[assignment]
    answers: list[bool] = []
    start = threading.Barrier(5)

    def deliver() -> None:
        with Session(engine) as own:
            start.wait()
            answers.append(webhooks.receive_webhook(own, body, header).duplicate)
            own.commit()

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == [False, True, True, True, True]
    (row,) = session.exec(select(StripeEvent)).all()
    assert row.deliveries == 5
