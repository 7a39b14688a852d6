"""A credit note's frozen snapshot, its PDF (titled credit note, naming the invoice it
corrects) and its branded email with the PDF."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from sqlmodel import Session

from billing_app.adapters.pdf import (
    InvoiceDocument,
    InvoiceLabels,
    InvoiceLineRow,
    TaxRow,
    render_invoice_pdf,
)
from billing_app.db.credit_notes import CreditNote
from billing_app.db.invoicing import Brand, Invoice
from billing_app.domain.credit_notes import CreditTotals
from billing_app.domain.money import Money, format_money
from billing_app.i18n import N_, gettext
from billing_app.services.agency.branding import get_agency
from billing_app.services.credit_notes.ledger import balance_minor
from billing_app.services.invoicing.documents import parties_of, queue_about_invoice
from billing_app.services.invoicing.payments import METHOD_LABELS
from billing_app.services.invoicing.snapshots import seller_blocks

# What a credit note did with the money, as its PDF and email say it (the client's language).
GIVE_BACK_TEXTS = {
    "due": N_("Deducted from the amount due on invoice {number}."),
    "card": N_("Refunded to your card ({card})."),
    "balance": N_("Added to your credit balance, used by your next invoices."),
    "offline": N_("Refunded to you ({method})."),
}


def _rate_label(name: str, percent: Decimal) -> str:
    return f"{name} {format(percent.normalize(), 'f')}%"


def build_snapshot(
    session: Session,
    note: CreditNote,
    invoice: Invoice,
    credit: CreditTotals,
    quantities: list[str],
    unit_prices: list[int],
) -> dict[str, Any]:
    """Everything the client sees on the credit note, frozen at issuing: the agency and brand
    as they are now, the client as billed on the invoice, the credited lines and taxes."""
    invoice_snap = json.loads(invoice.snapshot)
    brand = session.get(Brand, note.brand_id)
    assert brand is not None
    lines = []
    for piece in credit.lines:
        described = invoice_snap["lines"][piece.index]
        inclusive = any(rate.inclusive for rate in piece.rates)
        lines.append(
            {
                "description": described["description"],
                "quantity": format(piece.quantity.normalize(), "f") if piece.quantity else "",
                "unit_price_minor": unit_prices[piece.index] if piece.quantity else None,
                "invoiced_quantity": quantities[piece.index],
                "amount_minor": piece.gross if inclusive else piece.net,
                "gross_minor": piece.gross,
                "net_minor": piece.net,
                "taxes": [_rate_label(rate.name, rate.percent) for rate in piece.rates],
            }
        )
    return {
        "number": note.number,
        "currency": note.currency,
        "locale": note.locale,
        "issue_date": note.issue_date.isoformat(),
        "reason": note.reason,
        "invoice": {
            "id": invoice.id,
            "number": invoice.number,
            "issue_date": invoice.issue_date.isoformat(),
        },
        **seller_blocks(get_agency(session), brand),
        "client": invoice_snap["client"],
        "lines": lines,
        "taxes": [
            {
                "name": rate.name,
                "percent": format(rate.percent.normalize(), "f"),
                "taxable_minor": taxable,
                "amount_minor": tax,
            }
            for rate, taxable, tax in credit.taxes
        ],
        "subtotal_minor": credit.net,
        "tax_minor": credit.tax,
        "total_minor": credit.total,
        "reduces_due_minor": note.reduces_due_minor,
        "given_back_minor": note.given_back_minor,
        "give_back": note.give_back,
    }


def give_back_text(snap: dict[str, Any], outcome: str, card: str = "") -> str:
    """What the credit did, in the snapshot's language ("" when it only reduced the due)."""
    locale = snap["locale"]
    cur = snap["currency"]
    parts = []
    if int(snap.get("reduces_due_minor", 0)):
        amount = format_money(Money(int(snap["reduces_due_minor"]), cur), locale)
        text = gettext(GIVE_BACK_TEXTS["due"], locale=locale)
        parts.append(f"{amount}: {text.format(number=snap['invoice']['number'])}")
    given = int(snap.get("given_back_minor", 0))
    if given:
        amount = format_money(Money(given, cur), locale)
        if outcome == "card":
            text = gettext(GIVE_BACK_TEXTS["card"], locale=locale).format(card=card)
        elif outcome == "balance":
            text = gettext(GIVE_BACK_TEXTS["balance"], locale=locale)
        else:
            method = gettext(METHOD_LABELS.get(outcome, outcome), locale=locale)
            text = gettext(GIVE_BACK_TEXTS["offline"], locale=locale).format(method=method)
        parts.append(f"{amount}: {text}")
    return "\n".join(parts)


def credit_note_document(snap: dict[str, Any], outcome: str, card: str = "") -> InvoiceDocument:
    """The PDF document of a credit note's snapshot."""
    cur, locale = snap["currency"], snap["locale"]
    labels = InvoiceLabels.for_locale(locale)
    invoice = snap["invoice"]
    invoice_date = format_date(date.fromisoformat(invoice["issue_date"]), "medium", locale=locale)
    notes = [gettext(N_("Reason: {reason}"), locale=locale).format(reason=snap["reason"])]
    notes.append(give_back_text(snap, outcome, card))
    total = Money(int(snap["total_minor"]), cur)
    return InvoiceDocument(
        number=snap["number"],
        issue_date=date.fromisoformat(snap["issue_date"]),
        due_date=None,
        currency=cur,
        locale=locale,
        **parties_of(snap),
        lines=tuple(
            InvoiceLineRow(
                description=line["description"],
                quantity=line["quantity"] or "",
                unit_price=Money(
                    int(line["unit_price_minor"] or line["amount_minor"]),
                    cur,
                ),
                amount=Money(int(line["amount_minor"]), cur),
                tax=", ".join(line["taxes"]),
            )
            for line in snap["lines"]
        ),
        subtotal=Money(int(snap["subtotal_minor"]), cur),
        total=total,
        amount_due=total,
        tax_rows=tuple(
            TaxRow(
                name=t["name"],
                percent=Decimal(t["percent"]),
                amount=Money(int(t["amount_minor"]), cur),
                taxable_amount=Money(int(t["taxable_minor"]), cur),
            )
            for t in snap["taxes"]
        ),
        tax_total=Money(int(snap["tax_minor"]), cur),
        message="\n".join(part for part in notes if part),
        extra_meta=(
            (labels.credits_invoice, invoice["number"]),
            (labels.invoice_date, invoice_date),
        ),
        labels=labels.for_credit_note(),
    )


def render_credit_note(snap: dict[str, Any], outcome: str, card: str = "") -> bytes:
    return render_invoice_pdf(credit_note_document(snap, outcome, card))


def pdf_filename(note: CreditNote) -> str:
    return f"{note.number}.pdf"


def queue_credit_note_email(
    session: Session, note: CreditNote, invoice: Invoice, outcome: str, card: str = ""
) -> None:
    """The branded credit note email to the client, with its PDF."""
    snap = json.loads(note.snapshot)
    locale = snap["locale"]
    balance_note = ""
    if outcome == "balance":
        left = balance_minor(session, note.client_id, note.currency)
        balance_note = format_money(Money(left, note.currency), locale)
    queue_about_invoice(
        session,
        "credit_note",
        invoice,
        {
            "credit_note_number": note.number,
            "total": format_money(Money(note.total_minor, note.currency), locale),
            "issue_date": format_date(note.issue_date, "long", locale=locale),
            "reason": note.reason,
            "outcome": give_back_text(snap, outcome, card),
            "balance": balance_note,
        },
        attachment=(note.pdf_key, pdf_filename(note)),
    )
