"""Which periods of a subscription are due to be billed, and how a run catches up.

A subscription is billed in advance, one invoice line per period, on the period's first day
(in the agency's time zone). ``next_billing_on`` is the first day of the first period not billed
yet; periods come from domain/periods.py, anchored on the first billing day (the trial's end,
else the start), so a monthly subscription started on Jan 31 bills Feb 28/29, Mar 31, ...

A run on ``today`` looks at every period that started on or before ``today`` and was not billed:

* the oldest ones are billed, up to ``cap`` periods per subscription (the agency's catch-up
  limit after downtime);
* the rest are *held*: not billed, listed for staff to bill or skip; the subscription moves past
  them, so the next run does not bill them either;
* more than ``bound`` due periods (a runaway: a start date decades ago, a clock gone wrong) bills
  nothing for the subscription and says so.

A subscription canceled at the end of its period bills nothing from ``ends_on`` on; a one-time
purchase is a single period (billed once, its line without a service period).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Final

from billing_app.domain.errors import InvalidPeriod
from billing_app.domain.periods import Interval, Period, period, period_at

__all__ = ["DEFAULT_CAP", "RUNAWAY_BOUND", "RenewalPlan", "due_periods"]

DEFAULT_CAP: Final = 3
"""Periods billed per subscription in one run unless the agency says otherwise."""
RUNAWAY_BOUND: Final = 120
"""More due periods than this for one subscription is refused as a runaway."""


@dataclass(frozen=True, slots=True)
class RenewalPlan:
    """What one run does with one subscription."""

    bill: tuple[Period, ...]
    """Periods to invoice now, oldest first."""
    held: tuple[Period, ...]
    """Due periods beyond the cap: not billed; staff bill or skip them."""
    runaway: bool = False
    """More than the bound were due: nothing is billed."""
    next_billing_on: date | None = None
    """The first day of the first period left for later runs (None: nothing more to bill)."""


def _due(
    anchor: date, interval: Interval, first_unbilled: date, today: date, ends_on: date | None
) -> Iterator[Period]:
    index, current = period_at(anchor, interval, first_unbilled)
    if current.start != first_unbilled:
        raise InvalidPeriod("The next billing day is not the start of a period.")
    while current.start <= today and (ends_on is None or current.start < ends_on):
        yield current
        index += 1
        current = period(anchor, interval, index)


def due_periods(
    anchor: date,
    interval: Interval,
    next_billing_on: date | None,
    today: date,
    *,
    cap: int = DEFAULT_CAP,
    bound: int = RUNAWAY_BOUND,
    ends_on: date | None = None,
    held_before: frozenset[date] = frozenset(),
) -> RenewalPlan:
    """The periods a run on ``today`` bills and holds for a recurring subscription whose first
    unbilled period starts on ``next_billing_on`` (None: it bills nothing more). Periods an
    earlier run held (their first days in ``held_before``) are neither billed nor held again:
    a run that stopped half-way and runs again bills what is left, never beyond the cap."""
    if cap < 1 or bound < cap:
        raise InvalidPeriod("The catch-up limit must be at least 1 and below the safety bound.")
    if next_billing_on is None or next_billing_on > today:
        return RenewalPlan((), (), next_billing_on=next_billing_on)
    due: list[Period] = []
    last: Period | None = None
    for due_period in _due(anchor, interval, next_billing_on, today, ends_on):
        last = due_period
        if due_period.start in held_before:
            continue
        due.append(due_period)
        if len(due) > bound:
            return RenewalPlan((), (), runaway=True, next_billing_on=next_billing_on)
    if last is None:
        return RenewalPlan((), (), next_billing_on=None if ends_on else next_billing_on)
    after = last.end
    following = None if ends_on is not None and after >= ends_on else after
    return RenewalPlan(tuple(due[:cap]), tuple(due[cap:]), next_billing_on=following)
