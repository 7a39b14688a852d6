"""A subscription renews by itself: the run (as `billing-run` would) invoices it on its first
day, the client gets the branded invoice email, opens the invoice in the portal and pays it
with a card (kept as the default); staff see it all on the invoice's timeline. On the next
period (a moved clock) the renewal is charged to that card at once: the receipt is the only
email."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from billing_app.db.customers import RenewalClaim
from billing_app.db.invoicing import Invoice
from billing_app.db.models import OutboxEmail
from billing_app.services.billing.renewals import billing_run
from billing_app.services.catalog import subscriptions
from billing_app.settings import Settings

from .axe import assert_accessible
from .conftest import ARTIFACTS, OWNER_EMAIL, OWNER_PASSWORD, AppServer
from .test_foundation_journeys import sign_in
from .test_invoice_journey import _catalog
from .test_portal_cards import _connect_stripe, _type_card
from .test_portal_pay import _open_invoice
from .test_portal_security import _client_user, _portal_sign_in, _signed_in

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "renewals"


def _renewal_of(server: AppServer, sub_id: int, start: date) -> Invoice:
    with Session(server.engine) as session:
        claim = session.exec(
            select(RenewalClaim)
            .where(col(RenewalClaim.subscription_id) == sub_id)
            .where(col(RenewalClaim.period_start) == start)
        ).one()
        invoice = session.get(Invoice, claim.invoice_id)
        assert invoice is not None
        return invoice


def _emails_about(server: AppServer, number: str) -> list[str]:
    with Session(server.engine) as session:
        return [
            e.kind
            for e in session.exec(
                select(OutboxEmail).where(col(OutboxEmail.subject).contains(number))
            )
        ]


def test_a_subscription_renews_is_paid_in_the_portal_then_charged_automatically(
    app_server: AppServer, new_page: Any, localstripe_server: str
) -> None:
    actor = _connect_stripe(app_server)
    world = _catalog(app_server, actor, "renewal")
    client_id = world["client"].id
    today = date.today()
    with Session(app_server.engine, expire_on_commit=False) as session:
        sub = subscriptions.attach(
            session,
            actor,
            subscriptions.AttachInput(
                client_id=client_id, product_id=world["care"].id, start_date=today
            ),
        )
        session.commit()
    email = _client_user(app_server, client_id, "renewal", actor)

    billing_run(app_server.engine, today=today)  # the hourly run, or `billing-run`

    first = _renewal_of(app_server, sub.id or 0, today)
    assert first.total_minor == 5940  # €49.50 + 20 % VAT
    # Queued by this process (the app's worker delivers it within a minute): read as queued.
    assert "invoice_sent" in _emails_about(app_server, first.number or "?")

    client = new_page()
    _portal_sign_in(client, app_server, email)
    _signed_in(client)
    _open_invoice(client, app_server, first.id or 0)
    expect(client.locator("#portal-invoice-due")).to_have_text("€59.40")
    _type_card(client, "4242424242424242")
    client.click("#portal-pay-submit")
    expect(client.locator("#portal-pay-receipt")).to_contain_text("€59.40 paid with Visa")

    staff = new_page()
    sign_in(staff, app_server, OWNER_EMAIL, OWNER_PASSWORD)
    staff.wait_for_url(re.compile(r"/dashboard|/$"))
    staff.goto(f"{app_server.base_url}/invoices/{first.id}")
    timeline = staff.locator("#timeline")
    expect(timeline).to_contain_text(f"Invoice {first.number} sent")
    expect(timeline).to_contain_text("Renewal invoice made")
    expect(timeline).to_contain_text("paid by card")
    expect(staff.locator("#invoice-status")).to_have_text("Paid")
    SHOTS.mkdir(parents=True, exist_ok=True)
    staff.screenshot(path=str(SHOTS / "renewal-paid-timeline.png"), full_page=True)

    # The next period, on a moved clock: charged at once to the card kept in the portal.
    with Session(app_server.engine) as session:
        claim = session.exec(
            select(RenewalClaim).where(col(RenewalClaim.subscription_id) == sub.id)
        ).one()
        assert claim.period_end is not None
        next_start = claim.period_end
    # As the app would run it: its keys (its data folder) and its Stripe (localstripe).
    as_the_app = Settings(
        base_url=app_server.base_url,
        data_dir=app_server.data_dir,
        stripe_api_base=localstripe_server,
    )
    report = billing_run(app_server.engine, today=next_start, settings=as_the_app)
    assert report.charges is not None and report.charges.paid >= 1
    second = _renewal_of(app_server, sub.id or 0, next_start)
    assert (second.status, second.due_date) == ("paid", next_start)
    kinds = _emails_about(app_server, second.number or "?")
    assert "receipt" in kinds and "invoice_sent" not in kinds
    staff.goto(f"{app_server.base_url}/invoices/{second.id}")
    expect(staff.locator("#invoice-status")).to_have_text("Paid")
    expect(staff.locator("#timeline")).to_contain_text("paid by card")
    assert_accessible(staff, "a renewal charged automatically")
    staff.screenshot(path=str(SHOTS / "renewal-charged.png"), full_page=True)
    assert next_start > today
