"""Revenue history from the MRR movement ledger: what each month's report says.

The ledger holds one row per change of a subscription's monthly amount (its client, currency,
signed delta, when). A client's MRR in a currency at any moment is the sum of its deltas up to
then, so the history is a replay, never a guess.

Months are reported per currency (never mixed) at the customer level, as revenue analytics
products do: the client's MRR at the end of the month against the end of the month before,
classified by ``domain.mrr.mrr_movements`` (new, reactivation for a client that had MRR before,
expansion, contraction, churn). Changes that cancel out within one month do not show.

Rates of a month, against the MRR and customers at its start (None when there were none):

    logo churn      customers churned / customers at the start
    revenue churn   (churn + contraction) / MRR at the start
    net revenue retention
                    (MRR at the start + expansion - contraction - churn) / MRR at the start
                    (new and reactivated customers are not retention)
    ARPA            MRR / customers, rounded half up to a minor unit

Rates are exact Fractions; ``percent`` rounds one to a tenth of a percent, half up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from billing_app.domain.money import Money, div_half_up, round_half_up
from billing_app.domain.mrr import MovementKind, MrrMovements, mrr_movements

__all__ = [
    "AgingBucket",
    "LedgerEntry",
    "MonthFigures",
    "aging_bucket",
    "aging_earliest_due",
    "month_starts",
    "monthly_figures",
    "percent",
]

Key = tuple[int, str]  # client, currency


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One change of a subscription's monthly amount, as the revenue history reads it: the
    client's, in ``currency``, by ``delta_minor``, on ``day`` (the agency's date)."""

    client_id: int
    currency: str
    delta_minor: int
    day: date


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """One month in one currency."""

    month: date  # its first day
    currency: str
    mrr: Money  # at the end of the month
    customers: int  # clients with MRR in this currency at the end of the month
    movements: MrrMovements
    start_mrr: Money
    start_customers: int
    churned_customers: int

    @property
    def arr(self) -> Money:
        return Money(self.mrr.amount_minor * 12, self.currency)

    @property
    def arpa(self) -> Money | None:
        if not self.customers:
            return None
        return Money(div_half_up(self.mrr.amount_minor, self.customers), self.currency)

    @property
    def logo_churn(self) -> Fraction | None:
        if not self.start_customers:
            return None
        return Fraction(self.churned_customers, self.start_customers)

    @property
    def revenue_churn(self) -> Fraction | None:
        start = self.start_mrr.amount_minor
        if not start:
            return None
        lost = self.movements.churn.amount_minor + self.movements.contraction.amount_minor
        return Fraction(lost, start)

    @property
    def net_revenue_retention(self) -> Fraction | None:
        start = self.start_mrr.amount_minor
        if not start:
            return None
        moved = self.movements
        kept = (
            start
            + moved.expansion.amount_minor
            - moved.contraction.amount_minor
            - moved.churn.amount_minor
        )
        return Fraction(kept, start)


def month_starts(first: date, last: date) -> list[date]:
    """The first days of the months from ``first``'s to ``last``'s, in order."""
    months = []
    month = first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def monthly_figures(entries: Iterable[LedgerEntry], months: Sequence[date]) -> list[MonthFigures]:
    """The figures of each month of ``months`` (first days, increasing), per currency that had
    MRR at its start or end: the ledger replayed up to the end of each month."""
    ordered = sorted(entries, key=lambda e: e.day)
    balance: dict[Key, int] = defaultdict(int)
    ever: set[Key] = set()
    position = 0
    figures: list[MonthFigures] = []
    if not months:
        return figures

    def replay(until: date) -> None:
        nonlocal position
        while position < len(ordered) and ordered[position].day < until:
            entry = ordered[position]
            key = (entry.client_id, entry.currency)
            balance[key] += entry.delta_minor
            if balance[key]:
                ever.add(key)
            position += 1

    replay(months[0])
    for month in months:
        before = {k: Money(v, k[1]) for k, v in balance.items() if v}
        had_before = set(ever)  # whoever had MRR at any time before this month
        replay(_next_month(month))
        after = {k: Money(v, k[1]) for k, v in balance.items() if v}
        report = mrr_movements(before, after, had_before)
        churned: dict[str, int] = defaultdict(int)
        for change in report.changes:
            if change.kind is MovementKind.CHURN:
                churned[change.key[1]] += 1
        currencies = sorted({k[1] for k in before} | {k[1] for k in after})
        for currency in currencies:
            zero = Money.zero(currency)
            ending = [v.amount_minor for k, v in after.items() if k[1] == currency]
            starting = [v.amount_minor for k, v in before.items() if k[1] == currency]
            moved = report.totals.get(currency) or MrrMovements(
                currency, zero, zero, zero, zero, zero
            )
            figures.append(
                MonthFigures(
                    month=month,
                    currency=currency,
                    mrr=Money(sum(ending), currency),
                    customers=len(ending),
                    movements=moved,
                    start_mrr=Money(sum(starting), currency),
                    start_customers=len(starting),
                    churned_customers=churned[currency],
                )
            )
    return figures


def percent(rate: Fraction) -> Decimal:
    """A rate as a percentage with one decimal, rounded half up: 1/3 -> 33.3."""
    tenths = round_half_up(rate * 1000)
    return Decimal(tenths).scaleb(-1)


class AgingBucket(StrEnum):
    CURRENT = "current"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    OVER_90 = "90+"


def aging_bucket(due: date, today: date) -> AgingBucket:
    """How late an amount due on ``due`` is on ``today``: not yet due (current), then by days
    past the due date."""
    late = (today - due).days
    if late <= 0:
        return AgingBucket.CURRENT
    if late <= 30:
        return AgingBucket.DAYS_1_30
    if late <= 60:
        return AgingBucket.DAYS_31_60
    if late <= 90:
        return AgingBucket.DAYS_61_90
    return AgingBucket.OVER_90


# Each bucket's largest number of days late (None: no bound), oldest last.
_AGING_UPTO: tuple[tuple[AgingBucket, int | None], ...] = (
    (AgingBucket.CURRENT, 0),
    (AgingBucket.DAYS_1_30, 30),
    (AgingBucket.DAYS_31_60, 60),
    (AgingBucket.DAYS_61_90, 90),
    (AgingBucket.OVER_90, None),
)


def aging_earliest_due(today: date) -> tuple[tuple[AgingBucket, date | None], ...]:
    """The buckets in order with the earliest due date each holds on ``today`` (None: any
    older): a due date falls in the first bucket whose date it is on or after, exactly as
    ``aging_bucket`` says (for queries that bucket in SQL)."""
    return tuple(
        (bucket, None if days is None else today - timedelta(days=days))
        for bucket, days in _AGING_UPTO
    )
