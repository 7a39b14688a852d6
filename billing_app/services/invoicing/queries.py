"""Finding invoices: the list (tabs, search, sort and totals, all in SQL) and one invoice by id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.credit_notes import CreditNote
from billing_app.db.customers import Client
from billing_app.db.invoicing import (
    Invoice,
)
from billing_app.domain.lifecycle import InvoiceStatus, is_collectible
from billing_app.domain.money import (
    MAX_AMOUNT_MINOR,
    Money,
    currency_exponent,
)
from billing_app.domain.numbers import parse_id, parse_plain_decimal
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.common.actors import require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import NotFound
from billing_app.services.common.listing import (
    ListRequest,
    Page,
    keyset_page,
    like_pattern,
    sort_choice,
)
from billing_app.services.invoicing.limits import MAX_TYPED_DIGITS
from billing_app.services.invoicing.settlement import (
    COLLECTIBLE_STATUSES,
    is_collectible_sql,
    outstanding_sql,
)

# Kept for callers not yet moved to services/invoicing/settlement.py (is_collectible).
OPEN_STATUSES = COLLECTIBLE_STATUSES


def get_invoice(session: Session, invoice_id: int) -> Invoice:
    """The invoice with this id, or NotFound."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        msg = "That invoice does not exist."
        raise NotFound(msg)
    return invoice


def effective_status(invoice: Invoice, today: date) -> str:
    """The status a person sees: collectible invoices past their due date are overdue."""
    return shown_status(invoice.status, invoice.due_date, today)


def shown_status(status: str, due_date: date, today: date) -> str:
    """``effective_status`` from an invoice's status and due date (a list's selected columns)."""
    if is_collectible(InvoiceStatus(status)) and due_date < today:
        return "overdue"
    return status


@dataclass(frozen=True)
class InvoiceRow:
    id: int
    number: str
    client: str
    status: str
    issue_date: date
    due_date: date
    total: Money
    due: Money


LIST_FILTERS = (
    "all",
    "draft",
    "open",
    "overdue",
    "paid",
    "partially_paid",
    "void",
    "refunded",
    "credited",
)


# The "refunded" tab: every invoice money was given back on.
REFUNDED_STATUSES = (InvoiceStatus.REFUNDED.value, InvoiceStatus.PARTIALLY_REFUNDED.value)


SORTS = {
    "date": col(Invoice.issue_date),
    "due": col(Invoice.due_date),
    "amount": col(Invoice.total_minor),
}


@dataclass(frozen=True)
class InvoicePage(Page[InvoiceRow]):
    """A page of invoices, and the totals of every invoice the filter matches."""

    totals_by_currency: dict[str, tuple[int, int]] = field(default_factory=dict)
    # currency -> (total, due) of the whole filter, not just this page


def _amount_matches(session: Session, term: str) -> list[Any]:
    """Search by amount: "496.92" finds totals of 496.92 in each currency in use. Only plain,
    bounded numbers are read (docs/security.md item 34): "1e999990" matches no amount."""
    text = term.replace(",", "").strip().lstrip("€$£¥").strip()
    value = parse_plain_decimal(
        text, max_integer_digits=MAX_TYPED_DIGITS, max_fraction_digits=MAX_TYPED_DIGITS
    )
    if value is None:
        return []
    matches: list[Any] = []
    for currency in session.exec(select(Invoice.currency).distinct()).all():
        minor = value.scaleb(currency_exponent(currency))
        if minor == minor.to_integral_value() and abs(minor) <= MAX_AMOUNT_MINOR:
            matches.append(
                sa.and_(col(Invoice.currency) == currency, col(Invoice.total_minor) == int(minor))
            )
    return matches


def list_invoices(
    session: Session,
    viewer: CurrentUser,
    request: ListRequest,
    *,
    clock: Clock = system_clock,
) -> InvoicePage:
    """A page of invoices filtered (filters "status": a tab of LIST_FILTERS, "client": an id),
    searched (number, client name, email or website, amount) and sorted in SQL, paged by
    keyset, with the totals of the whole filter per currency."""
    require(viewer, Permission.INVOICES_READ)
    today = today_at_agency(session, clock=clock)
    # What clients still owe (services/invoicing/settlement.py).
    due_expr = outstanding_sql()
    conditions: list[Any] = []
    client_filter = request.filter("client")
    if client_filter:
        conditions.append(col(Invoice.client_id) == (parse_id(client_filter) or 0))
    status = request.filter("status", "all")
    if status == "overdue":
        conditions += [is_collectible_sql(), col(Invoice.due_date) < today]
    elif status == "open":
        conditions += [is_collectible_sql(), col(Invoice.due_date) >= today]
    elif status == "refunded":
        conditions.append(col(Invoice.status).in_(REFUNDED_STATUSES))
    elif status in LIST_FILTERS and status != "all":
        conditions.append(col(Invoice.status) == status)
    term = request.term
    if term:
        like = like_pattern(term)
        # The client's search text is lower-cased in Python (accented capitals included).
        options: list[Any] = [
            func.lower(col(Invoice.number)).like(like, escape="\\"),
            col(Client.search_text).like(like, escape="\\"),
            # An invoice is found by the number of a credit note that corrects it.
            col(Invoice.id).in_(
                sa.select(col(CreditNote.invoice_id)).where(
                    func.lower(col(CreditNote.number)).like(like, escape="\\")
                )
            ),
        ]
        options += _amount_matches(session, term)
        conditions.append(sa.or_(*options))
    joined = [col(Client.id) == col(Invoice.client_id)]
    sort = sort_choice(request, SORTS, "date")
    page = keyset_page(
        session,
        sa.select(Invoice, col(Client.company), due_expr).join(Client, *joined).where(*conditions),
        sa.select(func.count()).select_from(Invoice).join(Client, *joined).where(*conditions),
        [SORTS[sort], col(Invoice.id)],
        request,
    )
    sums = (
        select(Invoice.currency, func.sum(Invoice.total_minor), func.sum(due_expr))
        .join(Client, *joined)
        .where(*conditions)
        .group_by(col(Invoice.currency))
    )
    totals = {cur: (int(t or 0), int(d or 0)) for cur, t, d in session.exec(sums).all()}
    return InvoicePage(
        rows=[
            InvoiceRow(
                id=inv.id or 0,
                number=inv.number or "Draft",
                client=company,
                status=effective_status(inv, today),
                issue_date=inv.issue_date,
                due_date=inv.due_date,
                total=Money(inv.total_minor, inv.currency),
                due=Money(int(due), inv.currency),
            )
            for inv, company, due in page.rows
        ],
        total=page.total,
        per_page=page.per_page,
        first_key=page.first_key,
        last_key=page.last_key,
        has_previous=page.has_previous,
        has_next=page.has_next,
        totals_by_currency=totals,
    )
