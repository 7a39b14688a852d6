"""Billing intervals, renewal dates, periods and proration.

Renewal n of a subscription is always computed from its anchor (start) date, never by
chaining from the previous renewal, so month-end dates do not drift:

    monthly from Jan 31:   Jan 31, Feb 28 (29 in leap years), Mar 31, Apr 30, May 31, ...
    yearly from Feb 29:    Feb 29 2024, Feb 28 2025, ..., Feb 29 2028
    every 4 weeks:         anchor + 28 * n days

Month and year intervals keep the anchor's day of month and clamp it to the last day of
shorter months. Periods are half-open: `Period(start, end)` covers `start` up to but not
including `end`, and each period's end is the next period's start.

Dates are plain `datetime.date` values in the agency's time zone; nothing here asks for
"today" - callers pass the dates in.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Final

from billing_app.domain.errors import InvalidInterval, InvalidPeriod
from billing_app.domain.money import Money, _money, div_half_up

__all__ = [
    "MAX_INTERVAL_COUNT",
    "Interval",
    "IntervalUnit",
    "Period",
    "ProratedChange",
    "next_renewal",
    "nth_renewal",
    "period",
    "period_at",
    "period_end",
    "periods",
    "prorate",
    "prorate_change",
    "proration_factor",
]

MAX_INTERVAL_COUNT: Final = 1000
"""Largest `count` of an interval ("every 1000 days" is allowed, "every 1001" is not)."""


class IntervalUnit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


_ADVERB: Final = {
    IntervalUnit.DAY: "daily",
    IntervalUnit.WEEK: "weekly",
    IntervalUnit.MONTH: "monthly",
    IntervalUnit.YEAR: "yearly",
}

# Monthly-recurring-revenue factor of one unit, as (numerator, denominator):
# a price per day is worth 365/12 of it per month, per week 52/12, per year 1/12.
_MONTHLY_FACTOR: Final = {
    IntervalUnit.DAY: (365, 12),
    IntervalUnit.WEEK: (52, 12),
    IntervalUnit.MONTH: (1, 1),
    IntervalUnit.YEAR: (1, 12),
}


@dataclass(frozen=True, slots=True)
class Interval:
    """A recurring billing interval: every `count` `unit`s (count >= 1)."""

    unit: IntervalUnit
    count: int = 1
    # Exact monthly factor of a price billed at this interval, as numerator/denominator;
    # precomputed because MRR over 100,000 subscriptions reads it once per subscription.
    monthly_numerator: int = field(init=False, repr=False, compare=False)
    monthly_denominator: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unit = self.unit
        if not isinstance(unit, IntervalUnit):
            try:
                unit = IntervalUnit(unit)
            except ValueError:
                raise InvalidInterval(
                    f"{unit!r} is not a billing interval; use day, week, month or year.",
                    field="interval_unit",
                ) from None
            object.__setattr__(self, "unit", unit)
        count = self.count
        if type(count) is not int or not 1 <= count <= MAX_INTERVAL_COUNT:
            raise InvalidInterval(
                f"The interval count must be a whole number from 1 to {MAX_INTERVAL_COUNT}.",
                field="interval_count",
            )
        numerator, denominator = _MONTHLY_FACTOR[unit]
        object.__setattr__(self, "monthly_numerator", numerator)
        object.__setattr__(self, "monthly_denominator", denominator * count)

    @classmethod
    def days(cls, count: int = 1) -> Interval:
        return cls(IntervalUnit.DAY, count)

    @classmethod
    def weeks(cls, count: int = 1) -> Interval:
        return cls(IntervalUnit.WEEK, count)

    @classmethod
    def months(cls, count: int = 1) -> Interval:
        return cls(IntervalUnit.MONTH, count)

    @classmethod
    def years(cls, count: int = 1) -> Interval:
        return cls(IntervalUnit.YEAR, count)

    @property
    def label(self) -> str:
        """'monthly', 'every 4 weeks', 'yearly', 'every 2 years', 'daily', ..."""
        if self.count == 1:
            return _ADVERB[self.unit]
        return f"every {self.count} {self.unit.value}s"

    @property
    def monthly_factor(self) -> Fraction:
        """What one price at this interval is worth per month (weekly: 52/12, yearly: 1/12)."""
        return Fraction(self.monthly_numerator, self.monthly_denominator)

    @property
    def step_days(self) -> int | None:
        """Length in days for day/week intervals; None for calendar (month/year) intervals."""
        if self.unit is IntervalUnit.DAY:
            return self.count
        if self.unit is IntervalUnit.WEEK:
            return 7 * self.count
        return None

    @property
    def step_months(self) -> int | None:
        """Length in months for month/year intervals; None for day/week intervals."""
        if self.unit is IntervalUnit.MONTH:
            return self.count
        if self.unit is IntervalUnit.YEAR:
            return 12 * self.count
        return None

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open date range [start, end): `end` is the first day not covered."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise InvalidPeriod("A period must end after it starts.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        """The last day covered (inclusive), for display: 'Jan 31 - Feb 27'."""
        return self.end - timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end


# --------------------------------------------------------------------------- renewal dates


def _add_months(anchor: date, months: int) -> date:
    month_index = anchor.year * 12 + (anchor.month - 1) + months
    year, month0 = divmod(month_index, 12)
    if not 1 <= year <= 9999:
        raise InvalidPeriod("The date would fall outside the supported range (years 1-9999).")
    month = month0 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def nth_renewal(anchor: date, interval: Interval, n: int) -> date:
    """Start date of period n (n = 0 is the anchor itself), computed from the anchor."""
    if type(n) is not int or n < 0:
        raise InvalidPeriod("The renewal number cannot be negative.")
    step_months = interval.step_months
    if step_months is not None:
        return _add_months(anchor, step_months * n)
    step_days = interval.step_days
    assert step_days is not None
    try:
        return anchor + timedelta(days=step_days * n)
    except OverflowError:
        raise InvalidPeriod(
            "The date would fall outside the supported range (years 1-9999)."
        ) from None


def period_end(anchor: date, interval: Interval, n: int) -> date:
    """Exclusive end of period n, i.e. the start of period n + 1."""
    return nth_renewal(anchor, interval, n + 1)


def period(anchor: date, interval: Interval, n: int) -> Period:
    """Period n: [nth_renewal(n), nth_renewal(n + 1))."""
    return Period(nth_renewal(anchor, interval, n), nth_renewal(anchor, interval, n + 1))


def _first_index_after(anchor: date, interval: Interval, after: date) -> int:
    """Smallest n with nth_renewal(anchor, interval, n) > after."""
    if after < anchor:
        return 0
    step_days = interval.step_days
    if step_days is not None:
        return (after - anchor).days // step_days + 1
    step_months = interval.step_months
    assert step_months is not None
    months_between = (after.year - anchor.year) * 12 + (after.month - anchor.month)
    n = months_between // step_months
    # nth_renewal(n) lies in a month no later than `after`'s, so at most two steps remain.
    while nth_renewal(anchor, interval, n) <= after:
        n += 1
    return n


def next_renewal(anchor: date, interval: Interval, after: date) -> date:
    """First renewal date strictly after `after`.

    When `after` is before the anchor the anchor itself is returned (the first billing
    date of a subscription that has not started yet).
    """
    return nth_renewal(anchor, interval, _first_index_after(anchor, interval, after))


def period_at(anchor: date, interval: Interval, day: date) -> tuple[int, Period]:
    """The index and the period that contains `day` (which must not be before the anchor)."""
    if day < anchor:
        raise InvalidPeriod("The date is before the subscription starts.")
    index = _first_index_after(anchor, interval, day) - 1
    return index, period(anchor, interval, index)


def periods(
    anchor: date, interval: Interval, *, first: int = 0, until: date | None = None
) -> Iterator[Period]:
    """Periods first, first + 1, ... in order; endless unless `until` is given, in which
    case it stops before the first period that starts on or after `until`."""
    if type(first) is not int or first < 0:
        raise InvalidPeriod("The first period number cannot be negative.")
    n = first
    start = nth_renewal(anchor, interval, n)
    while until is None or start < until:
        end = nth_renewal(anchor, interval, n + 1)
        yield Period(start, end)
        n += 1
        start = end


# --------------------------------------------------------------------------- proration


def proration_factor(billing_period: Period, used_from: date, used_to: date) -> Fraction:
    """Exact share of the period covered by [used_from, used_to), counted in days."""
    if not billing_period.start <= used_from <= used_to <= billing_period.end:
        raise InvalidPeriod(
            "The prorated dates must fall within the billing period "
            f"({billing_period.start.isoformat()} to {billing_period.last_day.isoformat()})."
        )
    return Fraction((used_to - used_from).days, billing_period.days)


def prorate(amount: Money, billing_period: Period, used_from: date, used_to: date) -> Money:
    """The part of `amount` (the price of the whole period) for [used_from, used_to).

    amount x used days / period days, computed exactly and rounded once ROUND_HALF_UP.
    """
    factor = proration_factor(billing_period, used_from, used_to)
    return _money(
        div_half_up(amount.amount_minor * factor.numerator, factor.denominator), amount.currency
    )


@dataclass(frozen=True, slots=True)
class ProratedChange:
    """A mid-period price change: a credit for the unused old price (negative or zero),
    a charge for the new price over the rest of the period, and their sum."""

    credit: Money
    charge: Money
    net: Money


def prorate_change(
    old_amount: Money, new_amount: Money, billing_period: Period, change_on: date
) -> ProratedChange:
    """Proration when the price of a period changes on `change_on` (from that day on).

    credit = -prorate(old, change_on..end), charge = prorate(new, change_on..end), each
    rounded once; net = credit + charge (so a downgrade has a negative net).
    """
    remaining_credit = prorate(old_amount, billing_period, change_on, billing_period.end)
    charge = prorate(new_amount, billing_period, change_on, billing_period.end)
    credit = -remaining_credit
    return ProratedChange(credit=credit, charge=charge, net=credit + charge)
