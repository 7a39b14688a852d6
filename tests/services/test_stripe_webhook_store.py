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


def test_a_second_delivery_is_a_duplicate_that_counts_itself_and_changes_nothing_else(
    session: Session, signing: Settings
) -> None:
    body, header = _delivery("evt_again")
    first = webhooks.receive_webhook(session, body, header)
    session.commit()
    assert not first.duplicate
    stored = session.exec(select(StripeEvent)).one()
    stored.state = "handled"
    session.add(stored)
    session.commit()
    second = webhooks.receive_webhook(session, body, header)
    session.commit()
    assert second.duplicate
    session.expire_all()
    (row,) = session.exec(select(StripeEvent)).all()
    assert (row.deliveries, row.state) == (2, "handled")  # not handled again


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


def test_a_burst_is_stored_in_one_transaction_each_delivery_answered_on_its_own(
    session: Session, signing: Settings
) -> None:
    """The webhook's group commit: new events stored once, the same event twice in the burst
    counted as two deliveries, one stored before counted again, a forged one refused alone."""
    before, header_before = _delivery("evt_before")
    webhooks.receive_webhook(session, before, header_before)
    session.commit()
    one, header_one = _delivery("evt_one")
    two, header_two = _delivery("evt_two")
    forged = json.dumps({"id": "evt_forged", "type": "charge.refunded"}).encode()
    answers = webhooks.receive_webhooks(
        session,
        [
            (one, header_one),
            (before, header_before),
            (forged, header_one),
            (one, header_one),
            (two, header_two),
        ],
    )
    session.commit()
    assert [getattr(a, "duplicate", "refused") for a in answers] == [
        False,
        True,
        "refused",
        True,
        False,
    ]
    assert isinstance(answers[2], webhooks.InvalidWebhook)
    session.expire_all()
    counts = {e.event_id: e.deliveries for e in session.exec(select(StripeEvent)).all()}
    assert counts == {"evt_before": 2, "evt_one": 2, "evt_two": 1}
