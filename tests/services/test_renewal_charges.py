"""Renewal invoices of clients with a default card are charged at once, off-session (against
localstripe; the fake gateway for the bank asking the client): paid with the receipt and no
"please pay" email; declined: the "payment failed" email with the pay link; the bank wants
the client: "please confirm" with the pay link, never retried off-session; no card any more:
the invoice emailed for payment. A run that stopped before charging charges at the next, once."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
import stripe
from sqlmodel import Session, col, select

from billing_app.adapters import crypto
from billing_app.db.card_payments import PAY_LINK_PURPOSE, PayLink, PaymentAttempt
from billing_app.db.customers import Client
from billing_app.db.dunning import DunningState
from billing_app.db.invoicing import Invoice
from billing_app.db.models import OutboxEmail
from billing_app.services.billing import auto_charge
from billing_app.services.billing.renewals import billing_run
from billing_app.services.card_payments import pay_by_link
from billing_app.services.common.clock import FixedClock
from billing_app.services.invoicing.payments import card_payment_in_flight

from .test_invoice_card_payments import DECLINES, THREE_D_SECURE, VISA, save_card, shop
from .test_invoicing import world
from .test_pay_by_link import emailed_token
from .test_renewals import TODAY, attach

__all__ = ["shop", "world"]


def renewal(session: Session, shop: dict[str, Any]) -> Invoice:
    session.expire_all()
    invoice = session.exec(
        select(Invoice)
        .where(col(Invoice.client_id) == shop["client"].id)
        .where(col(Invoice.created_by_id).is_(None))
        .order_by(col(Invoice.id).desc())
    ).first()
    assert invoice is not None
    return invoice


def emails(session: Session, kind: str) -> list[OutboxEmail]:
    return list(session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == kind)))


def test_a_renewal_is_charged_to_the_default_card_with_the_receipt_only(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    save_card(session, clock, shop, VISA)
    attach(session, shop, TODAY)
    sent_before = len(emails(session, "invoice_sent"))

    report = billing_run(engine, clock=clock, settings=shop["settings"])

    assert report.charges is not None and report.charges.paid == 1
    invoice = renewal(session, shop)
    assert (invoice.status, invoice.paid_minor, invoice.due_date) == ("paid", 3000, TODAY)
    assert not invoice.charge_pending
    assert len(emails(session, "invoice_sent")) == sent_before  # no "please pay"
    receipts = [e for e in emails(session, "receipt") if invoice.number in e.subject]
    assert len(receipts) == 1
    assert billing_run(engine, clock=clock, settings=shop["settings"]).charges.paid == 0  # type: ignore[union-attr]


def test_a_declined_renewal_emails_the_client_the_pay_link(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    save_card(session, clock, shop, DECLINES)
    attach(session, shop, TODAY)

    report = billing_run(engine, clock=clock, settings=shop["settings"])

    assert report.charges is not None and report.charges.failed == 1
    invoice = renewal(session, shop)
    assert (invoice.status, invoice.paid_minor, invoice.charge_pending) == ("open", 0, False)
    [failed] = emails(session, "payment_failed")
    assert failed.subject == f"Payment failed for invoice {invoice.number} from Studio Nord Oy"
    assert "We could not charge €30.00" in failed.body_text
    assert "/portal/pay/" in failed.body_text  # the pay link, where a new card can be used
    assert failed.attachment_key == invoice.pdf_key
    attempt = session.exec(
        select(PaymentAttempt).where(col(PaymentAttempt.invoice_id) == invoice.id)
    ).one()
    assert (attempt.state, attempt.actor_label) == ("failed", "Automatic charge")
    # The link's page says why the payer is there, while the invoice is still to pay.
    token = emailed_token(session, shop, "payment_failed")
    opened = pay_by_link.open_link(session, token, clock=clock, settings=shop["settings"])
    assert (opened.automatic, opened.due.amount_minor) == ("failed", 3000)


def test_a_bank_that_wants_the_client_gets_a_confirm_email_and_no_retry(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.fake_stripe_gateway import install

    fake = install(monkeypatch)
    from .test_dunning import card

    card(session, shop, "pm_fake_needs_bank", clock)
    attach(session, shop, TODAY)

    report = billing_run(engine, clock=clock, settings=shop["settings"])

    assert report.charges is not None and report.charges.action == 1
    [asked] = emails(session, "payment_action_required")
    assert "Your bank needs you to confirm the payment of €30.00" in asked.body_text
    assert "/portal/pay/" in asked.body_text
    assert fake.calls.count("confirm_payment_intent") == 1
    billing_run(engine, clock=clock, settings=shop["settings"])
    assert fake.calls.count("confirm_payment_intent") == 1  # never retried off-session


def test_a_run_that_stopped_before_charging_charges_at_the_next_once(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    save_card(session, clock, shop, VISA)
    attach(session, shop, TODAY)
    from billing_app.services.billing import renewals

    def died(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit("killed")

    monkeypatch.setattr(renewals, "charge_pending_invoices", died)
    with pytest.raises(SystemExit):
        billing_run(engine, clock=clock, settings=shop["settings"])
    invoice = renewal(session, shop)
    assert (invoice.status, invoice.charge_pending) == ("open", True)
    monkeypatch.undo()

    billing_run(engine, clock=clock, settings=shop["settings"])
    billing_run(engine, clock=clock, settings=shop["settings"])

    invoice = renewal(session, shop)
    assert (invoice.status, invoice.paid_minor) == ("paid", 3000)
    charges = session.exec(
        select(PaymentAttempt).where(col(PaymentAttempt.invoice_id) == invoice.id)
    ).all()
    assert [a.state for a in charges] == ["done"]


def test_without_a_card_or_when_the_client_opts_out_the_invoice_asks_for_payment(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    save_card(session, clock, shop, VISA)
    client = session.get(Client, shop["client"].id)
    assert client is not None
    client.auto_charge = False
    session.add(client)
    session.commit()
    attach(session, shop, TODAY)

    billing_run(engine, clock=clock, settings=shop["settings"])

    invoice = renewal(session, shop)
    assert (invoice.status, invoice.charge_pending) == ("open", False)
    assert invoice.due_date == date(2026, 3, 28)  # the payment terms
    assert any(invoice.number in e.subject for e in emails(session, "invoice_sent"))
    assert not auto_charge.charges_automatically(session, client)


def test_staff_set_a_clients_automatic_charges(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    from billing_app.domain.permissions import BuiltinRole
    from billing_app.services.common.errors import NotAllowed, ValidationFailed

    from .test_invoice_notices import as_role

    client_id = world["client"].id
    with pytest.raises(NotAllowed):
        auto_charge.set_auto_charge(session, as_role(world, BuiltinRole.VIEWER), client_id, "off")
    with pytest.raises(ValidationFailed):
        auto_charge.set_auto_charge(session, world["actor"], client_id, "sometimes")
    for choice, stored in (("off", False), ("on", True), ("default", None)):
        auto_charge.set_auto_charge(session, world["actor"], client_id, choice)
        session.commit()
        client = session.get(Client, client_id)
        assert client is not None and client.auto_charge is stored
        assert auto_charge.auto_charge_choice(client) == choice


def test_a_card_whose_bank_answers_requires_action_off_session_is_a_confirm_email_too(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    """localstripe (and a Stripe that does not refuse at once) leaves an off-session charge of
    a 3-D Secure card waiting for the bank: the client is away, so it is canceled at Stripe and
    told as Stripe's authentication_required (the "please confirm" email, no retry), and the
    invoice is free to be paid in the portal or by the link."""
    save_card(session, clock, shop, THREE_D_SECURE)
    attach(session, shop, TODAY)

    report = billing_run(engine, clock=clock, settings=shop["settings"])

    assert report.charges is not None and report.charges.action == 1
    invoice = renewal(session, shop)
    assert (invoice.status, invoice.paid_minor, invoice.charge_pending) == ("open", 0, False)
    [asked] = emails(session, "payment_action_required")
    assert invoice.number in asked.subject and "/portal/pay/" in asked.body_text
    assert emails(session, "payment_failed") == []
    [attempt] = session.exec(
        select(PaymentAttempt).where(col(PaymentAttempt.invoice_id) == invoice.id)
    ).all()
    assert (attempt.state, attempt.error) == (
        "failed",
        "Your bank needs you to confirm this payment.",
    )
    assert not card_payment_in_flight(session, invoice.id or 0)
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": shop["settings"].stripe_api_base})
    assert sdk.v1.payment_intents.retrieve(attempt.stripe_id).status == "canceled"
    state = session.get(DunningState, invoice.id)
    assert state is not None and (state.next_retry_on, state.stopped) == (
        None,
        "action",
    )  # never retried off-session

    again = billing_run(engine, clock=clock, settings=shop["settings"])
    assert again.charges is not None and (again.charges.action, again.charges.failed) == (0, 0)
    assert len(emails(session, "payment_action_required")) == 1
    link = session.exec(select(PayLink).where(col(PayLink.invoice_id) == invoice.id)).one()
    token = crypto.decrypt(link.token_sealed, purpose=PAY_LINK_PURPOSE)
    opened = pay_by_link.open_link(session, token, clock=clock, settings=shop["settings"])
    assert (opened.automatic, opened.state) == ("action", "payable")
