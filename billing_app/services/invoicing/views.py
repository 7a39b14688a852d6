"""Read-side queries for the invoice pages: an invoice's detail as the client sees it, the
editor's draft as stored, and the pickers (clients, websites, products, tax rates).

A sent invoice is shown from its frozen snapshot only; a draft from its current lines."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from billing_app.db.customers import Client, ClientWebsite
from billing_app.db.invoicing import Invoice, InvoiceLine
from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import Permission
from billing_app.domain.timestamps import format_timestamp
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import agency_today, get_agency, today_at_agency
from billing_app.services.catalog import product_queries
from billing_app.services.catalog import tax_rates as catalog_tax_rates
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import ServiceError
from billing_app.services.customers.client_queries import client_choices
from billing_app.services.invoicing import documents, payments, reversals
from billing_app.services.invoicing.drafts import recompute_totals
from billing_app.services.invoicing.queries import effective_status, get_invoice
from billing_app.services.invoicing.settlement import (
    can_record_payment,
    can_record_refund,
    refundable_minor,
    shown_settlement,
)
from billing_app.services.invoicing.snapshots import build_snapshot
from billing_app.services.invoicing.timeline import timeline

STATUS_LABELS = {
    "draft": "Draft",
    "open": "Open",
    "overdue": "Overdue",
    "partially_paid": "Partially paid",
    "paid": "Paid",
    "void": "Void",
    "refunded": "Refunded",
    "partially_refunded": "Partially refunded",
    "credited": "Credited",
}
STATUS_COLORS = {
    "draft": "gray",
    "open": "blue",
    "overdue": "red",
    "partially_paid": "amber",
    "paid": "green",
    "void": "gray",
    "refunded": "purple",
    "partially_refunded": "purple",
    "credited": "gray",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def status_color(status: str) -> str:
    return STATUS_COLORS.get(status, "gray")


@dataclass(frozen=True)
class InvoiceDetail:
    id: int
    number: str
    status: str  # effective (overdue derived in the agency's time zone)
    currency: str
    locale: str
    snapshot: dict[str, Any]
    total: str
    paid: str
    refunded: str
    credited: str  # "" when no credit note took anything off
    credit_applied: str  # "" when the client's credit balance paid nothing of it
    due: str  # what the client owes now (services/invoicing/settlement.py)
    due_minor: int
    refundable_minor: int
    refundable: str
    void_reason: str
    disputed: bool
    today: date  # in the agency's time zone (the latest date a payment may carry)
    # Whether the payment / refund forms are offered (settlement.can_record_payment / _refund).
    can_record_payment: bool = False
    can_record_refund: bool = False
    timeline: list[dict[str, str]] = field(default_factory=list)
    payments: list[dict[str, str]] = field(default_factory=list)


def _money(minor: int, currency: str, locale: str) -> str:
    return format_money(Money(int(minor), currency), locale)


def invoice_detail(
    session: Session, viewer: CurrentUser, invoice_id: int, *, clock: Clock = system_clock
) -> InvoiceDetail:
    """An invoice as its detail page shows it. Raises NotFound for an unknown id."""
    require(viewer, Permission.INVOICES_READ)
    invoice = get_invoice(session, invoice_id)
    cur, locale = invoice.currency, invoice.locale
    if invoice.snapshot:
        snap: dict[str, Any] = json.loads(invoice.snapshot)
    else:
        try:
            snap = build_snapshot(session, invoice, recompute_totals(session, invoice))
        except ServiceError:  # a draft without lines: show what there is
            snap = {}
    today = today_at_agency(session, clock=clock)
    settlement = shown_settlement(invoice)
    due = settlement.outstanding.amount_minor
    # What an offline refund may give back: card money goes back to the card.
    refundable = max(
        refundable_minor(invoice) - payments.card_unrefunded_minor(session, invoice_id), 0
    )
    return InvoiceDetail(
        id=invoice.id or 0,
        number=invoice.number or "Draft",
        status=effective_status(invoice, today),
        currency=cur,
        locale=locale,
        snapshot=snap,
        total=format_money(settlement.total, locale),
        paid=format_money(settlement.amount_paid, locale),
        refunded=format_money(settlement.amount_refunded, locale),
        credited=_money(invoice.credited_minor, cur, locale) if invoice.credited_minor else "",
        credit_applied=(
            _money(invoice.credit_applied_minor, cur, locale)
            if invoice.credit_applied_minor
            else ""
        ),
        due=_money(due, cur, locale),
        due_minor=due,
        refundable_minor=refundable,
        refundable=_money(refundable, cur, locale),
        void_reason=invoice.void_reason,
        disputed=invoice.disputed_at is not None,
        today=today,
        can_record_payment=can_record_payment(invoice),
        can_record_refund=can_record_refund(invoice) and refundable > 0,
        timeline=[
            {
                "kind": e.kind,
                "at": format_timestamp(e.at, viewer.time_zone),
                "actor": e.actor_label,
                "message": e.message,
                "internal": "Internal" if e.internal else "",
            }
            for e in reversed(timeline(session, invoice_id))
        ],
        payments=_payment_rows(session, viewer, invoice, locale),
    )


ENTRY_LABELS = {"payment": "Payment", "refund": "Refund", "reversal": "Reversal"}


def _payment_rows(
    session: Session, viewer: CurrentUser, invoice: Invoice, locale: str
) -> list[dict[str, str]]:
    """The invoice's payments, refunds and reversals, oldest first; a payment says whether
    it was reversed, and whether this viewer may reverse it now."""
    assert invoice.id is not None
    entries = payments.payments_of(session, invoice.id)
    reversed_ids = {p.reversal_of_id for p in entries if p.kind == reversals.REVERSAL}
    may_reverse = viewer.can(Permission.PAYMENTS_RECORD)
    return [
        {
            "id": str(p.id),
            "kind": p.kind,
            "kind_label": ENTRY_LABELS.get(p.kind, p.kind),
            "method": payments.METHOD_LABELS.get(p.method, p.method),
            "amount": _money(p.amount_minor, p.currency, locale),
            "date": p.received_on.isoformat(),
            "reference": p.reference,
            "note": p.note if p.kind in (reversals.REVERSAL, "refund") else "",
            "reversed": "yes" if p.id in reversed_ids else "",
            "can_reverse": "yes"
            if may_reverse
            and p.id not in reversed_ids
            and reversals.can_reverse(session, p, invoice.status)
            else "",
        }
        for p in entries
    ]


@dataclass(frozen=True)
class ClientEvent:
    """A timeline entry as the client sees it: what happened and when, never who on staff."""

    kind: str
    at: datetime
    message: str


def client_timeline(session: Session, invoice_id: int) -> list[ClientEvent]:
    """The invoice's timeline for its client (the client portal), oldest first: internal
    entries (notes, drafting) are left out, and so is the staff member behind each entry."""
    return [
        ClientEvent(e.kind, e.at, e.message)
        for e in timeline(session, invoice_id)
        if not e.internal
    ]


@dataclass(frozen=True)
class DraftLine:
    description: str
    quantity: str
    unit_price: str
    discount: str
    tax_rate_ids: tuple[int, ...]
    product_id: int | None


@dataclass(frozen=True)
class DraftView:
    id: int
    status: str
    client_id: int
    website_id: int | None
    issue_date: date
    due_date: date
    message: str
    lines: list[DraftLine]


def draft_view(session: Session, actor: CurrentUser, invoice_id: int) -> DraftView:
    """A stored invoice as the editor needs it (amounts as a person would type them)."""
    require(actor, Permission.INVOICES_WRITE)
    invoice = get_invoice(session, invoice_id)
    rows = session.exec(
        select(InvoiceLine)
        .where(col(InvoiceLine.invoice_id) == invoice_id)
        .order_by(col(InvoiceLine.position))
    ).all()
    lines = []
    for row in rows:
        discount = ""
        if row.discount_kind == "percent":
            discount = f"{row.discount_value}%"
        elif row.discount_kind == "amount":
            discount = format(Money(int(row.discount_value), invoice.currency).to_decimal(), "f")
        lines.append(
            DraftLine(
                description=row.description,
                quantity=row.quantity,
                unit_price=format(Money(row.unit_price_minor, invoice.currency).to_decimal(), "f"),
                discount=discount,
                tax_rate_ids=tuple(int(t["id"]) for t in json.loads(row.taxes) if t.get("id")),
                product_id=row.product_id,
            )
        )
    return DraftView(
        id=invoice.id or 0,
        status=invoice.status,
        client_id=invoice.client_id,
        website_id=invoice.website_id,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        message=invoice.message,
        lines=lines,
    )


def client_option(session: Session, client_id: int) -> tuple[str, str, str] | None:
    """(label, currency, locale) of a client, for the editor's header."""
    client = session.get(Client, client_id)
    if client is None:
        return None
    return f"{client.company} <{client.email}>", client.currency, client.locale


def website_choices(session: Session, client_id: int) -> list[tuple[int, str]]:
    rows = session.exec(
        select(ClientWebsite)
        .where(col(ClientWebsite.client_id) == client_id)
        .order_by(col(ClientWebsite.id))
    ).all()
    return [(w.id, f"{w.name} ({w.url})") for w in rows if w.id is not None]


def tax_rate_choices(session: Session) -> list[tuple[int, str]]:
    return [
        (r.id, f"{r.name} {format((Decimal(r.rate_ppm) / 10_000).normalize(), 'f')}%")
        for r in catalog_tax_rates.list_tax_rates(session)
        if r.id is not None
    ]


def product_choices(session: Session) -> list[tuple[int, str]]:
    return [
        (p.id, f"{p.name} — {format_money(p.price, 'en')}")
        for p in product_queries.product_choices(session)
    ]


@dataclass(frozen=True)
class PdfFile:
    data: bytes
    filename: str


def invoice_pdf(
    session: Session, viewer: Acting, invoice_id: int, *, original: bool = False
) -> PdfFile:
    """An invoice's PDF as it stands now (paid, partially paid with what is still due, void,
    refunded), or with ``original`` the one that was sent, byte for byte. Drafts are rendered
    on demand. NotFound for an invoice that does not exist."""
    require(viewer, Permission.INVOICES_READ)
    invoice = get_invoice(session, invoice_id)
    data = documents.pdf_of(session, invoice, original=original)
    return PdfFile(data=data, filename=documents.pdf_filename(invoice))


@dataclass(frozen=True)
class EditorChoices:
    """What the invoice editor offers: clients, catalog products, tax rates, and the agency's
    payment terms from today (in its time zone)."""

    clients: list[tuple[int, str]]
    products: list[tuple[int, str]]
    tax_rates: list[tuple[int, str]]
    payment_terms_days: int
    today: date


def editor_choices(
    session: Session, actor: CurrentUser, *, clock: Clock = system_clock
) -> EditorChoices:
    require(actor, Permission.INVOICES_WRITE)
    agency = get_agency(session, clock=clock)
    return EditorChoices(
        clients=client_choices(session, limit=500),
        products=product_choices(session),
        tax_rates=tax_rate_choices(session),
        payment_terms_days=agency.payment_terms_days,
        today=agency_today(agency, clock),
    )


@dataclass(frozen=True)
class EditorClient:
    currency: str
    websites: list[tuple[int, str]]


def editor_client(session: Session, actor: CurrentUser, client_id: int) -> EditorClient:
    """The currency and websites of the client chosen in the editor ("" if unknown)."""
    require(actor, Permission.INVOICES_WRITE)
    info = client_option(session, client_id)
    return EditorClient(
        currency=info[1] if info else "", websites=website_choices(session, client_id)
    )
