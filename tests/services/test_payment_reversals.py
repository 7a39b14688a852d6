"""Reversing an offline payment recorded by mistake (services/invoicing/reversals.py): the
payment stays, a reversal entry dated the day of the correction takes it back with its reason,
the invoice is due again, the client's figures follow, the timeline and audit log say who and
why; a payment is reversed once, never on a refunded invoice, never by someone who may not
record payments; and a refusal writes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import InvoiceEvent, InvoicePayment
from billing_app.domain.permissions import BuiltinRole
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from billing_app.services.invoicing import reversals, views
from billing_app.services.invoicing import settlement as settlement_service

from .test_invoice_notices import as_role, audit_of
from .test_invoice_payment_rules import hundred_euro_invoice, invoice_of, pay, refund
from .test_invoicing import world

__all__ = ["world"]


def entries(session: Session, invoice_id: int) -> list[tuple[str, int, int | None]]:
    rows = session.exec(
        select(InvoicePayment)
        .where(col(InvoicePayment.invoice_id) == invoice_id)
        .order_by(col(InvoicePayment.id))
    ).all()
    return [(r.kind, r.amount_minor, r.reversal_of_id) for r in rows]


def client_of(session: Session, w: dict[str, Any]) -> Client:
    client = session.get(Client, w["client"].id)
    assert client is not None
    session.refresh(client)
    return client


def test_reversing_a_payment_makes_the_invoice_due_again_and_keeps_the_history(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    payment_id = pay(session, world, invoice_id, "100", clock, received_on=date(2026, 3, 2))
    assert invoice_of(session, invoice_id).status == "paid"
    assert client_of(session, world).outstanding_minor == 0
    clock.advance(days=20)

    reversal_id = reversals.reverse_payment(
        session, world["actor"], payment_id, "  Recorded on the   wrong invoice ", clock=clock
    )
    session.commit()

    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, invoice.paid_minor) == ("open", 0)
    assert settlement_service.outstanding_minor(invoice) == 100_00
    assert client_of(session, world).outstanding_minor == 100_00
    # Nothing changed or deleted: the payment keeps its day; the reversal has its own.
    assert entries(session, invoice_id) == [
        ("payment", 100_00, None),
        ("reversal", 100_00, payment_id),
    ]
    original = session.get(InvoicePayment, payment_id)
    reversal = session.get(InvoicePayment, reversal_id)
    assert original is not None and original.received_on == date(2026, 3, 2)
    assert reversal is not None and reversal.note == "Recorded on the wrong invoice"
    assert reversal.received_on == clock.now().date()
    event = session.exec(
        select(InvoiceEvent)
        .where(col(InvoiceEvent.invoice_id) == invoice_id)
        .order_by(col(InvoiceEvent.id).desc())
    ).first()
    assert event is not None and event.kind == "reversal" and not event.internal
    assert event.message == (
        "Payment of €100.00 received March 2, 2026 reversed: Recorded on the wrong invoice"
    )
    (logged,) = audit_of(session, "payment.reversed")
    assert logged.actor_label == world["actor"].email
    assert "Recorded on the wrong invoice" in logged.details
    # The invoice takes payments again, and what it shows says what happened.
    assert settlement_service.can_record_payment(invoice)
    detail = views.invoice_detail(session, world["actor"], invoice_id, clock=clock)
    rows = {r["kind"]: r for r in detail.payments}
    assert rows["payment"]["reversed"] == "yes" and rows["payment"]["can_reverse"] == ""
    assert rows["reversal"]["note"] == "Recorded on the wrong invoice"
    assert detail.due_minor == 100_00


def test_one_of_two_payments_is_reversed_and_the_invoice_is_partially_paid(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    first = pay(session, world, invoice_id, "60", clock)
    pay(session, world, invoice_id, "40", clock)
    reversals.reverse_payment(session, world["actor"], first, "Cheque bounced", clock=clock)
    session.commit()
    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, invoice.paid_minor) == ("partially_paid", 40_00)
    assert settlement_service.outstanding_minor(invoice) == 60_00
    # A new payment after the reversal counts; the reversed one never again.
    pay(session, world, invoice_id, "60", clock)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, invoice.paid_minor) == ("paid", 100_00)


def test_a_payment_is_reversed_once(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    payment_id = pay(session, world, invoice_id, "30", clock)
    reversals.reverse_payment(session, world["actor"], payment_id, "Duplicate", clock=clock)
    session.commit()
    before = entries(session, invoice_id)
    with pytest.raises(Conflict, match="already reversed"):
        reversals.reverse_payment(session, world["actor"], payment_id, "Again", clock=clock)
    session.rollback()
    assert entries(session, invoice_id) == before


def test_refused_reversals_write_nothing(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    payment_id = pay(session, world, invoice_id, "100", clock)
    audit_before = len(audit_of(session, "payment.reversed"))

    with pytest.raises(ValidationFailed) as no_reason:
        reversals.reverse_payment(session, world["actor"], payment_id, "   ", clock=clock)
    assert no_reason.value.errors == {
        "reason": "Say why the payment is reversed (it stays in the history)."
    }
    session.rollback()
    with pytest.raises(ValidationFailed) as long_reason:
        reversals.reverse_payment(session, world["actor"], payment_id, "x" * 501, clock=clock)
    assert set(long_reason.value.errors) == {"reason"}
    session.rollback()
    clerk = as_role(world, BuiltinRole.VIEWER)
    with pytest.raises(NotAllowed):
        reversals.reverse_payment(session, clerk, payment_id, "Mistake", clock=clock)
    session.rollback()
    with pytest.raises(NotFound):
        reversals.reverse_payment(session, world["actor"], 999_999, "Mistake", clock=clock)
    session.rollback()

    # Money went back already: a refunded invoice's payments are not reversed.
    detail = views.invoice_detail(session, world["actor"], invoice_id, clock=clock)
    assert [r["can_reverse"] for r in detail.payments] == ["yes"]
    refund(session, world, invoice_id, "20", clock)
    detail = views.invoice_detail(session, world["actor"], invoice_id, clock=clock)
    assert [r["can_reverse"] for r in detail.payments] == ["", ""]
    viewer_detail = views.invoice_detail(
        session, as_role(world, BuiltinRole.VIEWER), invoice_id, clock=clock
    )
    assert all(r["can_reverse"] == "" for r in viewer_detail.payments)
    with pytest.raises(Conflict, match="refunded"):
        reversals.reverse_payment(session, world["actor"], payment_id, "Mistake", clock=clock)
    session.rollback()
    assert [kind for kind, _, _ in entries(session, invoice_id)] == ["payment", "refund"]
    assert len(audit_of(session, "payment.reversed")) == audit_before
    count = session.exec(
        select(func.count())
        .select_from(InvoicePayment)
        .where(col(InvoicePayment.kind) == "reversal")
    ).one()
    assert count == 0


def test_a_refund_or_a_reversal_cannot_itself_be_reversed(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    payment_id = pay(session, world, invoice_id, "50", clock)
    reversal_id = reversals.reverse_payment(
        session, world["actor"], payment_id, "Wrong", clock=clock
    )
    session.commit()
    with pytest.raises(NotFound):
        reversals.reverse_payment(session, world["actor"], reversal_id, "Undo", clock=clock)
    session.rollback()
    other = pay(session, world, invoice_id, "100", clock)
    refund_id = refund(session, world, invoice_id, "10", clock)
    with pytest.raises(NotFound):
        reversals.reverse_payment(session, world["actor"], refund_id, "Undo", clock=clock)
    session.rollback()
    assert other > 0


def test_past_months_cash_stays_as_it_was(
    session: Session, world: dict[str, Any], clock: FixedClock
) -> None:
    """Cash received in March is still March's after a correction made in April: the
    reversal is April's."""
    invoice_id = hundred_euro_invoice(session, world, clock)
    payment_id = pay(session, world, invoice_id, "100", clock, received_on=date(2026, 3, 10))
    clock.advance(days=31)
    reversals.reverse_payment(session, world["actor"], payment_id, "Bounced", clock=clock)
    session.commit()

    def cash(first: date, last: date) -> int:
        rows = session.exec(
            select(InvoicePayment)
            .where(col(InvoicePayment.received_on) >= first)
            .where(col(InvoicePayment.received_on) <= last)
        ).all()
        return sum(
            r.amount_minor if r.kind == "payment" else -r.amount_minor
            for r in rows
            if r.invoice_id == invoice_id
        )

    march = cash(date(2026, 3, 1), date(2026, 3, 31))
    april = cash(date(2026, 4, 1), date(2026, 4, 30))
    assert (march, april) == (100_00, -100_00)
