"""Automatic charges of renewals that fail, against localstripe (its fake Stripe.js in the
browser). A default card that is declined: the invoice stays open, the client gets "payment
failed" with the invoice's pay link, pays there with a new card kept as the default (the
portal's cards and the database say so), and staff see the failed charge, the email and the
payment on the invoice's timeline. A default card whose bank wants the client: the "please
confirm" email with the pay link and no retry off-session; the client pays in the portal,
through Stripe's 3-D Secure dialog.

Named to run after test_payments_settings, which expects Stripe not connected yet."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.db.card_payments import PaymentAttempt
from billing_app.db.customers import Client
from billing_app.db.dunning import DunningState
from billing_app.services.billing.dunning import run_dunning
from billing_app.services.billing.renewals import billing_run
from billing_app.services.card_payments import cards, stripe_settings
from billing_app.services.catalog import subscriptions
from billing_app.services.common.clock import system_clock
from billing_app.services.common.outbox import deliver_due
from billing_app.settings import Settings
from tests.support import CapturingMailer

from .axe import assert_accessible
from .conftest import ARTIFACTS, OWNER_EMAIL, OWNER_PASSWORD, AppServer, text_body
from .test_foundation_journeys import sign_in
from .test_invoice_journey import _catalog
from .test_portal_cards import PHONE, _cards_of, _connect_stripe, _type_card
from .test_portal_pay import _open_invoice, _state_of
from .test_portal_security import _client_user, _portal_sign_in, _signed_in
from .test_renewal_journey import _emails_about, _renewal_of

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "renewals"
DECLINING = "pm_card_chargeCustomerFail"  # localstripe's card that attaches, then declines


def _as_the_app(server: AppServer, localstripe: str) -> Settings:
    """The app's keys (its data folder) and its Stripe (localstripe), for what this process
    runs as the app would: the billing run, the outbox's delivery."""
    return Settings(
        base_url=server.base_url,
        data_dir=server.data_dir,
        stripe_api_base=localstripe,
        mail_from_name="Studio Nord",
    )


def _declining_default_card(server: AppServer, client_id: int, settings: Settings) -> None:
    """A card kept as the client's default, as the portal keeps one, that Stripe declines."""
    with Session(server.engine, expire_on_commit=False) as session:
        config = stripe_settings.stripe_config(session, settings=settings)
        assert config is not None
        customer = cards.customer_of(session, client_id, config, system_clock)
        session.commit()
        card = gateway.attach_card(config, DECLINING, customer.customer_id)
        cards.set_default(session, cards.keep_card(session, client_id, card, system_clock))
        session.commit()
        cards.tell_stripe_default(config, customer.customer_id, card.id)


def _subscribe(server: AppServer, actor: Any, client_id: int, product_id: int, day: date) -> int:
    with Session(server.engine, expire_on_commit=False) as session:
        sub = subscriptions.attach(
            session,
            actor,
            subscriptions.AttachInput(client_id=client_id, product_id=product_id, start_date=day),
        )
        session.commit()
        assert sub.id is not None
        return sub.id


def _client_email(server: AppServer, client_id: int) -> str:
    with Session(server.engine) as session:
        client = session.get(Client, client_id)
        assert client is not None
        return client.email


def _emailed_pay_link(server: AppServer, to: str, subject: str, settings: Settings) -> str:
    """The pay link of the newest queued email to ``to`` about ``subject``, as delivered (the token
    goes in at delivery): delivered here, or read from the mailbox if the app's worker was
    faster."""
    mailer = CapturingMailer()
    deliver_due(server.engine, mailer, settings=settings)
    sent = [m.text for m in mailer.sent if m.to_address == to and subject in m.subject]
    body = sent[-1] if sent else text_body(server.mailbox.wait_for(to, subject))
    found = re.search(r"http://\S+(/portal/pay/[\w-]+)", body)
    assert found, body
    # Queued by this process, whose settings carry the default address rather than the app's
    # (the emails take it from the process's settings): the same path on the app.
    return server.base_url + found.group(1)


def _charges(server: AppServer, invoice_id: int) -> list[tuple[str, str, str]]:
    """(state, who, card) of each charge of the invoice, oldest first."""
    with Session(server.engine) as session:
        rows = session.exec(
            select(PaymentAttempt)
            .where(col(PaymentAttempt.invoice_id) == invoice_id)
            .where(col(PaymentAttempt.kind) == "charge")
            .order_by(col(PaymentAttempt.id))
        ).all()
        return [(a.state, a.actor_label, a.card_label) for a in rows]


def _dunning(server: AppServer, invoice_id: int) -> tuple[date | None, str]:
    with Session(server.engine) as session:
        state = session.get(DunningState, invoice_id)
        assert state is not None
        return state.next_retry_on, state.stopped


def test_a_declined_renewal_is_paid_by_link_with_a_new_card_kept_as_the_default(
    app_server: AppServer, new_page: Any, localstripe_server: str
) -> None:
    actor = _connect_stripe(app_server)
    world = _catalog(app_server, actor, "declined")
    client_id = world["client"].id
    app = _as_the_app(app_server, localstripe_server)
    _declining_default_card(app_server, client_id, app)
    email = _client_user(app_server, client_id, "declined", actor)
    today = date.today()
    sub_id = _subscribe(app_server, actor, client_id, world["care"].id, today)

    report = billing_run(app_server.engine, today=today, settings=app)

    assert report.charges is not None and report.charges.failed == 1
    invoice = _renewal_of(app_server, sub_id, today)
    assert (invoice.status, invoice.paid_minor, invoice.due_date) == ("open", 0, today)
    assert _charges(app_server, invoice.id or 0) == [
        ("failed", "Automatic charge", "Visa •••• 0341")
    ]
    next_retry, stopped = _dunning(app_server, invoice.id or 0)
    assert next_retry is not None and next_retry > today and stopped == ""  # retries scheduled
    kinds = _emails_about(app_server, invoice.number or "?")
    assert "payment_failed" in kinds and "invoice_sent" not in kinds
    link = _emailed_pay_link(
        app_server,
        _client_email(app_server, client_id),
        f"Payment failed for invoice {invoice.number}",
        app,
    )

    # The link from the email: the invoice, what is due, and a new card kept for next time.
    page = new_page()
    page.goto(link)
    expect(page.locator("#pay-link-number")).to_have_text(f"Invoice {invoice.number}")
    expect(page.locator("#pay-link-due")).to_have_text("€59.40")
    expect(page.get_by_text(re.compile(r"^VAT .* 20%$"))).to_be_visible()
    expect(page.get_by_text("€9.90")).to_be_visible()
    expect(page.locator("#pay-link-automatic")).to_contain_text(
        "We could not charge this invoice to your card on file."
    )
    page.click("#pay-link-start")
    _type_card(page, "4242424242424242")
    keep = page.get_by_role("checkbox", name=re.compile("Use this card for future invoices"))
    keep.click()
    expect(keep).to_be_checked()
    assert_accessible(page, "the pay link after a failed automatic charge")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "declined-pay-link.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert_accessible(page, "the pay link after a failed automatic charge, phone")
    page.screenshot(path=str(SHOTS / "declined-pay-link-phone.png"), full_page=True)
    page.click("#pay-link-submit")
    expect(page.locator("#pay-link-receipt")).to_contain_text("€59.40 paid with Visa •••• 4242")
    assert _state_of(app_server, invoice.id or 0) == ("paid", 5940, 1)
    assert _cards_of(app_server, client_id) == [("0341", False), ("4242", True)]

    # The new default card asks for the failed charge to be tried again: the next run finds
    # the invoice paid and stops the retries (one successful charge).
    dunning = run_dunning(app_server.engine, settings=app)
    assert (dunning.retried, _dunning(app_server, invoice.id or 0)) == (0, (None, "closed"))
    assert _charges(app_server, invoice.id or 0) == [
        ("failed", "Automatic charge", "Visa •••• 0341"),
        ("done", "pay link", "Visa •••• 4242"),
    ]

    # The portal's cards: the new one is the default.
    portal = new_page()
    _portal_sign_in(portal, app_server, email)
    _signed_in(portal)
    portal.goto(app_server.base_url + "/portal/account")
    expect(portal.locator('[data-card="4242"]')).to_contain_text("Default")
    expect(portal.locator('[data-card="0341"]')).not_to_contain_text("Default")

    # Staff: the failed automatic charge, the email, and the payment, on one timeline.
    staff = new_page()
    sign_in(staff, app_server, OWNER_EMAIL, OWNER_PASSWORD)
    staff.wait_for_url(re.compile(r"/dashboard|/$"))
    staff.goto(f"{app_server.base_url}/invoices/{invoice.id}")
    timeline = staff.locator("#timeline")
    expect(timeline).to_contain_text("Card payment failed (Visa •••• 0341)")
    expect(timeline).to_contain_text("Emailed the client: the automatic payment failed")
    expect(timeline).to_contain_text("€59.40 paid by card (Visa •••• 4242)")
    expect(staff.locator("#invoice-status")).to_have_text("Paid")
    staff.screenshot(path=str(SHOTS / "declined-then-paid-timeline.png"), full_page=True)


def test_a_renewal_the_bank_wants_confirmed_is_paid_in_the_portal_through_3d_secure(
    app_server: AppServer, new_page: Any, localstripe_server: str
) -> None:
    actor = _connect_stripe(app_server)
    world = _catalog(app_server, actor, "confirm")
    client_id = world["client"].id
    app = _as_the_app(app_server, localstripe_server)
    email = _client_user(app_server, client_id, "confirm", actor)

    # The client keeps a card whose bank asks for 3-D Secure (Stripe's dialog when saving).
    page = new_page()
    _portal_sign_in(page, app_server, email)
    _signed_in(page)
    page.goto(app_server.base_url + "/portal/account")
    page.click("#portal-add-card")
    _type_card(page, "4000002500003155")
    page.click("#portal-card-save")
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_text("Visa •••• 3155")).to_be_visible()
    assert _cards_of(app_server, client_id) == [("3155", True)]

    today = date.today()
    sub_id = _subscribe(app_server, actor, client_id, world["care"].id, today)
    report = billing_run(app_server.engine, today=today, settings=app)

    # Off-session, the bank wants the client: asked to confirm, nothing charged, no retry.
    assert report.charges is not None and report.charges.action == 1
    invoice = _renewal_of(app_server, sub_id, today)
    assert (invoice.status, invoice.paid_minor) == ("open", 0)
    assert _charges(app_server, invoice.id or 0) == [
        ("failed", "Automatic charge", "Visa •••• 3155")
    ]
    assert _dunning(app_server, invoice.id or 0) == (None, "action")
    kinds = _emails_about(app_server, invoice.number or "?")
    assert "payment_action_required" in kinds and "payment_failed" not in kinds
    link = _emailed_pay_link(
        app_server,
        _client_email(app_server, client_id),
        f"invoice {invoice.number}",
        app,
    )
    confirm = new_page()
    confirm.set_viewport_size(PHONE)
    confirm.goto(link)
    expect(confirm.locator("#pay-link-automatic")).to_contain_text(
        "Your bank wants you to confirm this payment."
    )
    assert_accessible(confirm, "the pay link when the bank wants the client")
    SHOTS.mkdir(parents=True, exist_ok=True)
    confirm.screenshot(path=str(SHOTS / "confirm-pay-link-phone.png"), full_page=True)
    assert run_dunning(app_server.engine, settings=app).retried == 0  # never off-session again
    assert len(_charges(app_server, invoice.id or 0)) == 1

    # In the portal: the saved card, then the bank's dialog.
    _open_invoice(page, app_server, invoice.id or 0)
    expect(page.locator("#portal-pay-panel")).to_contain_text("Visa •••• 3155")
    expect(page.locator("#portal-pay-amount")).to_have_text("€59.40")
    page.click("#portal-pay-submit")
    authenticate = page.get_by_role("button", name="Complete authentication")
    authenticate.wait_for()
    page.screenshot(path=str(SHOTS / "confirm-3d-secure.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SHOTS / "confirm-3d-secure-phone.png"), full_page=True)
    authenticate.click()
    expect(page.locator("#portal-pay-receipt")).to_contain_text("€59.40 paid with Visa •••• 3155")
    assert _state_of(app_server, invoice.id or 0) == ("paid", 5940, 1)
    assert_accessible(page, "a renewal paid after 3-D Secure")
    page.screenshot(path=str(SHOTS / "confirm-3d-secure-paid-phone.png"), full_page=True)
