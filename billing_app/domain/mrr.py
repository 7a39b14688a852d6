"""Monthly recurring revenue: normalising recurring prices to a month, and MRR movements.

Normalisation (exact, as a Fraction of minor units per month):

    every N months: price / N          every N years: price / (12 N)
    every N weeks:  price x 52 / (12 N) every N days: price x 365 / (12 N)

times the quantity. Totals add the exact fractions per currency and round once,
ROUND_HALF_UP, so the total never depends on how subscriptions are grouped. For speed the
sum is kept as integer numerators per (currency, denominator) - a handful of distinct
denominators in practice - and only turned into Fractions at the end.

Movements between two snapshots (id -> monthly amount) classify every id whose MRR changed:

    new           0 before, > 0 now, never had MRR before
    reactivation  0 before, > 0 now, had MRR at some earlier time (`ever_had_mrr`)
    expansion     more than before
    contraction   less than before but not zero
    churn         > 0 before, 0 now

Contraction and churn are reported as positive amounts; net = new + reactivation +
expansion - contraction - churn, which equals current MRR - previous MRR per currency. An
id whose currency changed contracts to zero in the old currency and expands from zero in
the new one (it did not churn).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Generic, TypeVar

from billing_app.domain.errors import InvalidAmount, InvalidQuantity
from billing_app.domain.money import Money, _money, div_half_up
from billing_app.domain.periods import Interval

__all__ = [
    "MovementKind",
    "MrrChange",
    "MrrMovementReport",
    "MrrMovements",
    "RecurringPrice",
    "arr_total",
    "monthly_amount",
    "monthly_money",
    "movement_kind",
    "mrr_movements",
    "mrr_total",
]

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class RecurringPrice:
    """A recurring charge: `amount` per `interval` for each of `quantity` units."""

    amount: Money
    interval: Interval
    quantity: int | Decimal = 1

    def __post_init__(self) -> None:
        quantity = self.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int | Decimal):
            raise InvalidQuantity("The quantity must be a number.", field="quantity")
        if isinstance(quantity, Decimal) and not quantity.is_finite():
            raise InvalidQuantity("The quantity must be a finite number.", field="quantity")
        if quantity < 0:
            raise InvalidQuantity("The quantity cannot be negative.", field="quantity")


def monthly_amount(amount: Money, interval: Interval, quantity: int | Decimal = 1) -> Fraction:
    """Exact minor units per month of `amount` billed every `interval`, times `quantity`."""
    return (
        Fraction(quantity)
        * amount.amount_minor
        * Fraction(interval.monthly_numerator, interval.monthly_denominator)
    )


def monthly_money(amount: Money, interval: Interval, quantity: int | Decimal = 1) -> Money:
    """`monthly_amount` rounded once, ROUND_HALF_UP, to the currency's minor unit."""
    exact = monthly_amount(amount, interval, quantity)
    return _money(div_half_up(exact.numerator, exact.denominator), amount.currency)


def _exact_totals(items: Iterable[RecurringPrice]) -> dict[str, Fraction]:
    # (currency, denominator) -> sum of numerators; Decimal quantities go to `exact`.
    numerators: dict[tuple[str, int], int] = {}
    exact: dict[str, Fraction] = {}
    get = numerators.get
    for item in items:
        price = item.amount
        interval = item.interval
        quantity = item.quantity
        if type(quantity) is int:
            key = (price.currency, interval.monthly_denominator)
            numerators[key] = (
                get(key, 0) + price.amount_minor * quantity * interval.monthly_numerator
            )
        else:
            currency = price.currency
            exact[currency] = exact.get(currency, Fraction(0)) + monthly_amount(
                price, interval, quantity
            )
    totals: dict[str, Fraction] = {}
    for (currency, denominator), numerator in numerators.items():
        totals[currency] = totals.get(currency, Fraction(0)) + Fraction(numerator, denominator)
    for currency, value in exact.items():
        totals[currency] = totals.get(currency, Fraction(0)) + value
    return totals


def mrr_total(items: Iterable[RecurringPrice]) -> dict[str, Money]:
    """MRR per currency: exact monthly amounts summed, then rounded once (ROUND_HALF_UP).

    Currencies are returned in sorted order; a currency with no items is absent.
    """
    totals = _exact_totals(items)
    return {
        currency: _money(div_half_up(value.numerator, value.denominator), currency)
        for currency, value in sorted(totals.items())
    }


def arr_total(items: Iterable[RecurringPrice]) -> dict[str, Money]:
    """Annual run rate per currency: exact MRR x 12, rounded once."""
    totals = _exact_totals(items)
    return {
        currency: _money(div_half_up(value.numerator * 12, value.denominator), currency)
        for currency, value in sorted(totals.items())
    }


# --------------------------------------------------------------------------- movements


class MovementKind(StrEnum):
    NEW = "new"
    REACTIVATION = "reactivation"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURN = "churn"


def movement_kind(before_minor: int, after_minor: int, *, ever_had: bool) -> MovementKind | None:
    """What one subscription's change of monthly amount is (None: no change): new or
    reactivation (from nothing: ``ever_had`` says it had MRR before), expansion, contraction,
    churn (to nothing)."""
    if before_minor == after_minor:
        return None
    if before_minor == 0:
        return MovementKind.REACTIVATION if ever_had else MovementKind.NEW
    if after_minor == 0:
        return MovementKind.CHURN
    return MovementKind.EXPANSION if after_minor > before_minor else MovementKind.CONTRACTION


@dataclass(frozen=True, slots=True)
class MrrChange(Generic[K]):
    """How one id's MRR moved between the snapshots (in one currency)."""

    key: K
    kind: MovementKind
    previous: Money
    current: Money

    @property
    def delta(self) -> Money:
        return self.current - self.previous


@dataclass(frozen=True, slots=True)
class MrrMovements:
    """Movement totals of one currency; contraction and churn are positive amounts."""

    currency: str
    new: Money
    reactivation: Money
    expansion: Money
    contraction: Money
    churn: Money

    @property
    def net(self) -> Money:
        """new + reactivation + expansion - contraction - churn."""
        return self.new + self.reactivation + self.expansion - self.contraction - self.churn


@dataclass(frozen=True, slots=True)
class MrrMovementReport(Generic[K]):
    """Per-currency movement totals and the per-id changes behind them."""

    totals: Mapping[str, MrrMovements]
    changes: tuple[MrrChange[K], ...]


def _checked(key: object, amount: Money | None) -> Money | None:
    if amount is None or amount.amount_minor == 0:
        return None
    if amount.amount_minor < 0:
        raise InvalidAmount(f"MRR cannot be negative ({key}: {amount}).")
    return amount


def mrr_movements(
    previous: Mapping[K, Money],
    current: Mapping[K, Money],
    ever_had_mrr: AbstractSet[K] = frozenset(),
) -> MrrMovementReport[K]:
    """Classify MRR changes between two snapshots (id -> monthly amount; absent or zero
    means no MRR). `ever_had_mrr` holds the ids that had MRR at any time before `current`
    (it may include the ids in `previous`); it separates reactivation from new."""
    changes: list[MrrChange[K]] = []
    sums: dict[str, dict[MovementKind, int]] = {}

    def record(key: K, kind: MovementKind, before: Money, after: Money) -> None:
        changes.append(MrrChange(key, kind, before, after))
        currency = after.currency
        magnitude = after.amount_minor - before.amount_minor
        if magnitude < 0:
            magnitude = -magnitude
        bucket = sums.setdefault(currency, dict.fromkeys(MovementKind, 0))
        bucket[kind] += magnitude

    for key in {**dict.fromkeys(previous), **dict.fromkeys(current)}:
        before = _checked(key, previous.get(key))
        after = _checked(key, current.get(key))
        if before is None and after is None:
            continue
        if before is None:
            assert after is not None
            kind = MovementKind.REACTIVATION if key in ever_had_mrr else MovementKind.NEW
            record(key, kind, Money.zero(after.currency), after)
        elif after is None:
            record(key, MovementKind.CHURN, before, Money.zero(before.currency))
        elif before.currency != after.currency:
            record(key, MovementKind.CONTRACTION, before, Money.zero(before.currency))
            record(key, MovementKind.EXPANSION, Money.zero(after.currency), after)
        elif after.amount_minor > before.amount_minor:
            record(key, MovementKind.EXPANSION, before, after)
        elif after.amount_minor < before.amount_minor:
            record(key, MovementKind.CONTRACTION, before, after)

    totals = {
        currency: MrrMovements(
            currency=currency,
            new=_money(bucket[MovementKind.NEW], currency),
            reactivation=_money(bucket[MovementKind.REACTIVATION], currency),
            expansion=_money(bucket[MovementKind.EXPANSION], currency),
            contraction=_money(bucket[MovementKind.CONTRACTION], currency),
            churn=_money(bucket[MovementKind.CHURN], currency),
        )
        for currency, bucket in sorted(sums.items())
    }
    return MrrMovementReport(totals=totals, changes=tuple(changes))
