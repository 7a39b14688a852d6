"""Edges of card payments found by attacking them: a confirmation that never reached Stripe
does not block the invoice for ever; a payment that lands on an invoice that no longer wanted it
is said as received, not as declined; nothing else changes what is due while a charge is in
flight (refunds included); a page that stalled past the reconciliation charges nothing; refunds
Stripe reports beyond what the invoice holds, or failing after they were recorded, are told to
staff instead of bending the figures."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.db.card_payments import PaymentAttempt
from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoicePayment
from billing_app.services.card_payments import card_refunds, charges
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict
from billing_app.services.invoicing import payments
from billing_app.services.invoicing.payments import CARD_PAYMENT_IN_FLIGHT, PaymentForm
from tests.fake_stripe_gateway import install

from .test_gateway_fake import fake_card, pay
from .test_invoice_card_payments import THREE_D_SECURE, attempts, bank_answers, save_card, shop
from .test_invoice_payment_rules import TODAY, invoice_of
from .test_invoicing import world

__all__ = ["shop", "world"]


def staff_notes(session: Session, invoice_id: int, kind: str) -> list[str]:
    session.expire_all()
    return list(
        session.exec(
            select(InvoiceEvent.message)
            .where(col(InvoiceEvent.invoice_id) == invoice_id)
            .where(col(InvoiceEvent.kind) == kind)
        ).all()
    )


def test_a_confirmation_that_never_reached_stripe_is_canceled_and_frees_the_invoice(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = install(monkeypatch)
    lost = pay(session, clock, shop, fake_card(session, clock, shop, "pm_fake_confirm_lost"))
    assert lost.state == "pending"
    clock.advance(seconds=charges.STALE_START.total_seconds() + 1)
    assert charges.reconcile_charges(engine, clock=clock, settings=shop["settings"]).settled == 1
    assert attempts(session) == [("failed", charges.NOT_MADE)]
    assert [i.status for i in fake.intents.values()] == ["canceled"]  # it never can charge
    # Nothing blocks the invoice: staff may record a payment, the client may pay.
    assert pay(session, clock, shop, fake_card(session, clock, shop, "pm_fake_visa")).state == (
        "paid"
    )


def test_a_payment_landing_on_an_invoice_that_no_longer_wanted_it_is_said_as_received(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    secure = save_card(session, clock, shop, THREE_D_SECURE)
    waiting = pay(session, clock, shop, secure)
    assert waiting.state == "action"
    # Meanwhile the invoice was voided behind the checks (as a race on another server could).
    invoice = session.get(Invoice, shop["invoice_id"])
    assert invoice is not None
    invoice.status = "void"
    session.add(invoice)
    session.commit()
    bank_answers(shop["settings"], waiting.client_secret, confirm=True)
    for _ in range(2):  # the page, then Stripe's event: told once
        outcome = charges_finish(session, clock, shop)
        assert (outcome.state, outcome.receipt, outcome.message) == (
            "paid",
            None,
            charges.UNMATCHED,
        )
    assert session.exec(select(InvoicePayment)).all() == []
    [note] = staff_notes(session, shop["invoice_id"], "card_unmatched")
    assert "refund it in Stripe" in note


def charges_finish(
    session: Session, clock: FixedClock, w: dict[str, Any]
) -> charges.PaymentOutcome:
    from billing_app.services.card_payments import invoice_payments

    outcome = invoice_payments.finish_payment(
        session, w["user"], w["invoice_id"], clock=clock, settings=w["settings"]
    )
    session.commit()
    return outcome


def test_no_refund_while_a_charge_of_the_invoice_is_in_flight(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    payments.record_payment(
        session, shop["actor"], shop["invoice_id"], PaymentForm("40", "cash", TODAY), clock=clock
    )
    session.commit()
    waiting = pay(session, clock, shop, save_card(session, clock, shop, THREE_D_SECURE))
    assert waiting.state == "action"
    with pytest.raises(Conflict) as refused:
        payments.record_refund(
            session,
            shop["actor"],
            shop["invoice_id"],
            PaymentForm("40", "cash", TODAY),
            clock=clock,
        )
    assert refused.value.message == CARD_PAYMENT_IN_FLIGHT
    session.rollback()
    assert invoice_of(session, shop["invoice_id"]).refunded_minor == 0


def test_a_page_that_stalled_past_the_reconciliation_charges_nothing(
    session: Session,
    engine: sa.Engine,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = install(monkeypatch)
    card_id = fake_card(session, clock, shop, "pm_fake_visa")
    made = fake.create_payment_intent

    def stalled(*args: Any, **kwargs: Any) -> gateway.PaymentIntent:
        intent = made(*args, **kwargs)
        # Minutes later: the reconciliation gave the attempt up while this page hung.
        with Session(engine) as other:
            other.execute(
                sa.update(PaymentAttempt)
                .where(col(PaymentAttempt.kind) == "charge")
                .values(state="failed", error=charges.NOT_MADE)
            )
            other.commit()
        return intent

    monkeypatch.setattr(gateway, "create_payment_intent", stalled)
    outcome = pay(session, clock, shop, card_id)
    assert (outcome.state, outcome.message) == ("failed", charges.TOO_SLOW)
    assert "confirm_payment_intent" not in fake.calls
    assert [i.status for i in fake.intents.values()] == ["canceled"]
    assert invoice_of(session, shop["invoice_id"]).paid_minor == 0


def test_refunds_stripe_reports_beyond_the_invoice_or_failing_later_are_told_to_staff(
    session: Session, clock: FixedClock, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    install(monkeypatch)
    assert (
        pay(session, clock, shop, fake_card(session, clock, shop, "pm_fake_visa")).state == "paid"
    )
    session.expire_all()
    payment = session.exec(select(InvoicePayment).where(col(InvoicePayment.method) == "card")).one()
    assert payment.processor_id is not None
    too_much = gateway.Refund(
        id="re_dashboard_big",
        status="succeeded",
        amount_minor=12000,
        currency="EUR",
        payment_intent_id=payment.processor_id,
    )
    card_refunds.refund_from_stripe(session, too_much, clock)
    card_refunds.refund_from_stripe(session, too_much, clock)  # delivered again: told once
    session.commit()
    assert invoice_of(session, shop["invoice_id"]).refunded_minor == 0
    [note] = staff_notes(session, shop["invoice_id"], "refund_problem")
    assert "€120.00 (re_dashboard_big), more than this invoice holds" in note

    row_id = card_refunds.refund_to_card(
        session,
        shop["actor"],
        shop["invoice_id"],
        payment.id or 0,
        card_refunds.CardRefundForm("30", "Goodwill"),
        clock=clock,
        settings=shop["settings"],
    )
    session.commit()
    recorded = session.get(InvoicePayment, row_id)
    assert recorded is not None and recorded.processor_id is not None
    failed = gateway.Refund(
        id=recorded.processor_id,
        status="failed",
        amount_minor=3000,
        currency="EUR",
        payment_intent_id=payment.processor_id,
    )
    card_refunds.refund_from_stripe(session, failed, clock)
    session.commit()
    notes = staff_notes(session, shop["invoice_id"], "refund_problem")
    assert any("failed at Stripe: the money did not go back" in n for n in notes)


def test_a_failure_said_twice_at_once_is_recorded_and_told_once(
    session: Session, clock: FixedClock, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page and Stripe's payment_failed may both end the same charge: the second is told
    how it ended, and staff see one entry; a late failure of a paid charge changes nothing."""
    install(monkeypatch)
    outcome = pay(session, clock, shop, fake_card(session, clock, shop, "pm_fake_lost"))
    assert outcome.state == "failed"
    attempt = session.exec(select(PaymentAttempt).where(col(PaymentAttempt.kind) == "charge")).one()
    again = charges._failed(session, attempt, "Something else.", clock)
    assert (again.state, again.message) == ("failed", "Your card was declined.")
    assert len(staff_notes(session, shop["invoice_id"], "card_failed")) == 1
    assert pay(session, clock, shop, fake_card(session, clock, shop, "pm_fake_visa")).state == (
        "paid"
    )
    done = session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.kind) == "charge")
        .where(col(PaymentAttempt.state) == "done")
    ).one()
    late = charges._failed(session, done, "Your card was declined.", clock)
    assert late.state == "paid" and late.receipt is not None
    assert len(staff_notes(session, shop["invoice_id"], "card_failed")) == 1
    assert invoice_of(session, shop["invoice_id"]).status == "paid"
