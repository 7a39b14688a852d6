"""The cash reports as CSV files, through the one CSV writer (amounts in major units, as
numbers; one currency per row)."""

from __future__ import annotations

from sqlmodel import Session

from billing_app.domain.permissions import Permission
from billing_app.domain.revenue import AgingBucket
from billing_app.services.access.identity import CurrentUser
from billing_app.services.common.actors import require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.csv_export import write_csv
from billing_app.services.reporting.cash_reports import (
    CashFilters,
    TopBy,
    aging,
    cash_by_month,
    top_clients,
)
from billing_app.services.reporting.renewal_forecast import renewal_forecast


def cash_months_csv(session: Session, actor: CurrentUser, filters: CashFilters) -> bytes:
    require(actor, Permission.REPORTS_VIEW)
    rows = cash_by_month(session, actor, filters)
    header = [
        "Month",
        "Currency",
        "Payments",
        "Refunds",
        "Reversals",
        "Collected",
        "Invoiced",
        "Invoices",
        "Credit notes",
        "Credit notes issued",
    ]
    return write_csv(
        header,
        (
            [
                r.month.strftime("%Y-%m"),
                r.currency,
                r.payments.to_decimal(),
                r.refunds.to_decimal(),
                r.reversals.to_decimal(),
                r.collected.to_decimal(),
                r.invoiced.to_decimal(),
                r.invoices,
                r.credited.to_decimal(),
                r.credit_notes,
            ]
            for r in rows
        ),
    )


def aging_csv(
    session: Session, actor: CurrentUser, filters: CashFilters, *, clock: Clock = system_clock
) -> bytes:
    require(actor, Permission.REPORTS_VIEW)
    rows = aging(session, actor, filters, clock=clock)
    header = ["Currency", "Days past due", "Outstanding", "Invoices"]
    return write_csv(
        header,
        (
            [r.currency, bucket.value, r.buckets[bucket].to_decimal(), r.invoices[bucket]]
            for r in rows
            for bucket in AgingBucket
        ),
    )


def top_clients_csv(
    session: Session,
    actor: CurrentUser,
    by: TopBy,
    currency: str,
    *,
    brand_id: int | None = None,
    clock: Clock = system_clock,
) -> bytes:
    require(actor, Permission.REPORTS_VIEW)
    rows = top_clients(session, actor, by, currency, brand_id=brand_id, clock=clock)
    header = ["Client", "Currency", "MRR" if by == "mrr" else "Outstanding"]
    return write_csv(header, ([r.company, currency, r.amount.to_decimal()] for r in rows))


def forecast_csv(session: Session, actor: CurrentUser, filters: CashFilters) -> bytes:
    require(actor, Permission.REPORTS_VIEW)
    forecast = renewal_forecast(
        session, actor, brand_id=filters.brand_id, currency=filters.currency
    )
    computed = forecast.computed_at.isoformat() if forecast.computed_at else ""
    header = ["Currency", "Next days", "Renewals", "Amount before taxes", "Computed at (UTC)"]
    return write_csv(
        header,
        ([r.currency, r.days, r.renewals, r.amount.to_decimal(), computed] for r in forecast.rows),
    )
