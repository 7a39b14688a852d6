"""The renewal forecast: what the billing engine will bill in the next 30, 60 and 90 days, per
brand and currency, computed from its own schedule (services/billing/renewals.py
``coming_renewals``: scheduled changes included, cancellations at period end respected) by the
hourly job after the run, and stored in ``renewal_forecast``. Pages read the stored rows and
say when they were computed; nothing is recomputed per page view."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.reporting import RenewalForecast
from billing_app.domain.money import Money
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import default_brand, today_at_agency
from billing_app.services.billing.renewals import billable_until, coming_renewals
from billing_app.services.common.actors import require
from billing_app.services.common.clock import Clock, system_clock

HORIZONS = (30, 60, 90)


def compute_forecast(
    session: Session, *, clock: Clock = system_clock
) -> dict[tuple[int, str, int], tuple[int, int]]:
    """(brand, currency, days) -> (renewals, amount before taxes) from the agency's today."""
    today = today_at_agency(session, clock=clock)
    default_id = default_brand(session, clock=clock).id or 0
    brands: dict[int, int | None] = {
        client_id: brand_id
        for client_id, brand_id in session.exec(select(Client.id, Client.brand_id)).all()
        if client_id is not None
    }
    sums: dict[tuple[int, str, int], list[int]] = defaultdict(lambda: [0, 0])
    for sub in billable_until(session, today + timedelta(days=max(HORIZONS))):
        starts, amount = coming_renewals(sub, today, today + timedelta(days=max(HORIZONS)))
        brand_id = brands.get(sub.client_id) or default_id
        for days in HORIZONS:
            n = sum(1 for start in starts if start <= today + timedelta(days=days))
            total = sums[(brand_id, sub.currency, days)]
            total[0] += n
            total[1] += n * amount
    return {key: (n, amount) for key, (n, amount) in sums.items()}


def refresh_forecast(session: Session, *, clock: Clock = system_clock) -> int:
    """Replace the stored forecast with one computed now (the job's; no actor). Returns the
    number of rows stored."""
    figures = compute_forecast(session, clock=clock)
    now = clock.now()
    table: Any = RenewalForecast.__table__  # type: ignore[attr-defined]
    session.execute(sa.delete(table))
    rows = [
        {
            "brand_id": brand_id,
            "currency": currency,
            "days": days,
            "renewals": n,
            "amount_minor": amount,
            "computed_at": now,
        }
        for (brand_id, currency, days), (n, amount) in sorted(figures.items())
    ]
    if rows:
        session.execute(sa.insert(table), rows)
    return len(rows)


def refresh_forecast_now(engine: sa.Engine, *, clock: Clock = system_clock) -> int:
    """``refresh_forecast`` in its own transaction (the hourly job, after the billing run)."""
    with Session(engine) as session:
        count = refresh_forecast(session, clock=clock)
        session.commit()
        return count


@dataclass(frozen=True)
class ForecastRow:
    currency: str
    days: int
    renewals: int
    amount: Money


@dataclass(frozen=True)
class Forecast:
    rows: list[ForecastRow]  # per currency, then 30, 60, 90 days
    computed_at: datetime | None  # None: not computed yet


def renewal_forecast(
    session: Session, actor: CurrentUser, *, brand_id: int | None = None, currency: str = ""
) -> Forecast:
    """The stored forecast, summed over brands unless one is asked for."""
    require(actor, Permission.REPORTS_VIEW)
    query = select(
        RenewalForecast.currency,
        RenewalForecast.days,
        sa.func.sum(RenewalForecast.renewals),
        sa.func.sum(RenewalForecast.amount_minor),
    ).group_by(col(RenewalForecast.currency), col(RenewalForecast.days))
    if brand_id is not None:
        query = query.where(col(RenewalForecast.brand_id) == brand_id)
    if currency:
        query = query.where(col(RenewalForecast.currency) == currency)
    found = session.exec(query.order_by(col(RenewalForecast.currency), col(RenewalForecast.days)))
    rows = [
        ForecastRow(cur, int(days), int(n or 0), Money(int(amount or 0), cur))
        for cur, days, n, amount in found.all()
    ]
    computed = session.exec(select(RenewalForecast.computed_at).limit(1)).first()
    return Forecast(rows, computed)
