"""Correcting an offline payment recorded by mistake (wrong invoice, wrong amount, a cheque that
bounced): a reversal entry takes it back.

Nothing is changed or deleted: the payment keeps its day and amount, and a new entry of kind
``reversal`` (the day of the correction, its reason, who made it) names it. So the cash
received in a past month never changes after the fact: the correction shows in the month it
was made. The invoice goes back to open or partially paid (domain/lifecycle.py
``reversal_transition``), what the client owes comes back, and the timeline and the audit log
say who reversed what and why. A payment is reversed once; card payments are refunded
through the card processor instead, and an invoice with refunds is not reversed.
"""

from __future__ import annotations

from babel.dates import format_date
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import InvoiceEvent, InvoicePayment
from billing_app.domain.errors import DomainError
from billing_app.domain.lifecycle import InvoiceStatus, accepts_reversal, reversal_transition
from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import Permission
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, FieldChecks, NotFound
from billing_app.services.invoicing.limits import bounded_text
from billing_app.services.invoicing.payments import (
    CARD_PAYMENT_IN_FLIGHT,
    MAX_REASON,
    OFFLINE_METHODS,
    card_payment_in_flight,
    locked_invoice,
)
from billing_app.services.invoicing.settlement import outstanding_minor, settled_amounts

REVERSAL = "reversal"


def reversed_payment_ids(session: Session, invoice_id: int) -> set[int]:
    """The ids of the invoice's payments that were reversed."""
    return {
        rid
        for rid in session.exec(
            select(InvoicePayment.reversal_of_id)
            .where(col(InvoicePayment.invoice_id) == invoice_id)
            .where(col(InvoicePayment.kind) == REVERSAL)
        ).all()
        if rid is not None
    }


def can_reverse(session: Session, payment: InvoicePayment, invoice_status: str) -> bool:
    """Whether the payment may be reversed now (the page offers it only then)."""
    return (
        payment.kind == "payment"
        and payment.method in OFFLINE_METHODS
        and accepts_reversal(InvoiceStatus(invoice_status))
        and payment.id not in reversed_payment_ids(session, payment.invoice_id)
    )


def reverse_payment(
    session: Session,
    actor: Acting,
    payment_id: int,
    reason: str,
    *,
    clock: Clock = system_clock,
) -> int:
    """Take back an offline payment recorded by mistake; returns the reversal entry's id."""
    require(actor, Permission.PAYMENTS_RECORD)
    payment = session.get(InvoicePayment, payment_id)
    if payment is None or payment.kind != "payment":
        msg = "That payment does not exist."
        raise NotFound(msg)
    invoice = locked_invoice(session, payment.invoice_id)
    if card_payment_in_flight(session, payment.invoice_id):
        raise Conflict(CARD_PAYMENT_IN_FLIGHT)
    invoice_id = payment.invoice_id
    checks = FieldChecks()
    cleaned = checks.value(
        "reason", "", bounded_text, " ".join(reason.split()), MAX_REASON, "reason"
    )
    if not cleaned and not checks.failed("reason"):
        checks.add("reason", "Say why the payment is reversed (it stays in the history).")
    checks.raise_if_failed()
    if payment.method not in OFFLINE_METHODS:
        msg = "Card payments are refunded, not reversed."
        raise Conflict(msg)
    if payment.id in reversed_payment_ids(session, invoice_id):
        msg = "This payment was already reversed."
        raise Conflict(msg)
    current = InvoiceStatus(invoice.status)
    if not accepts_reversal(current):
        if current in (InvoiceStatus.REFUNDED, InvoiceStatus.PARTIALLY_REFUNDED):
            msg = "Money was refunded on this invoice, so its payments can no longer be reversed."
        else:
            msg = f"A payment on an invoice that is {current.label} cannot be reversed."
        raise Conflict(msg)
    paid, refunded, status = settled_amounts(session, invoice, without_payment=payment.id)
    try:
        reversal_transition(current, status)
    except DomainError as exc:
        raise Conflict(exc.message) from exc
    outstanding_before = outstanding_minor(invoice)
    today = today_at_agency(session, clock=clock)
    row = InvoicePayment(
        invoice_id=invoice_id,
        kind=REVERSAL,
        reversal_of_id=payment.id,
        method=payment.method,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        received_on=today,
        reference=payment.reference,
        note=cleaned,
        recorded_by_id=getattr(actor, "id", None),
        created_at=clock.now(),
    )
    session.add(row)
    invoice.paid_minor, invoice.refunded_minor, invoice.status = paid, refunded, status.value
    session.add(invoice)
    client = session.get(Client, invoice.client_id)
    assert client is not None
    client.outstanding_minor += outstanding_minor(invoice) - outstanding_before
    session.add(client)
    amount = format_money(Money(payment.amount_minor, payment.currency), invoice.locale)
    received = format_date(payment.received_on, "long", locale=invoice.locale)
    session.add(
        InvoiceEvent(
            invoice_id=invoice_id,
            at=clock.now(),
            kind=REVERSAL,
            actor_label=actor.actor().label,
            message=f"Payment of {amount} received {received} reversed: {cleaned}",
            internal=False,
        )
    )
    audit.record(
        session,
        "payment.reversed",
        actor.actor(),
        target=invoice.number or "",
        details=f"{amount} {payment.method} of {payment.received_on.isoformat()}: {cleaned}",
        clock=clock,
    )
    session.flush()
    assert row.id is not None
    return row.id
