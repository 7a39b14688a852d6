"""What needs a person about card payments: a disputed payment flags its invoice, tells staff
on the timeline and emails the agency (once, however often Stripe sends it); an event that
fails every retry emails the agency; the Events page lists the events by state and replays one,
for the owner only."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.card_payments import StripeEvent
from billing_app.db.invoicing import InvoiceEvent, InvoicePayment
from billing_app.db.models import OutboxEmail
from billing_app.domain.permissions import BuiltinRole
from billing_app.services.card_payments import event_log, events
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed, NotFound
from billing_app.services.common.listing import ListRequest

from .test_card_refunds import paid_by_card
from .test_invoice_card_payments import shop
from .test_invoice_notices import as_role, audit_of
from .test_invoice_payment_rules import invoice_of
from .test_invoicing import world
from .test_stripe_events import store_event

__all__ = ["shop", "world"]


def emails(session: Session, kind: str) -> list[OutboxEmail]:
    return list(session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == kind)))


def test_a_disputed_payment_flags_the_invoice_and_emails_the_agency_once(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    payment = session.get(InvoicePayment, paid_by_card(session, clock, shop))
    assert payment is not None
    dispute = {
        "id": "dp_1Fraud",
        "object": "dispute",
        "payment_intent": payment.processor_id,
        "amount": 10000,
        "currency": "eur",
        "reason": "fraudulent",
        "evidence_details": {"due_by": 1774224000},  # 2026-03-23
    }
    for n in range(3):  # Stripe delivers it again; a replay handles it again
        store_event(session, clock, "charge.dispute.created", dispute, n)
    events.handle_due_events(engine, clock=clock, settings=shop["settings"])
    invoice = invoice_of(session, shop["invoice_id"])
    assert invoice.disputed_at == clock.now()
    notes = session.exec(
        select(InvoiceEvent)
        .where(col(InvoiceEvent.invoice_id) == shop["invoice_id"])
        .where(col(InvoiceEvent.kind) == "disputed")
    ).all()
    assert [(e.message, e.internal) for e in notes] == [
        (
            "The client's bank disputes €100.00 (fraudulent, dp_1Fraud). Answer it in Stripe "
            "by March 23, 2026.",
            True,
        )
    ]
    [mail] = emails(session, "payment_disputed")
    assert mail.to_address == "billing@studio-nord.test"
    assert "Café Ünder GmbH" in mail.subject and "€100.00" in mail.body_text
    assert [a.details for a in audit_of(session, "payment.disputed")] == [
        "€100.00 fraudulent dp_1Fraud"
    ]


def test_an_event_failing_every_retry_emails_the_agency(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    row_id = store_event(session, clock, "payment_intent.succeeded", {"id": "pi_does_not_exist"})
    for _ in range(events.MAX_ATTEMPTS):
        events.handle_due_events(engine, clock=clock, settings=shop["settings"])
        clock.advance(hours=12)
    row = session.get(StripeEvent, row_id)
    assert row is not None
    session.refresh(row)
    assert row.state == "dead"
    [mail] = emails(session, "stripe_event_failed")
    assert mail.to_address == "billing@studio-nord.test"
    assert "payment_intent.succeeded" in mail.subject
    assert "/settings/payments/events" in mail.body_text


def test_the_events_page_lists_by_state_and_replays_for_the_owner_only(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    ignored = store_event(session, clock, "invoice.created", {"id": "in_1"})
    broken = store_event(session, clock, "payment_intent.succeeded", {"id": "pi_missing"})
    events.handle_due_events(engine, clock=clock, settings=shop["settings"])
    owner = shop["actor"]

    def listed(state: str, term: str = "") -> list[int]:
        request = ListRequest(filters={"state": state}, search=term)
        return [r.id for r in event_log.list_stripe_events(session, owner, request).rows]

    assert listed("problems") == [broken]
    assert listed("ignored") == [ignored]
    assert listed("all") == [broken, ignored]
    assert listed("all", "pi_miss") == [broken]
    assert event_log.problem_count(session, owner) == 1

    accountant = as_role(shop, BuiltinRole.ACCOUNTANT)
    with pytest.raises(NotAllowed):
        event_log.list_stripe_events(session, accountant, ListRequest())
    with pytest.raises(NotAllowed):
        event_log.replay_event(session, accountant, broken, clock=clock)
    with pytest.raises(NotFound):
        event_log.replay_event(session, owner, 10**9, clock=clock)

    event_log.replay_event(session, owner, ignored, clock=clock)
    session.commit()
    row = session.get(StripeEvent, ignored)
    assert row is not None
    session.refresh(row)
    assert (row.state, row.attempts, row.handled_at) == ("pending", 0, None)
    assert [a.target for a in audit_of(session, "stripe.event_replayed")] == [
        "invoice.created evt_invoice.created_in_1_0"
    ]
    events.handle_due_events(engine, clock=clock, settings=shop["settings"])
    session.refresh(row)
    assert row.state == "ignored"
