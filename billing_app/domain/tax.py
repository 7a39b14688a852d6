"""Tax rates and per-line tax computation.

* A `TaxRate` is a name, a percentage (0..100, at most 4 decimals, as Decimal) and whether
  prices it applies to already include it (`inclusive`).
* A line may carry several rates (e.g. GST 5% + PST 7%). Rates are simple, not compound:
  each is computed on the line's net amount.
* Exclusive rates: tax per rate = net x percent / 100, rounded ROUND_HALF_UP per line and
  per rate. gross = net + sum(taxes).
* Inclusive rates: the amount is the gross. net = gross / (1 + sum of rates), rounded
  ROUND_HALF_UP; the tax is gross - net, split across the rates in proportion to their
  percentages by largest-remainder allocation. So net + sum(taxes) == gross, exactly.
* Mixing inclusive and exclusive rates on one line is refused: there is no single honest
  reading of "this price includes VAT but not the city tax" that users would agree on.
  Put such taxes on separate lines instead. The same tax name twice on a line is refused.

All arithmetic is on integers: a percentage with 4 decimals is an exact integer number of
parts per million of the rate (5% -> 50,000 ppm), so no Decimal is needed per line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Final

from billing_app.domain.errors import InvalidTaxCombination, InvalidTaxRate
from billing_app.domain.money import Money, _money, allocate_minor, div_half_up

__all__ = [
    "MAX_TAX_NAME_LENGTH",
    "PPM",
    "TaxAmount",
    "TaxBreakdown",
    "TaxRate",
    "check_line_rates",
    "compute_tax",
    "exclusive_taxes_minor",
    "split_inclusive_minor",
]

PPM: Final = 1_000_000
"""A rate of 1 (100 %) in parts per million."""

MAX_TAX_NAME_LENGTH: Final = 64


@dataclass(frozen=True, slots=True)
class TaxRate:
    """A named tax percentage, exclusive (added on top) or inclusive (contained in prices)."""

    name: str
    percent: Decimal
    inclusive: bool = False
    # Derived, not compared: the rate in parts per million (percent x 10,000, exact) and
    # the identity used to sum taxes per rate on an invoice: (name, parts per million).
    parts_per_million: int = field(init=False, repr=False, compare=False)
    key: tuple[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidTaxRate("Give the tax a name, such as VAT or GST.", field="name")
        name = self.name.strip()
        if len(name) > MAX_TAX_NAME_LENGTH:
            raise InvalidTaxRate(
                f"Tax names have at most {MAX_TAX_NAME_LENGTH} characters.", field="name"
            )
        object.__setattr__(self, "name", name)

        percent: object = self.percent
        if isinstance(percent, bool) or not isinstance(percent, Decimal | int):
            raise InvalidTaxRate(
                "Give the tax percentage as a Decimal such as 20 or 9.975.", field="percent"
            )
        if isinstance(percent, int):
            percent = Decimal(percent)
            object.__setattr__(self, "percent", percent)
        assert isinstance(percent, Decimal)
        if not percent.is_finite() or not 0 <= percent <= 100:
            raise InvalidTaxRate("A tax percentage must be between 0 and 100.", field="percent")
        scaled = Fraction(percent) * 10_000
        if scaled.denominator != 1:
            raise InvalidTaxRate("Tax percentages have at most 4 decimals.", field="percent")
        if not isinstance(self.inclusive, bool):
            raise InvalidTaxRate("Say whether prices include the tax (true or false).")
        object.__setattr__(self, "parts_per_million", scaled.numerator)
        object.__setattr__(self, "key", (name, scaled.numerator))

    @property
    def percent_text(self) -> str:
        """The percentage without trailing zeros: '5', '9.975', '100'."""
        return format(self.percent.normalize(), "f")

    @property
    def label(self) -> str:
        """'GST 5%', 'VAT 20% incl.'"""
        suffix = " incl." if self.inclusive else ""
        return f"{self.name} {self.percent_text}%{suffix}"


@dataclass(frozen=True, slots=True)
class TaxAmount:
    """The tax of one rate on one line (or summed over an invoice)."""

    rate: TaxRate
    amount: Money


def check_line_rates(rates: Sequence[TaxRate]) -> bool:
    """Validate the rates of one line; return True when they are inclusive.

    Raises InvalidTaxCombination when inclusive and exclusive rates are mixed or a tax name
    appears twice. An empty sequence is exclusive (no tax).
    """
    if not rates:
        return False
    if not all(isinstance(rate, TaxRate) for rate in rates):
        raise InvalidTaxCombination("Every tax on a line must be a tax rate.")
    inclusive = rates[0].inclusive
    seen: set[str] = set()
    for rate in rates:
        if rate.inclusive != inclusive:
            raise InvalidTaxCombination(
                "A line cannot mix taxes included in the price with taxes added on top; "
                "put them on separate lines.",
                field="tax_rates",
            )
        folded = rate.name.casefold()
        if folded in seen:
            raise InvalidTaxCombination(
                f"The tax {rate.name} is applied twice on this line.", field="tax_rates"
            )
        seen.add(folded)
    return inclusive


def exclusive_taxes_minor(net_minor: int, rates: Sequence[TaxRate]) -> list[int]:
    """Tax per rate on a net amount, each rounded ROUND_HALF_UP."""
    return [div_half_up(net_minor * rate.parts_per_million, PPM) for rate in rates]


def split_inclusive_minor(gross_minor: int, rates: Sequence[TaxRate]) -> tuple[int, list[int]]:
    """Split a tax-inclusive amount into (net, tax per rate) with net + sum(taxes) == gross.

    net = gross / (1 + sum of rates) rounded ROUND_HALF_UP; the remaining tax is allocated
    to the rates in proportion to their percentages (largest remainder).
    """
    if len(rates) == 1:
        net = div_half_up(gross_minor * PPM, PPM + rates[0].parts_per_million)
        return net, [gross_minor - net]
    weights = [rate.parts_per_million for rate in rates]
    total_ppm = sum(weights)
    if total_ppm == 0:
        return gross_minor, [0] * len(weights)
    net = div_half_up(gross_minor * PPM, PPM + total_ppm)
    return net, allocate_minor(gross_minor - net, weights)


@dataclass(frozen=True, slots=True)
class TaxBreakdown:
    """An amount split into net, tax per rate and gross (net + tax_total == gross)."""

    net: Money
    taxes: tuple[TaxAmount, ...]
    tax_total: Money
    gross: Money


def compute_tax(amount: Money, rates: Sequence[TaxRate]) -> TaxBreakdown:
    """Tax on one amount: `amount` is the net for exclusive rates, the gross for inclusive."""
    inclusive = check_line_rates(rates)
    currency = amount.currency
    if inclusive:
        net, taxes = split_inclusive_minor(amount.amount_minor, rates)
    else:
        net = amount.amount_minor
        taxes = exclusive_taxes_minor(net, rates)
    tax_total = sum(taxes)
    return TaxBreakdown(
        net=_money(net, currency),
        taxes=tuple(
            TaxAmount(rate, _money(tax, currency)) for rate, tax in zip(rates, taxes, strict=True)
        ),
        tax_total=_money(tax_total, currency),
        gross=_money(net + tax_total, currency),
    )
