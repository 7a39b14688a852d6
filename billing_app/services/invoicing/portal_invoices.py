"""Invoices as a client user sees them in the portal: what they owe, the list, one invoice as it
was sent, and its PDF.

Every query is scoped by the client the portal session looks at (``require_client``), never by
an id from the browser: another client's invoice, a draft, or an id that does not exist all
give the same NotFound (docs/security.md, "Portal"). Nothing here names a staff member.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func

from billing_app.db.invoicing import Invoice, InvoicePayment
from billing_app.domain.lifecycle import InvoiceStatus
from billing_app.domain.money import Money
from billing_app.domain.permissions import ClientPermission
from billing_app.services.access.portal_identity import NOT_FOUND, ClientUser, require_client
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import NotFound
from billing_app.services.common.listing import ListRequest, Page, keyset_page, like_pattern
from billing_app.services.invoicing import documents, payments
from billing_app.services.invoicing.queries import effective_status, shown_status
from billing_app.services.invoicing.settlement import (
    is_collectible_sql,
    outstanding_sql,
    shown_settlement,
)
from billing_app.services.invoicing.views import PdfFile, client_timeline

# The portal's invoice tabs: everything sent, what is still to pay, what is settled.
PORTAL_FILTERS = ("all", "due", "paid")
SETTLED = (
    InvoiceStatus.PAID.value,
    InvoiceStatus.REFUNDED.value,
    InvoiceStatus.PARTIALLY_REFUNDED.value,
    InvoiceStatus.CREDITED.value,
)
RECENT_PAYMENTS = 5


@dataclass(frozen=True)
class PortalInvoiceRow:
    id: int
    number: str
    status: str  # effective: overdue when collectible and past its due date
    issue_date: date
    due_date: date
    total: Money
    due: Money


@dataclass(frozen=True)
class PortalPayment:
    """A payment or refund as the client sees it (no staff name, no internal note)."""

    invoice_id: int
    invoice_number: str
    kind: str  # payment, refund, reversal
    method: str
    received_on: date
    amount: Money


@dataclass(frozen=True)
class PortalOverview:
    due_by_currency: list[Money]
    unpaid: int
    overdue: int
    recent_payments: list[PortalPayment]


@dataclass(frozen=True)
class PortalInvoice:
    """One invoice as it was sent (its frozen snapshot) and where it stands now."""

    id: int
    number: str
    status: str
    currency: str
    locale: str
    snapshot: dict[str, Any]
    total: Money
    paid: Money
    refunded: Money
    due: Money
    void_reason: str
    credited: Money  # what credit notes took off
    applied: Money  # what the client's credit balance paid
    payments: list[PortalPayment] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # (ISO time, message)


def _sent(client_id: Any) -> list[Any]:
    """The client's invoices a client may see: every one but drafts."""
    return [col(Invoice.client_id) == client_id, col(Invoice.status) != InvoiceStatus.DRAFT]


def _visible_invoice(session: Session, client_id: int, invoice_id: int) -> Invoice:
    """The client's sent invoice with this id; NotFound for anything else."""
    invoice = session.get(Invoice, invoice_id) if 0 < invoice_id < 2**63 else None
    if invoice is None or invoice.client_id != client_id or invoice.status == InvoiceStatus.DRAFT:
        raise NotFound(NOT_FOUND)
    return invoice


def _payment(row: InvoicePayment, number: str) -> PortalPayment:
    return PortalPayment(
        invoice_id=row.invoice_id,
        invoice_number=number,
        kind=row.kind,
        method=payments.method_label(row),
        received_on=row.received_on,
        amount=Money(row.amount_minor, row.currency),
    )


def portal_overview(
    session: Session, actor: ClientUser, *, clock: Clock = system_clock
) -> PortalOverview:
    """What the client owes (per currency, never mixed), how many invoices are unpaid and
    overdue, and their latest payments."""
    client_id = require_client(actor, ClientPermission.INVOICES_VIEW)
    today = today_at_agency(session, clock=clock)
    due_rows = session.execute(_due_by_currency(), {"client_id": client_id, "today": today}).all()
    recent = session.execute(_recent_payments(), {"client_id": client_id}).all()
    return PortalOverview(
        due_by_currency=[Money(int(amount or 0), cur) for cur, amount, _, _ in due_rows],
        unpaid=sum(int(n) for _, _, n, _ in due_rows),
        overdue=sum(int(n or 0) for _, _, _, n in due_rows),
        recent_payments=[_payment(p, number or "") for p, number in recent],
    )


def unpaid_count(session: Session, actor: ClientUser) -> int:
    """How many of the client's sent invoices are still to pay (the portal's red badge)."""
    client_id = require_client(actor, ClientPermission.INVOICES_VIEW)
    return int(session.execute(_unpaid_count(), {"client_id": client_id}).scalar_one())


# The portal's statements that run on every page, built once (with bound parameters): SQLAlchemy
# then neither builds nor hashes them again on each event.
_CLIENT = sa.bindparam("client_id", type_=sa.Integer())


@cache
def _due_by_currency() -> sa.Select[*tuple[Any, ...]]:
    today = sa.bindparam("today", type_=sa.Date())
    return (
        sa.select(
            col(Invoice.currency),
            func.sum(outstanding_sql()),
            func.count(),
            func.sum(sa.case((col(Invoice.due_date) < today, 1), else_=0)),
        )
        .where(*_sent(_CLIENT), is_collectible_sql())
        .group_by(col(Invoice.currency))
        .order_by(col(Invoice.currency))
    )


@cache
def _recent_payments() -> sa.Select[*tuple[Any, ...]]:
    return (
        sa.select(InvoicePayment, col(Invoice.number))
        .join(Invoice, col(Invoice.id) == col(InvoicePayment.invoice_id))
        .where(*_sent(_CLIENT))
        .order_by(col(InvoicePayment.received_on).desc(), col(InvoicePayment.id).desc())
        .limit(RECENT_PAYMENTS)
    )


@lru_cache(maxsize=6)
def _list_statements(
    status: str, searching: bool
) -> tuple[sa.Select[*tuple[Any, ...]], sa.Select[*tuple[Any, ...]]]:
    """The invoice list's rows and count for a tab ("due", "paid", else all), with or without a
    search by number; built once each. Only the columns a row shows: an invoice's frozen
    snapshot stays in the database."""
    conditions = _sent(_CLIENT)
    if status == "due":
        conditions.append(is_collectible_sql())
    elif status == "paid":
        conditions.append(col(Invoice.status).in_(SETTLED))
    if searching:
        pattern = sa.bindparam("pattern", type_=sa.String())
        conditions.append(func.lower(col(Invoice.number)).like(pattern, escape="\\"))
    rows = sa.select(
        col(Invoice.id),
        col(Invoice.number),
        col(Invoice.status),
        col(Invoice.issue_date),
        col(Invoice.due_date),
        col(Invoice.total_minor),
        col(Invoice.currency),
        outstanding_sql(),
    ).where(*conditions)
    return rows, sa.select(func.count()).select_from(Invoice).where(*conditions)


@cache
def _unpaid_count() -> sa.Select[Any]:
    return sa.select(func.count()).select_from(Invoice).where(*_sent(_CLIENT), is_collectible_sql())


PORTAL_SORTS = {"date": col(Invoice.issue_date), "due": col(Invoice.due_date)}


def list_client_invoices(
    session: Session, actor: ClientUser, request: ListRequest, *, clock: Clock = system_clock
) -> Page[PortalInvoiceRow]:
    """A page of the client's sent invoices, newest first by default; filter "status" (all,
    due, paid) and search by number, in SQL, paged by keyset."""
    client_id = require_client(actor, ClientPermission.INVOICES_VIEW)
    today = today_at_agency(session, clock=clock)
    status = request.filter("status", "all")
    query, count = _list_statements(
        status if status in ("due", "paid") else "all", bool(request.term)
    )
    sort = request.sort if request.sort in PORTAL_SORTS else "date"
    params: dict[str, Any] = {"client_id": client_id}
    if request.term:
        params["pattern"] = like_pattern(request.term)
    page = keyset_page(
        session, query, count, [PORTAL_SORTS[sort], col(Invoice.id)], request, params=params
    )
    return page.map(
        lambda row: PortalInvoiceRow(
            id=row[0],
            number=row[1] or "",
            status=shown_status(row[2], row[4], today),
            issue_date=row[3],
            due_date=row[4],
            total=Money(row[5], row[6]),
            due=Money(int(row[7]), row[6]),
        )
    )


def client_invoice(
    session: Session, actor: ClientUser, invoice_id: int, *, clock: Clock = system_clock
) -> PortalInvoice:
    """One of the client's invoices as it was sent, with what is paid and due now, its
    payments and refunds, and its client-visible history."""
    client_id = require_client(actor, ClientPermission.INVOICES_VIEW)
    invoice = _visible_invoice(session, client_id, invoice_id)
    assert invoice.id is not None
    settlement = shown_settlement(invoice)
    entries = payments.payments_of(session, invoice.id)
    return PortalInvoice(
        id=invoice.id,
        number=invoice.number or "",
        status=effective_status(invoice, today_at_agency(session, clock=clock)),
        currency=invoice.currency,
        locale=invoice.locale,
        snapshot=json.loads(invoice.snapshot) if invoice.snapshot else {},
        total=settlement.total,
        paid=settlement.amount_paid,
        refunded=settlement.amount_refunded,
        due=settlement.outstanding,
        void_reason=invoice.void_reason,
        credited=settlement.amount_credited,
        applied=settlement.credit_applied,
        payments=[_payment(p, invoice.number or "") for p in entries],
        events=[(e.at.isoformat(), e.message) for e in client_timeline(session, invoice.id)],
    )


def client_invoice_pdf(
    session: Session, actor: ClientUser, invoice_id: int, *, original: bool = False
) -> PdfFile:
    """The PDF of one of the client's sent invoices (as it stands now, or as sent)."""
    client_id = require_client(actor, ClientPermission.INVOICES_VIEW)
    invoice = _visible_invoice(session, client_id, invoice_id)
    data = documents.pdf_of(session, invoice, original=original)
    return PdfFile(data=data, filename=documents.pdf_filename(invoice))
