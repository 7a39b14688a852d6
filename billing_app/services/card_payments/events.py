"""Handling the Stripe events the webhook stored: a job claims each due event, asks Stripe for
the object's current state (so events out of order leave the truth, not the last word), and
applies it in its own transaction. A failure is retried with a growing delay; after
MAX_ATTEMPTS the event is dead, logged and audited for staff (docs/security.md items 5, 6).

Handled now: saved cards (payment_method.attached / updated / detached, setup_intent.succeeded),
customer.deleted, the charges of invoices (payment_intent.succeeded / payment_failed /
requires_action / canceled / processing) and their refunds (charge.refunded). Other types are
kept as "ignored" (a handler added later can replay them).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from babel.dates import format_date
from sqlmodel import Session, col, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.adapters.stripe_gateway import StripeConfig
from billing_app.adapters.stripe_objects import id_of
from billing_app.db.card_payments import PaymentAttempt, SavedCard, StripeCustomer, StripeEvent
from billing_app.db.customers import Client
from billing_app.db.invoicing import InvoiceEvent, InvoicePayment
from billing_app.domain.money import Money, format_money
from billing_app.services.card_payments import alerts, notices
from billing_app.services.card_payments.card_refunds import refund_from_stripe
from billing_app.services.card_payments.cards import forget_card, keep_card
from billing_app.services.card_payments.charges import settle_charge
from billing_app.services.card_payments.stripe_settings import stripe_config
from billing_app.services.common import audit
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.outbox import retry_delay
from billing_app.services.invoicing.payments import locked_invoice
from billing_app.settings import Settings

log = logging.getLogger(__name__)

WAKE_STRIPE_EVENTS = "stripe_events"
MAX_ATTEMPTS = 8
CLAIM_TIMEOUT = timedelta(minutes=10)
# "handling" is due again once its claim has expired: a worker that died mid-way is replaced.
DUE_STATES = ("pending", "failed", "handling")

Apply = Callable[[Session], None]


class NotConnected(Exception):
    """Stripe's keys are gone: the event is retried like any failure (dead after
    MAX_ATTEMPTS, about four hours)."""


def _payment_method_changed(config: StripeConfig, obj: dict[str, Any], clock: Clock) -> Apply:
    card = gateway.retrieve_card(config, str(obj.get("id") or ""))  # now, not as the event says

    def apply(session: Session) -> None:
        row = session.exec(
            select(SavedCard).where(col(SavedCard.payment_method_id) == card.id)
        ).first()
        if not card.customer_id:
            if row is not None:
                forget_card(session, row, clock)
            return
        customer = session.exec(
            select(StripeCustomer).where(col(StripeCustomer.customer_id) == card.customer_id)
        ).first()
        if customer is None:
            return  # a customer that is not one of our clients'
        keep_card(session, customer.client_id, card, clock)

    return apply


def _setup_intent_succeeded(config: StripeConfig, obj: dict[str, Any], clock: Clock) -> Apply:
    """A card saved while the page was closed before it could tell us: kept all the same, for
    the client who started that setup, when the intent is their customer's."""
    intent = gateway.retrieve_setup_intent(config, str(obj.get("id") or ""))
    card = None
    if intent.status == "succeeded" and intent.payment_method_id:
        card = gateway.retrieve_card(config, intent.payment_method_id)

    def apply(session: Session) -> None:
        attempt = session.exec(
            select(PaymentAttempt)
            .where(col(PaymentAttempt.kind) == "setup")
            .where(col(PaymentAttempt.stripe_id) == intent.id)
        ).first()
        if attempt is None or card is None:
            return
        customer = session.exec(
            select(StripeCustomer).where(col(StripeCustomer.client_id) == attempt.client_id)
        ).first()
        if customer is None or intent.customer_id != customer.customer_id:
            return
        keep_card(session, attempt.client_id, card, clock)

    return apply


def _customer_deleted(_config: StripeConfig, obj: dict[str, Any], clock: Clock) -> Apply:
    customer_id = str(obj.get("id") or "")

    def apply(session: Session) -> None:
        customer = session.exec(
            select(StripeCustomer).where(col(StripeCustomer.customer_id) == customer_id)
        ).first()
        if customer is None:
            return
        for card in session.exec(
            select(SavedCard)
            .where(col(SavedCard.client_id) == customer.client_id)
            .where(col(SavedCard.removed_at).is_(None))
        ).all():
            card.removed_at, card.is_default = clock.now(), False
            session.add(card)
        session.delete(customer)  # a new one is made when the client saves a card again

    return apply


def _payment_intent_changed(config: StripeConfig, obj: dict[str, Any], clock: Clock) -> Apply:
    """A charge of ours moved on at Stripe (succeeded, failed, waits for the bank, canceled):
    the attempt and the invoice are brought to Stripe's state now, whatever the event's order."""
    intent = gateway.retrieve_payment_intent(config, str(obj.get("id") or ""))

    def apply(session: Session) -> None:
        attempt = session.exec(
            select(PaymentAttempt)
            .where(col(PaymentAttempt.kind) == "charge")
            .where(col(PaymentAttempt.stripe_id) == intent.id)
        ).first()
        if attempt is None:
            return  # not a payment made here
        settle_charge(session, attempt, intent, clock=clock)

    return apply


def _charge_refunded(config: StripeConfig, obj: dict[str, Any], clock: Clock) -> Apply:
    """Money of a card payment given back (from here, or in Stripe's dashboard): every refund
    of the payment Stripe has now is recorded once."""
    intent = obj.get("payment_intent")
    intent_id = str(intent.get("id") if isinstance(intent, dict) else intent or "")
    refunds = gateway.list_refunds(config, intent_id) if intent_id else []

    def apply(session: Session) -> None:
        for refund in sorted(refunds, key=lambda r: r.id):
            refund_from_stripe(session, refund, clock)

    return apply


def _dispute_created(_config: StripeConfig, obj: dict[str, Any], clock: Clock) -> Apply:
    """The client's bank disputes a card payment: the invoice is flagged, its timeline says
    what and until when, and the agency is emailed (once per dispute)."""
    dispute_id = str(obj.get("id") or "")
    intent_id = id_of(obj.get("payment_intent"))
    amount = int(obj.get("amount") or 0)
    reason = str(obj.get("reason") or "unknown").replace("_", " ")
    due_by = (obj.get("evidence_details") or {}).get("due_by")

    def apply(session: Session) -> None:
        payment = session.exec(
            select(InvoicePayment)
            .where(col(InvoicePayment.processor_id) == intent_id)
            .where(col(InvoicePayment.kind) == "payment")
        ).first()
        if payment is None or not dispute_id:
            return  # not a payment made here
        invoice = locked_invoice(session, payment.invoice_id)
        seen = session.exec(
            select(InvoiceEvent.id)
            .where(col(InvoiceEvent.invoice_id) == invoice.id)
            .where(col(InvoiceEvent.kind) == "disputed")
            .where(col(InvoiceEvent.message).contains(dispute_id))
        ).first()
        if seen is not None:
            return
        label = format_money(Money(amount, invoice.currency), invoice.locale)
        respond_by = (
            format_date(datetime.fromtimestamp(int(due_by), UTC), "long", locale="en")
            if isinstance(due_by, int)
            else ""
        )
        invoice.disputed_at = invoice.disputed_at or clock.now()
        session.add(invoice)
        assert invoice.id is not None
        until = f" Answer it in Stripe by {respond_by}." if respond_by else ""
        session.add(
            InvoiceEvent(
                invoice_id=invoice.id,
                at=clock.now(),
                kind="disputed",
                actor_label="Stripe",
                message=f"The client's bank disputes {label} ({reason}, {dispute_id}).{until}",
                internal=True,
            )
        )
        audit.record(
            session,
            "payment.disputed",
            SYSTEM.actor(),
            target=invoice.number or "",
            details=f"{label} {reason} {dispute_id}",
            clock=clock,
        )
        client = session.get(Client, invoice.client_id)
        notices.notify(
            session,
            "dispute",
            f"The bank of {client.company if client else 'a client'} disputes {label} on "
            f"invoice {invoice.number}.{until}",
            link=f"/invoices/{invoice.id}",
            clock=clock,
        )
        alerts.dispute_opened(
            session,
            number=invoice.number or "",
            invoice_id=invoice.id,
            client=client.company if client is not None else "",
            amount=label,
            reason=reason,
            respond_by=respond_by,
            clock=clock,
        )

    return apply


HANDLERS: dict[str, Callable[[StripeConfig, dict[str, Any], Clock], Apply]] = {
    "payment_method.attached": _payment_method_changed,
    "payment_method.updated": _payment_method_changed,
    "payment_method.automatically_updated": _payment_method_changed,
    "payment_method.detached": _payment_method_changed,
    "setup_intent.succeeded": _setup_intent_succeeded,
    "customer.deleted": _customer_deleted,
    "payment_intent.succeeded": _payment_intent_changed,
    "payment_intent.payment_failed": _payment_intent_changed,
    "payment_intent.requires_action": _payment_intent_changed,
    "payment_intent.canceled": _payment_intent_changed,
    "payment_intent.processing": _payment_intent_changed,
    "charge.refunded": _charge_refunded,
    "charge.refund.updated": _charge_refunded,
    "charge.dispute.created": _dispute_created,
}


@dataclass(frozen=True)
class HandlingReport:
    handled: int
    ignored: int
    failed: int


def _claim(session: Session, event_row_id: int, clock: Clock) -> bool:
    now = clock.now()
    done = session.execute(
        sa.update(StripeEvent)
        .where(col(StripeEvent.id) == event_row_id)
        .where(col(StripeEvent.state).in_(DUE_STATES))
        .where(col(StripeEvent.next_attempt_at) <= now)
        .values(
            state="handling",
            attempts=StripeEvent.attempts + 1,
            next_attempt_at=now + CLAIM_TIMEOUT,
        )
    )
    session.commit()
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def handle_due_events(
    engine: sa.Engine,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    limit: int = 50,
) -> HandlingReport:
    """Handle the events that are due, oldest first. Safe to run from several workers at once
    (each event is claimed first) and again after a crash (a claim expires)."""
    handled = ignored = failed = 0
    with Session(engine, expire_on_commit=False) as session:
        due = session.exec(
            select(StripeEvent.id)
            .where(col(StripeEvent.state).in_(DUE_STATES))
            .where(col(StripeEvent.next_attempt_at) <= clock.now())
            .order_by(col(StripeEvent.id))
            .limit(limit)
        ).all()
        for row_id in due:
            assert row_id is not None
            if not _claim(session, row_id, clock):
                continue
            row = session.get(StripeEvent, row_id)
            assert row is not None
            session.refresh(row)
            if row.attempts > MAX_ATTEMPTS:  # its workers kept dying: give up, and say so
                _failed(session, row_id, RuntimeError("no worker finished handling it"), clock)
                failed += 1
                continue
            handler = HANDLERS.get(row.type)
            if handler is None:
                row.state, row.handled_at = "ignored", clock.now()
                session.add(row)
                session.commit()
                ignored += 1
                continue
            try:
                config = stripe_config(session, settings=settings)
                session.commit()  # Stripe is asked outside any transaction
                if config is None:
                    raise NotConnected("Stripe is not connected")
                event = json.loads(row.payload)
                apply = handler(config, event.get("data", {}).get("object", {}), clock)
                apply(session)
                row.state, row.handled_at, row.last_error = "handled", clock.now(), ""
                session.add(row)
                session.commit()
                handled += 1
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then reported
                session.rollback()
                failed += 1
                _failed(session, row_id, exc, clock)
    return HandlingReport(handled=handled, ignored=ignored, failed=failed)


def _failed(session: Session, row_id: int, exc: Exception, clock: Clock) -> None:
    row = session.get(StripeEvent, row_id)
    assert row is not None
    session.refresh(row)
    if isinstance(exc, gateway.GatewayError):
        row.last_error = f"Stripe: {exc.message}"[:500]
    else:
        row.last_error = f"{type(exc).__name__}: {exc}"[:500]
    if row.attempts >= MAX_ATTEMPTS:
        row.state = "dead"
        log.error("Stripe event %s (%s) gave up: %s", row.event_id, row.type, row.last_error)
        alerts.event_dead(
            session,
            event_type=row.type,
            event_id=row.event_id,
            error=row.last_error,
            clock=clock,
        )
        audit.record(
            session,
            "stripe.event_failed",
            SYSTEM.actor(),
            target=f"{row.type} {row.event_id}",
            details=row.last_error,
            clock=clock,
        )
    else:
        row.state = "failed"
        row.next_attempt_at = clock.now() + retry_delay(row.attempts)
        log.warning("Stripe event %s (%s) failed: %s", row.event_id, row.type, row.last_error)
    session.add(row)
    session.commit()
