"""Prorating a subscription change now: what the rest of the current period costs more (an
upgrade, charged at once) or less (a downgrade, credited), in exact integers.

A subscription's amount per period is quantity x unit price (before taxes, minor units). When it
changes from ``old`` to ``new`` on ``change_on`` inside the period [start, end), the rest of the
period is ``end - change_on`` days of its ``end - start`` days, and the difference is

    |new - old| x days left / period days,  rounded once ROUND_HALF_UP (halves away from zero)

charged when the amount goes up, credited when it goes down. Rounding the magnitude (not the
signed value) makes a change and its exact reverse on the same day cost and give back the very
same amount; the result is never negative; no day left (the change on the period's last
boundary) is zero. Taxes are not here: the caller prices the difference as one invoice line
with the product's taxes (domain/invoice_math.py), so exclusive and inclusive taxes follow the
rules of every other invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from billing_app.domain.errors import InvalidPeriod
from billing_app.domain.money import div_half_up
from billing_app.domain.periods import Period

__all__ = ["Proration", "period_amount", "prorate_now"]

MAX_AMOUNT = 10**15
"""Largest amount per period handled (minor units): far above any real subscription."""


def period_amount(quantity: int, unit_price_minor: int) -> int:
    """What one period costs before taxes (minor units)."""
    if quantity < 0 or unit_price_minor < 0:
        raise ValueError("A quantity and a price are never negative.")
    return quantity * unit_price_minor


@dataclass(frozen=True, slots=True)
class Proration:
    """The rest of ``period`` from ``change_on``: ``charge`` (an upgrade) or ``credit`` (a
    downgrade), before taxes, never both and never negative."""

    period: Period
    change_on: date
    days_left: int
    charge: int
    credit: int

    @property
    def net(self) -> int:
        """What the client pays more (> 0) or gets back (< 0)."""
        return self.charge - self.credit


def prorate_now(old_amount: int, new_amount: int, period: Period, change_on: date) -> Proration:
    """Prorate a change of a period's amount (before taxes, minor units) taking effect on
    ``change_on`` (from that day on), which must lie within ``period`` (its end included: then
    nothing is left of it)."""
    for amount in (old_amount, new_amount):
        if type(amount) is not int or not 0 <= amount <= MAX_AMOUNT:
            raise ValueError("An amount per period is a whole number of minor units, >= 0.")
    if not period.start <= change_on <= period.end:
        raise InvalidPeriod(
            "The change must take effect within the current period "
            f"({period.start.isoformat()} to {period.last_day.isoformat()})."
        )
    days_left = (period.end - change_on).days
    magnitude = div_half_up(abs(new_amount - old_amount) * days_left, period.days)
    if new_amount > old_amount:
        return Proration(period, change_on, days_left, magnitude, 0)
    return Proration(period, change_on, days_left, 0, magnitude)
