"""Intervals, renewal dates (anchored, clamped to month end), periods and proration."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from fractions import Fraction
from itertools import islice, pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_app.domain.errors import InvalidInterval, InvalidPeriod
from billing_app.domain.money import Money
from billing_app.domain.periods import (
    Interval,
    IntervalUnit,
    Period,
    next_renewal,
    nth_renewal,
    period,
    period_at,
    period_end,
    periods,
    prorate,
    prorate_change,
    proration_factor,
)

intervals = st.builds(
    Interval, st.sampled_from(list(IntervalUnit)), st.integers(min_value=1, max_value=14)
)
anchors = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


# --------------------------------------------------------------------------- intervals


@pytest.mark.parametrize(
    ("interval", "label"),
    [
        (Interval.days(), "daily"),
        (Interval.days(10), "every 10 days"),
        (Interval.weeks(), "weekly"),
        (Interval.weeks(4), "every 4 weeks"),
        (Interval.months(), "monthly"),
        (Interval.months(3), "every 3 months"),
        (Interval.years(), "yearly"),
        (Interval.years(2), "every 2 years"),
    ],
)
def test_interval_labels(interval: Interval, label: str) -> None:
    assert interval.label == label
    assert str(interval) == label


def test_interval_accepts_stored_unit_strings_and_compares_by_value() -> None:
    assert Interval("month", 3) == Interval.months(3)  # type: ignore[arg-type]
    assert hash(Interval("week", 2)) == hash(Interval.weeks(2))  # type: ignore[arg-type]
    assert Interval.weeks(4).monthly_factor == Fraction(13, 12)
    assert Interval.years(2).monthly_factor == Fraction(1, 24)


@pytest.mark.parametrize("count", [0, -1, 1001, True, 1.0])
def test_interval_count_out_of_range_is_refused(count: object) -> None:
    with pytest.raises(InvalidInterval) as exc:
        Interval(IntervalUnit.MONTH, count)  # type: ignore[arg-type]
    assert exc.value.message == "The interval count must be a whole number from 1 to 1000."
    assert exc.value.field == "interval_count"


def test_interval_unit_unknown_is_refused() -> None:
    with pytest.raises(InvalidInterval) as exc:
        Interval("fortnight", 1)  # type: ignore[arg-type]
    assert (
        exc.value.message == "'fortnight' is not a billing interval; use day, week, month or year."
    )


# --------------------------------------------------------------------------- renewals


def test_monthly_from_jan_31_clamps_and_returns_to_31() -> None:
    anchor = date(2024, 1, 31)
    monthly = Interval.months()
    assert [nth_renewal(anchor, monthly, n) for n in range(4)] == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]


def test_yearly_from_feb_29() -> None:
    anchor = date(2024, 2, 29)
    yearly = Interval.years()
    assert nth_renewal(anchor, yearly, 1) == date(2025, 2, 28)
    assert nth_renewal(anchor, yearly, 4) == date(2028, 2, 29)


def test_next_renewal_is_strictly_after() -> None:
    anchor, monthly = date(2023, 1, 31), Interval.months()
    assert next_renewal(anchor, monthly, date(2023, 1, 30)) == date(2023, 1, 31)
    assert next_renewal(anchor, monthly, date(2023, 1, 31)) == date(2023, 2, 28)
    assert next_renewal(anchor, monthly, date(2024, 2, 28)) == date(2024, 2, 29)
    assert next_renewal(anchor, monthly, date(2024, 2, 29)) == date(2024, 3, 31)
    # A subscription that has not started yet: its first billing date is the anchor.
    assert next_renewal(anchor, monthly, date(2020, 6, 1)) == anchor
    assert next_renewal(date(2026, 1, 5), Interval.weeks(4), date(2026, 2, 2)) == date(2026, 3, 2)


def test_period_at_and_period_end() -> None:
    anchor, monthly = date(2023, 1, 31), Interval.months()
    index, found = period_at(anchor, monthly, date(2024, 3, 30))
    assert index == 13
    assert found == Period(date(2024, 2, 29), date(2024, 3, 31))
    assert found.days == 31
    assert found.last_day == date(2024, 3, 30)
    assert date(2024, 3, 30) in found and date(2024, 3, 31) not in found
    assert period_end(anchor, monthly, 0) == date(2023, 2, 28)
    assert period(anchor, monthly, 0) == Period(date(2023, 1, 31), date(2023, 2, 28))


def test_periods_until_stops_before_a_period_starting_on_until() -> None:
    starts = [p.start for p in periods(date(2026, 1, 1), Interval.months(), until=date(2026, 4, 1))]
    assert starts == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert next(periods(date(2026, 1, 1), Interval.months(), first=2)).start == date(2026, 3, 1)


def test_period_error_paths() -> None:
    with pytest.raises(InvalidPeriod, match=r"^A period must end after it starts\.$"):
        Period(date(2026, 1, 2), date(2026, 1, 2))
    with pytest.raises(InvalidPeriod, match=r"^The renewal number cannot be negative\.$"):
        nth_renewal(date(2026, 1, 1), Interval.months(), -1)
    with pytest.raises(InvalidPeriod, match=r"^The date is before the subscription starts\.$"):
        period_at(date(2026, 1, 1), Interval.months(), date(2025, 12, 31))
    with pytest.raises(InvalidPeriod, match=r"^The first period number cannot be negative\.$"):
        next(periods(date(2026, 1, 1), Interval.months(), first=-1))
    with pytest.raises(InvalidPeriod, match=r"supported range \(years 1-9999\)"):
        nth_renewal(date(9999, 1, 1), Interval.years(), 1)
    with pytest.raises(InvalidPeriod, match=r"supported range \(years 1-9999\)"):
        nth_renewal(date(9999, 12, 1), Interval.days(1000), 1)


@given(anchors, intervals)
def test_periods_are_increasing_contiguous_and_keep_the_anchor_day(
    anchor: date, interval: Interval
) -> None:
    sequence = list(islice(periods(anchor, interval), 40))
    assert sequence[0].start == anchor
    for previous, current in pairwise(sequence):
        assert previous.start < previous.end == current.start < current.end
    for n, item in enumerate(sequence):
        assert item.start == nth_renewal(anchor, interval, n)
        if interval.unit in (IntervalUnit.MONTH, IntervalUnit.YEAR):
            last_day = calendar.monthrange(item.start.year, item.start.month)[1]
            # The anchor day where the month allows, else the month's last day.
            assert item.start.day == min(anchor.day, last_day)
            step = interval.count * (12 if interval.unit is IntervalUnit.YEAR else 1)
            months = (item.start.year - anchor.year) * 12 + item.start.month - anchor.month
            assert months == n * step
        else:
            step_days = interval.count * (7 if interval.unit is IntervalUnit.WEEK else 1)
            assert item.days == step_days


@given(anchors, intervals, st.integers(min_value=-400, max_value=4000))
def test_next_renewal_is_the_first_renewal_strictly_after(
    anchor: date, interval: Interval, offset: int
) -> None:
    after = anchor + timedelta(days=offset)
    found = next_renewal(anchor, interval, after)
    assert found > after
    if found != anchor:
        index, containing = period_at(anchor, interval, after)
        assert containing.end == found
        assert containing.start <= after < containing.end
        assert nth_renewal(anchor, interval, index) == containing.start
    else:
        assert after < anchor


# --------------------------------------------------------------------------- proration


def test_prorate_by_days() -> None:
    april = Period(date(2026, 4, 1), date(2026, 5, 1))
    assert prorate(Money(3000, "EUR"), april, date(2026, 4, 11), date(2026, 5, 1)) == Money(
        2000, "EUR"
    )
    assert prorate(Money(3000, "EUR"), april, date(2026, 4, 1), date(2026, 5, 1)) == Money(
        3000, "EUR"
    )
    assert prorate(Money(3000, "EUR"), april, date(2026, 4, 5), date(2026, 4, 5)) == Money(0, "EUR")
    assert proration_factor(april, date(2026, 4, 16), date(2026, 5, 1)) == Fraction(1, 2)


def test_prorate_outside_the_period_is_refused() -> None:
    april = Period(date(2026, 4, 1), date(2026, 5, 1))
    with pytest.raises(InvalidPeriod) as exc:
        prorate(Money(3000, "EUR"), april, date(2026, 3, 31), date(2026, 4, 10))
    assert exc.value.message == (
        "The prorated dates must fall within the billing period (2026-04-01 to 2026-04-30)."
    )
    with pytest.raises(InvalidPeriod):
        prorate(Money(3000, "EUR"), april, date(2026, 4, 20), date(2026, 4, 10))


def test_prorate_change_upgrade_and_downgrade() -> None:
    april = Period(date(2026, 4, 1), date(2026, 5, 1))
    upgrade = prorate_change(Money(3000, "EUR"), Money(6000, "EUR"), april, date(2026, 4, 16))
    assert upgrade.credit == Money(-1500, "EUR")
    assert upgrade.charge == Money(3000, "EUR")
    assert upgrade.net == Money(1500, "EUR")
    downgrade = prorate_change(Money(6000, "EUR"), Money(3000, "EUR"), april, date(2026, 4, 16))
    assert downgrade.net == Money(-1500, "EUR")


@given(
    st.integers(-(10**9), 10**9),
    st.sampled_from(["EUR", "JPY", "KWD"]),
    st.integers(1, 400),
    st.data(),
)
def test_proration_is_exact_then_rounded_once(
    amount: int, currency: str, length: int, data: st.DataObject
) -> None:
    start = date(2024, 1, 1)
    billing = Period(start, start + timedelta(days=length))
    used_from = start + timedelta(days=data.draw(st.integers(0, length)))
    used_to = used_from + timedelta(days=data.draw(st.integers(0, (billing.end - used_from).days)))
    result = prorate(Money(amount, currency), billing, used_from, used_to)
    exact = Fraction(amount * (used_to - used_from).days, length)
    assert abs(result.amount_minor - exact) <= Fraction(1, 2)
    # Splitting a period in two never loses more than a unit to rounding.
    rest = prorate(Money(amount, currency), billing, billing.start, used_from) + prorate(
        Money(amount, currency), billing, used_from, billing.end
    )
    assert abs(rest.amount_minor - amount) <= 1


# --------------------------------------------------------------------------- edges


def test_a_period_covers_its_first_day_but_not_its_end() -> None:
    april = Period(date(2026, 4, 1), date(2026, 5, 1))
    assert april.start in april
    assert april.last_day in april
    assert april.end not in april
    assert date(2026, 3, 31) not in april
    assert "2026-04-01" not in april


def test_renewals_reach_the_first_and_last_supported_years() -> None:
    monthly = Interval.months()
    assert nth_renewal(date(1, 1, 31), monthly, 0) == date(1, 1, 31)
    assert nth_renewal(date(1, 1, 31), monthly, 1) == date(1, 2, 28)
    assert nth_renewal(date(9998, 12, 31), monthly, 12) == date(9999, 12, 31)
    assert nth_renewal(date(9999, 1, 1), Interval.years(), 0) == date(9999, 1, 1)


@pytest.mark.parametrize(
    ("anchor", "interval", "n"),
    [
        (date(9999, 12, 31), Interval.months(), 1),
        (date(9999, 1, 1), Interval.years(), 1),
        (date(9999, 12, 1), Interval.days(1000), 1),
        (date(9999, 12, 1), Interval.weeks(10), 1),
    ],
)
def test_renewals_past_year_9999_are_explained(anchor: date, interval: Interval, n: int) -> None:
    with pytest.raises(InvalidPeriod) as exc:
        nth_renewal(anchor, interval, n)
    assert exc.value.message == "The date would fall outside the supported range (years 1-9999)."
