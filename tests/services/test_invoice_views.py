"""The read side of the invoice pages and the emails of issue #5 (receipt, reminder, voided,
brand previews), against a real database."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.invoicing import Invoice
from billing_app.db.models import OutboxEmail
from billing_app.services.agency import branding
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotFound
from billing_app.services.invoicing import documents as invoice_documents
from billing_app.services.invoicing import payments
from billing_app.services.invoicing import samples as invoice_samples
from billing_app.services.invoicing import views as invoice_views
from billing_app.services.invoicing.payments import PaymentForm
from tests.services.test_clients import ADMIN

from .test_invoicing import draft, send, world

__all__ = ["world"]


def _emails(session: Session, kind: str) -> list[OutboxEmail]:
    return list(session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == kind)))


def test_a_draft_reads_back_as_typed_for_the_editor(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock, website_id=world["site"].id, message="Hi")
    view = invoice_views.draft_view(session, ADMIN, invoice_id)
    assert view.status == "draft" and view.website_id == world["site"].id
    assert [(ln.description, ln.quantity, ln.unit_price, ln.discount) for ln in view.lines] == [
        ("Managed hosting", "1", "25.00", ""),
        ("Site care — monthly", "2", "49.50", "10%"),
        ("Logo refresh (free text)", "1", "300.00", ""),
    ]
    assert all(ln.tax_rate_ids == (world["vat"].id,) for ln in view.lines)
    assert view.lines[0].product_id == world["product"].id
    detail = invoice_views.invoice_detail(session, ADMIN, invoice_id, clock=clock)
    assert detail.number == "Draft" and detail.status == "draft"
    assert detail.total == "€496.92" and detail.due == "€496.92"
    assert [e["kind"] for e in detail.timeline] == ["created"]


def test_a_sent_invoice_is_shown_from_its_snapshot_with_payments_and_timeline(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    number = send(session, world, invoice_id, clock)
    payments.record_payment(
        session,
        world["actor"],
        invoice_id,
        PaymentForm("100", "bank_transfer", date(2026, 3, 13), "TX-1"),
        clock=clock,
    )
    session.commit()
    detail = invoice_views.invoice_detail(session, ADMIN, invoice_id, clock=clock)
    assert detail.number == number and detail.status == "partially_paid"
    assert detail.snapshot["client"]["company"] == "Café Ünder GmbH"
    assert (detail.paid, detail.due, detail.refundable) == ("€100.00", "€396.92", "€100.00")
    assert [{k: v for k, v in p.items() if k != "id"} for p in detail.payments] == [
        {
            "kind": "payment",
            "kind_label": "Payment",
            "method": "Bank transfer",
            "amount": "€100.00",
            "date": "2026-03-13",
            "reference": "TX-1",
            "note": "",
            "reversed": "",
            "can_reverse": "yes",
        }
    ]
    # Newest first.
    assert [e["kind"] for e in detail.timeline] == ["payment", "emailed", "sent", "created"]
    with pytest.raises(NotFound):
        invoice_views.invoice_detail(session, ADMIN, invoice_id + 999, clock=clock)


def test_receipt_reminder_and_void_emails_are_branded_and_queued(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    brand = branding.default_brand(session, clock=clock)
    brand.sender_name, brand.primary_color = "Nord Studio Billing", "#aa3366"
    brand.email_footer, brand.reply_to = "Nord Studio · Helsinki", "help@nord.test"
    session.add(brand)
    session.commit()
    invoice_id = draft(session, world, clock)
    send(session, world, invoice_id, clock)
    payments.record_payment(
        session,
        world["actor"],
        invoice_id,
        PaymentForm("96.92", "cheque", date(2026, 3, 14), "CHQ 7"),
        clock=clock,
    )
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    invoice_documents.queue_receipt_email(
        session,
        invoice,
        amount_minor=9692,
        method_label="Cheque",
        received_on=date(2026, 3, 14),
        reference="CHQ 7",
    )
    invoice_documents.queue_reminder_email(session, invoice, today=date(2026, 4, 2))
    session.commit()

    (receipt,) = _emails(session, "receipt")
    assert receipt.to_address == "billing@cafe-under.test"
    assert receipt.subject == f"Receipt for invoice {invoice.number} from Nord Studio Billing"
    assert "€96.92" in receipt.body_text and "CHQ 7" in receipt.body_text
    assert "€400.00 due" in receipt.body_text
    assert "#aa3366" in receipt.body_html and "Nord Studio · Helsinki" in receipt.body_html
    assert (receipt.from_name, receipt.reply_to) == ("Nord Studio Billing", "help@nord.test")

    (reminder,) = _emails(session, "payment_reminder")
    assert reminder.subject.startswith(f"Reminder: invoice {invoice.number}")
    assert "was due on March 28, 2026" in reminder.body_text  # overdue wording
    assert "€400.00" in reminder.body_text
    assert reminder.attachment_key == invoice.pdf_key
    assert reminder.attachment_name == f"{invoice.number}.pdf"

    # A second invoice, voided with a notice to the client.
    second_id = draft(session, world, clock)
    send(session, world, second_id, clock)
    second = session.get(Invoice, second_id)
    assert second is not None
    payments.void_invoice(session, world["actor"], second_id, "Billed twice", clock=clock)
    invoice_documents.queue_voided_email(session, second, "Billed twice")
    session.commit()
    (voided,) = _emails(session, "invoice_voided")
    assert voided.subject == f"Invoice {second.number} from Nord Studio Billing was voided"
    assert "Billed twice" in voided.body_text and "€496.92" in voided.body_text


def test_emails_of_a_draft_are_refused(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    with pytest.raises(ValueError, match="sent invoices"):
        invoice_documents.queue_reminder_email(session, invoice, today=date(2026, 3, 20))


def test_brand_previews_use_the_brand(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    brand = branding.default_brand(session, clock=clock)
    brand.primary_color, brand.sender_name = "#123456", "Preview Brand"
    session.add(brand)
    session.commit()
    assert brand.id is not None
    html = invoice_samples.sample_email_html(session, ADMIN, brand.id)
    assert "#123456" in html and "Preview Brand" in html and "INV-2026-00042" in html
    assert invoice_samples.sample_pdf(session, ADMIN, brand.id).startswith(b"%PDF-")
    with pytest.raises(NotFound):
        invoice_samples.sample_pdf(session, ADMIN, brand.id + 99)
