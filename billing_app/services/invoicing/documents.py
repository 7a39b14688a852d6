"""Turns an invoice (its frozen snapshot, or a draft as it stands) into the PDF document and
the branded email. Sent invoices are rendered once from their snapshot and served from private
storage afterwards; drafts are rendered on demand."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from sqlmodel import Session

from billing_app.adapters import documents
from billing_app.adapters.pdf import (
    AgencyBlock,
    ClientBlock,
    InvoiceDocument,
    InvoiceLineRow,
    Stamp,
    TaxRow,
    render_invoice_pdf,
)
from billing_app.adapters.pdf import Brand as PdfBrand
from billing_app.adapters.storage import path_of
from billing_app.db.invoicing import Invoice
from billing_app.domain.money import Money, format_money
from billing_app.services.common.outbox import enqueue_email
from billing_app.services.invoicing.invoices import build_snapshot, recompute_totals, seller_blocks
from billing_app.settings import get_settings

STAMPS = {
    "paid": Stamp.PAID,
    "void": Stamp.VOID,
    "open": Stamp.DUE,
    "partially_paid": Stamp.DUE,
    "draft": Stamp.DRAFT,
}


def _logo(key: str) -> bytes | None:
    if not key:
        return None
    for area in ("brand-logos", "product-images"):
        path = path_of(key, area)
        if path is not None:
            return path.read_bytes()
    return None


def document_from_snapshot(
    snap: dict[str, Any], *, status: str = "open", paid_minor: int = 0, refunded_minor: int = 0
) -> InvoiceDocument:
    cur, locale = snap["currency"], snap["locale"]

    def money(minor: int) -> Money:
        return Money(int(minor), cur)

    brand, agency, client = snap["brand"], snap["agency"], snap["client"]
    total = int(snap["total_minor"])
    due = total - paid_minor + refunded_minor
    terms = int(snap.get("payment_terms_days", 0))
    due_date = date.fromisoformat(snap["due_date"])
    return InvoiceDocument(
        number=snap.get("number"),
        issue_date=date.fromisoformat(snap["issue_date"]),
        due_date=due_date,
        currency=cur,
        locale=locale,
        brand=PdfBrand(
            name=brand["name"],
            primary_color=brand["primary_color"],
            accent_color=brand["accent_color"],
            logo=_logo(brand.get("logo_key", "")),
            footer_text=brand.get("footer", ""),
            support_email=brand.get("support_email", ""),
            support_url=brand.get("support_url", ""),
        ),
        agency=AgencyBlock(
            legal_name=agency["legal_name"] or brand["name"],
            address_lines=tuple(agency["address"]),
            tax_id=agency["tax_id"],
        ),
        client=ClientBlock(
            company=client["company"],
            contact_name=client["contact_name"],
            address_lines=tuple(client["address"]),
            email=client["email"],
            tax_id=client["tax_id"],
            website=client.get("website") or None,
        ),
        lines=tuple(
            InvoiceLineRow(
                description=line["description"],
                quantity=line["quantity"],
                unit_price=money(line["unit_price_minor"]),
                amount=money(line["amount_minor"]),
                discount=line["discount"],
                tax=", ".join(line["taxes"]),
            )
            for line in snap["lines"]
        ),
        subtotal=money(snap["subtotal_minor"]),
        total=money(total),
        amount_due=money(max(due, 0) if status != "void" else 0),
        tax_rows=tuple(
            TaxRow(
                name=t["name"],
                percent=Decimal(t["percent"]),
                amount=money(t["amount_minor"]),
                taxable_amount=money(t["taxable_minor"]),
            )
            for t in snap["taxes"]
        ),
        discount_total=money(snap["discount_minor"]) if snap["discount_minor"] else None,
        tax_total=money(snap["tax_minor"]),
        amount_paid=money(paid_minor - refunded_minor) if paid_minor else None,
        stamp=STAMPS.get(status),
        message=snap.get("message", ""),
        payment_terms=(
            f"Payment due within {terms} days, by {format_date(due_date, 'long', locale=locale)}."
            if terms
            else f"Payment due on receipt, by {format_date(due_date, 'long', locale=locale)}."
        ),
    )


def render_snapshot(snap: dict[str, Any]) -> bytes:
    """The PDF of an invoice being sent (status open, nothing paid yet)."""
    return render_invoice_pdf(document_from_snapshot(snap))


def render_draft(session: Session, invoice: Invoice) -> bytes:
    """A draft's PDF as it stands now (number None: printed as DRAFT)."""
    snap = build_snapshot(session, invoice, recompute_totals(session, invoice))
    return render_invoice_pdf(document_from_snapshot(snap, status="draft"))


def pdf_of(session: Session, invoice: Invoice) -> bytes:
    """The PDF to download: drafts on demand; sent invoices from private storage (rendered
    once at sending). Paid/void status shows in the app; the stored PDF is what was sent."""
    if invoice.status == "draft":
        return render_draft(session, invoice)
    stored = documents.read_document(invoice.pdf_key)
    if stored is not None:
        return stored
    # Storage lost the file: render again from the frozen snapshot (same content).
    return render_snapshot(json.loads(invoice.snapshot))


def pdf_filename(invoice: Invoice) -> str:
    return f"{invoice.number or f'draft-{invoice.id}'}.pdf"


def queue_invoice_email(
    session: Session, invoice: Invoice, snap: dict[str, Any], pdf_key: str
) -> None:
    """The branded 'invoice sent' email, with the PDF attached."""
    settings = get_settings()
    brand = snap["brand"]
    total = Money(int(snap["total_minor"]), snap["currency"])
    enqueue_email(
        session,
        "invoice_sent",
        snap["client"]["email"],
        {
            "sender_name": brand["sender_name"],
            "brand_color": brand["primary_color"],
            "footer": brand.get("footer") or brand["name"],
            "contact_name": snap["client"]["contact_name"] or snap["client"]["company"],
            "number": snap["number"],
            "total": format_money(total, snap["locale"]),
            "due_date": format_date(
                date.fromisoformat(snap["due_date"]), "long", locale=snap["locale"]
            ),
            "message": snap.get("message", ""),
            "support_email": brand.get("support_email", ""),
        },
        settings=settings,
        from_name=brand["sender_name"],
        reply_to=brand.get("reply_to", ""),
        attachment=(pdf_key, pdf_filename(invoice)),
    )


def _brand_context(snap: dict[str, Any]) -> dict[str, Any]:
    brand = snap["brand"]
    return {
        "sender_name": brand["sender_name"],
        "brand_color": brand["primary_color"],
        "footer": brand.get("footer") or brand["name"],
        "contact_name": snap["client"]["contact_name"] or snap["client"]["company"],
        "number": snap["number"],
        "support_email": brand.get("support_email", ""),
    }


def _sent_snapshot(invoice: Invoice) -> dict[str, Any]:
    if not invoice.snapshot:
        msg = "Only sent invoices have emails."
        raise ValueError(msg)
    snap: dict[str, Any] = json.loads(invoice.snapshot)
    return snap


def _queue(
    session: Session,
    kind: str,
    invoice: Invoice,
    snap: dict[str, Any],
    extra: dict[str, Any],
    *,
    attach: bool = False,
) -> None:
    brand = snap["brand"]
    enqueue_email(
        session,
        kind,
        snap["client"]["email"],
        {**_brand_context(snap), **extra},
        settings=get_settings(),
        from_name=brand["sender_name"],
        reply_to=brand.get("reply_to", ""),
        attachment=(invoice.pdf_key, pdf_filename(invoice)) if attach and invoice.pdf_key else None,
    )


def resend_invoice_email(session: Session, invoice: Invoice) -> None:
    """The 'invoice sent' email again (same frozen PDF attached)."""
    queue_invoice_email(session, invoice, _sent_snapshot(invoice), invoice.pdf_key)


def queue_receipt_email(
    session: Session,
    invoice: Invoice,
    *,
    amount_minor: int,
    method_label: str,
    received_on: date,
    reference: str = "",
) -> None:
    """A receipt for an offline payment (after it was recorded on ``invoice``)."""
    snap = _sent_snapshot(invoice)
    locale, cur = snap["locale"], invoice.currency
    balance = invoice.total_minor - invoice.paid_minor + invoice.refunded_minor
    _queue(
        session,
        "receipt",
        invoice,
        snap,
        {
            "amount": format_money(Money(amount_minor, cur), locale),
            "received_on": format_date(received_on, "long", locale=locale),
            "method": method_label,
            "reference": reference.strip(),
            "balance": format_money(Money(max(balance, 0), cur), locale),
            "fully_paid": balance <= 0,
        },
    )


def queue_reminder_email(session: Session, invoice: Invoice, *, today: date) -> None:
    """A payment reminder for an open or overdue invoice, with the PDF attached again."""
    snap = _sent_snapshot(invoice)
    locale, cur = snap["locale"], invoice.currency
    balance = invoice.total_minor - invoice.paid_minor + invoice.refunded_minor
    _queue(
        session,
        "payment_reminder",
        invoice,
        snap,
        {
            "balance": format_money(Money(max(balance, 0), cur), locale),
            "due_date": format_date(invoice.due_date, "long", locale=locale),
            "overdue": invoice.due_date < today,
        },
        attach=True,
    )


def queue_voided_email(session: Session, invoice: Invoice, reason: str) -> None:
    """Tell the client an invoice they received was voided."""
    snap = _sent_snapshot(invoice)
    _queue(
        session,
        "invoice_voided",
        invoice,
        snap,
        {
            "total": format_money(
                Money(int(snap["total_minor"]), invoice.currency), snap["locale"]
            ),
            "reason": reason.strip(),
        },
    )


SAMPLE_SNAPSHOT: dict[str, Any] = {
    "number": "INV-2026-00042",
    "currency": "EUR",
    "locale": "en",
    "issue_date": "2026-03-01",
    "due_date": "2026-03-15",
    "message": "Thank you for trusting us with your website.",
    "payment_terms_days": 14,
    "agency": {"legal_name": "", "address": [], "tax_id": "", "email": ""},
    "client": {
        "id": 0,
        "company": "Example Client Ltd",
        "contact_name": "Alex Example",
        "email": "alex@example.com",
        "tax_id": "",
        "address": ["1 Sample Street", "12345 Sample City"],
        "website": "Shop (https://shop.example.com)",
    },
    "lines": [
        {
            "description": "Managed hosting (March)",
            "quantity": "1",
            "unit_price_minor": 4900,
            "discount": "",
            "taxes": ["VAT 20%"],
            "amount_minor": 4900,
        },
        {
            "description": "Site care — 2 hours",
            "quantity": "2",
            "unit_price_minor": 7500,
            "discount": "10%",
            "taxes": ["VAT 20%"],
            "amount_minor": 13500,
        },
    ],
    "taxes": [{"name": "VAT", "percent": "20", "amount_minor": 3680, "taxable_minor": 18400}],
    "subtotal_minor": 18400,
    "discount_minor": 1500,
    "tax_minor": 3680,
    "total_minor": 22080,
}


def sample_snapshot(session: Session, brand_id: int) -> dict[str, Any]:
    """The sample invoice of the brand page's previews, in this brand and agency."""
    from billing_app.services.agency.branding import get_agency, get_brand

    brand = get_brand(session, brand_id)
    agency = get_agency(session)
    return {**SAMPLE_SNAPSHOT, **seller_blocks(agency, brand)}


def sample_pdf(session: Session, brand_id: int) -> bytes:
    return render_snapshot(sample_snapshot(session, brand_id))


def sample_email_html(session: Session, brand_id: int) -> str:
    """The branded 'invoice sent' email with sample data (rendered, not queued)."""
    from billing_app.adapters.email_templates import render_email

    snap = sample_snapshot(session, brand_id)
    context = {
        **_brand_context(snap),
        "total": format_money(Money(snap["total_minor"], snap["currency"]), snap["locale"]),
        "due_date": format_date(date.fromisoformat(snap["due_date"]), "long", locale="en"),
        "message": snap["message"],
    }
    return render_email("invoice_sent", context).html
