"""Paying one invoice from its emailed "Pay now" link, without a portal account.

The link's token is the only credential: it opens that invoice and nothing else of the client
(no other invoice, no saved card, no name of anyone). The card is typed into Stripe's form and
set up without a customer; ticked "use this card for future invoices", it is attached to the
client's Stripe customer and becomes the client's default card, else it is used for this payment
only and never attached or kept. The charge itself is the portal's (services/card_payments/
invoice_payments.py): one in flight per invoice, recorded once, with its receipt.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.db.card_payments import PaymentAttempt
from billing_app.db.dunning import DunningState
from billing_app.db.invoicing import Invoice
from billing_app.domain.cards import card_label
from billing_app.domain.lifecycle import InvoiceStatus
from billing_app.domain.money import Money
from billing_app.services.card_payments.cards import (
    connected_config,
    customer_of,
    keep_card,
    set_default,
    tell_stripe_default,
)
from billing_app.services.card_payments.charges import (
    UNREACHABLE,
    PaymentOutcome,
    charge,
    settle_charge,
    settle_leftover,
)
from billing_app.services.card_payments.stripe_settings import publishable_key
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound
from billing_app.services.invoicing.pay_links import invoice_of_link
from billing_app.services.invoicing.payments import locked_invoice
from billing_app.services.invoicing.settlement import payable_minor, settlement_of
from billing_app.settings import Settings, get_settings

LINK_INVALID = (
    "This payment link is not valid any more. Ask us for a new one, or pay by bank transfer."
)
# Card forms a link may open per hour: each one is a SetupIntent at Stripe.
SETUPS_PER_HOUR = 20
PAYER = "pay link"  # who paid, as staff see it


@dataclass(frozen=True)
class LinkInvoice:
    """What the link's page shows: the invoice and where it stands, nothing else of the
    client. ``state``: payable, paid (nothing is due any more: paid or settled otherwise).
    ``automatic``: why its automatic charge did not pay it - "failed" (the card was refused),
    "action" (the bank wants the payer to confirm) - or ""."""

    client_id: int  # for the brand's look only
    number: str
    issue_date: date
    due_date: date
    total: Money
    due: Money
    state: str
    lines: list[dict[str, Any]]
    publishable_key: str
    stripe_js_url: str
    discount: Money
    taxes: list[tuple[str, Money]]  # ("VAT 20%", amount), as the invoice was sent
    automatic: str = ""


@dataclass(frozen=True)
class LinkCardSetup:
    client_secret: str
    setup_intent_id: str


def _invoice(session: Session, token: str, clock: Clock) -> Invoice:
    invoice = invoice_of_link(session, token, clock=clock)
    if invoice is None or invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        raise NotFound(LINK_INVALID)
    return invoice


def open_link(
    session: Session,
    token: str,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> LinkInvoice:
    """The invoice a valid link pays; NotFound (one message for every reason) otherwise."""
    invoice = _invoice(session, token, clock)
    snap = json.loads(invoice.snapshot or "{}")
    due = settlement_of(invoice).outstanding
    return LinkInvoice(
        client_id=invoice.client_id,
        number=invoice.number or "",
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        total=Money(invoice.total_minor, invoice.currency),
        due=due,
        state="payable" if payable_minor(invoice) > 0 else "paid",
        lines=[
            {
                "description": line.get("description", ""),
                "quantity": str(line.get("quantity", "")),
                "amount_minor": int(line.get("amount_minor") or 0),
            }
            for line in snap.get("lines", [])
        ],
        publishable_key=publishable_key(session),
        stripe_js_url=(settings or get_settings()).stripe_js_url,
        discount=Money(int(snap.get("discount_minor") or 0), invoice.currency),
        taxes=[
            (
                f"{t.get('name', '')} {t.get('percent', '')}%",
                Money(int(t.get("amount_minor") or 0), invoice.currency),
            )
            for t in snap.get("taxes", [])
        ],
        automatic=_automatic(session, invoice),
    )


def _automatic(session: Session, invoice: Invoice) -> str:
    """Why the invoice's automatic charge did not pay it, while something is still due: the
    payer came from that email."""
    state = session.get(DunningState, invoice.id)
    if state is None or state.failures == 0 or payable_minor(invoice) <= 0:
        return ""
    return "action" if state.stopped == "action" else "failed"


def start_link_card(
    session: Session,
    token: str,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> LinkCardSetup:
    """A SetupIntent, attached to no customer, for the card the payer types in."""
    invoice = _invoice(session, token, clock)
    if payable_minor(invoice) <= 0:
        msg = "This invoice has nothing left to pay."
        raise Conflict(msg)
    config = connected_config(session, settings)
    recent = session.exec(
        select(func.count())
        .select_from(PaymentAttempt)
        .where(col(PaymentAttempt.kind) == "setup")
        .where(col(PaymentAttempt.invoice_id) == invoice.id)
        .where(col(PaymentAttempt.created_at) > clock.now() - timedelta(hours=1))
    ).one()
    if int(recent) >= SETUPS_PER_HOUR:
        msg = "Too many tries with this link. Wait an hour, then try again."
        raise Conflict(msg)
    now = clock.now()
    attempt = PaymentAttempt(
        idempotency_key=f"setup-{uuid.uuid4().hex}",
        kind="setup",
        client_id=invoice.client_id,
        invoice_id=invoice.id,
        actor_label=PAYER,
        created_at=now,
        updated_at=now,
    )
    session.add(attempt)
    session.commit()
    try:
        intent = gateway.create_setup_intent(
            config, customer_id="", idempotency_key=attempt.idempotency_key
        )
    except gateway.GatewayError as exc:
        attempt.state, attempt.error = "failed", exc.message[:500]
        session.add(attempt)
        session.commit()
        raise Conflict(exc.message) from exc
    attempt.state, attempt.stripe_id, attempt.stripe_status = "done", intent.id, intent.status
    session.add(attempt)
    return LinkCardSetup(client_secret=intent.client_secret, setup_intent_id=intent.id)


def pay_by_link(
    session: Session,
    token: str,
    setup_intent_id: str,
    *,
    keep: bool,
    expected_due_minor: int,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> PaymentOutcome:
    """Pay what is due with the card of a SetupIntent this link started (Stripe says which
    card; the browser only names the intent). ``keep``: the card becomes the client's
    default for automatic charges."""
    invoice = _invoice(session, token, clock)
    config = connected_config(session, settings)
    assert invoice.id is not None
    setup = session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.kind) == "setup")
        .where(col(PaymentAttempt.invoice_id) == invoice.id)
        .where(col(PaymentAttempt.stripe_id) == str(setup_intent_id)[:255])
    ).first()
    if setup is None:
        raise NotFound(LINK_INVALID)
    settle_leftover(session, config, invoice.id, invoice.client_id, clock)
    session.commit()
    try:
        intent = gateway.retrieve_setup_intent(config, setup.stripe_id)
        if intent.status != "succeeded" or not intent.payment_method_id or intent.customer_id:
            return PaymentOutcome("failed", "The card was not confirmed. Try again.")
        card = gateway.retrieve_card(config, intent.payment_method_id)
        customer_id = ""
        if keep:
            customer_id = customer_of(session, invoice.client_id, config, clock).customer_id
            session.commit()
            card = gateway.attach_card(config, card.id, customer_id)
    except gateway.GatewayError as exc:
        return PaymentOutcome("failed", exc.message)
    if keep:
        row = keep_card(session, invoice.client_id, card, clock)
        set_default(session, row)
        session.commit()
        tell_stripe_default(config, customer_id, card.id)
    invoice = locked_invoice(session, invoice.id)
    if payable_minor(invoice) <= 0:
        msg = "This invoice has nothing left to pay."
        raise Conflict(msg)
    return charge(
        session,
        config,
        invoice,
        customer_id=customer_id,
        payment_method_id=card.id,
        card=card_label(card.brand, card.last4),
        actor_label=PAYER,
        expected_due_minor=expected_due_minor,
        clock=clock,
    )


def finish_link_payment(
    session: Session,
    token: str,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> PaymentOutcome:
    """After the bank was asked in the browser: how this link's latest payment ended, from
    Stripe."""
    invoice = _invoice(session, token, clock)
    config = connected_config(session, settings)
    attempt = session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.invoice_id) == invoice.id)
        .where(col(PaymentAttempt.kind) == "charge")
        .where(col(PaymentAttempt.actor_label) == PAYER)
        .order_by(col(PaymentAttempt.id).desc())
    ).first()
    if attempt is None or not attempt.stripe_id:
        raise NotFound(LINK_INVALID)
    if attempt.state == "failed":
        return PaymentOutcome("failed", attempt.error or gateway.DEFAULT_CARD_MESSAGE)
    session.commit()
    try:
        intent = gateway.retrieve_payment_intent(config, attempt.stripe_id)
    except gateway.GatewayError:
        return PaymentOutcome("pending", UNREACHABLE)  # the reconciliation will know
    return settle_charge(session, attempt, intent, clock=clock)
