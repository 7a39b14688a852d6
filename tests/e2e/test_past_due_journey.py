"""Dunning made visible: staff open the Past due page from Subscriptions (a failed automatic
charge, its subscription past due, an overdue invoice), search it and open the invoice's
dunning summary; the client sees the payment banner on every portal page (phone width), gone
once paid. Over the raw websocket: anonymous callers, a role without invoices and another
client's portal user get nothing of it."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from billing_app.db.card_payments import PaymentAttempt
from billing_app.db.invoicing import Invoice
from billing_app.db.models import StaffUser
from billing_app.services.access import roles
from billing_app.services.access.identity import current_user_from
from billing_app.services.billing import dunning_state
from billing_app.services.billing.auto_charge import AUTOMATIC
from billing_app.services.common.clock import system_clock
from billing_app.services.invoicing.payments import PaymentForm, record_payment
from billing_app.ui.admin.invoices.detail_dunning import InvoiceDunningState
from billing_app.ui.admin.subscriptions.past_due import PastDueState
from billing_app.ui.portal.overview import PortalOverviewState

from .axe import assert_accessible
from .conftest import ARTIFACTS, AppServer, ensure_owner
from .sockets import exchange
from .test_hardening import handler
from .test_invoice_journey import _staff, app_storage
from .test_portal_sockets import _client_with_invoice, _portal_cookie

pytestmark = pytest.mark.e2e
__all__ = ["app_storage"]

SHOTS = ARTIFACTS / "past_due"
PHONE = {"width": 375, "height": 812}
RUN = uuid.uuid4().hex[:6]


def _failed_charge(server: AppServer, invoice_id: int) -> None:
    """What the engine writes when an automatic charge of the invoice is refused for good (a
    lost card): the attempt, then the dunning state - past due at once."""
    with Session(server.engine) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        now = datetime.now(UTC)
        session.add(
            PaymentAttempt(
                idempotency_key=f"charge-{RUN}-{invoice_id}",
                kind="charge",
                client_id=invoice.client_id,
                invoice_id=invoice_id,
                amount_minor=invoice.total_minor,
                currency=invoice.currency,
                state="failed",
                error="Your card was declined.",
                card_label="Visa •••• 0002",
                actor_label=AUTOMATIC,
                created_at=now,
                updated_at=now,
            )
        )
        dunning_state.failed(session, invoice_id, "hard", date.today(), system_clock)
        session.commit()


def _overdue(server: AppServer, invoice_id: int) -> None:
    with Session(server.engine) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        invoice.due_date = date.today() - timedelta(days=9)
        session.add(invoice)
        session.commit()


@pytest.fixture(scope="module")
def world(app_server: AppServer) -> dict[str, Any]:
    ensure_owner(app_server)
    token, actor = _staff(app_server, "pastdue", "admin")
    failed = _client_with_invoice(app_server, actor, f"pastdue-{RUN}")
    _failed_charge(app_server, failed["invoice"])
    late = _client_with_invoice(app_server, actor, f"late-{RUN}")
    _overdue(app_server, late["invoice"])
    with Session(app_server.engine) as session:
        owner = session.exec(select(StaffUser).where(col(StaffUser.role_key) == "owner")).first()
        assert owner is not None
        role_id = roles.create_role(
            session,
            current_user_from(session, owner),
            name=f"No invoices {RUN}",
            description="",
            permissions=["clients.read"],
        )
        session.commit()
    no_invoices, _ = _staff(app_server, "pastdue-noinv", "custom", role_id)
    return {
        "token": token,
        "actor": actor,
        "failed": failed,
        "late": late,
        "no_invoices": f"billing_session={no_invoices}",
        "portal": _portal_cookie(app_server, failed["client"], f"pastdue-{RUN}"),
    }


def _staff_page(new_page: Any, server: AppServer, token: str) -> Any:
    page = new_page()
    page.context.add_cookies([{"name": "billing_session", "value": token, "url": server.base_url}])
    return page


@pytest.mark.usefixtures("app_storage")
def test_staff_see_what_dunning_does_on_the_past_due_page_and_the_invoice(
    app_server: AppServer, new_page: Any, world: dict[str, Any]
) -> None:
    failed, late = world["failed"], world["late"]
    page = _staff_page(new_page, app_server, world["token"])
    page.goto(app_server.base_url + "/subscriptions")
    page.click("#past-due-link")
    page.wait_for_url(re.compile(r"/subscriptions/past-due/?$"))
    row = page.locator(f"#past-due-row-{failed['invoice']}")
    expect(row).to_contain_text(failed["number"])
    expect(row).to_contain_text("Past due")
    expect(row).to_contain_text("1 · Hard decline")
    expect(row).to_contain_text("Canceled on")
    expect(page.locator(f"#past-due-row-{late['invoice']}")).to_contain_text("9 d")
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert_accessible(page, "past-due")
    page.screenshot(path=str(SHOTS / "past_due.png"), full_page=True)

    page.get_by_placeholder("Search client or invoice number").fill(late["number"])
    expect(page.locator(f"#past-due-row-{failed['invoice']}")).to_have_count(0)
    expect(page.locator(f"#past-due-row-{late['invoice']}")).to_be_visible()
    page.get_by_placeholder("Search client or invoice number").fill("nothing-like-this")
    expect(page.get_by_text("No matches")).to_be_visible()
    page.get_by_placeholder("Search client or invoice number").fill(failed["number"])
    page.get_by_role("link", name=failed["number"]).click()
    page.wait_for_url(re.compile(rf"/invoices/{failed['invoice']}/?$"))
    summary = page.locator("#dunning-summary")
    expect(summary).to_contain_text("Hard decline · Visa •••• 0002")
    expect(summary).to_contain_text("Past due since")
    assert_accessible(page, "invoice-dunning")
    page.screenshot(path=str(SHOTS / "invoice_dunning.png"), full_page=True)


@pytest.mark.usefixtures("app_storage")
def test_the_client_sees_the_payment_banner_on_every_page_until_paid(
    app_server: AppServer, new_page: Any, world: dict[str, Any]
) -> None:
    failed = world["failed"]
    page = new_page()
    page.set_viewport_size(PHONE)
    token = world["portal"].split("=", 1)[1]
    page.context.add_cookies(
        [{"name": "billing_portal", "value": token, "url": app_server.base_url}]
    )
    page.goto(app_server.base_url + "/portal")
    banner = page.locator("#portal-payment-banner")
    expect(banner).to_contain_text(f"for invoice {failed['number']} failed")
    expect(banner).to_contain_text("past due")
    expect(
        banner.get_by_role("link", name=f"Pay now invoice {failed['number']}")
    ).to_have_attribute("href", re.compile(rf"/portal/invoices/{failed['invoice']}$"))
    expect(banner.get_by_role("link", name=re.compile("^Update your card"))).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert_accessible(page, "portal-banner")
    page.screenshot(path=str(SHOTS / "portal_banner_phone.png"), full_page=True)
    page.goto(app_server.base_url + "/portal/services")
    expect(page.locator("#portal-payment-banner")).to_contain_text(failed["number"])

    with Session(app_server.engine) as session:
        invoice = session.get(Invoice, failed["invoice"])
        assert invoice is not None
        record_payment(
            session,
            world["actor"],
            failed["invoice"],
            PaymentForm(str(invoice.total_minor / 100), "bank_transfer", date.today()),
        )
        session.commit()
    page.goto(app_server.base_url + "/portal/invoices")
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
    expect(page.locator("#portal-payment-banner")).to_have_count(0)


@pytest.mark.usefixtures("app_storage")
def test_over_the_websocket_nobody_else_gets_any_of_it(
    app_server: AppServer, world: dict[str, Any]
) -> None:
    late = world["late"]
    staff_events = [
        (handler(PastDueState, "load"), {}, "/subscriptions/past-due"),
        (handler(PastDueState, "set_search"), {"value": late["number"]}, "/subscriptions/past-due"),
        (handler(PastDueState, "sort_by"), {"key": "amount"}, "/subscriptions/past-due"),
        (handler(PastDueState, "next_page"), {}, "/subscriptions/past-due"),
        (
            handler(InvoiceDunningState, "load"),
            {},
            f"/invoices/{late['invoice']}?invoice_id={late['invoice']}",
        ),
    ]
    anonymous = exchange(app_server, token=str(uuid.uuid4()), cookie=None, events=staff_events)
    assert late["number"] not in json.dumps(anonymous)
    assert any(
        e["name"] == "_redirect" and e["payload"]["path"].startswith("/login")
        for u in anonymous
        for e in u.get("events") or []
    )
    wrong_role = exchange(
        app_server, token=str(uuid.uuid4()), cookie=world["no_invoices"], events=staff_events
    )
    assert late["number"] not in json.dumps(wrong_role)
    assert "not allowed" in json.dumps(wrong_role) or '"denied"' in json.dumps(wrong_role)

    # Another client's portal user: the overview's banner holds only their own invoices.
    other = _client_with_invoice(app_server, world["actor"], f"other-{RUN}")
    cookie = _portal_cookie(app_server, other["client"], f"other-{RUN}")
    _overdue(app_server, other["invoice"])
    seen = exchange(
        app_server,
        token=str(uuid.uuid4()),
        cookie=cookie,
        events=[(handler(PortalOverviewState, "load"), {}, "/portal")],
    )
    text = json.dumps(seen)
    assert other["number"] in text  # their own overdue invoice is in their banner
    assert late["number"] not in text and world["failed"]["number"] not in text
    anonymous_portal = exchange(
        app_server,
        token=str(uuid.uuid4()),
        cookie=None,
        events=[(handler(PortalOverviewState, "load"), {}, "/portal")],
    )
    assert other["number"] not in json.dumps(anonymous_portal)
