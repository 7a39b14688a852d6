"""Reports > MRR in the browser, and its handlers attacked over the raw websocket.

The owner opens Reports, filters by a brand and a currency, reads the MRR figures and the month
rows of a small history (a Swiss client of a second brand: CHF 100.00 a month two months ago,
three of them since last month), exports the CSV and finds the same numbers; the dashboard shows
the trend and the client's overview its MRR chart. An anonymous socket, a staff member whose role
lacks reports.view and a client's portal user get no figure and no file."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from billing_app.db.customers import Client, Product
from billing_app.db.invoicing import Brand
from billing_app.services.access import roles
from billing_app.services.catalog import subscriptions
from billing_app.services.common.clock import FixedClock
from billing_app.ui.admin.clients.revenue_charts import ClientRevenueState
from billing_app.ui.admin.dashboard.dashboard import DashboardState
from billing_app.ui.admin.reports.mrr import MrrReportState

from .axe import assert_accessible
from .conftest import ARTIFACTS, OWNER_EMAIL, OWNER_PASSWORD, AppServer, ensure_owner
from .sockets import exchange
from .test_foundation_journeys import sign_in
from .test_invoice_journey import _staff
from .test_portal_change_sockets import _portal_cookie

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:6]
SHOTS = ARTIFACTS / "reports"


def chf(amount: str) -> re.Pattern[str]:
    """An amount as the staff locale writes Swiss francs ("CHF" and the number, a space or not)."""
    return re.compile("CHF\\W?" + re.escape(amount))


def _months_back(n: int) -> date:
    month = date.today().replace(day=1)
    for _ in range(n):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


def _history(server: AppServer, tag: str) -> dict[str, Any]:
    """A second brand's Swiss client: CHF 100.00 a month from two months ago, x3 since last."""
    _, actor = _staff(server, "reports-owner", "owner")
    now = datetime.now(UTC)
    with Session(server.engine, expire_on_commit=False) as session:
        brand = Brand(name=f"Alpine {RUN}{tag}", email_footer="", created_at=now, updated_at=now)
        session.add(brand)
        session.flush()
        client = Client(
            company=f"Bergbahn {RUN}{tag} AG",
            email=f"bergbahn-{RUN}{tag}@clients.test",
            currency="CHF",
            brand_id=brand.id,
            created_at=now,
            updated_at=now,
        )
        product = Product(
            name=f"Alpine care {RUN}{tag}",
            price_minor=10000,
            currency="CHF",
            billing_type="recurring",
            created_at=now,
            updated_at=now,
        )
        session.add_all([client, product])
        session.commit()
        assert client.id is not None and product.id is not None
        first, second = _months_back(2), _months_back(1)
        sub = subscriptions.attach(
            session,
            actor,
            subscriptions.AttachInput(client_id=client.id, product_id=product.id, start_date=first),
            clock=FixedClock(datetime(first.year, first.month, 5, 12, tzinfo=UTC)),
        )
        session.commit()
        assert sub.id is not None
        later = FixedClock(datetime(second.year, second.month, 5, 12, tzinfo=UTC))
        subscriptions.change(session, actor, sub.id, quantity="3", price="", clock=later)
        subscriptions.apply_pending(session, actor, sub.id, clock=later)
        session.commit()
    return {"brand": brand, "client": client, "actor": actor}


def test_the_owner_filters_reads_and_exports_the_mrr_report(
    app_server: AppServer, new_page: Any
) -> None:
    ensure_owner(app_server)
    world = _history(app_server, "")
    page = new_page()
    sign_in(page, app_server, OWNER_EMAIL, OWNER_PASSWORD)
    page.wait_for_url(re.compile(r"/dashboard|/$"))
    expect(page.locator("#dashboard-mrr-report")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    page.click("#nav-reports-mrr")
    page.wait_for_url(re.compile(r"/reports/mrr/?$"))
    expect(page.get_by_role("heading", name="MRR report")).to_be_visible()

    page.click("#mrr-brand")
    page.get_by_role("option", name=world["brand"].name).click()
    page.click("#mrr-currency")
    page.get_by_role("option", name="CHF").click()
    table = page.locator("#mrr-table")
    expect(table.get_by_role("row")).to_have_count(4)  # header, this month, last, the one before
    rows = table.get_by_role("row")
    month = _months_back(0).strftime("%b %Y")
    expect(rows.nth(1)).to_contain_text(month)
    expect(rows.nth(1)).to_contain_text(chf("300.00"))
    expect(rows.nth(2)).to_contain_text(chf("200.00"))  # last month's expansion
    expect(rows.nth(3)).to_contain_text(chf("100.00"))  # new, two months ago
    expect(page.locator("#mrr-figure-arr")).to_contain_text(chf("3,600.00"))
    expect(page.locator("#mrr-figure-customers")).to_contain_text("1")
    expect(page.locator("#mrr-history-chart .recharts-wrapper")).to_be_visible()
    expect(page.locator("#mrr-history-chart")).to_contain_text("MRR (CHF)")
    expect(page.locator("#mrr-history-chart")).to_have_attribute(
        "aria-label", "MRR and ARR history chart in CHF"
    )
    page.wait_for_timeout(600)
    assert_accessible(page, "mrr report")
    page.screenshot(path=str(SHOTS / "mrr-report.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#mrr-export")
    assert download.value.suggested_filename == "mrr.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:4] == ["Month", "Currency", "MRR", "ARR"]
    by_month = {line[0]: line for line in lines[1:]}
    assert by_month[_months_back(2).strftime("%Y-%m")][2:5] == ["100.00", "1200.00", "100.00"]
    last = by_month[_months_back(1).strftime("%Y-%m")]
    assert last[2] == "300.00" and last[6] == "200.00"  # MRR, expansion
    assert len(lines) == 4

    page.goto(f"{app_server.base_url}/clients/{world['client'].id}")
    expect(page.locator("#client-mrr-chart .recharts-wrapper")).to_be_visible()
    page.wait_for_timeout(600)
    assert_accessible(page, "client overview with charts")
    page.screenshot(path=str(SHOTS / "client-overview.png"), full_page=True)


def _handler(state: type, name: str) -> str:
    return f"{state.get_full_name()}.{name}"  # type: ignore[attr-defined]


def test_no_figure_or_file_without_reports_view(app_server: AppServer) -> None:
    ensure_owner(app_server)
    world = _history(app_server, "-attack")
    with Session(app_server.engine) as session:
        role_id = roles.create_role(
            session,
            world["actor"],
            name=f"Support {RUN}",
            description="Clients, no reports",
            permissions=["dashboard.view", "clients.read"],
        )
        session.commit()
    support, _ = _staff(app_server, "reports-support", "custom", role_id)
    portal = _portal_cookie(app_server, world["client"].id, "reports-portal", "full")
    client_path = f"/clients/{world['client'].id}"
    attack = [
        (_handler(MrrReportState, "load"), {}, "/reports/mrr"),
        (
            _handler(MrrReportState, "choose_brand"),
            {"value": str(world["brand"].id)},
            "/reports/mrr",
        ),
        (_handler(MrrReportState, "choose_currency"), {"value": "CHF"}, "/reports/mrr"),
        (_handler(MrrReportState, "choose_months"), {"value": "24"}, "/reports/mrr"),
        (_handler(MrrReportState, "export_csv"), {}, "/reports/mrr"),
        (_handler(ClientRevenueState, "load"), {}, client_path),
        (_handler(DashboardState, "load"), {}, "/"),
    ]
    for cookie in (None, f"billing_session={support}", portal):
        updates = exchange(app_server, token=str(uuid.uuid4()), cookie=cookie, events=attack)
        sent = json.dumps(updates)
        assert "300.00" not in sent and "Bergbahn" not in sent, cookie
        assert "_download" not in sent, cookie
        report = [
            u.get("delta", {}).get(MrrReportState.get_full_name(), {})  # type: ignore[attr-defined]
            for u in updates
        ]
        assert not any(d.get("rows_rx_state_") for d in report), cookie
    # The owner's own socket does get them: the refusals above were refusals.
    owner, _ = _staff(app_server, "reports-owner", "owner")
    updates = exchange(
        app_server, token=str(uuid.uuid4()), cookie=f"billing_session={owner}", events=attack[:3]
    )
    assert re.search(r"CHF\W*300\.00", json.dumps(updates, ensure_ascii=False))
