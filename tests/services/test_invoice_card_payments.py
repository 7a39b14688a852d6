"""Paying an invoice by card in the portal, against localstripe with the real SDK: a saved card
pays exactly what is due and the invoice is paid with a receipt; 3-D Secure is asked in the
browser and its answer is read from Stripe; a declined card or a failed confirmation leaves the
invoice open and says why; a stale page, another client's invoice or card, a settled invoice
and a role without the right are refused with nothing charged; one payment in flight per
invoice, whoever starts it; the payment is recorded once whoever learns of it (the page,
Stripe's events delivered again and again, the reconciliation after a crash)."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import stripe
from sqlmodel import Session, col, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.db.card_payments import PaymentAttempt, StripeEvent
from billing_app.db.invoicing import InvoiceEvent, InvoicePayment
from billing_app.db.models import OutboxEmail
from billing_app.domain.permissions import BuiltinClientRole
from billing_app.services.card_payments import cards, charges, events, invoice_payments
from billing_app.services.card_payments import stripe_settings as keys
from billing_app.services.card_payments.charges import IN_PROGRESS, STALE_START
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, NotFound
from billing_app.services.invoicing import payments
from billing_app.services.invoicing.payments import CARD_PAYMENT_IN_FLIGHT, PaymentForm
from billing_app.settings import Settings

from .test_invoice_payment_rules import TODAY, hundred_euro_invoice, invoice_of
from .test_invoicing import world
from .test_portal_invoices import client_user
from .test_stripe_events import store_event
from .test_stripe_settings import FORM

__all__ = ["world"]

# Test cards (localstripe knows them as Stripe's test mode does).
VISA = "4242424242424242"
THREE_D_SECURE = "4000002500003155"  # asks the bank on every payment
DECLINES = "4000000000000341"  # can be saved, every charge is declined
MASTERCARD = "5555555555554444"


@pytest.fixture
def shop(
    session: Session, clock: FixedClock, settings: Settings, localstripe: str, world: Any
) -> dict[str, Any]:
    """The world (an agency, a client, a €100.00 invoice sent to it) with Stripe connected."""
    keys.save_stripe_keys(session, world["actor"], FORM, clock=clock, settings=settings)
    session.commit()
    world["settings"] = settings.model_copy(update={"stripe_api_base": localstripe})
    world["invoice_id"] = hundred_euro_invoice(session, world, clock)
    world["user"] = client_user(world["client"].id)
    return world


def save_card(session: Session, clock: FixedClock, w: dict[str, Any], number: str) -> int:
    """A card saved as the portal does it: a SetupIntent confirmed by Stripe.js in the browser
    (here, with the SDK as Stripe.js would), then kept as Stripe reports it."""
    user, settings = w["user"], w["settings"]
    setup = cards.start_card_setup(session, user, clock=clock, settings=settings)
    session.commit()
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": settings.stripe_api_base})
    details = {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}
    confirmed = sdk.v1.setup_intents.confirm(
        setup.setup_intent_id,
        params={
            "client_secret": setup.client_secret,
            "payment_method_data": {"type": "card", "card": details},  # type: ignore[typeddict-item]
        },
    )
    if confirmed.status == "requires_action":  # the bank asks: the client confirms
        sdk.v1.setup_intents.confirm(
            setup.setup_intent_id,
            params={"client_secret": setup.client_secret, "use_stripe_sdk": True},  # type: ignore[typeddict-unknown-key]
        )
    outcome = cards.finish_card_setup(
        session, user, setup.setup_intent_id, clock=clock, settings=settings
    )
    session.commit()
    assert outcome.card is not None
    return outcome.card.id


def pay(
    session: Session, clock: FixedClock, w: dict[str, Any], card_id: int, **kw: Any
) -> charges.PaymentOutcome:
    outcome = invoice_payments.pay_invoice(
        session,
        kw.pop("user", w["user"]),
        kw.pop("invoice_id", w["invoice_id"]),
        card_id,
        expected_due_minor=kw.pop("expected", 10000),
        clock=clock,
        settings=w["settings"],
    )
    session.commit()
    return outcome


def bank_answers(settings: Settings, client_secret: str, *, confirm: bool) -> None:
    """What the client does in the bank's 3-D Secure dialog (localstripe's Stripe.js posts the
    same)."""
    intent_id = client_secret.split("_secret_", maxsplit=1)[0]
    answer = httpx.post(
        f"{settings.stripe_api_base}/v1/payment_intents/{intent_id}/_authenticate",
        params={"success": "true" if confirm else "false"},
        json={"key": FORM.publishable_key, "client_secret": client_secret},
    )
    assert answer.status_code == 200, answer.text


def card_payments(session: Session) -> list[InvoicePayment]:
    session.expire_all()
    return list(session.exec(select(InvoicePayment).where(col(InvoicePayment.method) == "card")))


def receipts(session: Session) -> list[OutboxEmail]:
    return list(session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == "receipt")))


def attempts(session: Session) -> list[tuple[str, str]]:
    session.expire_all()
    rows = session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.kind) == "charge")
        .order_by(col(PaymentAttempt.id))
    )
    return [(a.state, a.error) for a in rows]


def intents_at_stripe(settings: Settings) -> list[dict[str, Any]]:
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": settings.stripe_api_base})
    return [pi.to_dict() for pi in sdk.v1.payment_intents.list(params={"limit": 100}).data]


# --------------------------------------------------------------------------- paying


def test_a_saved_card_pays_what_is_due_and_the_client_gets_a_receipt(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    card_id = save_card(session, clock, shop, VISA)
    checkout = invoice_payments.checkout(
        session, shop["user"], shop["invoice_id"], settings=shop["settings"]
    )
    assert (checkout.due.amount_minor, checkout.due.currency) == (10000, "EUR")
    assert [(c.id, c.last4) for c in checkout.cards] == [(card_id, "4242")]
    assert not checkout.in_progress

    outcome = pay(session, clock, shop, card_id)

    assert outcome.state == "paid" and outcome.receipt is not None
    receipt = outcome.receipt
    assert (receipt.amount.amount_minor, receipt.card, receipt.paid_on) == (
        10000,
        "Visa •••• 4242",
        TODAY,
    )
    assert receipt.balance.amount_minor == 0
    invoice = invoice_of(session, shop["invoice_id"])
    assert (invoice.status, invoice.paid_minor) == ("paid", 10000)
    [row] = card_payments(session)
    assert (row.amount_minor, row.reference, row.received_on) == (10000, "Visa •••• 4242", TODAY)
    assert row.processor_id is not None and row.processor_id.startswith("pi_")
    [intent] = intents_at_stripe(shop["settings"])
    assert (intent["id"], intent["amount"], intent["currency"], intent["status"]) == (
        row.processor_id,
        10000,
        "eur",
        "succeeded",
    )
    assert intent["metadata"]["invoice_id"] == str(shop["invoice_id"])
    [email] = receipts(session)
    assert email.to_address == "billing@cafe-under.test"
    assert attempts(session) == [("done", "")]
    timeline = session.exec(
        select(InvoiceEvent).where(col(InvoiceEvent.invoice_id) == shop["invoice_id"])
    ).all()
    assert "€100.00 paid by card (Visa •••• 4242)" in [e.message for e in timeline]
    # Paid: nothing more can be paid, whatever the page still shows.
    with pytest.raises(Conflict, match="already paid"):
        pay(session, clock, shop, card_id)
    assert len(intents_at_stripe(shop["settings"])) == 1


def test_three_d_secure_is_confirmed_in_the_browser_then_read_from_stripe(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    card_id = save_card(session, clock, shop, THREE_D_SECURE)
    outcome = pay(session, clock, shop, card_id)
    assert outcome.state == "action" and outcome.client_secret.startswith("pi_")
    assert invoice_of(session, shop["invoice_id"]).status == "open"
    # While the bank is asked, nothing else changes what is due: no offline payment, no void.
    with pytest.raises(Conflict) as refused:
        payments.record_payment(
            session,
            shop["actor"],
            shop["invoice_id"],
            PaymentForm("100", "bank_transfer", TODAY),
            clock=clock,
        )
    assert refused.value.message == CARD_PAYMENT_IN_FLIGHT
    session.rollback()
    with pytest.raises(Conflict):
        payments.void_invoice(session, shop["actor"], shop["invoice_id"], "typo", clock=clock)
    session.rollback()
    # The browser saying "done" proves nothing: Stripe is asked.
    early = invoice_payments.finish_payment(
        session, shop["user"], shop["invoice_id"], clock=clock, settings=shop["settings"]
    )
    assert early.state == "action"

    bank_answers(shop["settings"], outcome.client_secret, confirm=True)
    done = invoice_payments.finish_payment(
        session, shop["user"], shop["invoice_id"], clock=clock, settings=shop["settings"]
    )
    session.commit()
    assert done.state == "paid" and done.receipt is not None
    assert done.receipt.amount.amount_minor == 10000
    assert invoice_of(session, shop["invoice_id"]).status == "paid"
    assert len(card_payments(session)) == 1 and len(receipts(session)) == 1


def test_a_failed_confirmation_or_a_declined_card_leaves_the_invoice_open_and_says_why(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    secure = save_card(session, clock, shop, THREE_D_SECURE)
    outcome = pay(session, clock, shop, secure)
    bank_answers(shop["settings"], outcome.client_secret, confirm=False)
    failed = invoice_payments.finish_payment(
        session, shop["user"], shop["invoice_id"], clock=clock, settings=shop["settings"]
    )
    session.commit()
    assert (failed.state, failed.message) == ("failed", gateway.AUTHENTICATION_FAILED)

    declining = save_card(session, clock, shop, DECLINES)
    declined = pay(session, clock, shop, declining)
    assert (declined.state, declined.message) == ("failed", "Your card was declined.")

    invoice = invoice_of(session, shop["invoice_id"])
    assert (invoice.status, invoice.paid_minor) == ("open", 0)
    assert card_payments(session) == [] and receipts(session) == []
    assert attempts(session) == [
        ("failed", gateway.AUTHENTICATION_FAILED),
        ("failed", "Your card was declined."),
    ]
    staff_timeline = session.exec(
        select(InvoiceEvent.message)
        .where(col(InvoiceEvent.invoice_id) == shop["invoice_id"])
        .where(col(InvoiceEvent.internal).is_(True))
    ).all()
    assert "Card payment failed (Visa •••• 0341): Your card was declined." in staff_timeline
    # The client tries another card, and it works.
    good = save_card(session, clock, shop, MASTERCARD)
    assert pay(session, clock, shop, good).state == "paid"
    assert invoice_of(session, shop["invoice_id"]).status == "paid"


def test_a_stale_page_is_told_the_new_amount_and_nothing_is_charged(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    card_id = save_card(session, clock, shop, VISA)
    payments.record_payment(
        session,
        shop["actor"],
        shop["invoice_id"],
        PaymentForm("40", "bank_transfer", TODAY),
        clock=clock,
    )
    session.commit()
    with pytest.raises(Conflict) as stale:
        pay(session, clock, shop, card_id, expected=10000)
    assert stale.value.message == "The amount due has changed to €60.00. Check it, then pay again."
    session.rollback()
    assert intents_at_stripe(shop["settings"]) == [] and attempts(session) == []
    # With the amount now shown, the rest is paid, and no more.
    assert pay(session, clock, shop, card_id, expected=6000).state == "paid"
    invoice = invoice_of(session, shop["invoice_id"])
    assert (invoice.status, invoice.paid_minor) == ("paid", 10000)
    assert [p.amount_minor for p in card_payments(session)] == [6000]


def test_only_the_clients_own_invoice_and_cards_and_only_with_the_right(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    card_id = save_card(session, clock, shop, VISA)
    stranger = client_user(shop["client"].id + 1000, user_id=9)
    with pytest.raises(NotAllowed):  # no membership of this client at all
        invoice_payments.checkout(
            session,
            dataclasses.replace(stranger, client_id=shop["client"].id),
            shop["invoice_id"],
            settings=shop["settings"],
        )
    with pytest.raises(NotFound):  # another client's invoice looks like no invoice
        pay(session, clock, shop, card_id, user=stranger)
    viewer = client_user(shop["client"].id, role=BuiltinClientRole.VIEW, user_id=3)
    with pytest.raises(NotAllowed):
        pay(session, clock, shop, card_id, user=viewer)
    with pytest.raises(NotFound):  # a card that is not one of the client's
        pay(session, clock, shop, card_id + 999)
    with pytest.raises(NotFound):
        pay(session, clock, shop, card_id, invoice_id=2**70)
    session.rollback()
    assert intents_at_stripe(shop["settings"]) == [] and attempts(session) == []


def test_a_second_payment_while_one_is_being_made_is_refused(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    card_id = save_card(session, clock, shop, VISA)
    # A payment someone started a moment ago (its call to Stripe not answered yet).
    now = clock.now()
    session.add(
        PaymentAttempt(
            idempotency_key="charge-in-flight",
            kind="charge",
            client_id=shop["client"].id,
            invoice_id=shop["invoice_id"],
            amount_minor=10000,
            currency="EUR",
            created_at=now,
            updated_at=now,
        )
    )
    session.commit()
    with pytest.raises(Conflict) as refused:
        pay(session, clock, shop, card_id)
    assert refused.value.message == IN_PROGRESS
    session.rollback()
    assert invoice_payments.checkout(
        session, shop["user"], shop["invoice_id"], settings=shop["settings"]
    ).in_progress
    # Its page is gone (no Stripe id was ever kept: nothing was charged): after a while the
    # client can pay.
    clock.advance(seconds=STALE_START.total_seconds() + 1)
    assert pay(session, clock, shop, card_id).state == "paid"
    assert attempts(session) == [
        ("failed", "The payment was not made. Nothing was charged."),
        ("done", ""),
    ]


def test_two_tabs_paying_at_once_charge_once(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    card_id = save_card(session, clock, shop, VISA)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def tab() -> None:
        with Session(engine, expire_on_commit=False) as own:
            barrier.wait()
            try:
                outcomes.append(pay(own, clock, shop, card_id).state)
            except Conflict as exc:
                outcomes.append(exc.message)
            except sa.exc.OperationalError:  # SQLite: the other tab holds the write lock
                outcomes.append("busy")

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("paid") == 1, outcomes
    assert len(intents_at_stripe(shop["settings"])) == 1
    assert invoice_of(session, shop["invoice_id"]).paid_minor == 10000


# ------------------------------------------------------------ the same payment, learned again


def test_stripes_events_record_the_payment_once_and_a_late_failure_changes_nothing(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    card_id = save_card(session, clock, shop, THREE_D_SECURE)
    outcome = pay(session, clock, shop, card_id)
    bank_answers(shop["settings"], outcome.client_secret, confirm=True)
    intent_id = outcome.client_secret.split("_secret_")[0]
    # The page was closed before it could tell us; Stripe's event arrives five times, and a
    # payment_failed from an earlier try arrives last.
    for n in range(5):
        store_event(session, clock, "payment_intent.succeeded", {"id": intent_id}, n)
    store_event(session, clock, "payment_intent.payment_failed", {"id": intent_id})
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            events.handle_due_events(engine, clock=clock, settings=shop["settings"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    clock.advance(hours=1)  # retries of events that met a busy database
    events.handle_due_events(engine, clock=clock, settings=shop["settings"])
    assert errors == []
    assert len(card_payments(session)) == 1 and len(receipts(session)) == 1
    invoice = invoice_of(session, shop["invoice_id"])
    assert (invoice.status, invoice.paid_minor) == ("paid", 10000)
    states = session.exec(select(StripeEvent.state)).all()
    assert set(states) == {"handled"}
    # The page comes back after all: it shows the receipt, and records nothing more.
    again = invoice_payments.finish_payment(
        session, shop["user"], shop["invoice_id"], clock=clock, settings=shop["settings"]
    )
    assert again.state == "paid" and again.receipt is not None
    assert len(card_payments(session)) == 1


def test_a_crash_after_stripe_charged_is_settled_by_the_reconciliation_once(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    card_id = save_card(session, clock, shop, VISA)

    def killed(*_args: Any, **_kw: Any) -> None:
        raise SystemExit("the process died here")

    # Stripe accepted the charge; the process dies before anything of it is written.
    monkeypatch.setattr(charges, "settle_charge", killed)
    with pytest.raises(SystemExit):
        pay(session, clock, shop, card_id)
    session.rollback()
    monkeypatch.undo()
    assert [pi["status"] for pi in intents_at_stripe(shop["settings"])] == ["succeeded"]
    assert attempts(session) == [("started", "")] and card_payments(session) == []

    report = charges.reconcile_charges(engine, clock=clock, settings=shop["settings"])
    assert report.settled == 0  # too young: its page may still be at work
    clock.advance(seconds=STALE_START.total_seconds() + 1)
    report = charges.reconcile_charges(engine, clock=clock, settings=shop["settings"])
    assert (report.settled, report.left) == (1, 0)
    charges.reconcile_charges(engine, clock=clock, settings=shop["settings"])
    assert len(card_payments(session)) == 1 and len(receipts(session)) == 1
    assert invoice_of(session, shop["invoice_id"]).status == "paid"
    assert attempts(session) == [("done", "")]


def test_an_abandoned_bank_confirmation_is_canceled_and_the_client_can_pay_again(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    secure = save_card(session, clock, shop, THREE_D_SECURE)
    outcome = pay(session, clock, shop, secure)
    assert outcome.state == "action"
    clock.advance(hours=2)
    report = charges.reconcile_charges(engine, clock=clock, settings=shop["settings"])
    assert report.settled == 1
    assert attempts(session) == [("failed", charges.CANCELED)]
    assert [pi["status"] for pi in intents_at_stripe(shop["settings"])] == ["canceled"]
    assert invoice_of(session, shop["invoice_id"]).status == "open"
    # A new payment from another tab while one waits for the bank gives up the first.
    second = pay(session, clock, shop, secure)
    third = pay(session, clock, shop, secure)
    assert (second.state, third.state) == ("action", "action")
    statuses = sorted(pi["status"] for pi in intents_at_stripe(shop["settings"]))
    assert statuses == ["canceled", "canceled", "requires_action"]
