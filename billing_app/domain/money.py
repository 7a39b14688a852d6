"""Money: an integer number of minor units plus an ISO 4217 currency code.

Rules (docs/architecture.md, "Decisions"; docs/security.md items 28-29):

* Amounts are `int` minor units (cents for EUR, yen for JPY, fils for KWD). Never float.
* The exponent of a currency comes from Babel's CLDR data: JPY 0, EUR 2, KWD 3.
* Decimal/Fraction appear only inside calculations and every result is rounded exactly
  once with ROUND_HALF_UP (half away from zero), see `div_half_up`.
* Adding, subtracting or ordering amounts of different currencies raises CurrencyMismatch.
  Equality (`==`) never raises: amounts in different currencies are simply not equal, so
  Money can live in sets and dict keys.
* Amounts are bounded to a signed 64-bit integer (what the database column stores).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import lcm
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
    list_currencies,
    parse_decimal,
)

from billing_app.domain.errors import (
    CurrencyMismatch,
    InvalidAllocation,
    InvalidAmount,
    UnknownCurrency,
    UnknownLocale,
)

__all__ = [
    "MAX_AMOUNT_MINOR",
    "MAX_AMOUNT_TEXT",
    "Money",
    "allocate",
    "allocate_minor",
    "currency_exponent",
    "div_half_up",
    "format_money",
    "normalize_currency",
    "parse_money",
    "round_half_up",
    "split_evenly",
]

MAX_AMOUNT_MINOR: Final = 2**63 - 1
"""Largest absolute amount in minor units (a signed 64-bit database column)."""

MAX_AMOUNT_TEXT: Final = 64
"""Longest amount `parse_money` reads: the largest amount with grouping, decimals, a sign and
a currency fits easily. Longer text is refused before any parsing (docs/security.md item 34)."""

# Currency code -> exponent, filled on first use of each code (the hot path is a dict lookup).
_EXPONENTS: dict[str, int] = {}

# Bidirectional marks some locales put around numbers and signs; meaningless for parsing.
_BIDI_MARKS: Final = str.maketrans("", "", "\u200e\u200f\u061c")


# --------------------------------------------------------------------------- rounding


def div_half_up(numerator: int, denominator: int) -> int:
    """Return numerator / denominator rounded ROUND_HALF_UP (halves away from zero).

    Pure integer arithmetic, exact for any size. `denominator` must be positive.
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((-2 * numerator + denominator) // (2 * denominator))


def round_half_up(value: Fraction | Decimal | int) -> int:
    """Round an exact number to an integer with ROUND_HALF_UP."""
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and not value.is_finite():
        raise InvalidAmount("The amount must be a finite number.")
    fraction = Fraction(value)
    return div_half_up(fraction.numerator, fraction.denominator)


# --------------------------------------------------------------------------- currencies


@functools.cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def currency_exponent(currency: str) -> int:
    """Number of decimals of a currency's minor unit (JPY 0, EUR 2, KWD 3).

    Raises UnknownCurrency for anything that is not a known upper-case ISO 4217 code.
    """
    exponent = _EXPONENTS.get(currency)
    if exponent is not None:
        return exponent
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isascii():
        raise UnknownCurrency(
            f"{currency!r} is not a currency code; use a three-letter ISO 4217 code such as EUR.",
            field="currency",
        )
    if not currency.isupper() or not currency.isalpha():
        raise UnknownCurrency(
            f"{currency!r} is not a currency code; write it in capitals, such as EUR.",
            field="currency",
        )
    if currency not in _known_currencies():
        raise UnknownCurrency(f"{currency} is not a known ISO 4217 currency.", field="currency")
    exponent = get_currency_precision(currency)
    _EXPONENTS[currency] = exponent
    return exponent


def normalize_currency(code: str) -> str:
    """Turn user input such as ' eur ' into 'EUR', validating it."""
    normalized = code.strip().upper()
    currency_exponent(normalized)
    return normalized


# --------------------------------------------------------------------------- Money


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money: integer minor units and an ISO 4217 currency code."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        amount = self.amount_minor
        if type(amount) is not int:
            raise InvalidAmount(
                "Amounts are whole numbers of minor units (for example cents), "
                f"not {type(amount).__name__}."
            )
        if not -MAX_AMOUNT_MINOR <= amount <= MAX_AMOUNT_MINOR:
            raise InvalidAmount("The amount is too large.")
        if self.currency not in _EXPONENTS:
            currency_exponent(self.currency)

    # -- construction

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal | int, currency: str) -> Money:
        """Money from a major-unit amount, rounded ROUND_HALF_UP to the currency exponent.

        `Money.from_decimal(Decimal("10.005"), "EUR")` is 10.01 EUR.
        """
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise InvalidAmount(
                f"Amounts must be given as Decimal or int, not {type(value).__name__}."
            )
        if isinstance(value, Decimal) and not value.is_finite():
            raise InvalidAmount("The amount must be a finite number.")
        exponent = currency_exponent(currency)
        scaled = Fraction(value) * 10**exponent
        return cls(div_half_up(scaled.numerator, scaled.denominator), currency)

    @classmethod
    def sum(cls, amounts: Iterable[Money], currency: str) -> Money:
        """Sum amounts that must all be in `currency` (an empty iterable gives zero)."""
        total = 0
        for amount in amounts:
            if amount.currency != currency:
                raise CurrencyMismatch(f"Cannot add {amount.currency} to {currency} amounts.")
            total += amount.amount_minor
        return cls(total, currency)

    # -- views

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def to_decimal(self) -> Decimal:
        """The amount in major units, exactly (Money(123450, 'EUR') -> Decimal('1234.50'))."""
        amount = self.amount_minor
        digits = tuple(int(d) for d in str(abs(amount)))
        return Decimal((1 if amount < 0 else 0, digits, -self.exponent))

    @property
    def is_zero(self) -> bool:
        return self.amount_minor == 0

    @property
    def is_positive(self) -> bool:
        return self.amount_minor > 0

    @property
    def is_negative(self) -> bool:
        return self.amount_minor < 0

    def __str__(self) -> str:
        return f"{self.to_decimal()} {self.currency}"

    # -- arithmetic

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise CurrencyMismatch(f"Cannot add {other.currency} to {self.currency} amounts.")
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __radd__(self, other: int) -> Money:
        # Lets the builtin sum() start from its default 0.
        if type(other) is int and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"Cannot subtract {other.currency} from {self.currency} amounts."
            )
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(abs(self.amount_minor), self.currency)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            return NotImplemented
        return Money(self.amount_minor * factor, self.currency)

    __rmul__ = __mul__

    def scale(self, factor: Decimal | Fraction | int) -> Money:
        """Multiply by an exact factor and round once, ROUND_HALF_UP."""
        if isinstance(factor, bool) or not isinstance(factor, Decimal | Fraction | int):
            raise InvalidAmount(
                f"Scale amounts by Decimal, Fraction or int, not {type(factor).__name__}."
            )
        if isinstance(factor, Decimal) and not factor.is_finite():
            raise InvalidAmount("The factor must be a finite number.")
        exact = Fraction(factor) * self.amount_minor
        return Money(div_half_up(exact.numerator, exact.denominator), self.currency)

    # -- ordering (different currencies raise)

    def _check_comparable(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"Cannot compare {self.currency} and {other.currency} amounts.")

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_comparable(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_comparable(other)
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_comparable(other)
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_comparable(other)
        return self.amount_minor >= other.amount_minor


_new_object = object.__new__
_set_attribute = object.__setattr__


def _money(amount_minor: int, currency: str) -> Money:
    """Fast internal constructor for amounts computed from validated Money of `currency`.

    Skips the type and currency checks (already true by construction) but keeps the
    64-bit range check. Internal to the domain package.
    """
    if not -MAX_AMOUNT_MINOR <= amount_minor <= MAX_AMOUNT_MINOR:
        raise InvalidAmount("The amount is too large.")
    money: Money = _new_object(Money)
    _set_attribute(money, "amount_minor", amount_minor)
    _set_attribute(money, "currency", currency)
    return money


# --------------------------------------------------------------------------- allocation


def allocate_minor(total: int, weights: Sequence[int]) -> list[int]:
    """Split an integer into parts proportional to non-negative integer weights.

    Largest-remainder method: every part first gets the floor of its exact share; the
    units left over go one each to the parts with the largest remainders, ties going to
    the earlier part. The parts always sum to `total`, each is within one unit of its
    exact share, and a zero weight always gets zero. A negative total is split as its
    absolute value and negated, so the result is symmetric.
    """
    if not weights:
        raise InvalidAllocation("Give at least one share to allocate to.")
    weight_sum = 0
    for weight in weights:
        if type(weight) is not int or weight < 0:
            raise InvalidAllocation("Allocation shares cannot be negative.")
        weight_sum += weight
    if weight_sum == 0:
        raise InvalidAllocation("At least one allocation share must be greater than zero.")
    magnitude = -total if total < 0 else total
    parts: list[int] = []
    remainders: list[int] = []
    for weight in weights:
        quotient, remainder = divmod(magnitude * weight, weight_sum)
        parts.append(quotient)
        remainders.append(remainder)
    leftover = magnitude - sum(parts)
    if leftover == 1:
        # max() returns the first of equal maxima: ties go to the earlier part.
        parts[max(range(len(weights)), key=remainders.__getitem__)] += 1
    elif leftover:
        order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
        for index in order[:leftover]:
            parts[index] += 1
    if total < 0:
        return [-part for part in parts]
    return parts


def _integer_weights(ratios: Sequence[int | Decimal | Fraction]) -> list[int]:
    fractions: list[Fraction] = []
    for ratio in ratios:
        if isinstance(ratio, bool) or not isinstance(ratio, int | Decimal | Fraction):
            raise InvalidAllocation(
                f"Allocation shares must be int, Decimal or Fraction, not {type(ratio).__name__}."
            )
        if isinstance(ratio, Decimal) and not ratio.is_finite():
            raise InvalidAllocation("Allocation shares must be finite numbers.")
        fraction = Fraction(ratio)
        if fraction < 0:
            raise InvalidAllocation("Allocation shares cannot be negative.")
        fractions.append(fraction)
    if not fractions:
        raise InvalidAllocation("Give at least one share to allocate to.")
    common = lcm(*(f.denominator for f in fractions))
    return [f.numerator * (common // f.denominator) for f in fractions]


def allocate(money: Money, ratios: Sequence[int | Decimal | Fraction]) -> tuple[Money, ...]:
    """Split `money` into parts proportional to `ratios`; the parts sum exactly to `money`.

    `allocate(Money(100, "EUR"), [1, 1, 1])` gives 34, 33, 33 cents (see `allocate_minor`
    for the deterministic tie-breaking).
    """
    parts = allocate_minor(money.amount_minor, _integer_weights(ratios))
    return tuple(_money(part, money.currency) for part in parts)


def split_evenly(money: Money, parts: int) -> tuple[Money, ...]:
    """Split into `parts` amounts differing by at most one minor unit (larger ones first)."""
    if type(parts) is not int or parts < 1:
        raise InvalidAllocation("Split an amount into at least one part.")
    return allocate(money, [1] * parts)


# --------------------------------------------------------------------------- locale I/O


@functools.lru_cache(maxsize=256)
def _babel_locale(identifier: str) -> Locale:
    try:
        locale = Locale.parse(identifier.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise UnknownLocale(f"Unknown locale {identifier!r}.", field="locale") from exc
    if locale is None:  # pragma: no cover - Locale.parse only returns None for None input
        raise UnknownLocale(f"Unknown locale {identifier!r}.", field="locale")
    return locale


def format_money(money: Money, locale: str) -> str:
    """Format with Babel in `locale`: '€1,234.50' (en), '1\u202f234,50\xa0€' (fr)."""
    return format_currency(money.to_decimal(), money.currency, locale=_babel_locale(locale))


def _decimals_message(currency: str, exponent: int) -> str:
    if exponent == 0:
        return f"{currency} amounts have no decimals."
    if exponent == 1:
        return f"{currency} amounts have at most 1 decimal."
    return f"{currency} amounts have at most {exponent} decimals."


def _strip_currency(raw: str, currency: str, locale: Locale) -> str:
    """Remove one currency symbol or ISO code (the longest that occurs)."""
    symbols = {
        currency,
        get_currency_symbol(currency, locale).translate(_BIDI_MARKS),
        get_currency_symbol(currency, "en").translate(_BIDI_MARKS),
    }
    for symbol in sorted(symbols, key=len, reverse=True):
        if symbol and symbol in raw:
            return raw.replace(symbol, "", 1).strip()
    return raw


def _strip_sign(raw: str, locale: Locale) -> tuple[bool, str]:
    """(negative, rest) for a leading minus/plus sign or accounting parentheses."""
    minus_signs = {"-", "\u2212", get_minus_sign_symbol(locale).translate(_BIDI_MARKS)}
    if raw[:1] in minus_signs:
        return True, raw[1:].strip()
    if raw[:1] == "+":
        return False, raw[1:].strip()
    if raw[:1] == "(" and raw[-1:] == ")":
        return True, raw[1:-1].strip()
    return False, raw


def _example_amount(locale: Locale, exponent: int) -> str:
    """'1,234.50' (en, EUR), '1 234' (fr, JPY), '1,234.500' (en, KWD)."""
    example = "1" + get_group_symbol(locale) + "234"
    if exponent:
        example += get_decimal_symbol(locale) + ("5" + "0" * exponent)[:exponent]
    return example


def parse_money(text: str, currency: str, locale: str) -> Money:
    """Parse an amount typed by a person in `locale` (at most MAX_AMOUNT_TEXT characters).

    Accepts the locale's grouping and decimal symbols ('1 234,50' in fr, '1,234.50' in en),
    an optional currency symbol or ISO code, and a leading minus/plus sign or accounting
    parentheses. Whitespace inside the number is ignored. Amounts with more decimals than
    the currency allows are refused (never silently rounded): 'EUR amounts have at most 2
    decimals.' Trailing zeros beyond the exponent are fine ('10.500' EUR is 10.50).
    """
    exponent = currency_exponent(currency)
    babel_locale = _babel_locale(locale)
    if len(text) > MAX_AMOUNT_TEXT:
        raise InvalidAmount(
            "That is not a valid amount. "
            f"Enter an amount like {_example_amount(babel_locale, exponent)}.",
            field="amount",
        )
    raw = text.translate(_BIDI_MARKS).strip()
    if not raw:
        raise InvalidAmount("Enter an amount.", field="amount")
    negative, raw = _strip_sign(_strip_currency(raw, currency, babel_locale), babel_locale)

    group = get_group_symbol(babel_locale)
    if group.isspace():
        raw = "".join(group if char.isspace() else char for char in raw)
    else:
        raw = "".join(char for char in raw if not char.isspace())

    invalid = InvalidAmount(
        f"{text.strip()!r} is not a valid amount. "
        f"Enter an amount like {_example_amount(babel_locale, exponent)}.",
        field="amount",
    )
    decimal_symbol = get_decimal_symbol(babel_locale)
    allowed = set("0123456789.,'\u2019") | {group, decimal_symbol}
    if (
        not raw
        or any(char not in allowed for char in raw)
        or not (raw[0].isdigit() or raw[0] == decimal_symbol)
        or not raw[-1].isdigit()
    ):
        raise invalid
    try:
        value = parse_decimal(raw, locale=babel_locale, strict=True)
    except NumberFormatError as exc:
        suggestions = getattr(exc, "suggestions", None)
        if suggestions:
            raise InvalidAmount(
                f"{text.strip()!r} is not a valid amount. Did you mean {suggestions[0]}?",
                field="amount",
            ) from exc
        raise invalid from exc
    if not value.is_finite() or value < 0:
        raise invalid

    scaled = Fraction(value) * 10**exponent
    if scaled.denominator != 1:
        raise InvalidAmount(_decimals_message(currency, exponent), field="amount")
    minor = -scaled.numerator if negative else scaled.numerator
    if not -MAX_AMOUNT_MINOR <= minor <= MAX_AMOUNT_MINOR:
        raise InvalidAmount("The amount is too large.", field="amount")
    return Money(minor, currency)
