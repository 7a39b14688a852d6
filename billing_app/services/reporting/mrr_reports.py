"""Reports > MRR (docs/architecture.md, "Revenue"): month by month, per currency (never mixed),
MRR and ARR, the movements (new, reactivation, expansion, contraction, churn), customers, ARPA
and the rates, read from the monthly rollups (services/catalog/mrr_rollups.py): a sum over the
months before the period and one row per month and currency in it, so a page costs the same at
50,000 clients as at 5. The figures are ``domain.revenue.MonthFigures``, the same objects
``monthly_figures`` gives from the raw ledger (the tests hold them equal).

A brand filter keeps the clients the brand has now (the default brand also has the clients
without one). Every use case needs reports.view.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.invoicing import Brand, Invoice, InvoicePayment
from billing_app.db.mrr_rollups import MrrClientMonth, MrrMonth
from billing_app.domain.money import Money
from billing_app.domain.mrr import MrrMovements
from billing_app.domain.permissions import Permission
from billing_app.domain.revenue import MonthFigures, month_starts, percent
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.csv_export import write_csv
from billing_app.services.common.errors import NotFound, ValidationFailed

MAX_MONTHS = 24
_months: Any = MrrMonth.__table__  # type: ignore[attr-defined]
_rows: Any = MrrClientMonth.__table__  # type: ignore[attr-defined]
_SUMMED = (
    "new_minor",
    "reactivation_minor",
    "expansion_minor",
    "contraction_minor",
    "churn_minor",
    "churned_customers",
    "mrr_change_minor",
    "customer_change",
)


@dataclass(frozen=True)
class MrrFilters:
    """The period (``months`` ending with ``until``'s month; default: this month at the
    agency), a brand (None: all) and a currency (None: each currency on its own)."""

    months: int = 12
    until: date | None = None
    brand_id: int | None = None
    currency: str | None = None


@dataclass(frozen=True)
class MrrChoices:
    currencies: list[str]
    brands: list[tuple[int, str]]


def report_choices(session: Session, actor: Acting) -> MrrChoices:
    """The currencies the history has and the brands, for the filters."""
    require(actor, Permission.REPORTS_VIEW)
    currencies = session.execute(sa.select(_months.c.currency).distinct()).scalars().all()
    brands = session.exec(select(Brand.id, Brand.name).order_by(col(Brand.name))).all()
    return MrrChoices(sorted(currencies), [(int(i), n) for i, n in brands if i is not None])


def _period(session: Session, filters: MrrFilters, clock: Clock) -> list[date]:
    if not 1 <= filters.months <= MAX_MONTHS:
        raise ValidationFailed(f"Choose 1 to {MAX_MONTHS} months.", field="months")
    last = (filters.until or today_at_agency(session, clock=clock)).replace(day=1)
    first = last
    for _ in range(filters.months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return month_starts(first, last)


def _brand_ids(session: Session, brand_id: int | None) -> list[int] | None:
    if brand_id is None:
        return None
    brand = session.get(Brand, brand_id)
    if brand is None:
        raise NotFound("That brand does not exist.")
    return [brand_id, 0] if brand.is_default else [brand_id]


def _filtered(query: Any, brands: list[int] | None, currency: str | None) -> Any:
    if brands is not None:
        query = query.where(_months.c.brand_id.in_(brands))
    if currency:
        query = query.where(_months.c.currency == currency)
    return query


def mrr_report(
    session: Session, actor: Acting, filters: MrrFilters, *, clock: Clock = system_clock
) -> list[MonthFigures]:
    """The figures of each month of the period, per currency that had MRR at the month's start
    or end, by month then currency."""
    require(actor, Permission.REPORTS_VIEW)
    months = _period(session, filters, clock)
    brands = _brand_ids(session, filters.brand_id)
    sums = [sa.func.sum(_months.c[name]) for name in _SUMMED]
    before = session.execute(
        _filtered(
            sa.select(_months.c.currency, sums[-2], sums[-1])
            .where(_months.c.month < months[0])
            .group_by(_months.c.currency),
            brands,
            filters.currency,
        )
    ).all()
    mrr = {cur: int(m or 0) for cur, m, _ in before}
    customers = {cur: int(n or 0) for cur, _, n in before}
    moved: dict[tuple[date, str], list[int]] = {}
    for month, cur, *values in session.execute(
        _filtered(
            sa.select(_months.c.month, _months.c.currency, *sums)
            .where(_months.c.month >= months[0], _months.c.month <= months[-1])
            .group_by(_months.c.month, _months.c.currency),
            brands,
            filters.currency,
        )
    ):
        moved[(month, cur)] = [int(v or 0) for v in values]
    currencies = sorted(set(mrr) | {cur for _, cur in moved})
    figures = []
    for month in months:
        for cur in currencies:
            new, react, exp, contr, churn, churned, change, cust_change = moved.get(
                (month, cur), [0] * len(_SUMMED)
            )
            start, start_customers = mrr.get(cur, 0), customers.get(cur, 0)
            mrr[cur], customers[cur] = start + change, start_customers + cust_change
            if not start and not mrr[cur]:
                continue
            figures.append(
                MonthFigures(
                    month=month,
                    currency=cur,
                    mrr=Money(mrr[cur], cur),
                    customers=customers[cur],
                    movements=MrrMovements(
                        cur,
                        Money(new, cur),
                        Money(react, cur),
                        Money(exp, cur),
                        Money(contr, cur),
                        Money(churn, cur),
                    ),
                    start_mrr=Money(start, cur),
                    start_customers=start_customers,
                    churned_customers=churned,
                )
            )
    return figures


CSV_HEADER = (
    "Month",
    "Currency",
    "MRR",
    "ARR",
    "New",
    "Reactivation",
    "Expansion",
    "Contraction",
    "Churn",
    "Net movement",
    "Customers",
    "ARPA",
    "Logo churn %",
    "Revenue churn %",
    "Net revenue retention %",
)


def _rate(value: Any) -> Decimal | str:
    return "" if value is None else percent(value)


def mrr_report_csv(
    session: Session, actor: Acting, filters: MrrFilters, *, clock: Clock = system_clock
) -> bytes:
    """The report as a CSV file (amounts as decimals in their currency, rates in percent)."""
    require(actor, Permission.REPORTS_VIEW)
    rows = []
    for f in mrr_report(session, actor, filters, clock=clock):
        m = f.movements
        rows.append(
            (
                f.month.strftime("%Y-%m"),
                f.currency,
                f.mrr.to_decimal(),
                f.arr.to_decimal(),
                m.new.to_decimal(),
                m.reactivation.to_decimal(),
                m.expansion.to_decimal(),
                m.contraction.to_decimal(),
                m.churn.to_decimal(),
                m.net.to_decimal(),
                f.customers,
                f.arpa.to_decimal() if f.arpa is not None else "",
                _rate(f.logo_churn),
                _rate(f.revenue_churn),
                _rate(f.net_revenue_retention),
            )
        )
    return write_csv(CSV_HEADER, rows)


@dataclass(frozen=True)
class ClientMonthFigure:
    month: date
    currency: str
    amount: Money


def client_mrr_history(
    session: Session,
    actor: Acting,
    client_id: int,
    *,
    months: int = 12,
    clock: Clock = system_clock,
) -> list[ClientMonthFigure]:
    """The client's MRR at the end of each of the last ``months`` months, per currency it had
    MRR in during them (its rows carried forward over the months without movements)."""
    require(actor, Permission.REPORTS_VIEW)
    period = _period(session, MrrFilters(months=months), clock)
    rows = session.execute(
        sa.select(_rows.c.currency, _rows.c.month, _rows.c.end_minor)
        .where(_rows.c.client_id == client_id, _rows.c.month <= period[-1])
        .order_by(_rows.c.currency, _rows.c.month)
    ).all()
    per_currency: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for cur, month, end in rows:
        per_currency[cur].append((month, int(end)))
    history = []
    for cur, points in sorted(per_currency.items()):
        values, position, current = [], 0, 0
        for month in period:
            while position < len(points) and points[position][0] <= month:
                current = points[position][1]
                position += 1
            values.append(ClientMonthFigure(month, cur, Money(current, cur)))
        if any(v.amount.amount_minor for v in values):
            history.extend(values)
    return history


def client_payments_by_month(
    session: Session,
    actor: Acting,
    client_id: int,
    *,
    months: int = 12,
    clock: Clock = system_clock,
) -> list[ClientMonthFigure]:
    """Money the client paid each of the last ``months`` months, per currency: payments minus
    refunds and reversals, by the day they were received (reports.view and payments.read)."""
    require(actor, Permission.REPORTS_VIEW)
    require(actor, Permission.PAYMENTS_READ)
    period = _period(session, MrrFilters(months=months), clock)
    rows = session.execute(
        sa.select(
            col(InvoicePayment.kind),
            col(InvoicePayment.currency),
            col(InvoicePayment.received_on),
            col(InvoicePayment.amount_minor),
        )
        .join(Invoice, col(Invoice.id) == col(InvoicePayment.invoice_id))
        .where(col(Invoice.client_id) == client_id, col(InvoicePayment.received_on) >= period[0])
    ).all()
    totals: dict[tuple[date, str], int] = defaultdict(int)
    for kind, cur, received, amount in rows:
        sign = 1 if kind == "payment" else -1
        totals[(received.replace(day=1), cur)] += sign * int(amount)
    currencies = sorted({cur for _, cur in totals})
    return [
        ClientMonthFigure(month, cur, Money(totals.get((month, cur), 0), cur))
        for cur in currencies
        for month in period
    ]
