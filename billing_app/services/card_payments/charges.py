"""A card charge of an invoice, from decision to outcome, whoever asks (page, link, event, job).

How nothing is charged twice or lost (docs/architecture.md, "Card payments"):
- A charge is a PaymentAttempt committed before any call to Stripe; the database keeps at
  most one charge in flight per invoice (started, or waiting for the bank), so two tabs, two
  people or a stale page cannot pay the same invoice twice, and staff cannot record another
  payment or void the invoice meanwhile.
- The PaymentIntent is made unconfirmed and its id committed, then confirmed: money moves
  only once its id is ours, so a crash at any point leaves an attempt that the reconciliation
  settles by asking Stripe.
- The payment is recorded on the invoice under its lock, once per PaymentIntent (a unique
  processor id), with the amount fixed when the attempt was made: never more than was due.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.adapters.stripe_gateway import StripeConfig
from billing_app.db.card_payments import IN_FLIGHT, PaymentAttempt
from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoicePayment
from billing_app.domain.lifecycle import InvoiceStatus, accepts_payment
from billing_app.domain.money import Money, format_money
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.card_payments import notices
from billing_app.services.card_payments.stripe_settings import stripe_config
from billing_app.services.common import audit
from billing_app.services.common.actors import Actor
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict
from billing_app.services.common.outbox import WAKE_OUTBOX
from billing_app.services.common.transactions import wake
from billing_app.services.invoicing.documents import queue_receipt_email
from billing_app.services.invoicing.payments import (
    CARD,
    Entry,
    charge_in_flight,
    locked_invoice,
    record_entry,
)
from billing_app.services.invoicing.settlement import payable_minor, settlement_of
from billing_app.settings import Settings

# A started charge older than this has lost its page (a crash, a closed tab): it is settled by
# asking Stripe. Younger, it is someone paying right now.
STALE_START = timedelta(minutes=2)
# A charge waiting for the client's bank this long was abandoned: it is canceled at Stripe.
ABANDONED_ACTION = timedelta(hours=1)

IN_PROGRESS = (
    "A payment of this invoice is already in progress. Wait a moment, then reload the page."
)
UNREACHABLE = (
    "We could not reach the payment service. If your payment went through, you will receive a "
    "receipt by email; reload this page in a few minutes to see it."
)
CANCELED = "The payment was canceled. Nothing was charged."
NOT_MADE = "The payment was not made. Nothing was charged."
TOO_SLOW = "This payment took too long to start. Nothing was charged: try again."
UNMATCHED = (
    "We received your payment, but this invoice no longer needed it. We will refund you; "
    "no need to do anything."
)


@dataclass(frozen=True)
class Receipt:
    number: str
    amount: Money
    card: str
    paid_on: date
    balance: Money  # still due on the invoice after this payment


@dataclass(frozen=True)
class PaymentOutcome:
    """paid (``receipt`` set), action (the browser confirms with ``client_secret``), failed
    (``message`` says why; nothing was charged), or pending (the outcome comes later)."""

    state: str
    message: str = ""
    client_secret: str = ""
    receipt: Receipt | None = None
    code: str = ""  # why a card was refused (Stripe's code: authentication_required, ...)


def charge(
    session: Session,
    config: StripeConfig,
    invoice: Invoice,
    *,
    customer_id: str,
    payment_method_id: str,
    card: str,
    actor_label: str,
    expected_due_minor: int,
    clock: Clock,
    off_session: bool = False,
) -> PaymentOutcome:
    """Charge what is due on ``invoice`` (locked by the caller, who checked it may be paid)
    to a card, the client present or away (``off_session``). ``customer_id`` is "" for a card
    used once. A stale amount (not what is due now) is told, not charged."""
    assert invoice.id is not None
    due = payable_minor(invoice)
    if due != expected_due_minor:
        shown = format_money(Money(due, invoice.currency), invoice.locale)
        msg = f"The amount due has changed to {shown}. Check it, then pay again."
        raise Conflict(msg)
    now = clock.now()
    attempt = PaymentAttempt(
        idempotency_key=f"charge-{invoice.id}-{uuid.uuid4().hex}",
        kind="charge",
        client_id=invoice.client_id,
        invoice_id=invoice.id,
        amount_minor=due,
        currency=invoice.currency,
        payment_method_id=payment_method_id,
        card_label=card[:60],
        actor_label=actor_label,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(attempt)
    except IntegrityError as exc:  # another payment of this invoice started a moment ago
        raise Conflict(IN_PROGRESS) from exc
    session.commit()  # the attempt is ours before Stripe hears of it
    try:
        intent = gateway.create_payment_intent(
            config,
            amount_minor=due,
            currency=invoice.currency,
            customer_id=customer_id,
            payment_method_id=payment_method_id,
            idempotency_key=attempt.idempotency_key,
            metadata={
                "attempt": attempt.idempotency_key,
                "invoice_id": str(invoice.id),
                "invoice_number": invoice.number or "",
            },
        )
    except gateway.GatewayError as exc:
        return _failed(session, attempt, exc.message, clock)
    # Its id is ours before any money moves, and only while the attempt is still the one in
    # flight: a page that stalled past the reconciliation (which gave the slot up) stops here.
    kept = session.execute(
        sa.update(PaymentAttempt)
        .where(col(PaymentAttempt.id) == attempt.id)
        .where(col(PaymentAttempt.state) == "started")
        .values(stripe_id=intent.id, stripe_status=intent.status[:40], updated_at=clock.now())
    )
    session.commit()
    if kept.rowcount != 1:  # type: ignore[attr-defined]
        with contextlib.suppress(gateway.GatewayError):
            gateway.cancel_payment_intent(config, intent.id)
        return PaymentOutcome("failed", TOO_SLOW)
    session.refresh(attempt)
    try:
        key = f"{attempt.idempotency_key}-confirm"
        intent = gateway.confirm_payment_intent(
            config, intent.id, idempotency_key=key, off_session=off_session
        )
    except gateway.CardError as exc:
        failed = _failed(session, attempt, exc.message, clock)  # with why (off-session: told)
        return replace(failed, code=gateway.refusal_code(exc) if failed.state == "failed" else "")
    except gateway.GatewayError as exc:
        if exc.retryable:  # it may have gone through: the reconciliation will know
            return PaymentOutcome("pending", UNREACHABLE)
        return _failed(session, attempt, exc.message, clock)
    return settle_charge(session, attempt, intent, clock=clock)


def _failed(
    session: Session, attempt: PaymentAttempt, message: str, clock: Clock
) -> PaymentOutcome:
    """The charge did not happen: the attempt ends failed, and staff see why on the
    invoice's timeline. Only an attempt still in flight ends so (the page and Stripe's event
    may both say it at once): the second one is told how it ended, and nothing is said twice."""
    ended = session.execute(
        sa.update(PaymentAttempt)
        .where(col(PaymentAttempt.id) == attempt.id)
        .where(col(PaymentAttempt.state).in_(IN_FLIGHT))
        .values(
            state="failed",
            error=message[:500],
            stripe_status=attempt.stripe_status,
            updated_at=clock.now(),
        )
    )
    if ended.rowcount != 1:  # type: ignore[attr-defined]
        session.commit()
        session.refresh(attempt)
        return _outcome_of(session, attempt)
    session.refresh(attempt)
    assert attempt.invoice_id is not None
    invoice = session.get(Invoice, attempt.invoice_id)
    if invoice is not None:
        amount = format_money(Money(attempt.amount_minor, invoice.currency), invoice.locale)
        client = _client_name(session, invoice)
        notices.notify(
            session,
            "payment_failed",
            f"A card payment of {amount} on invoice {invoice.number} ({client}) failed: {message}",
            link=f"/invoices/{invoice.id}",
            clock=clock,
        )
    session.add(
        InvoiceEvent(
            invoice_id=attempt.invoice_id,
            at=clock.now(),
            kind="card_failed",
            actor_label=attempt.actor_label,
            message=f"Card payment failed ({attempt.card_label}): {message}",
            internal=True,
        )
    )
    session.commit()
    return PaymentOutcome("failed", message)


def settle_charge(
    session: Session,
    attempt: PaymentAttempt,
    intent: gateway.PaymentIntent,
    *,
    clock: Clock = system_clock,
    actor: Actor | None = None,
) -> PaymentOutcome:
    """Bring the attempt and the invoice to what Stripe says of the charge. Safe to call from
    the page, the event job and the reconciliation at once, and again: the payment is
    recorded once."""
    assert attempt.invoice_id is not None
    if intent.status == "succeeded":
        return _paid(session, attempt, intent, clock, actor)
    session.refresh(attempt)
    if attempt.state in ("done", "failed"):
        return _outcome_of(session, attempt)
    if intent.status == "requires_action":
        attempt.state, attempt.stripe_status = "action", intent.status
        attempt.updated_at = clock.now()
        session.add(attempt)
        session.commit()
        return PaymentOutcome("action", client_secret=intent.client_secret)
    if intent.status in ("requires_payment_method", "canceled"):
        message = intent.error_message or (
            CANCELED if intent.status == "canceled" else gateway.DEFAULT_CARD_MESSAGE
        )
        attempt.stripe_status = intent.status
        return _failed(session, attempt, message, clock)
    # processing (or not confirmed yet): Stripe's event will say how it ends
    attempt.stripe_status = intent.status[:40]
    attempt.updated_at = clock.now()
    session.add(attempt)
    session.commit()
    return PaymentOutcome(
        "pending", "Your payment is being processed. You will receive a receipt by email."
    )


def _paid(
    session: Session,
    attempt: PaymentAttempt,
    intent: gateway.PaymentIntent,
    clock: Clock,
    actor: Actor | None,
) -> PaymentOutcome:
    assert attempt.invoice_id is not None
    invoice = locked_invoice(session, attempt.invoice_id)
    session.refresh(attempt)
    recorded = session.exec(
        select(InvoicePayment).where(col(InvoicePayment.processor_id) == intent.id)
    ).first()
    if recorded is None and attempt.state != "done":  # done without a row: told staff already
        amount = Money(intent.amount_received_minor or intent.amount_minor, invoice.currency)
        if intent.currency != invoice.currency:  # never: we asked in the invoice's currency
            msg = f"charge {intent.id} is in {intent.currency}, not {invoice.currency}"
            raise RuntimeError(msg)
        recorded = _record_card_payment(session, invoice, attempt, intent, amount, clock, actor)
    attempt.state, attempt.stripe_status = "done", intent.status
    attempt.stripe_id, attempt.error = intent.id, ""
    attempt.updated_at = clock.now()
    session.add(attempt)
    session.commit()
    receipt = _receipt(invoice, recorded, attempt.card_label)
    return PaymentOutcome("paid", message="" if receipt else UNMATCHED, receipt=receipt)


def _record_card_payment(
    session: Session,
    invoice: Invoice,
    attempt: PaymentAttempt,
    intent: gateway.PaymentIntent,
    amount: Money,
    clock: Clock,
    actor: Actor | None,
) -> InvoicePayment | None:
    """The card payment on the invoice, with its receipt email. An invoice that can no longer
    take it (never while the charge was in flight, but Stripe is the truth) keeps the money
    out of its figures and tells staff to refund it."""
    who = actor or Actor(user_id=None, label=f"{attempt.actor_label or 'Stripe'} (card payment)")
    if not accepts_payment(InvoiceStatus(invoice.status)):
        assert invoice.id is not None
        session.add(
            InvoiceEvent(
                invoice_id=invoice.id,
                at=clock.now(),
                kind="card_unmatched",
                actor_label=attempt.actor_label,
                message=(
                    f"A card payment of {format_money(amount, invoice.locale)} ({intent.id}) "
                    f"arrived while the invoice was {invoice.status}: refund it in Stripe."
                ),
                internal=True,
            )
        )
        audit.record(
            session,
            "payment.unmatched",
            who,
            target=invoice.number or "",
            details=f"{format_money(amount, invoice.locale)} card {intent.id}",
            clock=clock,
        )
        return None
    today = today_at_agency(session, clock=clock)
    label = format_money(amount, invoice.locale)
    row = record_entry(
        session,
        invoice,
        Entry(
            kind="payment",
            method=CARD,
            amount=amount,
            received_on=today,
            reference=attempt.card_label,
            processor_id=intent.id,
            message=f"{label} paid by card ({attempt.card_label})",
        ),
        recorded_by_id=None,
        actor_label=attempt.actor_label,
        audit_actor=who,
        clock=clock,
    )
    notices.notify(
        session,
        "payment_received",
        f"{label} paid by card on invoice {invoice.number} ({_client_name(session, invoice)})",
        link=f"/invoices/{invoice.id}",
        clock=clock,
    )
    queue_receipt_email(
        session,
        invoice,
        amount_minor=amount.amount_minor,
        method_label="Card",
        received_on=today,
        reference=attempt.card_label,
    )
    wake(session, WAKE_OUTBOX)
    return row


def _client_name(session: Session, invoice: Invoice) -> str:
    client = session.get(Client, invoice.client_id)
    return client.company if client is not None else ""


def _receipt(invoice: Invoice, row: InvoicePayment | None, card: str) -> Receipt | None:
    if row is None:
        return None
    return Receipt(
        number=invoice.number or "",
        amount=Money(row.amount_minor, row.currency),
        card=card,
        paid_on=row.received_on,
        balance=settlement_of(invoice).outstanding,
    )


def _outcome_of(session: Session, attempt: PaymentAttempt) -> PaymentOutcome:
    """How an attempt settled before: its receipt, or why it failed."""
    if attempt.state == "failed":
        return PaymentOutcome("failed", attempt.error or gateway.DEFAULT_CARD_MESSAGE)
    row = session.exec(
        select(InvoicePayment).where(col(InvoicePayment.processor_id) == attempt.stripe_id)
    ).first()
    invoice = session.get(Invoice, attempt.invoice_id)
    assert invoice is not None
    receipt = _receipt(invoice, row, attempt.card_label)
    return PaymentOutcome("paid", message="" if receipt else UNMATCHED, receipt=receipt)


def settle_leftover(
    session: Session, config: StripeConfig, invoice_id: int, client_id: int, clock: Clock
) -> None:
    """A charge of the client's invoice still in flight when a new payment starts. One waiting
    for the bank is given up (canceled at Stripe: the client chose to pay again); a started one
    is settled by asking Stripe once its page is surely gone; a young one is someone paying
    now."""
    attempt = charge_in_flight(session, invoice_id)
    if attempt is None or attempt.client_id != client_id:
        return
    if attempt.state == "started" and clock.now() - attempt.created_at < STALE_START:
        raise Conflict(IN_PROGRESS)
    settle_attempt(session, config, attempt, clock, cancel=attempt.state == "action")


def settle_attempt(
    session: Session,
    config: StripeConfig,
    attempt: PaymentAttempt,
    clock: Clock,
    *,
    cancel: bool = False,
) -> PaymentOutcome:
    """Settle a charge whose outcome we do not know, by asking Stripe (outside any
    transaction); ``cancel`` gives up one that waits for the bank."""
    session.commit()
    if not attempt.stripe_id:
        # The PaymentIntent was never ours: at most an unconfirmed one exists, never charged.
        return _failed(session, attempt, NOT_MADE, clock)
    try:
        intent = gateway.retrieve_payment_intent(config, attempt.stripe_id)
        # Never confirmed (the confirmation never reached Stripe): nothing was charged, and
        # nothing will be; canceled so it never can be.
        never_confirmed = intent.status == "requires_confirmation"
        if never_confirmed or (cancel and intent.status == "requires_action"):
            intent = gateway.cancel_payment_intent(config, attempt.stripe_id)
            if never_confirmed and intent.status == "canceled":
                return _failed(session, attempt, NOT_MADE, clock)
    except gateway.GatewayError as exc:
        if exc.code == "resource_missing":
            return _failed(session, attempt, NOT_MADE, clock)
        if exc.retryable:
            raise Conflict(exc.message) from exc
        try:  # the cancel was refused: it went on meanwhile; read it again
            intent = gateway.retrieve_payment_intent(config, attempt.stripe_id)
        except gateway.GatewayError as again:
            raise Conflict(again.message) from again
    return settle_charge(session, attempt, intent, clock=clock)


@dataclass(frozen=True)
class ReconcileReport:
    settled: int
    left: int


def reconcile_charges(
    engine: sa.Engine,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    limit: int = 100,
) -> ReconcileReport:
    """Settle the charges whose page is gone: started ones (a crash or a timeout between our
    call and our commit) and ones abandoned at the bank's confirmation (canceled)."""
    settled = left = 0
    now = clock.now()
    with Session(engine, expire_on_commit=False) as session:
        config = stripe_config(session, settings=settings)
        if config is None:
            return ReconcileReport(0, 0)
        rows = session.exec(
            select(PaymentAttempt)
            .where(col(PaymentAttempt.kind) == "charge")
            .where(
                sa.or_(
                    sa.and_(
                        col(PaymentAttempt.state) == "started",
                        col(PaymentAttempt.updated_at) < now - STALE_START,
                    ),
                    sa.and_(
                        col(PaymentAttempt.state) == "action",
                        col(PaymentAttempt.updated_at) < now - ABANDONED_ACTION,
                    ),
                )
            )
            .order_by(col(PaymentAttempt.id))
            .limit(limit)
        ).all()
        for attempt in rows:
            try:
                settle_attempt(session, config, attempt, clock, cancel=attempt.state == "action")
            except Exception:  # noqa: BLE001 - the next run tries again
                session.rollback()
                left += 1
            else:
                settled += 1
    return ReconcileReport(settled, left)
