"""Credit notes on invoices paid by card, against localstripe: the credit goes back to the card
and the credit note email says so (no second refund email); a refund Stripe refuses puts the
money on the client's credit balance instead, told to staff and the client; a refund Stripe
never answered is settled by the reconciliation either way, once."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.db.card_payments import PaymentAttempt
from billing_app.db.credit_notes import CreditNote
from billing_app.db.invoicing import InvoiceEvent, InvoicePayment
from billing_app.db.models import OutboxEmail
from billing_app.services.card_payments import card_refunds
from billing_app.services.common.clock import FixedClock
from billing_app.services.credit_notes.issuing import issue_credit_note
from billing_app.services.credit_notes.ledger import balance_minor
from billing_app.services.credit_notes.planning import CreditNoteForm
from billing_app.services.invoicing.settlement import outstanding_minor

from .test_card_refunds import paid_by_card, stripe_refunds
from .test_invoice_card_payments import shop
from .test_invoice_payment_rules import client_figures, invoice_of
from .test_invoicing import world

__all__ = ["shop", "world"]


def credit_to_card(session: Session, clock: FixedClock, w: dict[str, Any], amount: str) -> Any:
    issued = issue_credit_note(
        session,
        w["actor"],
        w["invoice_id"],
        CreditNoteForm(
            mode="amount", reason="Two weeks of downtime", amount=amount, give_back="card"
        ),
        clock=clock,
        settings=w["settings"],
    )
    session.commit()
    return issued


def emails(session: Session, kind: str) -> list[OutboxEmail]:
    return list(session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == kind)))


def note_of(session: Session, note_id: int) -> CreditNote:
    note = session.get(CreditNote, note_id)
    assert note is not None
    session.refresh(note)
    return note


def test_a_credit_goes_back_to_the_card_and_the_credit_note_email_says_so(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    paid_by_card(session, clock, shop)

    issued = credit_to_card(session, clock, shop, "30")

    assert issued.outcome == "card"
    invoice = invoice_of(session, shop["invoice_id"])
    assert (invoice.status, invoice.refunded_minor, invoice.credited_minor) == (
        "partially_refunded",
        3000,
        3000,
    )
    assert outstanding_minor(invoice) == 0
    [refund] = session.exec(
        select(InvoicePayment).where(col(InvoicePayment.kind) == "refund")
    ).all()
    assert (refund.method, refund.credit_note_id, refund.amount_minor) == ("card", issued.id, 3000)
    [at_stripe] = stripe_refunds(shop["settings"])
    assert (at_stripe["id"], at_stripe["amount"]) == (refund.processor_id, 3000)
    note = note_of(session, issued.id)
    assert (note.give_back, note.give_back_state) == ("card", "done")
    assert note.pdf_key
    [email] = emails(session, "credit_note")
    assert "Refunded to your card (Visa •••• 4242)" in email.body_text
    assert emails(session, "refund") == []  # the credit note email tells it
    assert client_figures(session, shop) == (7000, 0)  # the credit once, not again for its refund


def test_a_refund_stripe_refuses_leaves_the_money_on_the_credit_balance(
    session: Session, clock: FixedClock, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    paid_by_card(session, clock, shop)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise gateway.GatewayError("This charge is too old to refund.", code="charge_expired")

    monkeypatch.setattr(gateway, "refund", refuse)

    issued = credit_to_card(session, clock, shop, "30")

    assert issued.outcome == "balance"
    assert "too old to refund" in issued.message
    assert balance_minor(session, shop["client"].id, "EUR") == 3000
    invoice = invoice_of(session, shop["invoice_id"])
    assert (invoice.refunded_minor, invoice.credited_minor, outstanding_minor(invoice)) == (
        3000,
        3000,
        0,
    )
    note = note_of(session, issued.id)
    assert note.give_back_state == "balance"
    told = session.exec(
        select(InvoiceEvent.message)
        .where(col(InvoiceEvent.kind) == "refund_problem")
        .where(col(InvoiceEvent.internal))
    ).all()
    assert len(told) == 1 and "added to the client's credit balance" in told[0]
    [email] = emails(session, "credit_note")
    assert "Added to your credit balance" in email.body_text
    assert "Your credit balance is now €30.00." in email.body_text
    attempt = session.exec(select(PaymentAttempt).where(col(PaymentAttempt.kind) == "refund")).one()
    assert attempt.state == "failed"


@pytest.mark.parametrize("made", [True, False], ids=["made", "never-made"])
def test_a_refund_stripe_never_answered_is_settled_by_the_reconciliation_once(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    made: bool,
) -> None:
    paid_by_card(session, clock, shop)
    real = gateway.refund

    def lost(*args: Any, **kwargs: Any) -> Any:
        if made:
            real(*args, **kwargs)  # Stripe made it; its answer never came back
        raise gateway.GatewayError("Stripe did not answer.", retryable=True)

    monkeypatch.setattr(gateway, "refund", lost)
    issued = credit_to_card(session, clock, shop, "30")
    assert issued.outcome == "card_pending"
    assert note_of(session, issued.id).give_back_state == "pending"
    assert invoice_of(session, shop["invoice_id"]).credited_minor == 0  # not yet given back
    assert emails(session, "credit_note") == []
    monkeypatch.setattr(gateway, "refund", real)

    clock.advance(minutes=3)
    for _ in range(2):  # twice: the second finds nothing left to settle
        card_refunds.reconcile_refunds(engine, clock=clock, settings=shop["settings"])

    session.expire_all()
    invoice = invoice_of(session, shop["invoice_id"])
    assert (invoice.refunded_minor, invoice.credited_minor) == (3000, 3000)
    note = note_of(session, issued.id)
    assert note.give_back_state == ("done" if made else "balance")
    assert balance_minor(session, shop["client"].id, "EUR") == (0 if made else 3000)
    assert len(emails(session, "credit_note")) == 1
    refunds = session.exec(select(InvoicePayment).where(col(InvoicePayment.kind) == "refund")).all()
    assert [(r.method, r.credit_note_id) for r in refunds] == [
        ("card" if made else "credit_balance", issued.id)
    ]
    assert client_figures(session, shop) == (7000, 0)
