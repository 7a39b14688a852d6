"""Credit notes, as staff and the client use them (after the Stripe settings journey, which
starts with Stripe not connected): a client pays an invoice by card in the
portal (localstripe); staff issue a partial credit note on some lines, refunded to the card; the
credit note email arrives with its PDF; the invoice, the client's overview, the portal and the
dashboard all show the same right figures; then a second credit note is kept as credit, which
the client's next invoice uses before anything is due. Another client's user cannot read the
credit note's PDF."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import stripe
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlmodel import Session, col, select

from billing_app.db.credit_notes import CreditNote
from billing_app.db.invoicing import Invoice
from billing_app.domain.money import Money, format_money
from billing_app.services.catalog import tax_rates
from billing_app.services.invoicing import drafts, sending
from billing_app.services.invoicing.settlement import outstanding_sql

from .axe import assert_accessible
from .conftest import ARTIFACTS, OWNER_EMAIL, OWNER_PASSWORD, AppServer, text_body
from .test_foundation_journeys import sign_in
from .test_portal_cards import PHONE, _connect_stripe, _type_card
from .test_portal_pay import _open_invoice
from .test_portal_security import _client_user, _portal_sign_in, _signed_in
from .test_portal_sockets import _client_with_invoice, _portal_cookie

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "credit-notes"


def _pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def _vat_invoice(
    server: AppServer, actor: Any, client_id: int, lines: list[tuple[str, str, str]]
) -> tuple[int, str]:
    with Session(server.engine, expire_on_commit=False) as session:
        vat = tax_rates.create_tax_rate(session, actor, name=f"VAT cn{client_id}", percent="20")
        session.flush()
        assert vat.id is not None
        invoice_id = drafts.save_draft(
            session,
            actor,
            drafts.DraftForm(
                client_id=client_id,
                lines=tuple(
                    drafts.LineForm(text, qty, price, tax_rate_ids=(vat.id,))
                    for text, qty, price in lines
                ),
            ),
        )
        number = sending.send_invoice(session, actor, invoice_id).number
        session.commit()
    return invoice_id, number


def _figures(server: AppServer, invoice_id: int) -> tuple[str, int, int, int, int]:
    with Session(server.engine) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        return (
            invoice.status,
            invoice.paid_minor,
            invoice.refunded_minor,
            invoice.credited_minor,
            invoice.credit_applied_minor,
        )


def _outstanding_everywhere(server: AppServer) -> str:
    """What every client owes in EUR, summed from the invoices' own figures."""
    with Session(server.engine) as session:
        total = sum(
            int(v or 0)
            for v in session.exec(
                select(outstanding_sql()).where(col(Invoice.currency) == "EUR")
            ).all()
        )
    return format_money(Money(total, "EUR"), "en")


def test_a_credit_note_refunds_a_card_payment_and_a_credit_balance_pays_the_next_invoice(
    app_server: AppServer, new_page: Any, localstripe_server: str
) -> None:
    actor = _connect_stripe(app_server)
    world = _client_with_invoice(app_server, actor, "credit")
    client_id = world["client"]
    invoice_id, number = _vat_invoice(
        app_server, actor, client_id, [("Site care", "2", "150"), ("Hosting", "1", "100")]
    )
    email = _client_user(app_server, client_id, "credit", actor)

    # The client pays the €480.00 invoice by card in the portal.
    client = new_page()
    _portal_sign_in(client, app_server, email)
    _signed_in(client)
    _open_invoice(client, app_server, invoice_id)
    _type_card(client, "4242424242424242")
    client.click("#portal-pay-submit")
    expect(client.locator("#portal-pay-receipt")).to_contain_text("€480.00 paid with Visa")
    assert _figures(app_server, invoice_id) == ("paid", 48000, 0, 0, 0)

    # Staff credit one of the two "Site care" units, back to the card.
    staff = new_page()
    sign_in(staff, app_server, OWNER_EMAIL, OWNER_PASSWORD)
    staff.wait_for_url(re.compile(r"/dashboard|/$"))
    staff.goto(f"{app_server.base_url}/invoices/{invoice_id}")
    staff.locator("#credit-open").click()
    dialog = staff.get_by_role("dialog")
    expect(dialog).to_contain_text("Issue a credit note")
    expect(staff.locator("#credit-preview-total")).to_have_text("€480.00")
    staff.locator("#credit-mode-lines").click()
    staff.fill("#credit-qty-0", "1")
    staff.locator("#credit-reason").click()  # leaves the quantity: the preview follows
    expect(staff.locator("#credit-preview-total")).to_have_text("€180.00")
    expect(staff.locator("#credit-preview-back")).to_have_text("€180.00")
    expect(staff.locator("#credit-give-back")).to_have_value(re.compile(r"^card:\d+$"))
    staff.fill("#credit-reason", "One site was handed over early")
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert_accessible(staff, "credit note dialog")
    staff.screenshot(path=str(SHOTS / "credit-note-dialog.png"), full_page=True)
    staff.click("#credit-submit")

    expect(staff.locator("#credit-notes")).to_contain_text("Refunded to the card")
    note_number = staff.locator("#credit-notes a").first.inner_text()
    assert re.fullmatch(r"CN-\d{4}-\d{5}", note_number)
    expect(staff.locator("#invoice-status")).to_have_text("Partially refunded")
    expect(staff.locator("#invoice-due")).to_have_text("€0.00")
    expect(staff.get_by_text("Credited", exact=True)).to_be_visible()
    expect(staff.locator("#timeline")).to_contain_text(f"Credit note {note_number} issued")
    staff.screenshot(path=str(SHOTS / "invoice-credited.png"), full_page=True)
    assert _figures(app_server, invoice_id) == ("partially_refunded", 48000, 18000, 18000, 0)
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": localstripe_server})
    refunds = [r for r in sdk.v1.refunds.list(params={"limit": 100}).data if r.amount == 18000]
    assert refunds and refunds[-1].status == "succeeded"

    # The credit note email, with the credit note's PDF.
    mail = app_server.mailbox.wait_for(
        _client_email(app_server, client_id),
        f"Credit note {note_number}",
    )
    assert f"invoice {number}" in str(mail["Subject"])
    body = text_body(mail)
    assert "€180.00" in body and "Refunded to your card (Visa •••• 4242)" in body
    [pdf] = [p for p in mail.walk() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == f"{note_number}.pdf"
    data = pdf.get_payload(decode=True)
    assert isinstance(data, bytes)
    (SHOTS / f"{note_number}.pdf").write_bytes(data)
    text = _pdf_text(data)
    for said in ("CREDIT NOTE", note_number, number, "€180.00", "VAT", "€30.00", "handed over"):
        assert said in text, said

    # The client's overview: net invoiced down by the credit, nothing outstanding.
    staff.goto(f"{app_server.base_url}/clients/{client_id}")
    expect(staff.locator("#client-credit-notes")).to_contain_text(note_number)
    expect(staff.locator("#client-outstanding")).to_contain_text("€777.00")  # the other invoice
    staff.screenshot(path=str(SHOTS / "client-credit.png"), full_page=True)

    # The portal: the credit note next to the invoices, its PDF for this client only.
    client.goto(app_server.base_url + "/portal/invoices")
    credit = client.locator("#portal-credit")
    expect(credit).to_contain_text(note_number)
    expect(credit).to_contain_text("− €180.00")
    expect(credit).to_contain_text("Refunded to the card")
    assert_accessible(client, "portal credit notes")
    client.screenshot(path=str(SHOTS / "portal-credit-notes.png"), full_page=True)
    with Session(app_server.engine) as session:
        note = session.exec(select(CreditNote).where(col(CreditNote.number) == note_number)).one()
    own = client.request.get(f"{app_server.base_url}/api/portal/credit-notes/{note.id}/pdf")
    assert own.status == 200 and own.body().startswith(b"%PDF-")
    other = _client_with_invoice(app_server, actor, "credit-other")
    stranger = _portal_cookie(app_server, other["client"], "credit-stranger")
    denied = client.request.get(
        f"{app_server.base_url}/api/portal/credit-notes/{note.id}/pdf",
        headers={"Cookie": stranger},
    )
    assert denied.status == 404
    client.goto(f"{app_server.base_url}/portal/invoices/{invoice_id}")
    expect(client.get_by_text("Credited", exact=True)).to_be_visible()

    # The dashboard's outstanding is the invoices' own sum.
    staff.goto(app_server.base_url + "/")
    expect(staff.locator("#revenue")).to_contain_text(_outstanding_everywhere(app_server))

    # A second credit note, kept as credit; the next invoice uses it first.
    staff.goto(f"{app_server.base_url}/invoices/{invoice_id}")
    staff.locator("#credit-open").click()
    staff.locator("#credit-mode-amount").click()
    staff.fill("#credit-amount", "60")
    staff.locator("#credit-reason").click()
    expect(staff.locator("#credit-preview-total")).to_have_text("€60.00")
    staff.select_option("#credit-give-back", "balance")
    staff.fill("#credit-reason", "Goodwill for the outage")
    staff.click("#credit-submit")
    expect(staff.locator("#credit-notes")).to_contain_text("Added to the credit balance")
    staff.goto(f"{app_server.base_url}/clients/{client_id}")
    expect(staff.locator("#client-credit-EUR")).to_have_text("€60.00")

    next_id, next_number = _vat_invoice(app_server, actor, client_id, [("Site care", "1", "100")])
    assert _figures(app_server, next_id) == ("partially_paid", 0, 0, 0, 6000)
    staff.goto(f"{app_server.base_url}/invoices/{next_id}")
    expect(staff.locator("#invoice-due")).to_have_text("€60.00")  # €120.00 - €60.00
    expect(staff.get_by_text("Paid from credit balance")).to_be_visible()
    client.goto(f"{app_server.base_url}/portal/invoices/{next_id}")
    expect(client.get_by_text("Paid from your credit")).to_be_visible()
    client.set_viewport_size(PHONE)
    client.goto(app_server.base_url + "/portal/invoices")
    expect(client.locator("#portal-credit")).to_contain_text(note_number)
    client.screenshot(path=str(SHOTS / "portal-credit-phone.png"), full_page=True)
    assert next_number


def _client_email(server: AppServer, client_id: int) -> str:
    from billing_app.db.customers import Client

    with Session(server.engine) as session:
        row = session.get(Client, client_id)
        assert row is not None
        return row.email
