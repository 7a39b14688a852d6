"""Prorating a change now: exact integers, half-up on the prorated difference, symmetric."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_app.domain.errors import InvalidPeriod
from billing_app.domain.periods import Interval, Period, period_at
from billing_app.domain.proration import period_amount, prorate_now

MARCH = Period(date(2025, 3, 1), date(2025, 4, 1))  # 31 days


def test_upgrade_mid_month_charges_the_rest_of_the_period() -> None:
    # 2 x 50.00 -> 3 x 50.00 on March 11: 21 of 31 days left of 50.00 = 33.870... -> 33.87
    result = prorate_now(10_000, 15_000, MARCH, date(2025, 3, 11))
    assert (result.days_left, result.charge, result.credit, result.net) == (21, 3387, 0, 3387)


def test_downgrade_credits_the_same_amount_the_upgrade_charges() -> None:
    up = prorate_now(10_000, 15_000, MARCH, date(2025, 3, 11))
    down = prorate_now(15_000, 10_000, MARCH, date(2025, 3, 11))
    assert (down.charge, down.credit, down.net) == (0, up.charge, -up.charge)


def test_halves_round_up_on_the_magnitude() -> None:
    two_days = Period(date(2025, 1, 1), date(2025, 1, 3))
    assert prorate_now(0, 1, two_days, date(2025, 1, 2)).charge == 1  # 0.5 -> 1
    assert prorate_now(1, 0, two_days, date(2025, 1, 2)).credit == 1  # not 0 (-0.5 half-down)


def test_a_change_on_the_first_day_costs_the_whole_difference() -> None:
    assert prorate_now(1000, 4000, MARCH, MARCH.start).charge == 3000


def test_no_day_left_costs_nothing() -> None:
    result = prorate_now(1000, 999_999, MARCH, MARCH.end)
    assert (result.days_left, result.charge, result.credit) == (0, 0, 0)


def test_no_difference_costs_nothing() -> None:
    assert prorate_now(5000, 5000, MARCH, date(2025, 3, 20)).net == 0


def test_february_of_a_leap_year_has_29_days() -> None:
    period = period_at(date(2024, 1, 31), Interval.months(), date(2024, 2, 15))[1]
    assert period == Period(date(2024, 1, 31), date(2024, 2, 29))
    assert prorate_now(0, 2900, period, date(2024, 2, 15)).charge == 1400  # 14 of 29 days


@pytest.mark.parametrize("day", [date(2025, 2, 28), date(2025, 4, 2)])
def test_a_day_outside_the_period_is_refused(day: date) -> None:
    with pytest.raises(InvalidPeriod):
        prorate_now(1, 2, MARCH, day)


@pytest.mark.parametrize("old,new", [(-1, 5), (5, -1), (10**16, 0)])
def test_amounts_out_of_range_are_refused(old: int, new: int) -> None:
    with pytest.raises(ValueError):
        prorate_now(old, new, MARCH, date(2025, 3, 5))


def test_period_amount_is_quantity_times_price() -> None:
    assert period_amount(3, 1999) == 5997
    with pytest.raises(ValueError):
        period_amount(-1, 5)


amounts = st.integers(min_value=0, max_value=10**12)


@given(
    amounts,
    amounts,
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
    st.integers(min_value=1, max_value=800),
    st.data(),
)
def test_charge_and_credit_are_consistent_and_never_negative(
    old: int, new: int, start: date, days: int, data: st.DataObject
) -> None:
    period = Period(start, start + timedelta(days=days))
    on = start + timedelta(days=data.draw(st.integers(min_value=0, max_value=days)))
    up = prorate_now(old, new, period, on)
    down = prorate_now(new, old, period, on)
    assert up.charge >= 0 and up.credit >= 0 and up.charge * up.credit == 0
    # The reverse change on the same day gives back exactly what the change cost.
    assert up.net == -down.net
    # Never more than the whole difference, never off the exact value by more than half a unit.
    exact_twice = 2 * abs(new - old) * up.days_left
    assert abs(2 * abs(up.net) * days - exact_twice) <= days
    assert abs(up.net) <= abs(new - old)
    if on == period.end or new == old:
        assert up.net == 0
    if on == period.start:
        assert up.net == new - old


def test_the_amount_bounds_and_kinds_are_exact() -> None:
    from billing_app.domain.proration import MAX_AMOUNT

    day = date(2025, 3, 5)
    assert prorate_now(0, MAX_AMOUNT, MARCH, day).charge > 0  # both bounds accepted
    assert prorate_now(MAX_AMOUNT, 0, MARCH, day).credit > 0
    for old, new in ((MAX_AMOUNT + 1, 0), (0, MAX_AMOUNT + 1), (True, 5), (5, 2.0), (-1, 0)):
        with pytest.raises(ValueError, match="whole number of minor units, >= 0"):
            prorate_now(old, new, MARCH, day)  # type: ignore[arg-type]
    with pytest.raises(InvalidPeriod, match=r"current period \(2025-03-01 to 2025-03-31\)"):
        prorate_now(1, 2, MARCH, date(2025, 4, 2))
    assert prorate_now(100, 200, MARCH, MARCH.start).days_left == 31
    assert prorate_now(100, 200, MARCH, MARCH.end).days_left == 0
    assert period_amount(0, 0) == 0 and period_amount(4, 0) == 0
    for quantity, price in ((-1, 5), (5, -1)):
        with pytest.raises(ValueError, match="never negative"):
            period_amount(quantity, price)
