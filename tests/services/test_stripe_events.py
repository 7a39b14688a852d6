"""The job that handles stored Stripe events, against localstripe: our copy of a client's cards
follows Stripe (a card detached or attached at Stripe, a customer deleted), each event is asked
of Stripe as it is now, unknown types are kept as ignored, a failure is retried later and an
event failing again and again ends dead and audited. Running the job twice does nothing more."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
import stripe
from sqlmodel import Session, col, select

from billing_app.db.card_payments import SavedCard, StripeCustomer, StripeEvent
from billing_app.db.models import AuditEvent
from billing_app.services.card_payments import cards, events
from billing_app.services.common.clock import FixedClock
from billing_app.settings import Settings

from .test_portal_invoices import client_user, other_client
from .test_saved_cards import _confirm_in_browser, connected

__all__ = ["connected"]


def store_event(
    session: Session, clock: FixedClock, kind: str, obj: dict[str, object], n: int = 0
) -> int:
    """An event as the webhook stores it (``n``: which delivery, for the same object again)."""
    row = StripeEvent(
        event_id=f"evt_{kind}_{obj.get('id')}_{n}",
        type=kind,
        livemode=False,
        object_id=str(obj.get("id") or ""),
        created=0,
        payload=json.dumps({"id": "evt_x", "type": kind, "data": {"object": obj}}),
        received_at=clock.now(),
        next_attempt_at=clock.now(),
    )
    session.add(row)
    session.commit()
    assert row.id is not None
    return row.id


def _state(session: Session, row_id: int) -> StripeEvent:
    session.expire_all()
    row = session.get(StripeEvent, row_id)
    assert row is not None
    return row


def _saved_card(session: Session, clock: FixedClock, settings: Settings, client_id: int) -> int:
    user = client_user(client_id)
    setup = cards.start_card_setup(session, user, clock=clock, settings=settings)
    session.commit()
    _confirm_in_browser(settings, setup, "pm_card_visa")
    outcome = cards.finish_card_setup(
        session, user, setup.setup_intent_id, clock=clock, settings=settings
    )
    session.commit()
    assert outcome.card is not None
    return outcome.card.id


def _sdk(settings: Settings) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_x", base_addresses={"api": settings.stripe_api_base})


def test_a_card_detached_at_stripe_is_removed_here(
    session: Session, clock: FixedClock, connected: Settings
) -> None:
    client_id = other_client(session, clock).id or 0
    card_id = _saved_card(session, clock, connected, client_id)
    card = session.get(SavedCard, card_id)
    assert card is not None
    _sdk(connected).v1.payment_methods.detach(card.payment_method_id)
    # The event says "attached" (an old delivery arriving late): Stripe's word now counts.
    row_id = store_event(session, clock, "payment_method.attached", {"id": card.payment_method_id})
    engine: sa.Engine = session.get_bind()  # type: ignore[assignment]
    report = events.handle_due_events(engine, clock=clock, settings=connected)
    assert (report.handled, report.failed) == (1, 0)
    assert _state(session, row_id).state == "handled"
    assert cards.saved_cards(session, client_user(client_id)) == []
    again = events.handle_due_events(engine, clock=clock, settings=connected)
    assert (again.handled, again.ignored, again.failed) == (0, 0, 0)


def test_a_card_attached_at_stripe_appears_here_and_a_deleted_customer_takes_its_cards(
    session: Session, clock: FixedClock, connected: Settings
) -> None:
    client_id = other_client(session, clock).id or 0
    _saved_card(session, clock, connected, client_id)
    customer = session.exec(select(StripeCustomer)).one()
    extra = _sdk(connected).v1.payment_methods.attach(
        "pm_card_visa", params={"customer": customer.customer_id}
    )
    store_event(session, clock, "payment_method.attached", {"id": extra.id})
    engine: sa.Engine = session.get_bind()  # type: ignore[assignment]
    events.handle_due_events(engine, clock=clock, settings=connected)
    session.expire_all()
    assert len(cards.saved_cards(session, client_user(client_id))) == 2
    store_event(session, clock, "customer.deleted", {"id": customer.customer_id})
    events.handle_due_events(engine, clock=clock, settings=connected)
    session.expire_all()
    assert cards.saved_cards(session, client_user(client_id)) == []
    assert session.exec(select(StripeCustomer)).all() == []


def test_unknown_types_are_kept_as_ignored(
    session: Session, clock: FixedClock, connected: Settings
) -> None:
    row_id = store_event(session, clock, "balance.available", {"id": "bal_1"})
    engine: sa.Engine = session.get_bind()  # type: ignore[assignment]
    report = events.handle_due_events(engine, clock=clock, settings=connected)
    assert report.ignored == 1
    assert _state(session, row_id).state == "ignored"


def test_a_failure_is_retried_later_then_dead_and_audited(
    session: Session, clock: FixedClock, connected: Settings
) -> None:
    down = connected.model_copy(update={"stripe_api_base": "http://127.0.0.1:9"})
    row_id = store_event(session, clock, "payment_method.updated", {"id": "pm_somewhere"})
    engine: sa.Engine = session.get_bind()  # type: ignore[assignment]
    now = clock.now()
    for attempt in range(1, events.MAX_ATTEMPTS + 1):
        later = FixedClock(now + timedelta(days=attempt))
        report = events.handle_due_events(engine, clock=later, settings=down)
        assert report.failed == 1
        row = _state(session, row_id)
        assert row.attempts == attempt
        if attempt < events.MAX_ATTEMPTS:
            assert row.state == "failed"
            assert row.next_attempt_at is not None and row.next_attempt_at > later.now()
            assert "unavailable" in row.last_error
            # Not due again before its delay is over.
            assert events.handle_due_events(engine, clock=later, settings=down).failed == 0
    assert _state(session, row_id).state == "dead"
    audited = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "stripe.event_failed")
    ).all()
    assert [a.target for a in audited] == [
        "payment_method.updated evt_payment_method.updated_pm_somewhere_0"
    ]


@pytest.mark.parametrize("kind", sorted(events.HANDLERS))
def test_every_handled_type_asks_stripe_and_changes_nothing_for_a_stranger(
    session: Session, clock: FixedClock, connected: Settings, kind: str
) -> None:
    """An object that is no client's of ours: handled (or failed at Stripe), nothing saved."""
    sdk = _sdk(connected)
    stranger = sdk.v1.customers.create(params={"email": "x@stranger.test"})
    pm = sdk.v1.payment_methods.attach("pm_card_visa", params={"customer": stranger.id})
    obj = {"id": stranger.id} if kind == "customer.deleted" else {"id": pm.id}
    if kind == "setup_intent.succeeded":
        obj = {"id": sdk.v1.setup_intents.create(params={"customer": stranger.id}).id}
    store_event(session, clock, kind, obj)
    engine: sa.Engine = session.get_bind()  # type: ignore[assignment]
    events.handle_due_events(engine, clock=clock, settings=connected)
    assert session.exec(select(SavedCard)).all() == []


def test_an_event_left_by_a_worker_that_died_is_handled_once_its_claim_expires(
    session: Session, clock: FixedClock, connected: Settings
) -> None:
    row_id = store_event(session, clock, "balance.available", {"id": "bal_2"})
    engine: sa.Engine = session.get_bind()  # type: ignore[assignment]
    with Session(engine) as worker:
        assert events._claim(worker, row_id, clock)  # then the worker dies
    assert events.handle_due_events(engine, clock=clock, settings=connected).ignored == 0
    later = FixedClock(clock.now() + events.CLAIM_TIMEOUT + timedelta(seconds=1))
    assert events.handle_due_events(engine, clock=later, settings=connected).ignored == 1
    assert _state(session, row_id).state == "ignored"


def test_a_card_saved_while_the_page_was_closed_is_kept_for_its_client(
    session: Session, clock: FixedClock, connected: Settings
) -> None:
    client_id = other_client(session, clock).id or 0
    user = client_user(client_id)
    setup = cards.start_card_setup(session, user, clock=clock, settings=connected)
    session.commit()
    _confirm_in_browser(connected, setup, "pm_card_visa")  # then the tab is closed
    store_event(session, clock, "setup_intent.succeeded", {"id": setup.setup_intent_id})
    engine: sa.Engine = session.get_bind()  # type: ignore[assignment]
    assert events.handle_due_events(engine, clock=clock, settings=connected).handled == 1
    session.expire_all()
    assert [(c.last4, c.is_default) for c in cards.saved_cards(session, user)] == [("4242", True)]
