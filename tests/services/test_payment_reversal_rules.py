"""Payments, refunds and reversals as the accountant reads them back (services/invoicing/
payments.py, reversals.py): what the client owes across all its invoices after a reversal,
what the reversal entry records (the payment's reference, who, when), the exact reason each
refused reversal gives, which payments the page still offers to reverse, and dates written
in the invoice's language."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from billing_app.db.customers import Client
from billing_app.db.invoicing import InvoiceEvent, InvoicePayment
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed
from billing_app.services.invoicing import payments, reversals
from billing_app.services.invoicing import settlement as settlement_service
from billing_app.services.invoicing import timeline as invoice_timeline
from billing_app.services.invoicing.payments import PaymentForm

from .test_invoice_notices import audit_of
from .test_invoice_payment_rules import hundred_euro_invoice, invoice_of, pay, refund, refused
from .test_invoicing import world

__all__ = ["world"]


def outstanding(session: Session, w: dict[str, Any]) -> int:
    client = session.get(Client, w["client"].id)
    assert client is not None
    session.refresh(client)
    return client.outstanding_minor


def reverse(
    session: Session, w: dict[str, Any], payment_id: int, reason: str, clock: FixedClock
) -> int:
    reversal_id = reversals.reverse_payment(session, w["actor"], payment_id, reason, clock=clock)
    session.commit()
    return reversal_id


def in_german(session: Session, w: dict[str, Any]) -> None:
    """The world's client reads German: its next invoices are written in German."""
    client = session.get(Client, w["client"].id)
    assert client is not None
    client.locale = "de"
    session.add(client)
    session.commit()


def test_a_reversal_adds_back_only_what_it_takes_back_to_what_the_client_owes(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    other = hundred_euro_invoice(session, world, clock)
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, other, "10", clock)
    payment_id = pay(session, world, invoice_id, "30", clock)
    assert outstanding(session, world) == 90_00 + 70_00
    reverse(session, world, payment_id, "Wrong invoice", clock)
    assert outstanding(session, world) == 90_00 + 100_00
    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, settlement_service.outstanding_minor(invoice)) == ("open", 100_00)


def test_the_reversal_entry_keeps_the_payment_s_reference_and_says_who_and_when(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    payment_id = pay(session, world, invoice_id, "100", clock, reference="TX-4411")
    clock.advance(days=3, hours=2)
    reversal_id = reverse(session, world, payment_id, "Cheque bounced", clock)
    reversal = session.get(InvoicePayment, reversal_id)
    assert reversal is not None
    assert (reversal.reference, reversal.recorded_by_id, reversal.created_at) == (
        "TX-4411",
        world["actor"].id,
        clock.now(),
    )
    entry = invoice_timeline.timeline(session, invoice_id)[-1]
    assert (entry.kind, entry.actor_label, entry.at) == (
        "reversal",
        world["actor"].email,
        clock.now(),
    )
    (logged,) = audit_of(session, "payment.reversed")
    assert (logged.target, logged.at) == (invoice_of(session, invoice_id).number, clock.now())
    assert logged.details == "€100.00 bank_transfer of 2026-03-14: Cheque bounced"


def test_a_reversal_made_by_the_system_names_no_staff_member(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    """A job (a bank import that sees a cheque bounce) reverses as the system."""
    invoice_id = hundred_euro_invoice(session, world, clock)
    payment_id = pay(session, world, invoice_id, "100", clock)
    reversal_id = reversals.reverse_payment(session, SYSTEM, payment_id, "Bounced", clock=clock)
    session.commit()
    reversal = session.get(InvoicePayment, reversal_id)
    assert reversal is not None and reversal.recorded_by_id is None
    entry = invoice_timeline.timeline(session, invoice_id)[-1]
    assert (entry.kind, entry.actor_label) == ("reversal", "system")
    assert invoice_of(session, invoice_id).status == "open"


def test_only_a_payment_is_reversed_and_anything_else_is_not_found(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "100", clock)
    refund_id = refund(session, world, invoice_id, "10", clock)
    for unknown in (999_999, refund_id):
        with pytest.raises(NotFound) as caught:
            reversals.reverse_payment(session, world["actor"], unknown, "Mistake", clock=clock)
        assert caught.value.message == "That payment does not exist."
        refused(session)


def test_a_card_payment_is_refunded_not_reversed(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    """A payment the card processor recorded (not one of the offline methods) goes back
    through the processor as a refund."""
    invoice_id = hundred_euro_invoice(session, world, clock)
    payment_id = pay(session, world, invoice_id, "100", clock)
    card = session.get(InvoicePayment, payment_id)
    assert card is not None
    card.method = "card"
    session.add(card)
    session.commit()
    assert not reversals.can_reverse(session, card, "paid")
    with pytest.raises(Conflict) as caught:
        reverse(session, world, payment_id, "Disputed", clock)
    assert caught.value.message == "Card payments are refunded, not reversed."
    refused(session)
    assert invoice_of(session, invoice_id).status == "paid"


@pytest.mark.parametrize("amount", ["20", "100"])
def test_after_a_refund_the_payments_stay_as_they_are_and_the_message_says_why(
    session: Session, world: dict[str, Any], clock: FixedClock, amount: str
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    payment_id = pay(session, world, invoice_id, "100", clock)
    refund(session, world, invoice_id, amount, clock)
    with pytest.raises(Conflict) as caught:
        reverse(session, world, payment_id, "Mistake", clock)
    assert caught.value.message == (
        "Money was refunded on this invoice, so its payments can no longer be reversed."
    )


def test_a_payment_on_an_invoice_written_off_is_not_reversed(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    payment_id = pay(session, world, invoice_id, "30", clock)
    invoice = invoice_of(session, invoice_id)
    invoice.status = "uncollectible"
    session.add(invoice)
    session.commit()
    with pytest.raises(Conflict) as caught:
        reverse(session, world, payment_id, "Mistake", clock)
    assert caught.value.message == (
        "A payment on an invoice that is uncollectible cannot be reversed."
    )


def test_a_reversed_payment_is_no_longer_offered_for_reversal(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    first = pay(session, world, invoice_id, "60", clock)
    second = pay(session, world, invoice_id, "40", clock)
    reverse(session, world, first, "Cheque bounced", clock)
    status = invoice_of(session, invoice_id).status
    assert status == "partially_paid"
    entries = {p.id: p for p in payments.payments_of(session, invoice_id)}
    assert not reversals.can_reverse(session, entries[first], status)
    assert reversals.can_reverse(session, entries[second], status)
    with pytest.raises(Conflict) as caught:
        reverse(session, world, first, "Again", clock)
    assert caught.value.message == "This payment was already reversed."


def test_the_reversal_on_the_timeline_gives_the_day_in_the_invoice_s_language(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    in_german(session, world)
    invoice_id = hundred_euro_invoice(session, world, clock)
    payment_id = pay(session, world, invoice_id, "100", clock, received_on=date(2026, 3, 2))
    reverse(session, world, payment_id, "Falsche Rechnung", clock)
    entry: InvoiceEvent = invoice_timeline.timeline(session, invoice_id)[-1]
    assert entry.message.startswith("Payment of 100,00\xa0€ received 2. März 2026 reversed:")


def test_a_future_date_is_refused_with_today_in_the_invoice_s_language(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    in_german(session, world)
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "50", clock)
    for record in (payments.record_payment, payments.record_refund):
        form = PaymentForm("1", "cash", date(2026, 3, 15))
        with pytest.raises(ValidationFailed) as caught:
            record(session, world["actor"], invoice_id, form, clock=clock)
        assert caught.value.errors == {
            "received_on": "The date cannot be in the future: enter today (14. März 2026) or "
            "an earlier day."
        }
        refused(session)
