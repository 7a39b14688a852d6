"""Offline payments, offline refunds and voids of sent invoices.

The invoice's status always follows domain/invoice_math.settle over its recorded payments and
refunds; a refund can never exceed what was paid (docs/security.md item 10). What the client
owes (the invoice's and the client's outstanding figure) is Settlement.outstanding, through
services/invoicing/settlement.py. Money changes hands on a day that has come: payments and
refunds dated after today in the agency's time zone are refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from babel.dates import format_date
from sqlmodel import Session, col, select

from billing_app.db.card_payments import IN_FLIGHT, PaymentAttempt
from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoicePayment
from billing_app.domain.errors import DomainError
from billing_app.domain.lifecycle import InvoiceStatus, settled_transition, transition
from billing_app.domain.money import Money, format_money, parse_money
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.billing.past_due import paid as back_to_active
from billing_app.services.common import audit
from billing_app.services.common.actors import Actor, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed
from billing_app.services.credit_notes.ledger import return_to_balance, voidable_status
from billing_app.services.invoicing.documents import queue_receipt_email, queue_voided_email
from billing_app.services.invoicing.limits import bounded_text
from billing_app.services.invoicing.notices import note_emailed
from billing_app.services.invoicing.settlement import (
    can_record_payment,
    outstanding_minor,
    payable_minor,
    refundable_minor,
    settled_amounts,
    settlement_of,
)

METHODS = {
    "bank_transfer": "Bank transfer",
    "cheque": "Cheque",
    "cash": "Cash",
    "other": "Other",
}
# Payments recorded by hand (a card payment comes from the card processor, and goes back
# through it as a refund).
OFFLINE_METHODS = frozenset(METHODS)
CARD = "card"
# Money a credit note gave back by putting it on the client's credit balance.
CREDIT_BALANCE = "credit_balance"
# How each method is named where payments are listed.
METHOD_LABELS = {**METHODS, CARD: "Card", CREDIT_BALANCE: "Credit balance"}


def method_label(row: InvoicePayment) -> str:
    """How a payment was made, as listed: "Bank transfer", "Card (Visa •••• 4242)"."""
    label = METHOD_LABELS.get(row.method, row.method)
    return f"{label} ({row.reference})" if row.method == CARD and row.reference else label


MAX_REFERENCE = 120
MAX_NOTE = 500
MAX_REASON = 500


@dataclass(frozen=True)
class PaymentForm:
    amount: str
    method: str
    received_on: date
    reference: str = ""
    note: str = ""


def locked_invoice(session: Session, invoice_id: int) -> Invoice:
    """The invoice, locked for the rest of the transaction (one change of its money at a
    time), or NotFound. SQLite ignores FOR UPDATE and takes its write lock only at the first
    write: an update that changes nothing takes it now, so what is checked next is not
    changed by another writer before this transaction writes."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            sa.update(Invoice).where(col(Invoice.id) == invoice_id).values(id=col(Invoice.id))
        )
    invoice = session.exec(
        select(Invoice).where(col(Invoice.id) == invoice_id).with_for_update()
    ).first()
    if invoice is None:
        msg = "That invoice does not exist."
        raise NotFound(msg)
    return invoice


def _amount(form: PaymentForm, invoice: Invoice) -> Money:
    return parse_amount(form.amount, invoice)


def parse_amount(text: str, invoice: Invoice) -> Money:
    """An amount typed for the invoice (in its currency and language), more than zero."""
    try:
        amount = parse_money(text, invoice.currency, invoice.locale)
    except DomainError as exc:
        raise ValidationFailed(exc.message, field="amount") from exc
    if amount.amount_minor <= 0:
        msg = "Enter an amount greater than zero."
        raise ValidationFailed(msg, field="amount")
    return amount


def _check_date(session: Session, form: PaymentForm, locale: str, clock: Clock) -> None:
    """The day the money moved is today at the latest, in the agency's time zone."""
    today = today_at_agency(session, clock=clock)
    if form.received_on > today:
        msg = (
            "The date cannot be in the future: enter today "
            f"({format_date(today, 'long', locale=locale)}) or an earlier day."
        )
        raise ValidationFailed(msg, field="received_on")


def _texts(form: PaymentForm) -> tuple[str, str]:
    return (
        bounded_text(form.reference, MAX_REFERENCE, "reference"),
        bounded_text(form.note, MAX_NOTE, "note"),
    )


def record_payment(
    session: Session,
    actor: CurrentUser,
    invoice_id: int,
    form: PaymentForm,
    *,
    send_receipt: bool = False,
    clock: Clock = system_clock,
) -> int:
    """Record money received offline (partial payments add up), and email the client a receipt
    when asked."""
    require(actor, Permission.PAYMENTS_RECORD)
    invoice = locked_invoice(session, invoice_id)
    if not can_record_payment(invoice):
        msg = {
            "draft": "Send the invoice before recording a payment.",
            "paid": "This invoice is already paid.",
            "void": "This invoice is void.",
            "refunded": "This invoice was refunded: nothing is due on it.",
            "partially_refunded": "This invoice was partly refunded: nothing is due on it.",
        }.get(invoice.status, "This invoice does not accept payments.")
        raise Conflict(msg)
    if card_payment_in_flight(session, invoice_id):
        raise Conflict(CARD_PAYMENT_IN_FLIGHT)
    if form.method not in METHODS:
        msg = "Choose how it was paid."
        raise ValidationFailed(msg, field="method")
    amount = _amount(form, invoice)
    _check_date(session, form, invoice.locale, clock)
    text, _ = _texts(form)
    due = payable_minor(invoice)
    if amount.amount_minor > due:
        left = format_money(Money(due, invoice.currency), invoice.locale)
        msg = f"That is more than the {left} due."
        raise ValidationFailed(msg, field="amount")
    reference = f" (ref. {text})" if text else ""
    method = METHODS[form.method].lower()
    label = format_money(amount, invoice.locale)
    payment_id = _record(
        session,
        actor,
        invoice,
        "payment",
        amount,
        form,
        f"{label} received by {method}{reference}",
        clock,
    )
    if send_receipt:
        session.flush()
        queue_receipt_email(
            session,
            invoice,
            amount_minor=amount.amount_minor,
            method_label=METHODS[form.method],
            received_on=form.received_on,
            reference=text,
        )
        note_emailed(session, invoice, actor, "Receipt emailed", clock)
    return payment_id


def record_refund(
    session: Session,
    actor: CurrentUser,
    invoice_id: int,
    form: PaymentForm,
    *,
    clock: Clock = system_clock,
) -> int:
    """Record money given back offline; never more than was paid and not yet refunded."""
    require(actor, Permission.REFUNDS_CREATE)
    invoice = locked_invoice(session, invoice_id)
    if card_payment_in_flight(session, invoice_id):
        raise Conflict(CARD_PAYMENT_IN_FLIGHT)
    if form.method not in METHODS:
        msg = "Choose how it was refunded."
        raise ValidationFailed(msg, field="method")
    amount = _amount(form, invoice)
    _check_date(session, form, invoice.locale, clock)
    _texts(form)
    refundable = refundable_minor(invoice)
    if refundable <= 0:
        if settlement_of(invoice).net_paid.amount_minor > 0:
            msg = "This invoice does not accept refunds."
        else:
            msg = "Nothing was paid on this invoice, so nothing can be refunded."
        raise Conflict(msg)
    if amount.amount_minor > refundable:
        limit = format_money(Money(refundable, invoice.currency), invoice.locale)
        msg = f"You can refund at most {limit}: that is what was paid and not yet refunded."
        raise ValidationFailed(msg, field="amount")
    offline = refundable - card_unrefunded_minor(session, invoice_id)
    if amount.amount_minor > offline:
        limit = format_money(Money(max(offline, 0), invoice.currency), invoice.locale)
        msg = (
            f"You can refund at most {limit} offline: the rest was paid by card. Refund it "
            "to the card from the card payment."
        )
        raise ValidationFailed(msg, field="amount")
    client = session.get(Client, invoice.client_id)
    assert client is not None
    client.net_invoiced_minor -= amount.amount_minor
    session.add(client)
    label = format_money(amount, invoice.locale)
    return _record(
        session,
        actor,
        invoice,
        "refund",
        amount,
        form,
        f"{label} refunded by {METHODS[form.method].lower()}",
        clock,
    )


def _record(
    session: Session,
    actor: CurrentUser,
    invoice: Invoice,
    kind: str,
    amount: Money,
    form: PaymentForm,
    message: str,
    clock: Clock,
) -> int:
    reference, note = _texts(form)
    row = record_entry(
        session,
        invoice,
        Entry(
            kind=kind,
            method=form.method,
            amount=amount,
            received_on=form.received_on,
            reference=reference,
            note=note,
            message=message,
        ),
        recorded_by_id=actor.id,
        actor_label=actor.email,
        audit_actor=actor.actor(),
        clock=clock,
    )
    assert row.id is not None
    return row.id


@dataclass(frozen=True)
class Entry:
    """A payment or refund about to be recorded on an invoice; ``message`` is what its
    timeline says (the client sees it: it never names staff)."""

    kind: str  # payment | refund
    method: str
    amount: Money
    received_on: date
    message: str
    reference: str = ""
    note: str = ""
    processor_id: str | None = None  # the card processor's id of a card payment or refund
    refund_of_id: int | None = None  # the card payment a card refund gives back
    credit_note_id: int | None = None  # the credit note whose money a refund gives back


def record_entry(
    session: Session,
    invoice: Invoice,
    entry: Entry,
    *,
    recorded_by_id: int | None,
    actor_label: str,
    audit_actor: Actor,
    clock: Clock,
    outstanding_before: int | None = None,
) -> InvoicePayment:
    """Store a payment or refund, move the invoice to its settled status, keep the client's
    outstanding figure equal to what its invoices have outstanding, and put it on the
    timeline and in the audit log. The caller holds the invoice's lock and has checked the
    amount may be recorded; ``outstanding_before``: what the invoice had outstanding before the
    caller changed its figures (a credit note), when it did."""
    assert invoice.id is not None
    if outstanding_before is None:
        outstanding_before = outstanding_minor(invoice)
    paid, refunded, status = settled_amounts(
        session,
        invoice,
        extra_payment=entry.amount.amount_minor if entry.kind == "payment" else 0,
        extra_refund=entry.amount.amount_minor if entry.kind == "refund" else 0,
    )
    row = InvoicePayment(
        invoice_id=invoice.id,
        kind=entry.kind,
        method=entry.method,
        amount_minor=entry.amount.amount_minor,
        currency=invoice.currency,
        received_on=entry.received_on,
        reference=entry.reference,
        note=entry.note,
        processor_id=entry.processor_id,
        refund_of_id=entry.refund_of_id,
        credit_note_id=entry.credit_note_id,
        recorded_by_id=recorded_by_id,
        created_at=clock.now(),
    )
    session.add(row)
    status = settled_transition(InvoiceStatus(invoice.status), status)
    invoice.paid_minor, invoice.refunded_minor, invoice.status = paid, refunded, status.value
    if status is InvoiceStatus.PAID:
        back_to_active(session, invoice, clock)  # a past-due subscription it bills
    session.add(invoice)
    client = session.get(Client, invoice.client_id)
    assert client is not None
    client.outstanding_minor += outstanding_minor(invoice) - outstanding_before
    session.add(client)
    session.add(
        InvoiceEvent(
            invoice_id=invoice.id,
            at=clock.now(),
            kind=entry.kind,
            actor_label=actor_label,
            message=entry.message,
            internal=False,
        )
    )
    audit.record(
        session,
        f"{entry.kind}.recorded",
        audit_actor,
        target=invoice.number or "",
        details=f"{format_money(entry.amount, invoice.locale)} {entry.method}",
        clock=clock,
    )
    session.flush()
    return row


def card_unrefunded_minor(session: Session, invoice_id: int) -> int:
    """Money paid on the invoice by card and not yet refunded to the card: it goes back to the
    card, never as an offline refund."""
    rows = payments_of(session, invoice_id)
    reversed_ids = {p.reversal_of_id for p in rows if p.kind == "reversal"}
    paid = sum(
        p.amount_minor
        for p in rows
        if p.kind == "payment" and p.method == CARD and p.id not in reversed_ids
    )
    refunded = sum(p.amount_minor for p in rows if p.kind == "refund" and p.method == CARD)
    return paid - refunded


def charge_in_flight(session: Session, invoice_id: int) -> PaymentAttempt | None:
    """The card payment of the invoice being made (a charge started, or waiting for the
    client's bank), if any: nothing else may change what is due until it ends."""
    return session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.invoice_id) == invoice_id)
        .where(col(PaymentAttempt.kind) == "charge")
        .where(col(PaymentAttempt.state).in_(IN_FLIGHT))
    ).first()


def card_payment_in_flight(session: Session, invoice_id: int) -> bool:
    return charge_in_flight(session, invoice_id) is not None


CARD_PAYMENT_IN_FLIGHT = (
    "The client is paying this invoice by card right now. Try again in a few minutes, once "
    "the payment has gone through or failed."
)


def void_invoice(
    session: Session,
    actor: CurrentUser,
    invoice_id: int,
    reason: str,
    *,
    notify_client: bool = False,
    clock: Clock = system_clock,
) -> None:
    """Void an open invoice that has no payments (refund those first); tell the client when
    asked."""
    require(actor, Permission.INVOICES_SEND)
    invoice = locked_invoice(session, invoice_id)
    reason = bounded_text(" ".join(reason.split()), MAX_REASON, "reason")
    if not reason:
        msg = "Say why the invoice is voided."
        raise ValidationFailed(msg, field="reason")
    if invoice.status == "draft":
        msg = "Drafts are deleted, not voided."
        raise Conflict(msg)
    settlement = settlement_of(invoice)
    if settlement.net_paid.amount_minor > 0:
        msg = "Payments were received on this invoice. Refund them before voiding it."
        raise Conflict(msg)
    if card_payment_in_flight(session, invoice_id):
        raise Conflict(CARD_PAYMENT_IN_FLIGHT)
    current = voidable_status(session, invoice)
    try:
        transition(current, InvoiceStatus.VOID)
    except DomainError as exc:
        raise Conflict(exc.message) from exc
    client = session.get(Client, invoice.client_id)
    assert client is not None
    client.outstanding_minor -= settlement.outstanding.amount_minor
    client.net_invoiced_minor -= (settlement.total - settlement.amount_refunded).amount_minor
    session.add(client)
    invoice.status = InvoiceStatus.VOID.value
    invoice.voided_at = clock.now()
    return_to_balance(session, invoice, actor=actor.actor(), actor_label=actor.email, clock=clock)
    invoice.void_reason = reason
    session.add(invoice)
    session.add(
        InvoiceEvent(
            invoice_id=invoice_id,
            at=clock.now(),
            kind="void",
            actor_label=actor.email,
            message=f"Voided: {reason}",
            internal=False,
        )
    )
    audit.record(
        session,
        "invoice.voided",
        actor.actor(),
        target=invoice.number or "",
        details=reason,
        clock=clock,
    )
    if notify_client:
        queue_voided_email(session, invoice, reason)
        note_emailed(session, invoice, actor, "Void notice emailed", clock)


def payments_of(session: Session, invoice_id: int) -> list[InvoicePayment]:
    return list(
        session.exec(
            select(InvoicePayment)
            .where(col(InvoicePayment.invoice_id) == invoice_id)
            .order_by(col(InvoicePayment.received_on), col(InvoicePayment.id))
        )
    )
