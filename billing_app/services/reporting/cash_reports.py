"""Cash reports (docs/architecture.md, "Cash reports"): money collected per month, invoiced
against collected, credit notes issued, what clients owe by age, the top clients by MRR and by
what they owe. Figures are per currency, never mixed; filters are a period of months, a brand
and a currency.

Months read the ``cash_month`` rollup (a few rows per month, kept exact by
``cash_rollup``), never the payments themselves; aging sums what is due on the collectible
invoices (``settlement.outstanding_sql``, over ``invoice``'s status index); top clients read the
stored and indexed ``client.mrr_minor`` / ``client.outstanding_minor``.

Collected in a month = payments received - refunds given - payments reversed (by the day each
was received or recorded; refunds to the client's credit balance move no money and are left
out). Invoiced = invoices by issue date, drafts and voided ones excluded.

Every report needs reports.view; what clients owe (aging, top by outstanding) also needs
invoices.read (docs/security.md item 43).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import Brand, Invoice
from billing_app.db.reporting import CashMonth
from billing_app.domain.money import Money
from billing_app.domain.permissions import Permission
from billing_app.domain.revenue import AgingBucket, aging_earliest_due, month_starts
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import default_brand, get_agency, today_at_agency
from billing_app.services.common.actors import require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import ValidationFailed
from billing_app.services.invoicing.settlement import is_collectible_sql, outstanding_sql

MAX_MONTHS = 60
TOP = 10


@dataclass(frozen=True)
class CashFilters:
    """A period of whole months (``start`` and ``end`` are any days of the first and last
    month), a brand (None: all) and a currency ("" : every currency, each on its own rows)."""

    start: date
    end: date
    brand_id: int | None = None
    currency: str = ""

    def months(self) -> list[date]:
        return month_starts(self.start, self.end)


def check_filters(filters: CashFilters) -> None:
    if filters.end < filters.start:
        msg = "The period ends before it starts."
        raise ValidationFailed(msg, field="period")
    if len(filters.months()) > MAX_MONTHS:
        msg = f"Choose a period of at most {MAX_MONTHS} months."
        raise ValidationFailed(msg, field="period")


@dataclass(frozen=True)
class CashMonthRow:
    month: date  # its first day
    currency: str
    payments: Money
    refunds: Money
    reversals: Money
    invoiced: Money
    invoices: int
    credited: Money
    credit_notes: int

    @property
    def collected(self) -> Money:
        return self.payments - self.refunds - self.reversals


_SUMS = (
    "payments_minor",
    "refunds_minor",
    "reversals_minor",
    "invoiced_minor",
    "invoices",
    "credited_minor",
    "credit_notes",
)


def cash_by_month(session: Session, actor: CurrentUser, filters: CashFilters) -> list[CashMonthRow]:
    """Every month of the period for every currency with figures in it (months without any
    are zeros), by currency then month."""
    require(actor, Permission.REPORTS_VIEW)
    check_filters(filters)
    months = filters.months()
    table: Any = CashMonth.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(table.c.month, table.c.currency, *(sa.func.sum(table.c[n]) for n in _SUMS))
        .where(table.c.month >= months[0], table.c.month <= months[-1])
        .group_by(table.c.month, table.c.currency)
    )
    if filters.brand_id is not None:
        query = query.where(table.c.brand_id == filters.brand_id)
    if filters.currency:
        query = query.where(table.c.currency == filters.currency)
    found: dict[tuple[date, str], tuple[int, ...]] = {}
    for month, currency, *sums in session.execute(query).all():
        found[(month, currency)] = tuple(int(v or 0) for v in sums)
    currencies = sorted({currency for _, currency in found} | _asked(filters))
    rows = []
    for currency in currencies:
        for month in months:
            p, r, v, i, n, c, k = found.get((month, currency), (0,) * len(_SUMS))
            rows.append(
                CashMonthRow(
                    month,
                    currency,
                    Money(p, currency),
                    Money(r, currency),
                    Money(v, currency),
                    Money(i, currency),
                    n,
                    Money(c, currency),
                    k,
                )
            )
    return rows


def _asked(filters: CashFilters) -> set[str]:
    return {filters.currency} if filters.currency else set()


@dataclass(frozen=True)
class AgingRow:
    """What clients owe in one currency by how late it is (``buckets`` in AgingBucket order)."""

    currency: str
    buckets: dict[AgingBucket, Money]
    invoices: dict[AgingBucket, int]

    @property
    def total(self) -> Money:
        return Money.sum(self.buckets.values(), self.currency)


def _brand_clause(session: Session, column: Any, brand_id: int | None, *, clock: Clock) -> Any:
    """Rows of the brand; for a client (brand None: the default brand's) the default brand
    also takes clients without one."""
    if brand_id is None:
        return sa.true()
    if column is Client.brand_id and default_brand(session, clock=clock).id == brand_id:
        return sa.or_(col(Client.brand_id) == brand_id, col(Client.brand_id).is_(None))
    return col(column) == brand_id


def aging(
    session: Session,
    actor: CurrentUser,
    filters: CashFilters,
    *,
    clock: Clock = system_clock,
) -> list[AgingRow]:
    """What is due today on collectible invoices, per currency, by days past the due date
    (domain/revenue.py ``aging_bucket``). The period does not apply: this is today's."""
    require(actor, Permission.REPORTS_VIEW)
    require(actor, Permission.INVOICES_READ)
    today = today_at_agency(session, clock=clock)
    due_date = col(Invoice.due_date)
    bucket = sa.case(
        *(
            (due_date >= earliest, sa.literal(b.value))
            for b, earliest in aging_earliest_due(today)
            if earliest is not None
        ),
        else_=sa.literal(AgingBucket.OVER_90.value),
    ).label("bucket")
    due = outstanding_sql()
    query = (
        select(Invoice.currency, bucket, sa.func.sum(due), sa.func.count())
        .where(is_collectible_sql())
        .where(due > 0)
        .where(_brand_clause(session, Invoice.brand_id, filters.brand_id, clock=clock))
        .group_by(col(Invoice.currency), bucket)
    )
    if filters.currency:
        query = query.where(col(Invoice.currency) == filters.currency)
    sums: dict[str, dict[AgingBucket, tuple[int, int]]] = {}
    for currency, name, total, count in session.exec(query).all():
        sums.setdefault(currency, {})[AgingBucket(name)] = (int(total or 0), int(count))
    for currency in _asked(filters):
        sums.setdefault(currency, {})
    return [
        AgingRow(
            currency,
            {b: Money(sums[currency].get(b, (0, 0))[0], currency) for b in AgingBucket},
            {b: sums[currency].get(b, (0, 0))[1] for b in AgingBucket},
        )
        for currency in sorted(sums)
    ]


@dataclass(frozen=True)
class TopClient:
    client_id: int
    company: str
    amount: Money


TopBy = Literal["mrr", "outstanding"]


def top_clients(
    session: Session,
    actor: CurrentUser,
    by: TopBy,
    currency: str,
    *,
    brand_id: int | None = None,
    limit: int = TOP,
    clock: Clock = system_clock,
) -> list[TopClient]:
    """The clients of ``currency`` with the largest MRR or amount owed (stored figures, read
    through their index); clients at zero are left out."""
    require(actor, Permission.REPORTS_VIEW)
    if by == "outstanding":
        require(actor, Permission.INVOICES_READ)
    if not currency:
        msg = "Choose a currency."
        raise ValidationFailed(msg, field="currency")
    figure = col(Client.mrr_minor) if by == "mrr" else col(Client.outstanding_minor)
    rows = session.exec(
        select(Client.id, Client.company, figure)
        .where(col(Client.currency) == currency)
        .where(figure > 0)
        .where(_brand_clause(session, Client.brand_id, brand_id, clock=clock))
        .order_by(figure.desc(), col(Client.id).desc())
        .limit(max(1, min(limit, 100)))
    ).all()
    return [TopClient(int(cid or 0), company, Money(int(v), currency)) for cid, company, v in rows]


@dataclass(frozen=True)
class ReportOptions:
    """What the filters offer: the brands (id, name) and the currencies with figures."""

    brands: list[tuple[int, str]]
    currencies: list[str]
    default_currency: str
    today: date  # the agency's


def report_options(
    session: Session, actor: CurrentUser, *, clock: Clock = system_clock
) -> ReportOptions:
    require(actor, Permission.REPORTS_VIEW)
    brands = [
        (int(b.id or 0), b.name) for b in session.exec(select(Brand).order_by(col(Brand.name)))
    ]
    table: Any = CashMonth.__table__  # type: ignore[attr-defined]
    seen = {c for (c,) in session.execute(sa.select(table.c.currency).distinct()).all()}
    seen |= {
        c
        for (c,) in session.execute(
            sa.select(col(Client.currency)).where(col(Client.mrr_minor) > 0).distinct()
        ).all()
    }
    default = get_agency(session).default_currency
    today = today_at_agency(session, clock=clock)
    return ReportOptions(brands, sorted(seen | {default}), default, today)
