"""Refunds to the card, against localstripe: staff give back part of a card payment with a
reason and the client gets the refund email; never more than that payment brought in and was
not given back (even where Stripe would accept more); card money goes back to the card, offline
refunds stay for offline money; a refund made in Stripe's dashboard is recorded from its event,
once; a refund Stripe never answered is settled by the reconciliation, once."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
import stripe
from sqlmodel import Session, col, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.db.card_payments import PaymentAttempt, StripeEvent
from billing_app.db.invoicing import InvoicePayment
from billing_app.db.models import OutboxEmail
from billing_app.domain.permissions import BuiltinRole
from billing_app.services.card_payments import card_refunds, events
from billing_app.services.card_payments.card_refunds import CardRefundForm
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from billing_app.services.invoicing import payments
from billing_app.services.invoicing.payments import PaymentForm

from .test_invoice_card_payments import VISA, pay, save_card, shop
from .test_invoice_notices import as_role, audit_of
from .test_invoice_payment_rules import TODAY, client_figures, invoice_of
from .test_invoicing import world
from .test_stripe_events import store_event

__all__ = ["shop", "world"]


def paid_by_card(session: Session, clock: FixedClock, w: dict[str, Any], **kw: Any) -> int:
    """The world's invoice paid by card (all of what is due, or ``expected``); the payment's id."""
    card_id = save_card(session, clock, w, VISA)
    assert pay(session, clock, w, card_id, **kw).state == "paid"
    session.expire_all()
    return session.exec(select(InvoicePayment.id).where(col(InvoicePayment.method) == "card")).one()


def refund(
    session: Session, clock: FixedClock, w: dict[str, Any], payment_id: int, amount: str, **kw: Any
) -> int:
    row_id = card_refunds.refund_to_card(
        session,
        kw.pop("actor", w["actor"]),
        w["invoice_id"],
        payment_id,
        CardRefundForm(amount, kw.pop("reason", "Billed twice for March")),
        clock=clock,
        settings=w["settings"],
    )
    session.commit()
    return row_id


def stripe_refunds(settings: Any) -> list[dict[str, Any]]:
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": settings.stripe_api_base})
    return [r.to_dict() for r in sdk.v1.refunds.list(params={"limit": 100}).data]


def refund_emails(session: Session) -> list[OutboxEmail]:
    return list(session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == "refund")))


def card_refunds_recorded(session: Session) -> list[InvoicePayment]:
    session.expire_all()
    return list(
        session.exec(
            select(InvoicePayment)
            .where(col(InvoicePayment.kind) == "refund")
            .where(col(InvoicePayment.method) == "card")
        )
    )


def test_part_of_a_card_payment_goes_back_to_the_card_with_an_email(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    payment_id = paid_by_card(session, clock, shop)
    net_before, _ = client_figures(session, shop)

    refund(session, clock, shop, payment_id, "30")

    invoice = invoice_of(session, shop["invoice_id"])
    assert (invoice.status, invoice.paid_minor, invoice.refunded_minor) == (
        "partially_refunded",
        10000,
        3000,
    )
    [row] = card_refunds_recorded(session)
    assert (row.amount_minor, row.refund_of_id, row.reference, row.note, row.received_on) == (
        3000,
        payment_id,
        "Visa •••• 4242",
        "Billed twice for March",
        TODAY,
    )
    [at_stripe] = stripe_refunds(shop["settings"])
    assert (at_stripe["id"], at_stripe["amount"], at_stripe["status"]) == (
        row.processor_id,
        3000,
        "succeeded",
    )
    [email] = refund_emails(session)
    assert email.to_address == "billing@cafe-under.test"
    assert email.subject.startswith("Refund for invoice INV-")
    for said in ("€30.00", "Visa •••• 4242", "Reason: Billed twice for March"):
        assert said in email.body_text
    assert client_figures(session, shop)[0] == net_before - 3000
    assert [a.details for a in audit_of(session, "refund.recorded")] == ["€30.00 card"]


def test_never_more_than_the_payment_brought_in_and_was_not_given_back(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    payment_id = paid_by_card(session, clock, shop)
    refund(session, clock, shop, payment_id, "30")
    with pytest.raises(ValidationFailed) as too_much:
        refund(session, clock, shop, payment_id, "70.01")
    assert too_much.value.message == (
        "You can refund at most €70.00 on this card payment: that is what it brought in and "
        "was not given back yet."
    )
    session.rollback()
    refund(session, clock, shop, payment_id, "70")
    with pytest.raises(Conflict, match="refunded in full already"):
        refund(session, clock, shop, payment_id, "1")
    session.rollback()
    assert [r["amount"] for r in stripe_refunds(shop["settings"])] in ([3000, 7000], [7000, 3000])
    invoice = invoice_of(session, shop["invoice_id"])
    assert (invoice.status, invoice.refunded_minor) == ("refunded", 10000)


def test_card_money_goes_back_to_the_card_and_offline_money_offline(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    payments.record_payment(
        session,
        shop["actor"],
        shop["invoice_id"],
        PaymentForm("40", "bank_transfer", TODAY),
        clock=clock,
    )
    session.commit()
    card_payment = paid_by_card(session, clock, shop, expected=6000)
    with pytest.raises(ValidationFailed) as offline:
        payments.record_refund(
            session,
            shop["actor"],
            shop["invoice_id"],
            PaymentForm("50", "bank_transfer", TODAY),
            clock=clock,
        )
    assert offline.value.message == (
        "You can refund at most €40.00 offline: the rest was paid by card. Refund it to the "
        "card from the card payment."
    )
    session.rollback()
    with pytest.raises(ValidationFailed, match=r"at most €60\.00"):
        refund(session, clock, shop, card_payment, "61")
    session.rollback()
    refund(session, clock, shop, card_payment, "60")
    payments.record_refund(
        session,
        shop["actor"],
        shop["invoice_id"],
        PaymentForm("40", "bank_transfer", TODAY),
        clock=clock,
    )
    session.commit()
    assert invoice_of(session, shop["invoice_id"]).status == "refunded"


def test_refusals_say_why_and_change_nothing(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    payment_id = paid_by_card(session, clock, shop)
    with pytest.raises(ValidationFailed, match="Say why"):
        refund(session, clock, shop, payment_id, "10", reason="   ")
    session.rollback()
    with pytest.raises(NotAllowed):
        refund(session, clock, shop, payment_id, "10", actor=as_role(shop, BuiltinRole.VIEWER))
    session.rollback()
    with pytest.raises(NotFound):
        refund(session, clock, shop, payment_id + 999, "10")
    session.rollback()
    with pytest.raises(ValidationFailed):
        refund(session, clock, shop, payment_id, "ten euros")
    session.rollback()
    assert stripe_refunds(shop["settings"]) == [] and card_refunds_recorded(session) == []
    assert (
        session.exec(select(PaymentAttempt).where(col(PaymentAttempt.kind) == "refund")).all() == []
    )


def test_a_refund_made_in_stripes_dashboard_is_recorded_once_from_its_event(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    payment_id = paid_by_card(session, clock, shop)
    payment = session.get(InvoicePayment, payment_id)
    assert payment is not None and payment.processor_id is not None
    refund(session, clock, shop, payment_id, "10")  # ours: recorded already
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": shop["settings"].stripe_api_base})
    sdk.v1.refunds.create(params={"payment_intent": payment.processor_id, "amount": 2500})
    for n in range(3):
        store_event(
            session,
            clock,
            "charge.refunded",
            {"id": f"ch_{n}", "payment_intent": payment.processor_id},
            n,
        )
    events.handle_due_events(engine, clock=clock, settings=shop["settings"])
    events.handle_due_events(engine, clock=clock, settings=shop["settings"])
    assert sorted(r.amount_minor for r in card_refunds_recorded(session)) == [1000, 2500]
    assert len(refund_emails(session)) == 2
    assert invoice_of(session, shop["invoice_id"]).refunded_minor == 3500
    assert set(session.exec(select(StripeEvent.state)).all()) == {"handled"}


def test_a_refund_stripe_never_answered_is_settled_by_the_reconciliation_once(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payment_id = paid_by_card(session, clock, shop)
    made = gateway.refund

    def lost_answer(*args: Any, **kw: Any) -> gateway.Refund:
        made(*args, **kw)  # Stripe made it; its answer never came back
        raise gateway.GatewayError(gateway.UNAVAILABLE, code="unavailable", retryable=True)

    monkeypatch.setattr(gateway, "refund", lost_answer)
    with pytest.raises(Conflict, match="Stripe did not answer"):
        refund(session, clock, shop, payment_id, "25")
    session.rollback()
    monkeypatch.undo()
    assert card_refunds_recorded(session) == []
    # Meanwhile another refund of this invoice waits: one in flight at a time.
    with pytest.raises(Conflict, match="being made"):
        refund(session, clock, shop, payment_id, "5")
    session.rollback()
    assert card_refunds.reconcile_refunds(engine, clock=clock, settings=shop["settings"]) == 0
    clock.advance(minutes=3)
    assert card_refunds.reconcile_refunds(engine, clock=clock, settings=shop["settings"]) == 1
    assert card_refunds.reconcile_refunds(engine, clock=clock, settings=shop["settings"]) == 0
    [row] = card_refunds_recorded(session)
    assert (row.amount_minor, row.note) == (2500, "Billed twice for March")
    assert len(refund_emails(session)) == 1
