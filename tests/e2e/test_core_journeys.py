"""Journeys for what a new user found broken in the admin: edits typed at full speed are never
lost, a client in any ISO currency keeps it, every field's error shows at once, times read in
the agency's time zone, a wrongly recorded payment can be reversed, and lists page from the
first to the last page and back."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import AgencySettings, Invoice, InvoiceLine
from billing_app.services.customers import clients
from billing_app.services.invoicing import drafts, payments, sending
from tests.e2e.conftest import ARTIFACTS, AppServer
from tests.e2e.test_invoice_journey import _catalog, _staff

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:6]
SHOTS = ARTIFACTS / "core-journeys"


def _signed_in(new_page: Any, server: AppServer, token: str) -> Any:
    page = new_page()
    page.context.add_cookies([{"name": "billing_session", "value": token, "url": server.base_url}])
    return page


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _replace_text(page: Any, selector: str, text: str) -> None:
    """Click into a field, select what is there and type over it at full speed (no pause
    between keys, no wait between fields: what a fast typist does)."""
    page.click(selector)
    page.keyboard.press("Control+A")
    page.keyboard.type(text, delay=0)


def test_a_line_edit_typed_at_full_speed_is_never_lost(
    app_server: AppServer, new_page: Any
) -> None:
    token, actor = _staff(app_server, "typist", "admin")
    world = _catalog(app_server, actor, "race")
    with Session(app_server.engine) as session:
        invoice_id = drafts.save_draft(
            session,
            actor,
            drafts.DraftForm(
                client_id=world["client"].id,
                lines=(drafts.LineForm(f"Old text {RUN}", "1", "100"),),
                message="",
            ),
        )
        session.commit()
    page = _signed_in(new_page, app_server, token)
    for attempt in range(3):
        page.goto(f"{app_server.base_url}/invoices/{invoice_id}/edit")
        description = page.locator("[id^=line-description-]").first
        expect(description).to_have_value(re.compile(r"(Old|New) text"))
        key = (description.get_attribute("id") or "").rsplit("-", 1)[1]
        _replace_text(page, f"#line-description-{key}", f"New text {attempt} {RUN}")
        _replace_text(page, f"#line-unit_price-{key}", f"12{attempt}")
        _replace_text(page, "#invoice-message", f"Thanks {attempt}")
        page.click("#invoice-save")
        page.get_by_text("Draft saved.").wait_for()
        page.reload()
        expect(page.locator(f"#line-description-{key}")).to_have_value(f"New text {attempt} {RUN}")
        expect(page.locator("#invoice-message")).to_have_value(f"Thanks {attempt}")
        with Session(app_server.engine) as session:
            invoice = session.get(Invoice, invoice_id)
            assert invoice is not None and invoice.message == f"Thanks {attempt}"
            line = session.exec(
                select(InvoiceLine).where(col(InvoiceLine.invoice_id) == invoice_id)
            ).one()
            assert line.description == f"New text {attempt} {RUN}"
            assert line.unit_price_minor == (120 + attempt) * 100

    # A new invoice: the line typed and saved at once is there, not "Describe the line."
    page.goto(app_server.base_url + "/invoices/new")
    page.locator("#invoice-client").wait_for()
    company, email = world["client"].company, world["client"].email
    page.select_option("#invoice-client", label=f"{company} <{email}>")
    page.get_by_text("Billed in EUR").wait_for()
    first = page.locator("[id^=line-description-]").first
    first.wait_for()
    key = (first.get_attribute("id") or "").rsplit("-", 1)[1]
    _replace_text(page, f"#line-description-{key}", f"Fresh line {RUN}")
    _replace_text(page, f"#line-unit_price-{key}", "75")
    page.click("#invoice-save")
    page.wait_for_url(re.compile(r"/invoices/\d+/edit"))
    expect(page.get_by_text("Describe the line.")).to_have_count(0)
    expect(page.locator("[id^=line-description-]").first).to_have_value(f"Fresh line {RUN}")
    _shot(page, "editor-after-fast-typing")


def test_the_editor_shows_every_field_of_every_line_wrong_at_once(
    app_server: AppServer, new_page: Any
) -> None:
    token, actor = _staff(app_server, "sloppy", "admin")
    world = _catalog(app_server, actor, "sloppy")
    page = _signed_in(new_page, app_server, token)
    page.goto(app_server.base_url + "/invoices/new")
    page.locator("#invoice-client").wait_for()
    company, email = world["client"].company, world["client"].email
    page.select_option("#invoice-client", label=f"{company} <{email}>")
    page.get_by_text("Billed in EUR").wait_for()
    first = page.locator("[id^=line-description-]").first
    key = (first.get_attribute("id") or "").rsplit("-", 1)[1]
    _replace_text(page, f"#line-description-{key}", f"Sloppy {RUN}")
    _replace_text(page, f"#line-quantity-{key}", "lots")
    _replace_text(page, f"#line-unit_price-{key}", "ten")
    _replace_text(page, f"#line-discount-{key}", "abc%")
    page.click("#invoice-save")
    error = page.locator(f"#line-error-{key}")
    expect(error).to_contain_text("quantity")
    expect(error).to_contain_text("discount")
    for name in ("quantity", "unit_price", "discount"):
        expect(page.locator(f"#line-{name}-{key}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#line-description-{key}")).to_have_attribute("aria-invalid", "false")
    _shot(page, "editor-every-line-error")
    with Session(app_server.engine) as session:
        assert (
            session.exec(
                select(InvoiceLine).where(col(InvoiceLine.description) == f"Sloppy {RUN}")
            ).first()
            is None
        )


def test_a_client_in_any_iso_currency_keeps_it_when_edited(
    app_server: AppServer, new_page: Any
) -> None:
    token, actor = _staff(app_server, "kwd", "admin")
    with Session(app_server.engine) as session:
        client = clients.create_client(
            session,
            actor,
            clients.ClientInput(
                company=f"Gulf Hosting {RUN}", email=f"ap-{RUN}@gulf.test", currency="KWD"
            ),
        )
        session.commit()
        client_id = client.id
    page = _signed_in(new_page, app_server, token)
    page.goto(f"{app_server.base_url}/clients/{client_id}")
    page.locator("#client-edit").click()
    currency = page.locator("#field-currency")
    expect(currency).to_have_value("KWD")
    # Every ISO currency is offered, searchable by typing (the same list on every form).
    options = page.locator("datalist#iso-currencies option")
    assert options.count() > 150
    assert page.locator("datalist#iso-currencies option[value=JPY]").count() == 1
    page.fill("#field-phone", "+965 2222 3333")
    page.click("#clients-save")
    page.get_by_text(f"Gulf Hosting {RUN} saved.").wait_for()
    with Session(app_server.engine) as session:
        saved = session.get(Client, client_id)
        assert saved is not None
        assert (saved.currency, saved.phone) == ("KWD", "+965 2222 3333")
    # Switching to JPY by typing its code works; a made-up code is refused, not replaced.
    page.locator("#client-edit").click()
    page.fill("#field-currency", "jpy")
    page.click("#clients-save")
    expect(page.locator("#field-currency")).to_have_count(0)  # the form closed: saved
    page.locator("#client-edit").click()
    page.fill("#field-currency", "XYZ")
    page.click("#clients-save")
    expect(page.locator("#currency-error")).to_contain_text("not a known ISO 4217 currency")
    with Session(app_server.engine) as session:
        saved = session.get(Client, client_id)
        assert saved is not None and saved.currency == "JPY"
    _shot(page, "client-currency")


def test_every_field_error_of_a_form_shows_at_once(app_server: AppServer, new_page: Any) -> None:
    token, _ = _staff(app_server, "errors", "admin")
    page = _signed_in(new_page, app_server, token)
    page.goto(app_server.base_url + "/clients")
    page.locator("#clients-add").click()
    page.fill("#field-company", "")
    page.fill("#field-email", "not an email")
    page.fill("#field-country", "France")
    page.fill("#field-currency", "ZZZ")
    page.click("#clients-save")
    for name in ("company", "email", "country", "currency"):
        expect(page.locator(f"#{name}-error")).to_be_visible()
    _shot(page, "client-form-all-errors")


def test_admin_times_read_in_the_agency_time_zone(app_server: AppServer, new_page: Any) -> None:
    token, _ = _staff(app_server, "zone", "owner")
    with Session(app_server.engine) as session:
        agency = session.get(AgencySettings, 1) or AgencySettings(id=1)
        previous = agency.time_zone
        agency.time_zone = "Asia/Tokyo"
        agency.updated_at = datetime.now(UTC)
        session.add(agency)
        session.commit()
    try:
        page = _signed_in(new_page, app_server, token)
        page.goto(app_server.base_url + "/audit")
        first = page.locator("#audit tbody tr").first.locator("td").first
        first.wait_for()
        text = first.inner_text()
        assert text.endswith(" JST"), text
        shown = datetime.strptime(text.removesuffix(" JST"), "%d %b %Y, %H:%M")
        tokyo_now = datetime.now(UTC) + timedelta(hours=9)
        assert abs(shown - tokyo_now.replace(tzinfo=None)) < timedelta(minutes=30)
    finally:
        with Session(app_server.engine) as session:
            agency = session.get(AgencySettings, 1)
            assert agency is not None
            agency.time_zone = previous
            session.add(agency)
            session.commit()


def test_a_payment_recorded_by_mistake_is_reversed_with_its_reason(
    app_server: AppServer, new_page: Any
) -> None:
    token, actor = _staff(app_server, "bookkeeper", "admin")
    world = _catalog(app_server, actor, "rev")
    with Session(app_server.engine) as session:
        invoice_id = drafts.save_draft(
            session,
            actor,
            drafts.DraftForm(
                client_id=world["client"].id,
                lines=(drafts.LineForm(f"Maintenance {RUN}", "1", "250"),),
            ),
        )
        sending.send_invoice(session, actor, invoice_id)
        payment_id = payments.record_payment(
            session,
            actor,
            invoice_id,
            payments.PaymentForm("250", "cheque", datetime.now(UTC).date(), reference="CHQ-77"),
        )
        session.commit()
    page = _signed_in(new_page, app_server, token)
    page.goto(f"{app_server.base_url}/invoices/{invoice_id}")
    expect(page.locator("#invoice-status")).to_contain_text("Paid")
    page.locator(f"#reverse-{payment_id}").click()
    page.click("#reverse-submit")
    expect(page.locator("#reason-error")).to_contain_text("Say why")
    page.fill("#reverse-reason", "The cheque bounced")
    page.click("#reverse-submit")
    page.get_by_text("Payment reversed.").wait_for()
    expect(page.locator("#invoice-status")).to_contain_text("Open")
    card = page.locator("#payments-card")
    expect(card).to_contain_text("Reversed")
    expect(card).to_contain_text("The cheque bounced")
    expect(page.locator(f"#reverse-{payment_id}")).to_have_count(0)
    expect(page.get_by_text("reversed: The cheque bounced")).to_be_visible()
    _shot(page, "payment-reversed")
    with Session(app_server.engine) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None and (invoice.status, invoice.paid_minor) == ("open", 0)
