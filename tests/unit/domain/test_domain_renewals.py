"""Which periods a run bills (domain/renewals.py): month ends, the catch-up limit, held periods,
runaways, cancellations at period end."""

from __future__ import annotations

from datetime import date

import pytest

from billing_app.domain.errors import InvalidPeriod
from billing_app.domain.periods import Interval, Period
from billing_app.domain.renewals import DEFAULT_CAP, RUNAWAY_BOUND, due_periods

MONTHLY = Interval.months(1)


def starts(periods: tuple[Period, ...]) -> list[date]:
    return [p.start for p in periods]


def test_nothing_is_due_before_the_first_day_or_once_billing_stopped() -> None:
    assert due_periods(date(2026, 1, 31), MONTHLY, date(2026, 2, 28), date(2026, 2, 27)).bill == ()
    plan = due_periods(date(2026, 1, 31), MONTHLY, None, date(2026, 6, 1))
    assert (plan.bill, plan.held, plan.next_billing_on) == ((), (), None)


def test_a_period_is_due_on_its_first_day_and_month_ends_follow_the_anchor() -> None:
    plan = due_periods(date(2026, 1, 31), MONTHLY, date(2026, 2, 28), date(2026, 2, 28))
    assert plan.bill == (Period(date(2026, 2, 28), date(2026, 3, 31)),)
    assert plan.next_billing_on == date(2026, 3, 31)
    leap = due_periods(date(2024, 1, 31), MONTHLY, date(2024, 2, 29), date(2024, 2, 29))
    assert leap.bill == (Period(date(2024, 2, 29), date(2024, 3, 31)),)


def test_after_downtime_the_oldest_are_billed_up_to_the_cap_and_the_rest_held() -> None:
    plan = due_periods(date(2026, 1, 31), MONTHLY, date(2026, 1, 31), date(2026, 6, 30))
    assert DEFAULT_CAP == 3
    assert starts(plan.bill) == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    assert starts(plan.held) == [date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30)]
    assert plan.next_billing_on == date(2026, 7, 31)
    one = due_periods(date(2026, 1, 31), MONTHLY, date(2026, 1, 31), date(2026, 6, 30), cap=1)
    assert (len(one.bill), len(one.held)) == (1, 5)


def test_periods_held_before_are_not_billed_nor_held_again() -> None:
    held = frozenset({date(2026, 4, 30), date(2026, 5, 31)})
    plan = due_periods(
        date(2026, 1, 31), MONTHLY, date(2026, 3, 31), date(2026, 5, 31), held_before=held
    )
    assert starts(plan.bill) == [date(2026, 3, 31)]
    assert plan.held == ()
    assert plan.next_billing_on == date(2026, 6, 30)


def test_a_runaway_bills_nothing() -> None:
    days = Interval.days(1)
    ok = due_periods(date(2026, 1, 1), days, date(2026, 1, 1), date(2026, 4, 30))
    assert not ok.runaway and len(ok.bill) + len(ok.held) == RUNAWAY_BOUND
    plan = due_periods(date(2026, 1, 1), days, date(2026, 1, 1), date(2026, 5, 1))
    assert plan.runaway and plan.bill == () and plan.held == ()
    assert plan.next_billing_on == date(2026, 1, 1)  # left as it was


def test_a_cancellation_at_period_end_stops_billing_at_its_end() -> None:
    ends = date(2026, 4, 30)
    plan = due_periods(
        date(2026, 1, 31), MONTHLY, date(2026, 3, 31), date(2026, 6, 1), ends_on=ends
    )
    assert starts(plan.bill) == [date(2026, 3, 31)]
    assert plan.next_billing_on is None
    over = due_periods(
        date(2026, 1, 31), MONTHLY, date(2026, 4, 30), date(2026, 6, 1), ends_on=ends
    )
    assert (over.bill, over.next_billing_on) == ((), None)


def test_wrong_limits_and_a_billing_day_off_the_schedule_are_refused() -> None:
    with pytest.raises(InvalidPeriod):
        due_periods(date(2026, 1, 31), MONTHLY, date(2026, 1, 31), date(2026, 2, 1), cap=0)
    with pytest.raises(InvalidPeriod):
        due_periods(date(2026, 1, 31), MONTHLY, date(2026, 1, 31), date(2026, 2, 1), cap=5, bound=4)
    with pytest.raises(InvalidPeriod, match="not the start of a period"):
        due_periods(date(2026, 1, 31), MONTHLY, date(2026, 2, 3), date(2026, 3, 1))
