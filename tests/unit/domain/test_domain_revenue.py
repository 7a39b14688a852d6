"""Revenue history replayed from the MRR ledger: month-end MRR, customers and movements per
currency, the churn and retention rates, aging buckets."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from billing_app.domain.money import Money
from billing_app.domain.revenue import (
    AgingBucket,
    LedgerEntry,
    aging_bucket,
    aging_earliest_due,
    month_starts,
    monthly_figures,
    percent,
)

JAN, FEB, MAR, APR = (date(2026, m, 1) for m in (1, 2, 3, 4))


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def test_a_small_agency_history_month_by_month() -> None:
    """Acme: new in January at 100, +50 in February, gone in March, back in April at 80.
    Bolt: new in February at 200, down to 150 in March. Cobalt pays in USD from March."""
    ledger = [
        LedgerEntry(1, "EUR", 10000, date(2026, 1, 10)),
        LedgerEntry(1, "EUR", 5000, date(2026, 2, 3)),
        LedgerEntry(2, "EUR", 20000, date(2026, 2, 28)),
        LedgerEntry(1, "EUR", -15000, date(2026, 3, 31)),
        LedgerEntry(2, "EUR", -5000, date(2026, 3, 1)),
        LedgerEntry(3, "USD", 9900, date(2026, 3, 15)),
        LedgerEntry(1, "EUR", 8000, date(2026, 4, 30)),
    ]
    got = {(f.month, f.currency): f for f in monthly_figures(ledger, [JAN, FEB, MAR, APR])}

    jan = got[(JAN, "EUR")]
    assert (jan.mrr, jan.customers, jan.movements.new) == (eur(10000), 1, eur(10000))
    assert jan.logo_churn is None and jan.net_revenue_retention is None  # nobody at its start
    feb = got[(FEB, "EUR")]
    assert (feb.mrr, feb.customers, feb.arpa) == (eur(35000), 2, eur(17500))
    assert (feb.movements.new, feb.movements.expansion) == (eur(20000), eur(5000))
    assert feb.net_revenue_retention == Fraction(15000, 10000)  # Acme grew 50 %
    mar = got[(MAR, "EUR")]
    assert (mar.mrr, mar.customers) == (eur(15000), 1)
    assert (mar.movements.churn, mar.movements.contraction) == (eur(15000), eur(5000))
    assert (mar.logo_churn, mar.revenue_churn) == (Fraction(1, 2), Fraction(20000, 35000))
    assert percent(mar.revenue_churn) == Decimal("57.1")
    assert got[(MAR, "USD")].movements.new == Money(9900, "USD")  # never mixed with EUR
    assert (MAR, "USD") in got and (FEB, "USD") not in got
    apr = got[(APR, "EUR")]
    assert (apr.movements.reactivation, apr.movements.new) == (eur(8000), eur(0))
    assert apr.arr == eur(23000 * 12)


def test_changes_that_cancel_out_within_a_month_do_not_show() -> None:
    ledger = [
        LedgerEntry(1, "EUR", 5000, date(2026, 1, 5)),
        LedgerEntry(1, "EUR", 2000, date(2026, 2, 5)),
        LedgerEntry(1, "EUR", -2000, date(2026, 2, 20)),
    ]
    feb = monthly_figures(ledger, [JAN, FEB])[1]
    assert feb.movements.net == eur(0) and feb.movements.expansion == eur(0)


levels = st.lists(
    st.tuples(
        st.integers(0, 5),  # client
        st.sampled_from(["EUR", "JPY"]),
        st.integers(0, 400),  # day offset
        st.sampled_from([0, 0, 1000, 2500, 9999]),  # the client's MRR from that day
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(levels)
def test_the_replayed_ledger_equals_the_mrr_recomputed_at_every_month_end(
    changes: list[tuple[int, str, int, int]],
) -> None:
    start = date(2025, 12, 1)
    level: dict[tuple[int, str], int] = defaultdict(int)
    ledger = []
    history: list[tuple[date, tuple[int, str], int]] = []
    for client, currency, offset, mrr in sorted(changes, key=lambda c: c[2]):
        day = start + timedelta(days=offset)
        key = (client, currency)
        if mrr != level[key]:
            ledger.append(LedgerEntry(client, currency, mrr - level[key], day))
            level[key] = mrr
            history.append((day, key, mrr))
    months = month_starts(start, start + timedelta(days=400))

    figures = monthly_figures(ledger, months)

    def at(until: date) -> dict[tuple[int, str], int]:
        state: dict[tuple[int, str], int] = {}
        for day, key, mrr in history:
            if day < until:
                state[key] = mrr
        return state

    seen = set()
    for f in figures:
        end = (f.month + timedelta(days=32)).replace(day=1)
        now = {k: v for k, v in at(end).items() if k[1] == f.currency and v}
        before = {k: v for k, v in at(f.month).items() if k[1] == f.currency and v}
        assert f.mrr.amount_minor == sum(now.values())
        assert f.customers == len(now)
        assert f.start_mrr.amount_minor == sum(before.values())
        assert f.movements.net.amount_minor == sum(now.values()) - sum(before.values())
        assert f.churned_customers == len(set(before) - set(now))
        if f.logo_churn is not None:
            assert 0 <= f.logo_churn <= 1
        if f.net_revenue_retention is not None:
            assert f.net_revenue_retention >= 0
        seen.add((f.month, f.currency))
    for month in months:  # every month with MRR at its start or end is reported
        end = (month + timedelta(days=32)).replace(day=1)
        for currency in ("EUR", "JPY"):
            active = any(v for k, v in at(month).items() if k[1] == currency) or any(
                v for k, v in at(end).items() if k[1] == currency
            )
            assert ((month, currency) in seen) == active


def test_aging_buckets_and_percentages() -> None:
    due = date(2026, 3, 1)
    cases = [(0, "current"), (-5, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60")]
    cases += [(60, "31-60"), (61, "61-90"), (90, "61-90"), (91, "90+"), (400, "90+")]
    for late, bucket in cases:
        assert aging_bucket(due, due + timedelta(days=late)) == AgingBucket(bucket)
    assert percent(Fraction(1, 3)) == Decimal("33.3")
    assert percent(Fraction(1, 2000)) == Decimal("0.1")  # 0.05 % rounds half up
    assert percent(Fraction(3, 2)) == Decimal("150.0")
    assert month_starts(date(2025, 11, 15), date(2026, 2, 1)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        JAN,
        FEB,
    ]


@given(st.integers(min_value=-200, max_value=400))
def test_aging_bounds_agree_with_the_buckets(late: int) -> None:
    """The earliest due date of each bucket (what SQL compares with) puts every due date in
    the bucket aging_bucket names."""
    today = date(2026, 5, 20)
    due = today - timedelta(days=late)
    bounds = aging_earliest_due(today)
    found = next(bucket for bucket, earliest in bounds if earliest is None or due >= earliest)
    assert found == aging_bucket(due, today)
    assert [bucket for bucket, _ in bounds] == list(AgingBucket)
