"""Refunds to the card: staff give back part or all of a card payment through Stripe, with a
reason; the client gets a branded refund email. Never more than that payment brought in and was
not given back yet, whatever Stripe would accept; one refund of an invoice in flight at a time;
a refund made in Stripe's dashboard is recorded from its event (charge.refunded), once.

As for charges, the refund is a PaymentAttempt committed before the call (its key goes with
it), and the refund is recorded once by its Stripe id (docs/architecture.md, "Card payments").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.db.card_payments import PaymentAttempt
from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoicePayment
from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.card_payments.cards import connected_config
from billing_app.services.card_payments.stripe_settings import stripe_config
from billing_app.services.common import audit
from billing_app.services.common.actors import SYSTEM, Actor, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed
from billing_app.services.common.outbox import WAKE_OUTBOX
from billing_app.services.common.transactions import wake
from billing_app.services.credit_notes import card_credits
from billing_app.services.invoicing.documents import queue_refund_email
from billing_app.services.invoicing.limits import bounded_text
from billing_app.services.invoicing.payments import (
    CARD,
    CARD_PAYMENT_IN_FLIGHT,
    Entry,
    card_payment_in_flight,
    locked_invoice,
    parse_amount,
    record_entry,
)
from billing_app.services.invoicing.settlement import outstanding_minor, refundable_minor
from billing_app.settings import Settings

MAX_REASON = 500
STALE_REFUND = timedelta(minutes=2)  # a started refund older than this lost its page
IN_PROGRESS = "A refund of this invoice is being made. Wait a moment, then reload the page."
UNANSWERED = (
    "Stripe did not answer. The refund is checked again in a few minutes; reload the page "
    "to see whether it was made."
)


@dataclass(frozen=True)
class CardRefundForm:
    amount: str
    reason: str


def refundable_on_payment(session: Session, payment: InvoicePayment) -> int:
    """What a card payment brought in and was not given back yet (by card refunds)."""
    given_back = session.exec(
        select(InvoicePayment.amount_minor)
        .where(col(InvoicePayment.refund_of_id) == payment.id)
        .where(col(InvoicePayment.kind) == "refund")
    ).all()
    return payment.amount_minor - sum(given_back)


def _card_payment(session: Session, invoice: Invoice, payment_id: int) -> InvoicePayment:
    payment = session.get(InvoicePayment, payment_id) if 0 < payment_id < 2**63 else None
    if (
        payment is None
        or payment.invoice_id != invoice.id
        or payment.kind != "payment"
        or payment.method != CARD
        or not payment.processor_id
    ):
        msg = "That card payment does not exist."
        raise NotFound(msg)
    return payment


def refund_to_card(
    session: Session,
    actor: CurrentUser,
    invoice_id: int,
    payment_id: int,
    form: CardRefundForm,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> int:
    """Give back ``form.amount`` of a card payment to the card it came from; the id of the
    refund recorded on the invoice."""
    require(actor, Permission.REFUNDS_CREATE)
    config = connected_config(session, settings)
    invoice = locked_invoice(session, invoice_id)
    payment = _card_payment(session, invoice, payment_id)
    if card_payment_in_flight(session, invoice_id):
        raise Conflict(CARD_PAYMENT_IN_FLIGHT)
    amount = parse_amount(form.amount, invoice)
    reason = bounded_text(" ".join(form.reason.split()), MAX_REASON, "reason")
    if not reason:
        msg = "Say why the money is given back: the client reads it in the refund email."
        raise ValidationFailed(msg, field="reason")
    left = min(refundable_on_payment(session, payment), refundable_minor(invoice))
    if left <= 0:
        msg = "This card payment was refunded in full already."
        raise Conflict(msg)
    if amount.amount_minor > left:
        limit = format_money(Money(left, invoice.currency), invoice.locale)
        msg = (
            f"You can refund at most {limit} on this card payment: that is what it brought "
            "in and was not given back yet."
        )
        raise ValidationFailed(msg, field="amount")
    attempt = start_refund(
        session, invoice, payment, amount.amount_minor, reason, actor.email, clock
    )
    row = make_refund(session, config, attempt, payment, actor.actor(), clock)
    assert row is not None and row.id is not None  # checked against the limit above
    return row.id


def start_refund(
    session: Session,
    invoice: Invoice,
    payment: InvoicePayment,
    amount_minor: int,
    reason: str,
    actor_label: str,
    clock: Clock,
    *,
    credit_note_id: int | None = None,
) -> PaymentAttempt:
    """The refund's attempt, committed (with whatever the caller's transaction holds) before
    Stripe hears of it; Conflict while another refund of the invoice is in flight."""
    assert invoice.id is not None and payment.processor_id is not None
    now = clock.now()
    attempt = PaymentAttempt(
        idempotency_key=f"refund-{invoice.id}-{uuid.uuid4().hex}",
        kind="refund",
        client_id=invoice.client_id,
        invoice_id=invoice.id,
        payment_id=payment.id,
        credit_note_id=credit_note_id,
        amount_minor=amount_minor,
        currency=invoice.currency,
        card_label=payment.reference[:60],
        actor_label=actor_label,
        note=reason,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(attempt)
    except IntegrityError as exc:
        raise Conflict(IN_PROGRESS) from exc
    session.commit()
    return attempt


def make_refund(
    session: Session,
    config: gateway.StripeConfig,
    attempt: PaymentAttempt,
    payment: InvoicePayment,
    actor: Actor,
    clock: Clock,
) -> InvoicePayment | None:
    """Ask Stripe for the refund of a committed attempt and record it. Raises Conflict with
    what staff should know when Stripe refuses it (the attempt then ends failed) or does not
    answer (the reconciliation settles it later)."""
    assert payment.processor_id is not None
    try:
        refund = gateway.refund(
            config,
            payment_intent_id=payment.processor_id,
            amount_minor=attempt.amount_minor,
            idempotency_key=attempt.idempotency_key,
            metadata={
                "attempt": attempt.idempotency_key,
                "invoice_id": str(attempt.invoice_id),
                "reason": attempt.note[:450],
            },
        )
    except gateway.GatewayError as exc:
        if exc.retryable:
            raise Conflict(UNANSWERED) from exc
        refund_failed(session, attempt, exc.message[:500], clock)
        session.commit()
        msg = f"Stripe refused the refund: {exc.message}"
        raise Conflict(msg) from exc
    if refund.status in ("failed", "canceled"):
        attempt.stripe_id = refund.id
        refund_failed(session, attempt, f"Stripe: the refund {refund.status}", clock)
        session.commit()
        msg = "Stripe could not make the refund. Try again later, or refund offline."
        raise Conflict(msg)
    return record_card_refund(session, refund, attempt=attempt, actor=actor, clock=clock)


def refund_failed(session: Session, attempt: PaymentAttempt, error: str, clock: Clock) -> None:
    """A refund attempt ended without a refund: failed; a credit note's money goes on the
    client's credit balance instead."""
    attempt.state, attempt.error = "failed", error
    attempt.updated_at = clock.now()
    session.add(attempt)
    card_credits.card_refund_failed(session, attempt, clock)


def record_card_refund(
    session: Session,
    refund: gateway.Refund,
    *,
    attempt: PaymentAttempt | None,
    actor: Actor,
    clock: Clock,
    reason: str = "",
) -> InvoicePayment | None:
    """Record a refund Stripe made (ours, or one made in Stripe's dashboard) on the invoice of
    the card payment it gives back, once; the client gets the refund email. A refund beyond
    what the invoice holds (made in the dashboard, never checked here) is not recorded: staff
    are told on the timeline (None)."""
    payment = session.exec(
        select(InvoicePayment).where(col(InvoicePayment.processor_id) == refund.payment_intent_id)
    ).first()
    if payment is None:
        raise NotFound("no card payment of ours")
    invoice = locked_invoice(session, payment.invoice_id)
    recorded = session.exec(
        select(InvoicePayment).where(col(InvoicePayment.processor_id) == refund.id)
    ).first()
    if attempt is not None:
        session.refresh(attempt)
        reason = reason or attempt.note
    reason = reason or refund.metadata.get("reason", "")
    if recorded is None:
        amount = Money(refund.amount_minor, invoice.currency)
        if 0 < amount.amount_minor <= refundable_minor(invoice):
            recorded = _record(
                session, invoice, payment, refund, amount, reason, attempt, actor, clock
            )
        else:
            _tell_staff(
                session,
                invoice,
                refund.id,
                f"Stripe gave back {format_money(amount, invoice.locale)} ({refund.id}), more "
                "than this invoice holds: it is not recorded here. Check it in Stripe.",
                clock,
            )
    if attempt is not None:
        attempt.state, attempt.stripe_id, attempt.stripe_status = "done", refund.id, refund.status
        attempt.updated_at = clock.now()
        session.add(attempt)
    session.flush()
    return recorded


def _record(
    session: Session,
    invoice: Invoice,
    payment: InvoicePayment,
    refund: gateway.Refund,
    amount: Money,
    reason: str,
    attempt: PaymentAttempt | None,
    actor: Actor,
    clock: Clock,
) -> InvoicePayment:
    today = today_at_agency(session, clock=clock)
    label = format_money(amount, invoice.locale)
    note = card_credits.card_refund_entry(session, attempt)
    outstanding_before = outstanding_minor(invoice)
    if note is not None:  # the money a credit note gives back: credited as it goes back
        invoice.credited_minor += amount.amount_minor
        label = f"{label} of credit note {note.number}"
    row = record_entry(
        session,
        invoice,
        Entry(
            kind="refund",
            method=CARD,
            amount=amount,
            received_on=today,
            reference=payment.reference,
            note=reason,
            processor_id=refund.id,
            refund_of_id=payment.id,
            message=f"{label} refunded to the card ({payment.reference})",
            credit_note_id=note.id if note is not None else None,
        ),
        recorded_by_id=None,
        actor_label=attempt.actor_label if attempt is not None else "Stripe",
        audit_actor=actor,
        clock=clock,
        outstanding_before=outstanding_before,
    )
    if note is not None:
        card_credits.card_refund_recorded(session, note, invoice, payment.reference)
        return row
    client = session.get(Client, invoice.client_id)
    assert client is not None
    client.net_invoiced_minor -= amount.amount_minor
    session.add(client)
    if amount.amount_minor > 0:
        queue_refund_email(
            session,
            invoice,
            amount_minor=amount.amount_minor,
            card=payment.reference,
            refunded_on=today,
            reason=reason,
        )
        wake(session, WAKE_OUTBOX)
    return row


def _tell_staff(
    session: Session, invoice: Invoice, refund_id: str, message: str, clock: Clock
) -> None:
    """An internal timeline entry about a refund that needs a person (once per refund and
    message), audited."""
    assert invoice.id is not None
    seen = session.exec(
        select(InvoiceEvent.id)
        .where(col(InvoiceEvent.invoice_id) == invoice.id)
        .where(col(InvoiceEvent.kind) == "refund_problem")
        .where(col(InvoiceEvent.message) == message)
    ).first()
    if seen is not None:
        return
    session.add(
        InvoiceEvent(
            invoice_id=invoice.id,
            at=clock.now(),
            kind="refund_problem",
            actor_label="Stripe",
            message=message,
            internal=True,
        )
    )
    audit.record(
        session,
        "refund.problem",
        SYSTEM.actor(),
        target=invoice.number or "",
        details=f"{refund_id}: {message}",
        clock=clock,
    )


def refund_from_stripe(session: Session, refund: gateway.Refund, clock: Clock) -> None:
    """A refund Stripe reports (charge.refunded, charge.refund.updated): recorded when it is
    of one of our card payments and not recorded yet; ours in flight is settled by it. One we
    recorded that failed at Stripe afterwards is told to staff (the money did not go back)."""
    if refund.status in ("failed", "canceled"):
        recorded = session.exec(
            select(InvoicePayment).where(col(InvoicePayment.processor_id) == refund.id)
        ).first()
        if recorded is not None:
            invoice = locked_invoice(session, recorded.invoice_id)
            amount = format_money(Money(recorded.amount_minor, invoice.currency), invoice.locale)
            _tell_staff(
                session,
                invoice,
                refund.id,
                f"The refund of {amount} ({refund.id}) {refund.status} at Stripe: the money "
                "did not go back to the client. Refund it again, or another way.",
                clock,
            )
        return
    attempt = session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.kind) == "refund")
        .where(col(PaymentAttempt.idempotency_key) == refund.metadata.get("attempt", ""))
    ).first()
    try:
        record_card_refund(session, refund, attempt=attempt, actor=SYSTEM.actor(), clock=clock)
    except NotFound:
        return  # a payment not made here


def reconcile_refunds(
    engine: sa.Engine,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    limit: int = 100,
) -> int:
    """Settle refunds whose outcome we never heard (Stripe did not answer, or the process
    died): Stripe's refunds of the payment say whether it was made. How many were settled."""
    settled = 0
    with Session(engine, expire_on_commit=False) as session:
        config = stripe_config(session, settings=settings)
        if config is None:
            return 0
        rows = session.exec(
            select(PaymentAttempt, InvoicePayment.processor_id)
            .join(InvoicePayment, col(InvoicePayment.id) == col(PaymentAttempt.payment_id))
            .where(col(PaymentAttempt.kind) == "refund")
            .where(col(PaymentAttempt.state) == "started")
            .where(col(PaymentAttempt.updated_at) < clock.now() - STALE_REFUND)
            .order_by(col(PaymentAttempt.id))
            .limit(limit)
        ).all()
        session.commit()
        for attempt, intent_id in rows:
            try:
                made = [
                    r
                    for r in gateway.list_refunds(config, intent_id or "")
                    if r.metadata.get("attempt") == attempt.idempotency_key
                ]
                if made and made[0].status not in ("failed", "canceled"):
                    record_card_refund(
                        session, made[0], attempt=attempt, actor=SYSTEM.actor(), clock=clock
                    )
                else:
                    refund_failed(session, attempt, "The refund was not made.", clock)
                session.commit()
                settled += 1
            except Exception:  # noqa: BLE001 - the next run tries again
                session.rollback()
    return settled
