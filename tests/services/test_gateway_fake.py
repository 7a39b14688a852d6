"""Paying an invoice through the gateway fake (tests/fake_stripe_gateway.py), for what
localstripe cannot produce: an expired card, decline and advice codes, a card that declines
then succeeds, Stripe's answer lost after it charged, an off-session charge that needs the
client's bank. The first tests run the same scenarios on localstripe and on the fake: both
give the same outcome, so the fake stays honest."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from billing_app.adapters import stripe_gateway as gateway
from billing_app.services.card_payments import cards, charges, invoice_payments
from billing_app.services.card_payments.stripe_settings import stripe_config
from billing_app.services.common.clock import FixedClock
from tests.fake_stripe_gateway import FakeStripe, install

from .test_invoice_card_payments import (
    DECLINES,
    VISA,
    attempts,
    card_payments,
    receipts,
    save_card,
    shop,
)
from .test_invoice_payment_rules import invoice_of
from .test_invoicing import world

__all__ = ["shop", "world"]


def fake_card(session: Session, clock: FixedClock, w: dict[str, Any], pm: str) -> int:
    """A card of the world's client as the fake knows it (customer made, card attached)."""
    config = stripe_config(session, settings=w["settings"])
    assert config is not None
    customer = cards.customer_of(session, w["client"].id, config, clock)
    card = gateway.attach_card(config, pm, customer.customer_id)
    row = cards.keep_card(session, w["client"].id, card, clock)
    session.commit()
    assert row.id is not None
    return row.id


def pay(session: Session, clock: FixedClock, w: dict[str, Any], card_id: int) -> Any:
    due = (
        invoice_of(session, w["invoice_id"]).total_minor
        - invoice_of(session, w["invoice_id"]).paid_minor
    )
    outcome = invoice_payments.pay_invoice(
        session,
        w["user"],
        w["invoice_id"],
        card_id,
        expected_due_minor=due,
        clock=clock,
        settings=w["settings"],
    )
    session.commit()
    return outcome


@pytest.mark.parametrize("backend", ["localstripe", "fake"])
def test_a_good_card_pays_alike_on_both(
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if backend == "fake":
        install(monkeypatch)
        card_id = fake_card(session, clock, shop, "pm_fake_visa")
    else:
        card_id = save_card(session, clock, shop, VISA)
    outcome = pay(session, clock, shop, card_id)
    assert outcome.state == "paid" and outcome.receipt is not None
    assert (outcome.receipt.amount.amount_minor, outcome.receipt.card) == (10000, "Visa •••• 4242")
    assert [p.amount_minor for p in card_payments(session)] == [10000]
    assert invoice_of(session, shop["invoice_id"]).status == "paid"


@pytest.mark.parametrize("backend", ["localstripe", "fake"])
def test_a_declined_card_is_refused_alike_on_both(
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if backend == "fake":
        install(monkeypatch)
        card_id = fake_card(session, clock, shop, "pm_fake_lost")
    else:
        card_id = save_card(session, clock, shop, DECLINES)
    outcome = pay(session, clock, shop, card_id)
    assert (outcome.state, outcome.message) == ("failed", "Your card was declined.")
    assert card_payments(session) == [] and invoice_of(session, shop["invoice_id"]).status == "open"


@pytest.mark.parametrize(
    ("pm", "said"),
    [
        ("pm_fake_expired", "Your card has expired."),
        ("pm_fake_insufficient", "Your card has insufficient funds."),
    ],
)
def test_decline_codes_are_said_in_words_a_client_reads(
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    pm: str,
    said: str,
) -> None:
    install(monkeypatch)
    outcome = pay(session, clock, shop, fake_card(session, clock, shop, pm))
    assert (outcome.state, outcome.message) == ("failed", said)
    assert attempts(session) == [("failed", said)]


def test_a_card_that_declines_then_succeeds_pays_on_the_second_try(
    session: Session, clock: FixedClock, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    install(monkeypatch)
    card_id = fake_card(session, clock, shop, "pm_fake_declines_once")
    assert pay(session, clock, shop, card_id).state == "failed"
    assert pay(session, clock, shop, card_id).state == "paid"
    assert len(card_payments(session)) == 1 and len(receipts(session)) == 1


def test_an_answer_lost_after_stripe_charged_is_settled_once_by_the_reconciliation(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = install(monkeypatch)
    outcome = pay(session, clock, shop, fake_card(session, clock, shop, "pm_fake_timeout"))
    assert (outcome.state, outcome.message) == ("pending", charges.UNREACHABLE)
    assert attempts(session) == [("started", "")] and card_payments(session) == []
    assert [i.status for i in fake.intents.values()] == ["succeeded"]
    clock.advance(seconds=charges.STALE_START.total_seconds() + 1)
    assert charges.reconcile_charges(engine, clock=clock, settings=shop["settings"]).settled == 1
    assert charges.reconcile_charges(engine, clock=clock, settings=shop["settings"]).settled == 0
    assert len(card_payments(session)) == 1 and len(receipts(session)) == 1
    assert invoice_of(session, shop["invoice_id"]).status == "paid"


def test_an_off_session_charge_the_bank_must_confirm_is_an_authentication_error(
    session: Session, clock: FixedClock, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the billing engine will meet when it charges a saved card on its own: Stripe's
    authentication_required, said in words a client reads; the same card on session asks
    the bank instead."""
    fake: FakeStripe = install(monkeypatch)
    config = stripe_config(session, settings=shop["settings"])
    assert config is not None
    with pytest.raises(gateway.CardError) as refused:
        gateway.charge_card(
            config,
            amount_minor=5000,
            currency="EUR",
            customer_id="cus_x",
            payment_method_id="pm_fake_needs_bank",
            off_session=True,
            idempotency_key="renewal-1",
            metadata={},
        )
    assert refused.value.code == "authentication_required"
    assert refused.value.message == "Your bank needs you to confirm this payment."
    with pytest.raises(gateway.CardError) as lost:
        gateway.charge_card(
            config,
            amount_minor=5000,
            currency="EUR",
            customer_id="cus_x",
            payment_method_id="pm_fake_lost",
            off_session=True,
            idempotency_key="renewal-2",
            metadata={},
        )
    assert (lost.value.decline_code, lost.value.advice_code) == ("lost_card", "do_not_try_again")
    on_session = pay(session, clock, shop, fake_card(session, clock, shop, "pm_fake_needs_bank"))
    assert on_session.state == "action" and on_session.client_secret
    assert "charge_card" in fake.calls
