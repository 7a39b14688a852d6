"""Turns an invoice (its frozen snapshot, or a draft as it stands) into the PDF document and
the branded email.

A sent invoice has two PDFs:

* the original: rendered once from the snapshot when it was sent, stored in private storage
  and emailed; it is kept byte for byte as sent (``original_pdf``);
* the current one: the same frozen snapshot with where the invoice stands now - amount paid,
  refunded, what is still due (services/invoicing/settlement.py) and a status stamp (paid,
  partially paid, void, refunded ...). Rendering is deterministic (docs/pdf.md), so the same
  state always gives the same bytes (``current_pdf``).

Drafts are rendered on demand.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from sqlmodel import Session, col, select

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
from billing_app.db.invoicing import Brand, Invoice
from billing_app.db.portal import ClientMembership
from billing_app.domain.bank import BankDetails
from billing_app.domain.invoice_math import (
    Settlement,
    settle,
)
from billing_app.domain.lifecycle import InvoiceStatus
from billing_app.domain.money import Money, format_money
from billing_app.i18n import N_, gettext, ngettext
from billing_app.services.agency.portal_brand import email_logo_url, portal_base_url
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.outbox import enqueue_email
from billing_app.services.invoicing import pay_links
from billing_app.services.invoicing.drafts import recompute_totals
from billing_app.services.invoicing.settlement import settlement_of
from billing_app.services.invoicing.snapshots import build_snapshot
from billing_app.settings import Settings, get_settings

STAMPS = {
    InvoiceStatus.PAID: Stamp.PAID,
    InvoiceStatus.VOID: Stamp.VOID,
    InvoiceStatus.OPEN: Stamp.DUE,
    InvoiceStatus.PARTIALLY_PAID: Stamp.PARTIALLY_PAID,
    InvoiceStatus.REFUNDED: Stamp.REFUNDED,
    InvoiceStatus.PARTIALLY_REFUNDED: Stamp.PARTIALLY_REFUNDED,
    InvoiceStatus.DRAFT: Stamp.DRAFT,
    InvoiceStatus.CREDITED: Stamp.CREDITED,
}


def logo_of(key: str) -> bytes | None:
    """The bytes of a brand's logo (or a product image) by its storage key, if any."""
    if not key:
        return None
    for area in ("brand-logos", "product-images"):
        path = path_of(key, area)
        if path is not None:
            return path.read_bytes()
    return None


def parties_of(snap: dict[str, Any]) -> dict[str, Any]:
    """The brand, agency and client blocks of a document, from its frozen snapshot."""
    brand, agency, client = snap["brand"], snap["agency"], snap["client"]
    return {
        "brand": PdfBrand(
            name=brand["name"],
            primary_color=brand["primary_color"],
            accent_color=brand["accent_color"],
            logo=logo_of(brand.get("logo_key", "")),
            footer_text=brand.get("footer", ""),
            support_email=brand.get("support_email", ""),
            support_url=brand.get("support_url", ""),
        ),
        "agency": AgencyBlock(
            legal_name=agency["legal_name"] or brand["name"],
            address_lines=tuple(agency["address"]),
            tax_id=agency["tax_id"],
        ),
        "client": ClientBlock(
            company=client["company"],
            contact_name=client["contact_name"],
            address_lines=tuple(client["address"]),
            email=client["email"],
            tax_id=client["tax_id"],
            website=client.get("website") or None,
        ),
    }


def document_from_snapshot(
    snap: dict[str, Any], settlement: Settlement | None = None, *, draft: bool = False
) -> InvoiceDocument:
    """The PDF document of a snapshot. ``settlement`` is where the invoice stands (None: as
    sent, nothing paid yet); ``draft`` prints it as a draft."""
    cur, locale = snap["currency"], snap["locale"]

    def money(minor: int) -> Money:
        return Money(int(minor), cur)

    total = int(snap["total_minor"])
    if settlement is None:  # as sent: open, nothing paid but the credit balance it used
        applied = int(snap.get("credit_applied_minor", 0))
        settlement = settle(money(total), [], [], applied_minor=applied)
        if not applied:
            settlement = dataclasses.replace(settlement, status=InvoiceStatus.OPEN)
    paid, refunded = settlement.amount_paid, settlement.amount_refunded
    terms = int(snap.get("payment_terms_days", 0))
    due_date = date.fromisoformat(snap["due_date"])
    return InvoiceDocument(
        number=snap.get("number"),
        issue_date=date.fromisoformat(snap["issue_date"]),
        due_date=due_date,
        currency=cur,
        locale=locale,
        **parties_of(snap),
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
        amount_due=settlement.outstanding,
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
        amount_paid=paid if not paid.is_zero else None,
        amount_refunded=refunded if not refunded.is_zero else None,
        amount_credited=settlement.amount_credited,
        credit_applied=settlement.credit_applied,
        stamp=Stamp.DRAFT if draft else STAMPS.get(settlement.status),
        message=snap.get("message", ""),
        payment_terms=_payment_terms(terms, due_date, locale),
        bank=BankDetails(**snap["brand"].get("bank", {})),  # sent before brands had them: none
    )


def _payment_terms(terms: int, due_date: date, locale: str) -> str:
    """The payment terms sentence of the PDF, in the document's language."""
    by = format_date(due_date, "long", locale=locale)
    if terms:
        text = ngettext(
            "Payment due within {days} day, by {date}.",
            "Payment due within {days} days, by {date}.",
            terms,
            locale=locale,
        )
        return text.format(days=terms, date=by)
    return gettext("Payment due on receipt, by {date}.", locale=locale).format(date=by)


def render_snapshot(snap: dict[str, Any]) -> bytes:
    """The PDF of an invoice being sent (status open, nothing paid yet)."""
    return render_invoice_pdf(document_from_snapshot(snap))


def render_draft(session: Session, invoice: Invoice) -> bytes:
    """A draft's PDF as it stands now (number None: printed as DRAFT)."""
    snap = build_snapshot(session, invoice, recompute_totals(session, invoice))
    return render_invoice_pdf(document_from_snapshot(snap, draft=True))


def original_pdf(session: Session, invoice: Invoice) -> bytes:
    """The PDF as it was sent and emailed, byte for byte, from private storage (a draft:
    rendered as it stands)."""
    if invoice.status == InvoiceStatus.DRAFT:
        return render_draft(session, invoice)
    stored = documents.read_document(invoice.pdf_key)
    if stored is not None:
        return stored
    # Storage lost the file: render again from the frozen snapshot (same content).
    return render_snapshot(json.loads(invoice.snapshot))


def ensure_pdf(session: Session, invoice: Invoice) -> str:
    """The stored PDF of a sent invoice, rendered from its snapshot and stored now if it was
    not yet (a renewal invoice made in a batch gets it when the drain reaches it, or here when
    an email about it needs it first: the same bytes either way)."""
    if not invoice.pdf_key:
        invoice.pdf_key = documents.save_document(render_snapshot(json.loads(invoice.snapshot)))
        session.add(invoice)
    return invoice.pdf_key


def _unchanged_since_sent(invoice: Invoice) -> bool:
    settlement = settlement_of(invoice)
    return (
        settlement.status is InvoiceStatus.OPEN
        and settlement.amount_paid.is_zero
        and settlement.amount_refunded.is_zero
        and settlement.amount_credited.is_zero
    )


def current_pdf(session: Session, invoice: Invoice) -> bytes:
    """The PDF of the invoice as it stands now: the frozen snapshot with the current amount
    paid, refunded and due, and the status stamp. An invoice nothing happened to since it was
    sent is its original. Deterministic: the same state gives the same bytes."""
    if invoice.status == InvoiceStatus.DRAFT or _unchanged_since_sent(invoice):
        return original_pdf(session, invoice)
    snap = json.loads(invoice.snapshot)
    return render_invoice_pdf(document_from_snapshot(snap, settlement_of(invoice)))


def pdf_of(session: Session, invoice: Invoice, *, original: bool = False) -> bytes:
    """The PDF to download: the current one (default), or the original as sent."""
    return original_pdf(session, invoice) if original else current_pdf(session, invoice)


def pdf_filename(invoice: Invoice) -> str:
    return f"{invoice.number or f'draft-{invoice.id}'}.pdf"


def queue_invoice_email(
    session: Session,
    invoice: Invoice,
    snap: dict[str, Any],
    pdf_key: str,
    *,
    clock: Clock = system_clock,
) -> None:
    """The branded 'invoice sent' email, with the PDF attached."""
    total = Money(int(snap["total_minor"]), snap["currency"])
    applied = Money(int(snap.get("credit_applied_minor", 0)), snap["currency"])
    _queue(
        session,
        "invoice_sent",
        invoice,
        snap,
        {
            "total": format_money(total, snap["locale"]),
            # What the client's credit balance paid, and what is left to pay.
            "credit_applied": format_money(applied, snap["locale"]) if applied.amount_minor else "",
            "amount_due": format_money(total - applied, snap["locale"]),
            "due_date": format_date(
                date.fromisoformat(snap["due_date"]), "long", locale=snap["locale"]
            ),
            "message": snap.get("message", ""),
        },
        attachment=(pdf_key, pdf_filename(invoice)),
        pay_link=True,
        clock=clock,
    )


def brand_context(
    snap: dict[str, Any], brand: Brand | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """What an invoice email shows of its brand and client: the identity frozen with the
    invoice, the logo of ``brand`` (the brand as it is now) when given."""
    frozen = snap["brand"]
    return {
        "sender_name": frozen["sender_name"],
        "brand_color": frozen["primary_color"],
        "footer": frozen.get("footer") or frozen["name"],
        # The logo the brand has now: the public route serves only logos in use.
        "logo_url": email_logo_url(brand, brand.logo_key, settings) if brand else "",
        "contact_name": snap["client"]["contact_name"] or snap["client"]["company"],
        "number": snap["number"],
        "support_email": frozen.get("support_email", ""),
    }


def _view_url(session: Session, invoice: Invoice, brand: Brand | None) -> str:
    """The invoice in the portal (sign-in first, then it opens), for a client with portal
    users; "" otherwise: a link to a sign-in nobody can pass would only confuse."""
    has_users = session.exec(
        select(ClientMembership.client_id)
        .where(col(ClientMembership.client_id) == invoice.client_id)
        .limit(1)
    ).first()
    if brand is None or has_users is None:
        return ""
    return f"{portal_base_url(brand)}/invoices/{invoice.id}"


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
    attachment: tuple[str, str] | None = None,
    pay_link: bool = False,
    clock: Clock = system_clock,
) -> None:
    """Queue ``kind`` about ``invoice`` to its client, as its brand: the sender name and
    reply-to frozen with the invoice, the From address, SMTP server and logo the brand has now
    (an address or server that stopped working must not keep being used). ``pay_link``: with
    the invoice's Pay now link when it can be paid by card."""
    frozen = snap["brand"]
    brand = session.get(Brand, frozen["id"]) if frozen.get("id") is not None else None
    if attach and (invoice.pdf_key or invoice.snapshot):
        attachment = (ensure_pdf(session, invoice), pdf_filename(invoice))
    settings = get_settings()
    pay = (
        pay_links.pay_url(session, invoice, brand, clock=clock, settings=settings)
        if pay_link
        else None
    )
    enqueue_email(
        session,
        kind,
        snap["client"]["email"],
        {
            **brand_context(snap, brand, settings),
            "view_url": _view_url(session, invoice, brand),
            "pay_url": pay.url if pay else "",
            **extra,
        },
        settings=settings,
        from_name=frozen["sender_name"],
        reply_to=frozen.get("reply_to", ""),
        from_address=brand.mail_from if brand is not None else "",
        brand_id=brand.id if brand is not None else None,
        attachment=attachment,
        locale=snap["locale"],
        secret=("pay_link", pay.link_id) if pay else None,
    )


def queue_about_invoice(
    session: Session,
    kind: str,
    invoice: Invoice,
    extra: dict[str, Any],
    *,
    attachment: tuple[str, str] | None = None,
    pay_link: bool = False,
    clock: Clock = system_clock,
) -> None:
    """Queue the email ``kind`` about a sent invoice to its client, as its brand (a credit
    note of it, a failed charge...), with ``attachment`` (a stored document key, its file
    name; True: the invoice's PDF) and its Pay now link when asked."""
    _queue(
        session,
        kind,
        invoice,
        _sent_snapshot(invoice),
        extra,
        attachment=attachment,
        pay_link=pay_link,
        clock=clock,
    )


def resend_invoice_email(
    session: Session, invoice: Invoice, *, clock: Clock = system_clock
) -> None:
    """The 'invoice sent' email again (same frozen PDF attached)."""
    queue_invoice_email(session, invoice, _sent_snapshot(invoice), invoice.pdf_key, clock=clock)


# The names of the payment methods (payments.METHODS), marked for the catalogs: a receipt says
# how the client paid in the client's language.
PAYMENT_METHOD_NAMES = (N_("Bank transfer"), N_("Cheque"), N_("Cash"), N_("Other"), N_("Card"))


def queue_receipt_email(
    session: Session,
    invoice: Invoice,
    *,
    amount_minor: int,
    method_label: str,
    received_on: date,
    reference: str = "",
) -> None:
    """A receipt for an offline payment (after it was recorded on ``invoice``);
    ``method_label`` is an English source string (payments.METHODS, PAYMENT_METHOD_NAMES),
    translated here."""
    snap = _sent_snapshot(invoice)
    locale = snap["locale"]
    balance = settlement_of(invoice).outstanding
    _queue(
        session,
        "receipt",
        invoice,
        snap,
        {
            "amount": format_money(Money(amount_minor, invoice.currency), locale),
            "received_on": format_date(received_on, "long", locale=locale),
            "method": gettext(method_label, locale=locale),
            "reference": reference.strip(),
            "balance": format_money(balance, locale),
            "fully_paid": balance.is_zero,
        },
    )


def queue_refund_email(
    session: Session,
    invoice: Invoice,
    *,
    amount_minor: int,
    card: str,
    refunded_on: date,
    reason: str,
) -> None:
    """Tell the client money was given back to their card (after it was recorded)."""
    snap = _sent_snapshot(invoice)
    locale = snap["locale"]
    _queue(
        session,
        "refund",
        invoice,
        snap,
        {
            "amount": format_money(Money(amount_minor, invoice.currency), locale),
            "card": card,
            "refunded_on": format_date(refunded_on, "long", locale=locale),
            "reason": reason.strip(),
        },
    )


def queue_reminder_email(
    session: Session, invoice: Invoice, *, today: date, clock: Clock = system_clock
) -> None:
    """A payment reminder for an open or overdue invoice, with the PDF attached again."""
    snap = _sent_snapshot(invoice)
    locale = snap["locale"]
    balance = settlement_of(invoice).outstanding
    _queue(
        session,
        "payment_reminder",
        invoice,
        snap,
        {
            "balance": format_money(balance, locale),
            "due_date": format_date(invoice.due_date, "long", locale=locale),
            "overdue": invoice.due_date < today,
        },
        attach=True,
        pay_link=True,
        clock=clock,
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
