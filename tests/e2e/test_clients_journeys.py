"""Browser journeys for clients, the catalog and subscriptions (issue #4): a tax rate and a
monthly product, duplicated and renamed; a client with two websites; hosting attached to one
website and the MRR seen on the list and the overview; cancel at period end under the right
tab; a CSV import reporting its bad rows; a Viewer sees everything and can change nothing."""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.customers import Client, Product, Subscription, TaxRateRow
from billing_app.db.models import StaffUser
from billing_app.services.common.tokens import hash_password
from billing_app.ui.admin.catalog.products import ProductsState
from billing_app.ui.admin.catalog.tax_rates import TaxRatesState
from billing_app.ui.admin.clients.list import ClientsState
from billing_app.ui.admin.subscriptions.attach import AttachState
from billing_app.ui.admin.subscriptions.state import SubscriptionsState

from .conftest import AppServer, session_token

PASSWORD = "a long staff passphrase for the journeys"
# a real 1x1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc000000301010018dd8db0"
    "0000000049454e44ae426082"
)
RUN = uuid.uuid4().hex[:6]


def _staff(server: AppServer, role: str) -> str:
    """A staff member of ``role`` (made directly, so the first-run setup journey is untouched)
    and the value of a signed-in session cookie for them."""
    email = f"{role}-{RUN}@studio-nord.test"
    with Session(server.engine, expire_on_commit=False) as session:
        if session.exec(select(StaffUser).where(col(StaffUser.email) == email)).first() is None:
            session.add(
                StaffUser(
                    email=email,
                    name=f"{role.capitalize()} {RUN}",
                    password_hash=hash_password(PASSWORD),
                    role_key=role,
                    created_at=datetime.now(UTC),
                )
            )
            session.commit()
    return session_token(server, email, PASSWORD)


def signed_in(new_page: Any, server: AppServer, role: str) -> Any:
    page = new_page()
    page.context.add_cookies(
        [{"name": "billing_session", "value": _staff(server, role), "url": server.base_url}]
    )
    return page


def choose(page: Any, trigger: str, option: str) -> None:
    page.click(trigger)
    page.get_by_role("option", name=option).click()


def row(page: Any, table: str, text: str) -> Any:
    return page.locator(f"#{table}-table tbody tr", has_text=text)


def test_catalog_client_subscription_and_import_journey(
    app_server: AppServer, new_page: Any
) -> None:
    page = signed_in(new_page, app_server, "admin")
    base = app_server.base_url

    # A tax rate on its own small page.
    page.goto(base + "/tax-rates")
    page.click("#tax-rates-add")
    page.fill("#field-name", "VAT")
    page.fill("#field-percent", "120")
    page.click("#tax-rates-save")
    page.locator("#percent-error").wait_for()
    assert "between 0 and 100" in page.inner_text("#percent-error")
    page.fill("#field-percent", "20")
    page.click("#tax-rates-save")
    row(page, "tax-rates", "VAT").get_by_text("20 %").wait_for()

    # A monthly "Managed hosting" at 25.00 with that tax; duplicated; the copy renamed.
    product = f"Managed hosting {RUN}"
    page.goto(base + "/products")
    page.click("#products-add")
    page.fill("#field-name", product)
    page.fill("#field-price", "25.00")
    page.get_by_role("checkbox", name="VAT 20%").click()
    page.click("#products-save")
    hosting = row(page, "products", product)
    hosting.get_by_text("€25.00").wait_for()
    assert "Monthly" in hosting.inner_text()
    assert "VAT 20%" in hosting.inner_text()
    hosting.get_by_role("button", name="Duplicate").click()
    copy = row(page, "products", f"Copy of {product}")
    copy.wait_for()
    copy.get_by_role("button", name="Edit").click()
    page.fill("#field-name", f"Premium hosting {RUN}")
    page.fill("#field-price", "49,5x")
    page.click("#products-save")
    page.locator("#price-error").wait_for()
    page.fill("#field-price", "49.50")
    page.click("#products-save")
    row(page, "products", f"Premium hosting {RUN}").get_by_text("€49.50").wait_for()
    assert row(page, "products", f"Copy of {product}").count() == 0

    # An image for the product, stored privately and shown through the authorized route.
    row(page, "products", product).get_by_role("button", name="Edit").click()
    page.set_input_files(
        "#product-image input[type=file]",
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": PNG}],
    )
    page.get_by_text("Image saved.").wait_for()
    page.keyboard.press("Escape")
    thumb = row(page, "products", product).locator("img")
    thumb.wait_for()
    assert "/api/catalog/product-image/" in (thumb.get_attribute("src") or "")

    # A client with two websites, added in one step.
    company = f"Fjord Bakery {RUN}"
    page.goto(base + "/clients")
    page.click("#clients-add")
    page.fill("#field-company", company)
    page.fill("#field-email", "not-an-email")
    page.click("#clients-save")
    page.locator("#email-error").wait_for()
    page.fill("#field-email", f"hello-{RUN}@fjord-bakery.test")
    page.fill("#site-name-0", "Main site")
    page.fill("#site-url-0", f"fjord-{RUN}.test")
    page.click("#add-website")
    page.fill("#site-name-1", "Shop")
    page.fill("#site-url-1", f"https://shop.fjord-{RUN}.test")
    page.click("#clients-save")
    page.wait_for_url(re.compile(re.escape(base) + r"/clients/\d+$"))
    client_url = page.url
    page.locator("#client-name").get_by_text(company).wait_for()
    sites = page.inner_text("#client-websites")
    assert "Main site" in sites and f"shop.fjord-{RUN}.test" in sites
    assert page.inner_text("#client-mrr") == "€0.00"

    # Attach hosting to the shop website: the MRR becomes 25.00 on the overview and the list.
    page.click("#client-attach")
    choose(page, "#attach-product", f"{product} — €25.00 monthly")
    choose(page, "#attach-website", "Shop")
    page.click("#attach-save")
    page.get_by_text(f"Subscribed to {product}.").wait_for()
    page.locator("#client-mrr").get_by_text("€25.00").wait_for()
    active = row(page, "client-subscriptions", product)
    assert "Shop" in active.inner_text()
    assert page.inner_text("#client-active") == "1"

    # Edit from the overview: the change shows at once, the websites are kept.
    page.click("#client-edit")
    page.fill("#field-contact_name", "Ingrid Berg")
    page.click("#clients-save")
    page.get_by_text(f"{company} saved.").wait_for()
    page.get_by_text("Ingrid Berg").wait_for()
    assert "Shop" in page.inner_text("#client-websites")

    page.goto(base + "/clients")
    page.fill("#clients-search", RUN)
    listed = row(page, "clients", company)
    listed.get_by_text("€25.00").wait_for()
    page.click("#clients-sort-mrr")  # highest MRR first
    listed.wait_for()

    # Cancel at period end: it moves to the Inactive tab and MRR drops to zero.
    page.goto(client_url)
    active = row(page, "client-subscriptions", product)
    active.get_by_role("button", name="Cancel at period end").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Cancel at period end").click()
    page.get_by_text("The subscription will end with the current period.").wait_for()
    page.locator("#client-mrr").get_by_text("€0.00").wait_for()
    page.locator("#client-subscriptions-empty").wait_for()
    page.click("#tab-inactive")
    ended = row(page, "client-subscriptions", product)
    ended.get_by_text(re.compile(r"Cancels \d+ \w+ \d{4}")).wait_for()
    ended.get_by_role("button", name="History").click()
    history = page.locator("#subscription-history")
    history.get_by_text("Cancel at period end").wait_for()
    assert "Admin" in history.inner_text()
    page.keyboard.press("Escape")

    # Import a CSV with two bad rows: both reported with their reason; the rest imported.
    csv_text = (
        "\ufeffCompany;Email;Currency;Website\r\n"
        f"Nordlys Café {RUN};cafe-{RUN}@nordlys.test;EUR;nordlys-{RUN}.test\r\n"
        f"Broken Mail {RUN};broken-at-example;EUR;\r\n"
        f"Odd Money {RUN};odd-{RUN}@money.test;EURO;\r\n"
        f'"Fjell ""Design"" {RUN}";fjell-{RUN}@design.test;NOK;\r\n'
    )
    page.goto(base + "/clients/import")
    page.set_input_files(
        "#clients-csv input[type=file]",
        files=[{"name": "clients.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}],
    )
    page.locator("#import-preview").wait_for()
    assert page.inner_text("#import-valid") == "2 ready"
    assert page.inner_text("#import-invalid") == "2 with problems"
    assert "valid email" in page.inner_text("#import-row-3")
    assert "currency" in page.inner_text("#import-row-4")
    page.click("#import-run")
    page.locator("#import-done").wait_for()
    with Session(app_server.engine) as session:
        imported = session.exec(
            select(Client.company).where(col(Client.company).contains(RUN))
        ).all()
    assert sorted(imported) == sorted([company, f"Nordlys Café {RUN}", f'Fjell "Design" {RUN}'])


def test_a_viewer_sees_clients_but_no_buttons_to_change_them(
    app_server: AppServer, new_page: Any
) -> None:
    with Session(app_server.engine) as session:
        client = session.exec(select(Client).order_by(col(Client.id))).first()
    if client is None:
        pytest.skip("no client yet (the admin journey makes one)")
    page = signed_in(new_page, app_server, "viewer")
    page.goto(app_server.base_url + "/clients")
    page.locator("#clients-table").wait_for()
    assert page.locator("#clients-add").count() == 0
    assert page.locator("#clients-table").get_by_role("button", name="Edit").count() == 0
    page.goto(app_server.base_url + f"/clients/{client.id}")
    page.locator("#client-name").wait_for()
    assert page.locator("#client-attach").count() == 0
    assert page.locator("#client-archive").count() == 0
    page.goto(app_server.base_url + "/clients/import")
    page.locator("#not-allowed").wait_for()


def _get(url: str, cookie: str | None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, b"", ""


def test_product_images_are_served_only_to_signed_in_staff(app_server: AppServer) -> None:
    png = b"\x89PNG\r\n\x1a\n" + uuid.uuid4().bytes * 4
    key = f"{hashlib.sha256(png).hexdigest()}.png"
    folder = app_server.data_dir / "private" / "product-images"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / key).write_bytes(png)
    with Session(app_server.engine) as session:
        product = Product(
            name=f"Pictured {RUN}",
            price_minor=100,
            currency="EUR",
            image_key=key,
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
        )
        session.add(product)
        session.commit()
        product_id = product.id
    url = f"{app_server.base_url}/api/catalog/product-image/{product_id}"
    status, body, kind = _get(url, f"billing_session={_staff(app_server, 'viewer')}")
    assert (status, body, kind) == (200, png, "image/png")
    assert _get(url, None)[0] == 404
    assert _get(url, "billing_session=forged-token")[0] == 404
    viewer = f"billing_session={_staff(app_server, 'viewer')}"
    assert _get(f"{app_server.base_url}/api/catalog/product-image/987654", viewer)[0] == 404
    # never reachable through Reflex's public upload route
    assert _get(f"{app_server.base_url}/_upload/{key}", None)[0] == 404


# ----------------------------------------------------------------- used by test_websocket_authz


def customer_snapshot(session: Session) -> dict[str, Any]:
    """Everything a refused handler of this module could have changed."""
    return {
        "clients": sorted(
            (c.id, c.status, c.company, c.email, c.mrr_minor) for c in session.exec(select(Client))
        ),
        "products": sorted(
            (p.id, p.name, p.price_minor, p.archived) for p in session.exec(select(Product))
        ),
        "tax_rates": sorted((t.id, t.name, t.rate_ppm) for t in session.exec(select(TaxRateRow))),
        "subscriptions": sorted(
            (s.id, s.status, s.quantity, s.pending_quantity)
            for s in session.exec(select(Subscription))
        ),
    }


def customer_attempts() -> list[tuple[type, str, dict[str, Any], str]]:
    """Guarded handlers of clients, catalog and subscriptions a Viewer must not run (a few:
    each call opens a websocket, and the authz test should stay short)."""
    return [
        (ClientsState, "save", {"form": {"company": "Evil", "email": "evil@x.test"}}, "/clients"),
        (
            AttachState,
            "attach",
            {"form": {"product_id": "1", "quantity": "9", "start_date": "2026-01-01"}},
            "/clients/1",
        ),
        (ProductsState, "duplicate", {"product_id": "1"}, "/products"),
        (TaxRatesState, "save", {"form": {"name": "Evil", "percent": "1"}}, "/tax-rates"),
        (SubscriptionsState, "cancel_now", {"subscription_id": "1"}, "/subscriptions"),
    ]
