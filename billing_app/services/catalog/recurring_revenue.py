"""Recurring revenue of subscriptions: MRR per subscription, per client and per currency, kept
stored so lists sort by it in SQL, and ARR, all computed by domain/mrr.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.customers import (
    Client,
    Subscription,
)
from billing_app.domain.billing import RECURRING
from billing_app.domain.lifecycle import SubscriptionStatus, is_running, renews
from billing_app.domain.money import Money, div_half_up
from billing_app.domain.mrr import RecurringPrice, arr_total, monthly_amount, mrr_total
from billing_app.domain.periods import Interval, IntervalUnit
from billing_app.services.catalog import mrr_ledger  # noqa: F401  (the ledger's listener)
from billing_app.services.common.errors import NotFound

# Status sets from the domain's lifecycle, for SQL filters.
RENEWING = tuple(s.value for s in SubscriptionStatus if renews(s))


RUNNING = tuple(s.value for s in SubscriptionStatus if is_running(s))


def interval_of(sub: Subscription) -> Interval | None:
    if sub.kind != RECURRING:
        return None
    return Interval(IntervalUnit(sub.interval_unit), sub.interval_count)


def anchor_of(sub: Subscription) -> date:
    """The first billing day: renewals are computed from it."""
    return sub.trial_ends_on or sub.start_date


def subscription_mrr_minor(sub: Subscription) -> int:
    """The subscription's monthly amount, rounded once (0 unless it renews)."""
    interval = interval_of(sub)
    if interval is None or sub.status not in RENEWING:
        return 0
    exact = monthly_amount(Money(sub.unit_price_minor, sub.currency), interval, sub.quantity)
    return div_half_up(exact.numerator, exact.denominator)


def _renewing_prices(
    session: Session, client_ids: Iterable[int] | None = None
) -> dict[int, list[RecurringPrice]]:
    """Per client, its renewing recurring charges summed per (currency, interval) in SQL:
    monthly_amount is linear, so mrr_total over the sums equals mrr_total over the rows."""
    amount = func.sum(col(Subscription.unit_price_minor) * col(Subscription.quantity))
    query = (
        sa.select(
            col(Subscription.client_id),
            col(Subscription.currency),
            col(Subscription.interval_unit),
            col(Subscription.interval_count),
            amount,
        )
        .where(col(Subscription.status).in_(RENEWING), col(Subscription.kind) == RECURRING)
        .group_by(
            col(Subscription.client_id),
            col(Subscription.currency),
            col(Subscription.interval_unit),
            col(Subscription.interval_count),
        )
    )
    if client_ids is not None:
        query = query.where(col(Subscription.client_id).in_(list(client_ids)))
    result: dict[int, list[RecurringPrice]] = {}
    for client_id, currency, unit, count, total in session.execute(query).all():
        result.setdefault(client_id, []).append(
            RecurringPrice(Money(int(total), currency), Interval(IntervalUnit(unit), count))
        )
    return result


def refresh_client(session: Session, client_id: int) -> Client:
    """Recompute the client's stored MRR and active subscription count from its subscriptions
    (call after any change, in the same transaction)."""
    session.flush()
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("That client does not exist.")
    prices = _renewing_prices(session, [client_id]).get(client_id, [])
    totals = mrr_total(prices)
    client.mrr_minor = totals[client.currency].amount_minor if client.currency in totals else 0
    client.active_subscriptions = session.exec(
        select(func.count())
        .select_from(Subscription)
        .where(
            col(Subscription.client_id) == client_id,
            col(Subscription.status).in_(RENEWING),
            col(Subscription.kind) == RECURRING,
        )
    ).one()
    session.add(client)
    return client


def recompute_mrr_from_scratch(session: Session) -> dict[int, Money]:
    """Every client's MRR recomputed with domain/mrr.py from the stored subscriptions, row by
    row in one pass (no SQL aggregation): what the stored figures must always equal."""
    rows = session.exec(
        select(Subscription).where(
            col(Subscription.status).in_(RENEWING), col(Subscription.kind) == RECURRING
        )
    ).all()
    per_client: dict[int, list[RecurringPrice]] = {}
    for sub in rows:
        interval = interval_of(sub)
        assert interval is not None
        per_client.setdefault(sub.client_id, []).append(
            RecurringPrice(Money(sub.unit_price_minor, sub.currency), interval, sub.quantity)
        )
    result: dict[int, Money] = {}
    for client_id, prices in per_client.items():
        for money in mrr_total(prices).values():
            result[client_id] = money
    return result


def _prices_by_currency(session: Session) -> list[RecurringPrice]:
    """Every renewing recurring charge summed in SQL per (currency, interval) - a handful of
    rows (monthly_amount is linear, so totals over the sums equal totals over the rows)."""
    amount = func.sum(col(Subscription.unit_price_minor) * col(Subscription.quantity))
    query = (
        sa.select(
            col(Subscription.currency),
            col(Subscription.interval_unit),
            col(Subscription.interval_count),
            amount,
        )
        .where(col(Subscription.status).in_(RENEWING), col(Subscription.kind) == RECURRING)
        .group_by(
            col(Subscription.currency),
            col(Subscription.interval_unit),
            col(Subscription.interval_count),
        )
    )
    return [
        RecurringPrice(Money(int(total), currency), Interval(IntervalUnit(unit), count))
        for currency, unit, count, total in session.execute(query).all()
    ]


def mrr_by_currency(session: Session) -> dict[str, Money]:
    """Total MRR per currency (dashboards), normalised and rounded once by domain/mrr.py."""
    return mrr_total(_prices_by_currency(session))


def recurring_revenue_by_currency(
    session: Session,
) -> tuple[dict[str, Money], dict[str, Money]]:
    """(MRR, ARR) per currency, both by domain/mrr.py from one query: ARR is the exact
    monthly amount x 12 rounded once (an every-4-weeks plan of 49.00 is 13 x 49.00 = 637.00
    a year), never the rounded MRR x 12."""
    prices = _prices_by_currency(session)
    return mrr_total(prices), arr_total(prices)


def client_arr(session: Session, client: Client) -> Money:
    """The client's annual run rate (arr_total over its renewing recurring subscriptions, in
    its currency), the yearly counterpart of the stored ``client.mrr_minor``."""
    assert client.id is not None
    totals = arr_total(_renewing_prices(session, [client.id]).get(client.id, []))
    return totals.get(client.currency, Money.zero(client.currency))


def is_renewing(status: str) -> bool:
    return renews(SubscriptionStatus(status))
