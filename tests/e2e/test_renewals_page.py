"""Renewals for staff: after downtime, the periods beyond the catch-up limit wait on the
Renewals page with what they would bill; staff bill one now (its invoice sent) and skip
another; the next 30 days are forecast per currency."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from billing_app.db.customers import RenewalClaim, RenewalHold
from billing_app.services.billing.renewals import billing_run
from billing_app.services.catalog import subscriptions

from .axe import assert_accessible
from .conftest import ARTIFACTS, OWNER_EMAIL, OWNER_PASSWORD, AppServer
from .test_foundation_journeys import sign_in
from .test_invoice_journey import _catalog
from .test_portal_cards import _connect_stripe

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "renewals"


def test_staff_bill_and_skip_periods_held_after_downtime(
    app_server: AppServer, new_page: Any
) -> None:
    actor = _connect_stripe(app_server)
    world = _catalog(app_server, actor, "renewals")
    today = date.today()
    with Session(app_server.engine, expire_on_commit=False) as session:
        sub = subscriptions.attach(
            session,
            actor,
            subscriptions.AttachInput(
                client_id=world["client"].id,
                product_id=world["care"].id,
                start_date=today - timedelta(days=170),  # five or six periods due
            ),
        )
        session.commit()
    billing_run(app_server.engine)  # also bills what other journeys left due
    with Session(app_server.engine) as session:
        holds = session.exec(
            select(RenewalHold).where(col(RenewalHold.subscription_id) == sub.id)
        ).all()
        claims = session.exec(
            select(RenewalClaim).where(col(RenewalClaim.subscription_id) == sub.id)
        ).all()
    assert len(claims) == 3 and len(holds) >= 2  # the oldest three billed, the rest held

    page = new_page()
    sign_in(page, app_server, OWNER_EMAIL, OWNER_PASSWORD)
    page.wait_for_url(re.compile(r"/dashboard|/$"))
    page.goto(app_server.base_url + "/subscriptions")
    page.click("#renewals-link")
    page.wait_for_url(re.compile(r"/subscriptions/renewals/?$"))
    held = page.locator("#renewals-held")
    expect(held.get_by_role("row")).to_have_count(len(holds) + 1)
    expect(held).to_contain_text(world["client"].company)
    expect(held).to_contain_text("€49.50")  # before the 20 % VAT
    expect(page.locator("#renewals-upcoming")).to_contain_text("EUR")
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert_accessible(page, "renewals")
    page.screenshot(path=str(SHOTS / "renewals.png"), full_page=True)

    page.get_by_role("button", name=re.compile("^Bill ")).first.click()
    expect(page.get_by_text(re.compile(r"Invoice INV-\d{4}-\d{5} sent\."))).to_be_visible()
    expect(held.get_by_role("row")).to_have_count(len(holds))
    page.get_by_role("button", name=re.compile("^Skip ")).first.click()
    expect(page.get_by_text("Period skipped.")).to_be_visible()
    with Session(app_server.engine) as session:
        states = sorted(
            h.state
            for h in session.exec(
                select(RenewalHold).where(col(RenewalHold.subscription_id) == sub.id)
            )
        )
    assert states.count("billed") == 1 and states.count("skipped") == 1
