"""Monthly MRR rollups: what one client's ledger in one currency adds to each month's report.

``domain.revenue.monthly_figures`` replays the whole ledger; the reports cannot do that per page
view at 150,000 subscriptions. Instead each (client, currency) keeps one row per month in which
its ledger moved (``client_months``): its MRR at the start and the end of the month, whether it
had MRR at any moment before the month (new or reactivation) and during it. A row's
``contribution`` to its month is exactly what ``monthly_figures`` counts for that client, so the
month totals are sums of contributions and the MRR and customers at a month's end are the sums of
``mrr_change`` and ``customer_change`` over the months up to it (months without a row change
nothing: the client's MRR stayed as it was).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

__all__ = ["ClientMonth", "Contribution", "client_months", "contribution"]


@dataclass(frozen=True, slots=True)
class ClientMonth:
    """One client's month in one currency, for a month in which its ledger moved."""

    month: date  # its first day
    start_minor: int  # MRR at the start of the month
    end_minor: int  # MRR at its end
    had_before: bool  # MRR at some moment before the month
    active: bool  # MRR at some moment of the month (after one of its movements, or at its start)


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one client adds to one month's totals in its currency (amounts are positive)."""

    new_minor: int = 0
    reactivation_minor: int = 0
    expansion_minor: int = 0
    contraction_minor: int = 0
    churn_minor: int = 0
    new_customers: int = 0
    reactivated_customers: int = 0
    churned_customers: int = 0
    mrr_change_minor: int = 0  # end - start
    customer_change: int = 0  # (end > 0) - (start > 0)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}

    def minus(self, other: Contribution) -> Contribution:
        return Contribution(**{k: v - getattr(other, k) for k, v in self.as_dict().items()})


FIELDS = tuple(Contribution.__slots__)


def client_months(changes: Iterable[tuple[date, int]]) -> list[ClientMonth]:
    """The months of one (client, currency) from its ledger: (day, delta) in the order they
    were written (by time, then id), as ``monthly_figures`` replays them."""
    rows: list[ClientMonth] = []
    balance = 0
    ever = False  # MRR at some moment before the current month
    month: date | None = None
    start = 0
    active = False
    for day, delta in sorted(changes, key=lambda c: c[0]):
        first = day.replace(day=1)
        if first != month:
            if month is not None:
                rows.append(ClientMonth(month, start, balance, ever, active))
                ever = ever or active
            month, start, active = first, balance, balance != 0
        balance += delta
        if balance:
            active = True
    if month is not None:
        rows.append(ClientMonth(month, start, balance, ever, active))
    return rows


def contribution(row: ClientMonth) -> Contribution:
    """The row's part of its month's figures (customer-level, as domain/mrr.py classifies)."""
    start, end = row.start_minor, row.end_minor
    customers = (end > 0) - (start > 0)
    if start == end:
        return Contribution()
    if start == 0:
        if row.had_before:
            return Contribution(
                reactivation_minor=end,
                reactivated_customers=1,
                mrr_change_minor=end,
                customer_change=customers,
            )
        return Contribution(
            new_minor=end, new_customers=1, mrr_change_minor=end, customer_change=customers
        )
    if end == 0:
        return Contribution(
            churn_minor=start,
            churned_customers=1,
            mrr_change_minor=-start,
            customer_change=customers,
        )
    if end > start:
        return Contribution(expansion_minor=end - start, mrr_change_minor=end - start)
    return Contribution(contraction_minor=start - end, mrr_change_minor=end - start)
