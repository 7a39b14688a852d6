"""The sample invoice of the brand page's previews (its PDF and its email), in a brand's look
and the agency's number format: what a client will receive, before any invoice exists."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from sqlmodel import Session

from billing_app.db.invoicing import AgencySettings, Brand
from billing_app.domain.errors import DomainError
from billing_app.domain.invoice_math import (
    AmountDiscount,
    InvoiceLineInput,
    PercentDiscount,
    compute_invoice,
)
from billing_app.domain.money import Money, format_money
from billing_app.domain.numbering import DEFAULT_NUMBER_FORMAT, NumberFormat, SequenceReset
from billing_app.domain.permissions import Permission
from billing_app.domain.tax import TaxRate
from billing_app.services.agency.portal_brand import portal_base_url
from billing_app.services.common.actors import Acting, require
from billing_app.services.invoicing.documents import brand_context, render_snapshot
from billing_app.services.invoicing.snapshots import seller_blocks, totals_snapshot

SAMPLE_ISSUE_DATE = date(2026, 3, 1)


SAMPLE_SEQUENCE = 42


def _sample_lines(currency: str) -> list[InvoiceLineInput]:
    vat = (TaxRate("VAT", Decimal(20)),)
    return [
        InvoiceLineInput(
            "Managed hosting (March)",
            Decimal(1),
            Money.from_decimal(Decimal("49.00"), currency),
            None,
            vat,
        ),
        InvoiceLineInput(
            "Site care — 2 hours",
            Decimal(2),
            Money.from_decimal(Decimal("75.00"), currency),
            PercentDiscount(Decimal(10)),
            vat,
        ),
    ]


def _discount_label(line: InvoiceLineInput, locale: str) -> str:
    if isinstance(line.discount, PercentDiscount):
        return line.discount.label
    if isinstance(line.discount, AmountDiscount):
        return format_money(line.discount.amount, locale)
    return ""


def build_sample_snapshot(
    *,
    currency: str = "EUR",
    locale: str = "en",
    number_format: NumberFormat | None = None,
    payment_terms_days: int = 14,
) -> dict[str, Any]:
    """A sample invoice snapshot (client and lines made up), totalled by the same invoice
    math as real invoices (domain/invoice_math.py) and numbered with ``number_format``
    (domain/numbering.py), so every figure on the sample adds up."""
    lines = _sample_lines(currency)
    totals = compute_invoice(lines, currency)
    fmt = number_format or NumberFormat(DEFAULT_NUMBER_FORMAT)
    return {
        "number": fmt.format(SAMPLE_SEQUENCE, SAMPLE_ISSUE_DATE),
        "currency": currency,
        "locale": locale,
        "issue_date": SAMPLE_ISSUE_DATE.isoformat(),
        "due_date": (SAMPLE_ISSUE_DATE + timedelta(days=payment_terms_days)).isoformat(),
        "message": "Thank you for trusting us with your website.",
        "payment_terms_days": payment_terms_days,
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
                "description": line.description,
                "quantity": format(line.quantity.normalize(), "f"),
                "unit_price_minor": line.unit_price.amount_minor,
                "discount": _discount_label(line, locale),
                "taxes": [
                    f"{rate.name} {format(rate.percent.normalize(), 'f')}%"
                    for rate in line.tax_rates
                ],
                "amount_minor": result.amount_minor - result.discount_minor,
            }
            for line, result in zip(lines, totals.lines, strict=True)
        ],
        **totals_snapshot(totals),
    }


SAMPLE_SNAPSHOT: dict[str, Any] = build_sample_snapshot()


def _agency_number_format(agency: AgencySettings) -> NumberFormat:
    try:
        return NumberFormat(agency.number_format, SequenceReset(agency.number_reset))
    except (DomainError, ValueError):  # saved settings are validated; never fail a preview
        return NumberFormat(DEFAULT_NUMBER_FORMAT)


def sample_snapshot(session: Session, brand_id: int) -> dict[str, Any]:
    """The sample invoice of the brand page's previews, in this brand and agency: the
    agency's currency, language, payment terms and invoice number format."""
    from billing_app.services.agency.branding import get_agency, get_brand

    brand = get_brand(session, brand_id)
    agency = get_agency(session)
    snap = build_sample_snapshot(
        currency=agency.default_currency,
        locale=agency.locale,
        number_format=_agency_number_format(agency),
        payment_terms_days=agency.payment_terms_days,
    )
    return {**snap, **seller_blocks(agency, brand)}


def sample_pdf(session: Session, viewer: Acting, brand_id: int) -> bytes:
    """A sample invoice in the brand's look (the brand page's preview)."""
    require(viewer, Permission.SETTINGS_READ)
    return render_snapshot(sample_snapshot(session, brand_id))


def sample_email_html(session: Session, viewer: Acting, brand_id: int) -> str:
    """The branded 'invoice sent' email with sample data (rendered, not queued)."""
    require(viewer, Permission.SETTINGS_READ)
    from billing_app.adapters.email_templates import render_email

    snap = sample_snapshot(session, brand_id)
    brand = session.get(Brand, brand_id)
    context = {
        **brand_context(snap, brand),
        "view_url": f"{portal_base_url(brand)}/invoices/{SAMPLE_SEQUENCE}" if brand else "",
        "total": format_money(Money(snap["total_minor"], snap["currency"]), snap["locale"]),
        "due_date": format_date(
            date.fromisoformat(snap["due_date"]), "long", locale=snap["locale"]
        ),
        "message": snap["message"],
    }
    return render_email("invoice_sent", context, locale=snap["locale"]).html
