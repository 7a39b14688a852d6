"""Reports > Cash: the owner opens the page, filters by a brand and a currency of their own, reads
the aging table and the months, and exports a CSV whose figures are the hand-made history's.
Over the raw websocket: anonymous callers and a role without reports.view get nothing of it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import Brand
from billing_app.db.models import StaffUser
from billing_app.services.access import roles
from billing_app.services.access.identity import current_user_from
from billing_app.services.invoicing import drafts, payments, sending
from billing_app.services.invoicing.drafts import DraftForm, LineForm
from billing_app.services.invoicing.payments import PaymentForm
from billing_app.ui.admin.reports.cash_state import CashReportState

from .axe import assert_accessible
from .conftest import ARTIFACTS, AppServer, ensure_owner
from .sockets import exchange
from .test_hardening import handler
from .test_invoice_journey import _staff, app_storage

pytestmark = pytest.mark.e2e
__all__ = ["app_storage"]

SHOTS = ARTIFACTS / "reports"
RUN = uuid.uuid4().hex[:6]
PATH = "/reports/cash"


@pytest.fixture(scope="module")
def world(app_server: AppServer) -> dict[str, Any]:
    """A brand of its own with one client billed in CHF: 1,000.00 due 40 days ago (250.00
    paid), 300.00 due in 10 days, both issued this month or last."""
    ensure_owner(app_server)
    token, actor = _staff(app_server, "cash", "admin")
    today = datetime.now(UTC).date()
    with Session(app_server.engine, expire_on_commit=False) as session:
        now = datetime.now(UTC)
        brand = Brand(name=f"Cash brand {RUN}", created_at=now, updated_at=now)
        session.add(brand)
        session.flush()
        client = Client(
            company=f"Alpenglow {RUN} AG",
            email=f"alpenglow-{RUN}@client.test",
            currency="CHF",
            brand_id=brand.id,
            created_at=now,
            updated_at=now,
        )
        session.add(client)
        session.commit()
        ids = []
        for amount, issued, due in (
            ("1000", today - timedelta(days=40), today - timedelta(days=40)),
            ("300", today, today + timedelta(days=10)),
        ):
            form = DraftForm(
                client_id=client.id or 0,
                lines=(LineForm("Hosting", "1", amount),),
                issue_date=issued,
                due_date=due,
            )
            invoice_id = drafts.save_draft(session, actor, form)
            session.commit()
            sending.send_invoice(session, actor, invoice_id)
            session.commit()
            ids.append(invoice_id)
        payments.record_payment(session, actor, ids[0], PaymentForm("250", "bank_transfer", today))
        session.commit()
        owner = session.exec(select(StaffUser).where(col(StaffUser.role_key) == "owner")).first()
        assert owner is not None
        role_id = roles.create_role(
            session,
            current_user_from(session, owner),
            name=f"No reports {RUN}",
            description="",
            permissions=["clients.read"],
        )
        session.commit()
    no_reports, _ = _staff(app_server, "cash-noreports", "custom", role_id)
    return {
        "token": token,
        "brand": brand.id,
        "company": client.company,
        "today": today,
        "no_reports": f"billing_session={no_reports}",
    }


@pytest.mark.usefixtures("app_storage")
def test_the_owner_reads_cash_for_a_brand_and_a_currency_and_exports_it(
    app_server: AppServer, new_page: Any, world: dict[str, Any]
) -> None:
    page = new_page()
    page.context.add_cookies(
        [{"name": "billing_session", "value": world["token"], "url": app_server.base_url}]
    )
    page.goto(app_server.base_url + "/")
    page.click("#nav-reports-cash")
    expect(page.locator("#cash-apply")).to_be_visible()
    page.select_option("#cash-brand", str(world["brand"]))
    page.select_option("#cash-currency", "CHF")
    page.click("#cash-apply")
    aging = page.locator("#aging")
    expect(aging).to_contain_text("CHF300.00")  # not yet due
    expect(aging.locator("tr", has_text="31-60 days")).to_contain_text("CHF750.00")
    expect(aging.locator("tr", has_text="Total")).to_contain_text("CHF1,050.00")
    expect(page.locator("#total-collected")).to_have_text("CHF250.00")
    expect(page.locator("#total-invoiced")).to_have_text("CHF1,300.00")
    expect(page.locator("#top-outstanding")).to_contain_text(world["company"])
    expect(page.locator("#chart-collected svg.recharts-surface[role=application]")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert_accessible(page, "reports-cash")
    page.screenshot(path=str(SHOTS / "cash.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#export-months")
    text = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    month = world["today"].strftime("%Y-%m")
    assert text.splitlines()[0].startswith("Month,Currency,Payments")
    assert any(
        line.startswith(f"{month},CHF,250.00,0.00,0.00,250.00,") for line in text.splitlines()
    )
    with page.expect_download() as download:
        page.click("#export-aging")
    aged = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    assert "CHF,31-60,750.00,1" in aged.splitlines()


def test_over_the_websocket_nobody_else_gets_any_of_it(
    app_server: AppServer, world: dict[str, Any]
) -> None:
    form = {"start": "2020-01", "end": "2030-12", "brand": "all", "currency": "CHF"}
    events = [
        (handler(CashReportState, "load"), {}, PATH),
        (handler(CashReportState, "apply"), {"form": form}, PATH),
        (handler(CashReportState, "export_months"), {}, PATH),
        (handler(CashReportState, "export_aging"), {}, PATH),
        (handler(CashReportState, "export_top"), {"by": "outstanding"}, PATH),
        (handler(CashReportState, "export_forecast"), {}, PATH),
    ]
    anonymous = exchange(app_server, token=str(uuid.uuid4()), cookie=None, events=events)
    assert world["company"] not in json.dumps(anonymous)
    assert "1,050.00" not in json.dumps(anonymous)
    assert any(
        e["name"] == "_redirect" and e["payload"]["path"].startswith("/login")
        for u in anonymous
        for e in u.get("events") or []
    )
    wrong_role = exchange(
        app_server, token=str(uuid.uuid4()), cookie=world["no_reports"], events=events
    )
    text = json.dumps(wrong_role)
    assert world["company"] not in text and "1,050.00" not in text
    assert "not allowed" in text and '"denied"' in text
    sent = [e for u in wrong_role for e in u.get("events") or []]
    assert not any("download" in json.dumps(e).lower() for e in sent)
