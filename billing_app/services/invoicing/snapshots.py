"""The frozen snapshot of a sent invoice (agency, brand, client, lines, taxes, totals), from
which its PDF and every later view are made."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from billing_app.db.customers import Client, ClientWebsite
from billing_app.db.invoicing import (
    AgencySettings,
    Brand,
    Invoice,
    InvoiceLine,
)
from billing_app.domain.invoice_math import (
    InvoiceTotals,
    LineResult,
)
from billing_app.domain.money import (
    Money,
    format_money,
)
from billing_app.services.agency.branding import get_agency
from billing_app.services.customers.clients import address_lines_of


def _line_view(line: InvoiceLine, result: LineResult, currency: str, locale: str) -> dict[str, Any]:
    taxes = json.loads(line.taxes)
    discount = ""
    if line.discount_kind == "percent":
        discount = f"{line.discount_value}%"
    elif line.discount_kind == "amount":
        discount = format_money(Money(int(line.discount_value), currency), locale)
    return {
        "description": line.description,
        "quantity": line.quantity,
        "unit_price_minor": line.unit_price_minor,
        "discount": discount,
        "taxes": [
            f"{t['name']} {format((Decimal(t['rate_ppm']) / 10_000).normalize(), 'f')}%"
            for t in taxes
        ],
        "amount_minor": result.amount_minor - result.discount_minor,
    }


def seller_blocks(agency: AgencySettings, brand: Brand) -> dict[str, Any]:
    """The agency and brand parts of an invoice snapshot (what the client sees of us)."""
    return {
        "agency": {
            "legal_name": agency.legal_name,
            "address": agency.address.splitlines(),
            "tax_id": agency.tax_id,
            "email": agency.email,
        },
        "brand": {
            "id": brand.id,
            "name": brand.name,
            "logo_key": brand.logo_key,
            "primary_color": brand.primary_color,
            "accent_color": brand.accent_color,
            "footer": brand.email_footer,
            "support_email": brand.support_email,
            "support_url": brand.support_url,
            "sender_name": brand.sender_name or brand.name,
            "reply_to": brand.reply_to,
            # Where to pay by transfer, as it stood when the invoice was sent.
            "bank": {
                "account_holder": brand.bank_account_holder,
                "iban": brand.bank_iban,
                "bic": brand.bank_bic,
                "details": brand.bank_details,
            },
        },
    }


def build_snapshot(session: Session, invoice: Invoice, totals: InvoiceTotals) -> dict[str, Any]:
    """Everything the client sees on the invoice, frozen at sending."""
    client = session.get(Client, invoice.client_id)
    brand = session.get(Brand, invoice.brand_id)
    agency = get_agency(session)
    website = session.get(ClientWebsite, invoice.website_id) if invoice.website_id else None
    assert client is not None and brand is not None
    lines = session.exec(
        select(InvoiceLine)
        .where(col(InvoiceLine.invoice_id) == invoice.id)
        .order_by(col(InvoiceLine.position))
    ).all()
    return snapshot_of(invoice, client, seller_blocks(agency, brand), website, lines, totals)


def snapshot_of(
    invoice: Invoice,
    client: Client,
    seller: dict[str, Any],
    website: ClientWebsite | None,
    lines: Sequence[InvoiceLine],
    totals: InvoiceTotals,
) -> dict[str, Any]:
    """The snapshot from rows the caller already holds (``seller``: ``seller_blocks``), so a
    batch of invoices is frozen without a query each."""
    return {
        "number": invoice.number,
        "currency": invoice.currency,
        "locale": invoice.locale,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "message": invoice.message,
        "payment_terms_days": (invoice.due_date - invoice.issue_date).days,
        **seller,
        "client": {
            "id": client.id,
            "company": client.company,
            "contact_name": client.contact_name,
            "email": client.email,
            "tax_id": client.tax_id,
            "address": address_lines_of(client),
            "website": f"{website.name} ({website.url})" if website else "",
        },
        "lines": [
            _line_view(line, result, invoice.currency, invoice.locale)
            for line, result in zip(lines, totals.lines, strict=True)
        ],
        **totals_snapshot(totals),
    }


def totals_snapshot(totals: InvoiceTotals) -> dict[str, Any]:
    """The totals part of a snapshot, as domain/invoice_math.py computed them."""
    return {
        "taxes": [
            {
                "name": t.name,
                "percent": format(t.percent.normalize(), "f"),
                "amount_minor": t.amount.amount_minor,
                "taxable_minor": t.taxable_amount.amount_minor,
            }
            for t in totals.taxes
        ],
        "subtotal_minor": totals.subtotal.amount_minor,
        "discount_minor": totals.discount_total.amount_minor,
        "tax_minor": totals.tax_total.amount_minor,
        "total_minor": totals.total.amount_minor,
    }
