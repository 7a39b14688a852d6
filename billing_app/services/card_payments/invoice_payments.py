"""Paying an invoice by card in the portal: the client chooses one of their saved cards, we
charge what is due on it (services/card_payments/charges.py), 3-D Secure runs in the browser
when the bank asks, and the payment is recorded once, with a receipt."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.db.card_payments import PaymentAttempt, SavedCard, StripeCustomer
from billing_app.db.invoicing import Invoice
from billing_app.domain.cards import card_label
from billing_app.domain.lifecycle import InvoiceStatus
from billing_app.domain.money import Money
from billing_app.domain.permissions import ClientPermission
from billing_app.services.access.portal_identity import (
    NOT_FOUND,
    ClientUser,
    require_client,
    require_member,
)
from billing_app.services.card_payments.cards import CardRow, client_cards, connected_config
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
from billing_app.services.invoicing.payments import card_payment_in_flight, locked_invoice
from billing_app.services.invoicing.settlement import payable_minor, settlement_of
from billing_app.settings import Settings, get_settings


@dataclass(frozen=True)
class Checkout:
    """What the pay dialog shows: what is being paid, and with which cards."""

    invoice_id: int
    number: str
    due: Money
    cards: list[CardRow]
    may_add_card: bool
    in_progress: bool
    publishable_key: str  # for Stripe.js in the browser (3-D Secure, a new card)
    stripe_js_url: str


def _payable(session: Session, client_id: int, invoice_id: int, *, lock: bool) -> Invoice:
    """The client's sent invoice (locked when asked), refused when nothing can be paid on it."""
    if not 0 < invoice_id < 2**63:
        raise NotFound(NOT_FOUND)
    invoice = locked_invoice(session, invoice_id) if lock else session.get(Invoice, invoice_id)
    if invoice is None or invoice.client_id != client_id or invoice.status == "draft":
        raise NotFound(NOT_FOUND)
    if payable_minor(invoice) <= 0:
        msg = {
            InvoiceStatus.PAID.value: "This invoice is already paid.",
            InvoiceStatus.VOID.value: "This invoice was voided: there is nothing to pay.",
        }.get(invoice.status, "There is nothing to pay on this invoice.")
        raise Conflict(msg)
    return invoice


def checkout(
    session: Session,
    actor: ClientUser,
    invoice_id: int,
    *,
    settings: Settings | None = None,
) -> Checkout:
    """What paying this invoice takes: the amount due now and the client's saved cards."""
    client_id = require_client(actor, ClientPermission.INVOICES_PAY)
    invoice = _payable(session, client_id, invoice_id, lock=False)
    connected_config(session, settings)
    assert invoice.id is not None
    may_manage = actor.may(ClientPermission.PAYMENT_METHODS_MANAGE)
    return Checkout(
        invoice_id=invoice.id,
        number=invoice.number or "",
        due=settlement_of(invoice).outstanding,
        cards=client_cards(session, client_id),
        may_add_card=may_manage,
        in_progress=card_payment_in_flight(session, invoice.id),
        publishable_key=publishable_key(session),
        stripe_js_url=(settings or get_settings()).stripe_js_url,
    )


def pay_offered(session: Session, actor: ClientUser) -> bool:
    """Whether the actor may pay the client's invoices by card here (their role allows it and
    the agency has connected Stripe)."""
    require_member(actor)
    return actor.may(ClientPermission.INVOICES_PAY) and bool(publishable_key(session))


def pay_invoice(
    session: Session,
    actor: ClientUser,
    invoice_id: int,
    card_id: int,
    *,
    expected_due_minor: int,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> PaymentOutcome:
    """Charge what is due on the invoice to one of the client's saved cards. The amount the
    client saw (``expected_due_minor``) must still be what is due: a stale page is told, not
    charged another amount."""
    client_id = require_client(actor, ClientPermission.INVOICES_PAY)
    config = connected_config(session, settings)
    if 0 < invoice_id < 2**63:
        settle_leftover(session, config, invoice_id, client_id, clock)
    invoice = _payable(session, client_id, invoice_id, lock=True)
    assert invoice.id is not None
    card = session.get(SavedCard, card_id) if 0 < card_id < 2**63 else None
    if card is None or card.client_id != client_id or card.removed_at is not None:
        msg = "Choose one of your cards."
        raise NotFound(msg)
    customer = session.exec(
        select(StripeCustomer).where(col(StripeCustomer.client_id) == client_id)
    ).first()
    if customer is None:
        raise NotFound(NOT_FOUND)
    return charge(
        session,
        config,
        invoice,
        customer_id=customer.customer_id,
        payment_method_id=card.payment_method_id,
        card=card_label(card.brand, card.last4),
        actor_label=actor.email,
        expected_due_minor=expected_due_minor,
        clock=clock,
    )


def finish_payment(
    session: Session,
    actor: ClientUser,
    invoice_id: int,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> PaymentOutcome:
    """After the client's bank was asked in the browser: Stripe says how the client's latest
    payment of this invoice ended (the browser's word is only a hint)."""
    client_id = require_client(actor, ClientPermission.INVOICES_PAY)
    config = connected_config(session, settings)
    attempt = session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.invoice_id) == (invoice_id if 0 < invoice_id < 2**63 else 0))
        .where(col(PaymentAttempt.client_id) == client_id)
        .where(col(PaymentAttempt.kind) == "charge")
        .order_by(col(PaymentAttempt.id).desc())
    ).first()
    if attempt is None:
        raise NotFound(NOT_FOUND)
    if attempt.state == "failed":
        return PaymentOutcome("failed", attempt.error or gateway.DEFAULT_CARD_MESSAGE)
    if not attempt.stripe_id:
        return PaymentOutcome("pending", UNREACHABLE)
    session.commit()
    try:
        intent = gateway.retrieve_payment_intent(config, attempt.stripe_id)
    except gateway.GatewayError:
        return PaymentOutcome("pending", UNREACHABLE)
    return settle_charge(session, attempt, intent, clock=clock)
