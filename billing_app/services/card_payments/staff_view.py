"""What staff see of an invoice's card payments on its detail page: each card payment's and
card refund's Stripe id with a link to it in Stripe's dashboard, and what may still be refunded
to the card."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from billing_app.db.invoicing import Invoice, InvoicePayment
from billing_app.domain.money import Money
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.card_payments.card_refunds import refundable_on_payment
from billing_app.services.card_payments.stripe_settings import publishable_key
from billing_app.services.common.actors import require
from billing_app.services.invoicing.payments import CARD
from billing_app.services.invoicing.settlement import refundable_minor

DASHBOARD = "https://dashboard.stripe.com"


@dataclass(frozen=True)
class CardEntry:
    """A card payment or card refund of the invoice, by the id of its invoice_payment row."""

    payment_id: int
    stripe_id: str
    dashboard_url: str
    refundable: Money | None  # a payment: what may still go back to the card (None: refunds)


def dashboard_url(payment_intent_id: str, *, live: bool) -> str:
    """The payment in Stripe's dashboard (its refunds are shown with it)."""
    return f"{DASHBOARD}/{'' if live else 'test/'}payments/{payment_intent_id}"


def card_entries(session: Session, viewer: CurrentUser, invoice_id: int) -> dict[int, CardEntry]:
    """The invoice's card payments and refunds; refundable amounts only when the viewer may
    refund and Stripe is connected."""
    require(viewer, Permission.INVOICES_READ)
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        return {}
    rows = session.exec(
        select(InvoicePayment)
        .where(col(InvoicePayment.invoice_id) == invoice_id)
        .where(col(InvoicePayment.method) == CARD)
    ).all()
    if not rows:
        return {}
    key = publishable_key(session)  # of the same mode as the secret key (checked on saving)
    live = key.startswith("pk_live_")
    may_refund = viewer.can(Permission.REFUNDS_CREATE) and bool(key)
    invoice_left = refundable_minor(invoice)
    intent_of = {row.id: row.processor_id or "" for row in rows if row.kind == "payment"}
    entries: dict[int, CardEntry] = {}
    for row in rows:
        assert row.id is not None
        intent = intent_of.get(row.refund_of_id or row.id, "")
        refundable = None
        if row.kind == "payment" and may_refund:
            left = min(refundable_on_payment(session, row), invoice_left)
            refundable = Money(left, row.currency) if left > 0 else None
        entries[row.id] = CardEntry(
            payment_id=row.id,
            stripe_id=row.processor_id or "",
            dashboard_url=dashboard_url(intent, live=live) if intent else "",
            refundable=refundable,
        )
    return entries
