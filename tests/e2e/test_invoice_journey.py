"""Invoices end to end (issue #5) in Chromium against the real app: a brand with an uploaded
logo, agency payment terms, an invoice with two catalog lines and a free line at 20 % VAT,
its PDF preview, sending (the email with the PDF arrives over SMTP), two partial offline
payments by bank transfer (with receipts), paid, and found by number. Plus the PDF route's
authorization: anonymous callers, staff without invoices.read and guessed ids get nothing."""

from __future__ import annotations

import io
import re
import struct
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlmodel import Session, col, select

from billing_app.db.invoicing import Invoice
from billing_app.db.models import OutboxEmail, StaffUser
from billing_app.services.access import roles
from billing_app.services.access.identity import current_user_from
from billing_app.services.catalog import products as catalog
from billing_app.services.catalog import tax_rates
from billing_app.services.common.tokens import hash_password
from billing_app.services.customers import clients
from billing_app.services.invoicing import drafts, sending
from billing_app.settings import get_settings

from .conftest import ARTIFACTS, AppServer, session_token, text_body

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:6]
PASSWORD = "invoices go out on the first of the month"
SHOTS = ARTIFACTS / "invoice-journey"


def _png(width: int = 24, height: int = 24, rgb: tuple[int, int, int] = (15, 118, 110)) -> bytes:
    """A small solid PNG made here (no fixture file)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _staff(server: AppServer, key: str, role_key: str, custom_role_id: int | None = None) -> Any:
    """A staff member made directly, and a signed-in session token for them."""
    email = f"{key}-{RUN}@studio-nord.test"
    with Session(server.engine, expire_on_commit=False) as session:
        user = session.exec(select(StaffUser).where(col(StaffUser.email) == email)).first()
        if user is None:
            user = StaffUser(
                email=email,
                name=f"{key.capitalize()} {RUN}",
                password_hash=hash_password(PASSWORD),
                role_key=role_key,
                custom_role_id=custom_role_id,
                created_at=datetime.now(UTC),
            )
            session.add(user)
            session.commit()
        actor = current_user_from(session, user)
    return session_token(server, email, PASSWORD), actor


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _catalog(server: AppServer, actor: Any, tag: str = "") -> dict[str, Any]:
    """A 20 % VAT rate, two products using it, and a client with a website (services)."""
    run = RUN + tag
    with Session(server.engine, expire_on_commit=False) as session:
        vat = tax_rates.create_tax_rate(session, actor, name=f"VAT {run}", percent="20")
        session.flush()
        assert vat.id is not None
        hosting = catalog.create_product(
            session,
            actor,
            catalog.ProductInput(
                name=f"Managed hosting {run}",
                price="25.00",
                currency="EUR",
                tax_rate_ids=[vat.id],
            ),
        )
        care = catalog.create_product(
            session,
            actor,
            catalog.ProductInput(
                name=f"Site care {run}",
                price="49.50",
                currency="EUR",
                tax_rate_ids=[vat.id],
            ),
        )
        client = clients.create_client(
            session,
            actor,
            clients.ClientInput(
                company=f"Café Ünder {run} GmbH",
                email=f"billing-{run}@cafe-under.test",
                contact_name="Jürgen Çelik",
                city="Köln",
                country="DE",
                currency="EUR",
                websites=[clients.WebsiteInput("Shop", f"https://shop-{run}.cafe-under.test")],
            ),
        )
        session.commit()
    return {"vat": vat, "hosting": hosting, "care": care, "client": client}


@pytest.fixture
def app_storage(app_server: AppServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Invoices sent here through the services store their PDFs where the app reads them."""
    monkeypatch.setenv("BILLING_DATA_DIR", str(app_server.data_dir))
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _outbox_drained(app_server: AppServer) -> Iterator[None]:
    """Leave no email in flight for the next module (its snapshots compare the outbox)."""
    yield
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with Session(app_server.engine) as session:
            pending = session.exec(
                select(OutboxEmail.id).where(col(OutboxEmail.status).in_(("queued", "sending")))
            ).first()
        if pending is None:
            return
        time.sleep(0.3)


def _pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def test_brand_invoice_send_pay_and_find(app_server: AppServer, new_page: Any) -> None:
    token, actor = _staff(app_server, "admin", "admin")
    world = _catalog(app_server, actor)
    company, client_email = world["client"].company, world["client"].email
    page = new_page()
    page.context.add_cookies(
        [{"name": "billing_session", "value": token, "url": app_server.base_url}]
    )

    # --- Agency settings: 30 days payment terms.
    page.goto(app_server.base_url + "/settings")
    page.locator("#legal_name").wait_for()
    page.fill("#legal_name", "Studio Nord Oy")
    page.fill("#address", "Mannerheimintie 1\n00100 Helsinki\nFinland")
    page.fill("#tax_id", "FI12345678")
    page.fill("#payment_terms_days", "30")
    page.click("#settings-save")
    page.get_by_text("Settings saved.").wait_for()
    # The saved values come back to the form: wait for them before typing again.
    expect(page.locator("#payment_terms_days")).to_have_value("30")
    page.fill("#payment_terms_days", "400")
    expect(page.locator("#payment_terms_days")).to_have_value("400")
    page.click("#settings-save")
    page.locator("#payment_terms_days-error").wait_for()
    page.fill("#payment_terms_days", "30")
    page.click("#settings-save")
    _shot(page, "01-settings")

    # --- Brand: name, colours, sender, footer, then a logo upload.
    page.click("#nav-brands")
    page.locator("#name").wait_for()
    page.fill("#name", f"Studio Nord {RUN}")
    page.fill("#primary_color", "#0f766e")
    page.fill("#accent_color", "#f59e0b")
    page.fill("#sender_name", "Studio Nord Billing")
    page.fill("#reply_to", "accounts@studio-nord.test")
    page.fill("#support_email", "help@studio-nord.test")
    page.fill("#email_footer", "Studio Nord Oy · Mannerheimintie 1, Helsinki")
    # Bank details: a mistyped IBAN is caught before any client sees it.
    page.fill("#bank_account_holder", "Studio Nord Oy")
    page.fill("#bank_iban", "fi21 1234 5600 0007 86")
    page.fill("#bank_bic", "nordfihh")
    page.click("#brand-save")
    assert "check digits do not match" in page.locator("#bank_iban-error").inner_text()
    page.fill("#bank_iban", "fi21 1234 5600 0007 85")
    page.click("#brand-save")
    page.get_by_text("Brand saved.").wait_for()
    assert page.input_value("#bank_iban") == "FI21 1234 5600 0007 85"
    assert page.input_value("#bank_bic") == "NORDFIHH"
    # A test email goes out as the brand, now, through the app's server here; the page says so.
    page.click("#brand-test-email")
    result = page.locator("#brand-test-result")
    result.wait_for()
    assert f"Test email sent to {actor.email} through 127.0.0.1:" in result.inner_text()
    test_mail = app_server.mailbox.wait_for(actor.email, "Test email from Studio Nord Billing")
    assert test_mail["From"].startswith("Studio Nord Billing")
    page.set_input_files(
        "#brand-logo input[type=file]",
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": _png()}],
    )
    page.get_by_text("Logo saved.").wait_for()
    logo = page.locator("#brand-logo-img")
    logo.wait_for()
    logo_src = logo.get_attribute("src") or ""
    logo_resp = page.request.get(app_server.base_url + logo_src)
    assert logo_resp.status == 200 and logo_resp.headers["content-type"] == "image/png"
    assert logo_resp.body() == _png()
    # The logo never lands under Reflex's public upload dir.
    assert not list((Path.cwd() / "uploaded_files").glob("**/logo.png"))
    preview = page.frame_locator("#brand-email-preview")
    # The brand has a logo now: it heads the email, the sender's name as its text.
    preview.locator('img[alt="Studio Nord Billing"]').wait_for()
    sample = page.request.get(
        app_server.base_url + (page.get_attribute("#brand-sample-pdf", "href") or "")
    )
    assert sample.status == 200 and sample.body().startswith(b"%PDF-")
    _shot(page, "02-brands")

    # --- New invoice: two catalog lines and one free line at 20 % VAT.
    page.click("#nav-invoices")
    page.locator("#invoice-new").click()
    page.locator("#invoice-client").wait_for()
    page.select_option("#invoice-client", label=f"{company} <{client_email}>")
    page.get_by_text("Billed in EUR").wait_for()
    today = datetime.fromisoformat(page.input_value("#issue-date"))
    assert page.input_value("#due-date") == (today + timedelta(days=30)).date().isoformat()
    page.select_option("#add-product", label=f"Managed hosting {RUN} — €25.00")
    page.locator("[id^=line-amount-]", has_text="€25.00").wait_for()
    page.select_option("#add-product", label=f"Site care {RUN} — €49.50")
    page.locator("[id^=line-amount-]", has_text="€49.50").wait_for()
    page.click("#add-line")
    descriptions = page.locator("[id^=line-description-]")
    descriptions.nth(2).wait_for()
    free_key = (descriptions.nth(2).get_attribute("id") or "").rsplit("-", 1)[1]
    page.fill(f"#line-description-{free_key}", "Logo refresh — Ünder café")
    page.fill(f"#line-unit_price-{free_key}", "30O")  # a typo: the line says what is wrong
    page.locator(f"#line-error-{free_key}").wait_for()
    page.fill(f"#line-unit_price-{free_key}", "300")
    page.locator(f"#line-error-{free_key}").wait_for(state="detached")
    page.select_option(f"#line-tax-{free_key}", label=f"VAT {RUN} 20%")
    page.fill("#invoice-message", "Thank you for the lovely project!")
    # 25.00 + 49.50 + 300.00 = 374.50 net; VAT 20 % = 74.90; total 449.40
    page.locator("#invoice-total", has_text="€449.40").wait_for()
    _shot(page, "03-editor")

    page.click("#invoice-save")
    page.wait_for_url(re.compile(r".*/invoices/\d+/edit/?$"))
    invoice_id = int(page.url.rstrip("/").split("/")[-2])
    page.locator("#invoice-total", has_text="€449.40").wait_for()

    # --- Preview: the draft PDF from the authorized route, with the page's cookies.
    with page.context.expect_page() as popup_info:
        page.click("#invoice-preview")
    popup = popup_info.value
    assert popup.url.endswith(f"/api/invoices/{invoice_id}/pdf")
    popup.close()
    draft_pdf = page.request.get(f"{app_server.base_url}/api/invoices/{invoice_id}/pdf")
    assert draft_pdf.status == 200
    assert draft_pdf.headers["content-type"] == "application/pdf"
    assert draft_pdf.body().startswith(b"%PDF-")
    assert "DRAFT" in _pdf_text(draft_pdf.body()).upper()

    # --- Send.
    page.click("#invoice-send")
    page.click("#invoice-send-confirm")
    page.wait_for_url(re.compile(rf".*/invoices/{invoice_id}/?$"))
    page.locator("#invoice-number").wait_for()
    number = page.inner_text("#invoice-number").removeprefix("Invoice ").strip()
    assert number and number != "Draft"
    assert page.inner_text("#invoice-status") == "Open"
    assert page.inner_text("#invoice-due") == "€449.40"

    mail = app_server.mailbox.wait_for(client_email, f"Invoice {number}")
    assert mail["From"].startswith("Studio Nord Billing")
    assert mail["Reply-To"] == "accounts@studio-nord.test"
    attachments = [p for p in mail.walk() if p.get_content_type() == "application/pdf"]
    assert len(attachments) == 1 and attachments[0].get_filename() == f"{number}.pdf"
    pdf_bytes = attachments[0].get_payload(decode=True)
    assert isinstance(pdf_bytes, bytes)
    assert number in _pdf_text(pdf_bytes)
    assert "IBAN: FI21 1234 5600 0007 85" in _pdf_text(pdf_bytes)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "sent-invoice.pdf").write_bytes(pdf_bytes)
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html")
    assert "#0f766e" in str(html.get_payload(decode=True))
    sent_pdf = page.request.get(f"{app_server.base_url}/api/invoices/{invoice_id}/pdf?download=1")
    assert sent_pdf.body() == pdf_bytes  # the frozen PDF, as it was sent
    assert sent_pdf.headers["content-disposition"] == f'attachment; filename="{number}.pdf"'
    # A sent invoice cannot be edited: its editor URL leads back to the invoice.
    page.goto(f"{app_server.base_url}/invoices/{invoice_id}/edit")
    page.wait_for_url(re.compile(rf".*/invoices/{invoice_id}/?$"))
    page.locator("#invoice-number").wait_for()
    _shot(page, "04-detail-sent")

    # --- Two partial payments by bank transfer, the second with a receipt.
    page.click("#pay-open")
    page.fill("#pay-amount", "500")
    page.click("#pay-submit")
    page.locator("#amount-error").wait_for()  # more than is due
    page.fill("#pay-amount", "200")
    page.fill("#pay-reference", "SEPA-1")
    page.click("#pay-receipt")  # no receipt for this one
    page.click("#pay-submit")
    page.get_by_text("Payment recorded.").wait_for()
    page.locator("#invoice-status", has_text="Partially paid").wait_for()
    assert page.inner_text("#invoice-due") == "€249.40"

    page.click("#pay-open")
    assert page.input_value("#pay-amount") == "€249.40"
    page.fill("#pay-reference", "SEPA-2")
    page.click("#pay-submit")
    page.locator("#invoice-status", has_text=re.compile("^Paid$")).wait_for()
    assert page.inner_text("#invoice-due") == "€0.00"
    receipt = app_server.mailbox.wait_for(client_email, f"Receipt for invoice {number}")
    assert "€249.40" in text_body(receipt) and "Paid in full" in text_body(receipt)
    timeline = page.inner_text("#timeline")
    assert "€200.00 received by bank transfer (ref. SEPA-1)" in timeline
    assert "€249.40 received by bank transfer (ref. SEPA-2)" in timeline
    assert "Receipt emailed to" in timeline
    page.fill("#comment-text", "Client asked for a copy by post.")
    page.click("#comment-add")
    page.locator("#timeline").get_by_text("Client asked for a copy by post.").wait_for()
    _shot(page, "05-detail-paid")

    # --- The list: search by number, paid tab.
    page.goto(app_server.base_url + "/invoices")
    page.locator("#invoice-search").fill(number)
    page.locator("#invoices tbody tr", has_text=number).wait_for()
    page.wait_for_function("() => document.querySelectorAll('#invoices tbody tr').length === 1")
    row_text = page.inner_text("#invoices tbody tr")
    assert company in row_text and "Paid" in row_text and "€449.40" in row_text
    page.locator("#invoice-search").fill("449.40")
    page.locator("#invoices tbody tr", has_text=number).wait_for()
    page.locator("#invoice-search").fill("")
    page.click("#tab-paid")
    page.locator("#invoices tbody tr", has_text=number).wait_for()
    _shot(page, "06-list")
    page.click("#tab-draft")
    page.locator("#invoices tbody tr", has_text=number).wait_for(state="detached")


def _get(url: str, cookie: str | None = None) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def test_the_pdf_route_serves_only_the_asked_invoice_to_staff_with_invoices_read(
    app_server: AppServer, app_storage: None
) -> None:
    token, actor = _staff(app_server, "owner2", "admin")
    _, roles_owner = _staff(app_server, "roles-owner", "owner")
    world = _catalog(app_server, actor, "b")
    with Session(app_server.engine, expire_on_commit=False) as session:
        ids: dict[int, str] = {}
        for text in ("First", "Second"):
            invoice_id = drafts.save_draft(
                session,
                actor,
                drafts.DraftForm(
                    client_id=world["client"].id,
                    lines=(drafts.LineForm(f"{text} job {RUN}", "1", "100"),),
                ),
            )
            sent = sending.send_invoice(session, actor, invoice_id)
            ids[invoice_id] = sent.number
        draft_id = drafts.save_draft(
            session,
            actor,
            drafts.DraftForm(
                client_id=world["client"].id,
                lines=(drafts.LineForm(f"Draft job {RUN}", "1", "5"),),
            ),
        )
        no_pdf_role = roles.create_role(
            session,
            roles_owner,  # an Admin may not manage roles
            name=f"No invoices {RUN}",
            description="",
            permissions=["clients.read"],
        )
        session.commit()
        highest = session.exec(select(Invoice.id).order_by(col(Invoice.id).desc())).first()
    assert highest is not None
    base = app_server.base_url
    owner_cookie = f"billing_session={token}"

    # Each id serves its own invoice, and only it.
    for invoice_id, number in ids.items():
        status, body, headers = _get(f"{base}/api/invoices/{invoice_id}/pdf", owner_cookie)
        assert status == 200 and headers["content-type"] == "application/pdf"
        text = _pdf_text(body)
        assert number in text
        assert all(other not in text for other in ids.values() if other != number)
        assert headers["content-disposition"] == f'inline; filename="{number}.pdf"'
    status, body, _ = _get(f"{base}/api/invoices/{draft_id}/pdf", owner_cookie)
    assert status == 200 and f"Draft job {RUN}" in _pdf_text(body)

    # Guessed ids that do not exist, and junk, get nothing.
    for guess in (highest + 1, highest + 50, 0, -1):
        status, body, _ = _get(f"{base}/api/invoices/{guess}/pdf", owner_cookie)
        assert status == 404 and not body.startswith(b"%PDF")
    status, _, _ = _get(f"{base}/api/invoices/abc/pdf", owner_cookie)
    assert status == 404

    # Anonymous, forged, and staff without invoices.read: refused without data.
    no_pdf_token, _ = _staff(app_server, "nopdf", "custom", no_pdf_role)
    some_id = next(iter(ids))
    for cookie in (None, "billing_session=forged", f"billing_session={no_pdf_token}"):
        status, body, _ = _get(f"{base}/api/invoices/{some_id}/pdf", cookie)
        assert status == 404, cookie
        assert not body.startswith(b"%PDF")
    # The same for the brand previews.
    for path in ("/api/brands/1/sample.pdf", "/api/brands/1/logo"):
        status, body, _ = _get(base + path, None)
        assert status == 404


def test_remind_refund_and_void_from_the_detail_page(
    app_server: AppServer, new_page: Any, app_storage: None
) -> None:
    token, actor = _staff(app_server, "admin3", "admin")
    world = _catalog(app_server, actor, "c")
    client_email = world["client"].email
    ids = []
    with Session(app_server.engine, expire_on_commit=False) as session:
        for text in ("Hosting", "Domain"):
            invoice_id = drafts.save_draft(
                session,
                actor,
                drafts.DraftForm(
                    client_id=world["client"].id,
                    lines=(drafts.LineForm(f"{text} {RUN}", "1", "120"),),
                ),
            )
            sending.send_invoice(session, actor, invoice_id)
            ids.append(invoice_id)
        session.commit()
        numbers = [session.get(Invoice, i).number for i in ids]  # type: ignore[union-attr]
    page = new_page()
    page.context.add_cookies(
        [{"name": "billing_session", "value": token, "url": app_server.base_url}]
    )

    # A reminder, then a payment and a refund capped at what was paid.
    page.goto(f"{app_server.base_url}/invoices/{ids[0]}")
    page.locator("#invoice-remind").click()
    page.get_by_text("Reminder sent.").wait_for()
    reminder = app_server.mailbox.wait_for(client_email, f"Reminder: invoice {numbers[0]}")
    assert any(p.get_content_type() == "application/pdf" for p in reminder.walk())
    page.click("#pay-open")
    page.fill("#pay-amount", "100")
    page.click("#pay-submit")
    page.locator("#invoice-status", has_text="Partially paid").wait_for()
    page.click("#refund-open")
    page.fill("#refund-amount", "150")
    page.click("#refund-submit")
    page.locator("#amount-error").wait_for()
    assert "at most €100.00" in page.inner_text("#amount-error")
    page.fill("#refund-amount", "40")
    page.click("#refund-submit")
    page.get_by_text("Refund recorded.").wait_for()
    page.locator("#timeline").get_by_text("€40.00 refunded by bank transfer").wait_for()
    # A refund settles the invoice (services/invoicing/settlement.py): nothing is due any more.
    page.locator("#invoice-status", has_text="Partially refunded").wait_for()
    assert page.inner_text("#invoice-due") == "€0.00"
    assert page.locator("#pay-open").count() == 0

    # Void the other one with a reason; the client is told.
    page.goto(f"{app_server.base_url}/invoices/{ids[1]}")
    page.click("#void-open")
    page.click("#void-submit")
    page.locator("#reason-error").wait_for()
    page.fill("#void-reason", "Domain was not renewed after all")
    page.click("#void-submit")
    page.locator("#invoice-status", has_text="Void").wait_for()
    notice = app_server.mailbox.wait_for(client_email, f"Invoice {numbers[1]} from")
    assert notice is not None
    voided = app_server.mailbox.wait_for(client_email, "was voided")
    assert "Domain was not renewed after all" in text_body(voided)
    assert page.locator("#pay-open").count() == 0
    assert page.inner_text("#invoice-due") == "€0.00"
    _shot(page, "07-detail-void")


def invoice_attempts() -> list[tuple[type, str, dict[str, Any], str]]:
    """Guarded handlers of invoices, settings and brands a Viewer must not run."""
    from billing_app.ui.admin.clients.credit_card import ClientCreditState
    from billing_app.ui.admin.invoices.credit_note import CreditNoteState
    from billing_app.ui.admin.invoices.detail_state import InvoiceDetailState
    from billing_app.ui.admin.invoices.editor_state import InvoiceEditorState
    from billing_app.ui.admin.settings.agency import SettingsState
    from billing_app.ui.admin.settings.brands import BrandsState
    from billing_app.ui.admin.settings.dunning import DunningSettingsState
    from billing_app.ui.admin.subscriptions.renewals import RenewalsState

    pay = {"amount": "1", "method": "cash", "received_on": "2026-01-01", "send_receipt": "on"}
    return [
        (InvoiceEditorState, "save_draft", {}, "/invoices/new"),
        (InvoiceEditorState, "send", {}, "/invoices/new"),
        (InvoiceEditorState, "add_product", {"product_id": "1"}, "/invoices/new"),
        (InvoiceDetailState, "record_payment", {"form": pay}, "/invoices/1"),
        (InvoiceDetailState, "record_refund", {"form": pay}, "/invoices/1"),
        (InvoiceDetailState, "open_card_refund", {"payment_id": "1"}, "/invoices/1"),
        (
            InvoiceDetailState,
            "refund_to_card",
            {"form": {"amount": "1", "reason": "evil"}},
            "/invoices/1",
        ),
        (InvoiceDetailState, "void", {"form": {"reason": "evil"}}, "/invoices/1"),
        (InvoiceDetailState, "send_reminder", {}, "/invoices/1"),
        (InvoiceDetailState, "add_comment", {"form": {"comment": "evil"}}, "/invoices/1"),
        (CreditNoteState, "open_dialog", {}, "/invoices/1"),
        (CreditNoteState, "choose_mode", {"value": "amount"}, "/invoices/1"),
        (CreditNoteState, "issue", {"form": {"reason": "evil"}}, "/invoices/1"),
        (ClientCreditState, "open_refund", {"currency": "EUR"}, "/clients/1"),
        (ClientCreditState, "choose_auto_charge", {"value": "off"}, "/clients/1"),
        (
            ClientCreditState,
            "refund",
            {"form": {"amount": "1", "method": "cash", "refunded_on": "2026-01-01"}},
            "/clients/1",
        ),
        (RenewalsState, "bill", {"hold_id": "1"}, "/subscriptions/renewals"),
        (
            DunningSettingsState,
            "save",
            {"form": {"retry_days": "1", "remind_before_days": "0", "remind_after_days": ""}},
            "/settings",
        ),
        (RenewalsState, "skip", {"hold_id": "1"}, "/subscriptions/renewals"),
        (SettingsState, "save", {"form": {"legal_name": "Evil Corp"}}, "/settings"),
        (BrandsState, "save", {"form": {"name": "Evil brand"}}, "/brands"),
        (BrandsState, "make_default", {}, "/brands"),
        (BrandsState, "delete", {}, "/brands"),
        (BrandsState, "send_test", {}, "/brands"),
    ]


def invoice_snapshot(session: Session) -> dict[str, Any]:
    from billing_app.db.credit_notes import ClientCreditEntry, CreditNote
    from billing_app.db.customers import Client, RenewalHold
    from billing_app.db.dunning import DunningSettings
    from billing_app.db.invoicing import AgencySettings, Brand, InvoiceEvent, InvoicePayment

    agency = session.get(AgencySettings, 1)
    return {
        "invoices": sorted(
            (i.id, i.status, i.paid_minor, i.refunded_minor) for i in session.exec(select(Invoice))
        ),
        "invoice_payments": len(session.exec(select(InvoicePayment)).all()),
        "credit_notes": len(session.exec(select(CreditNote)).all()),
        "dunning": [d.retry_days for d in session.exec(select(DunningSettings))],
        "credit_entries": len(session.exec(select(ClientCreditEntry)).all()),
        "held": sorted((h.id, h.state) for h in session.exec(select(RenewalHold))),
        "auto_charge": sorted(
            (c.id, c.auto_charge) for c in session.exec(select(Client)) if c.id is not None
        ),
        "invoice_events": len(session.exec(select(InvoiceEvent)).all()),
        "brands": sorted((b.name, b.is_default) for b in session.exec(select(Brand))),
        "agency": agency.legal_name if agency else None,
    }
