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
from billing_app.services.invoicing import build_snapshot, recompute_totals
from billing_app.services.outbox import enqueue_email
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
