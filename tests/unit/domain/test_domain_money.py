"""Money: construction, arithmetic, currency safety, allocation, parsing and formatting."""

from __future__ import annotations

import operator
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_app.domain import money as money_module
from billing_app.domain.errors import (
    CurrencyMismatch,
    DomainError,
    InvalidAllocation,
    InvalidAmount,
    UnknownCurrency,
    UnknownLocale,
)
from billing_app.domain.money import (
    MAX_AMOUNT_MINOR,
    MAX_AMOUNT_TEXT,
    Money,
    allocate,
    allocate_minor,
    currency_exponent,
    div_half_up,
    format_money,
    normalize_currency,
    parse_money,
    round_half_up,
    split_evenly,
)
from billing_app.domain.tax import TaxRate, compute_tax

CURRENCIES = ["EUR", "USD", "JPY", "KWD", "GBP", "CHF", "BHD", "CLP", "SEK"]
currencies = st.sampled_from(CURRENCIES)
amounts = st.integers(min_value=-(10**13), max_value=10**13)
moneys = st.builds(Money, amounts, currencies)


# --------------------------------------------------------------------------- basics


def test_exponents_come_from_babel_currency_data() -> None:
    assert currency_exponent("EUR") == 2
    assert currency_exponent("JPY") == 0
    assert currency_exponent("KWD") == 3
    assert Money(5, "KWD").exponent == 3


def test_unknown_currency_is_refused_with_a_clear_message() -> None:
    with pytest.raises(UnknownCurrency) as exc:
        Money(1, "ZZZ")
    assert str(exc.value) == "ZZZ is not a known ISO 4217 currency."
    assert isinstance(exc.value, DomainError)
    assert exc.value.field == "currency"


def test_lower_case_or_malformed_codes_are_refused() -> None:
    with pytest.raises(UnknownCurrency) as lower:
        Money(1, "eur")
    assert lower.value.message == "'eur' is not a currency code; write it in capitals, such as EUR."
    with pytest.raises(UnknownCurrency) as long:
        Money(1, "EURO")
    assert long.value.message == (
        "'EURO' is not a currency code; use a three-letter ISO 4217 code such as EUR."
    )


def test_normalize_currency_accepts_user_spelling() -> None:
    assert normalize_currency(" eur ") == "EUR"
    with pytest.raises(UnknownCurrency):
        normalize_currency("xyz")


def test_amount_must_be_int_never_float_or_bool() -> None:
    with pytest.raises(InvalidAmount) as exc:
        Money(1.5, "EUR")  # type: ignore[arg-type]
    assert exc.value.message == (
        "Amounts are whole numbers of minor units (for example cents), not float."
    )
    with pytest.raises(InvalidAmount):
        Money(True, "EUR")
    with pytest.raises(InvalidAmount):
        Money(Decimal(1), "EUR")  # type: ignore[arg-type]


def test_amount_bounded_to_64_bits() -> None:
    assert Money(MAX_AMOUNT_MINOR, "EUR").amount_minor == MAX_AMOUNT_MINOR
    with pytest.raises(InvalidAmount, match=r"^The amount is too large\.$"):
        Money(MAX_AMOUNT_MINOR + 1, "EUR")
    with pytest.raises(InvalidAmount, match=r"^The amount is too large\.$"):
        Money(MAX_AMOUNT_MINOR, "EUR") + Money(1, "EUR")


def test_zero_and_to_decimal() -> None:
    assert Money.zero("JPY") == Money(0, "JPY")
    assert Money(123450, "EUR").to_decimal() == Decimal("1234.50")
    assert str(Money(123450, "EUR").to_decimal()) == "1234.50"
    assert str(Money(-5, "KWD").to_decimal()) == "-0.005"
    assert str(Money(7, "JPY").to_decimal()) == "7"
    assert str(Money(-123450, "EUR")) == "-1234.50 EUR"


def test_from_decimal_refuses_floats_and_non_finite() -> None:
    with pytest.raises(
        InvalidAmount, match=r"^Amounts must be given as Decimal or int, not float\.$"
    ):
        Money.from_decimal(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount, match=r"^The amount must be a finite number\.$"):
        Money.from_decimal(Decimal("NaN"), "EUR")
    assert Money.from_decimal(3, "EUR") == Money(300, "EUR")


@given(moneys)
def test_decimal_round_trip(money: Money) -> None:
    assert Money.from_decimal(money.to_decimal(), money.currency) == money


# --------------------------------------------------------------------------- arithmetic


def test_arithmetic_in_one_currency() -> None:
    a, b = Money(1050, "EUR"), Money(250, "EUR")
    assert a + b == Money(1300, "EUR")
    assert a - b == Money(800, "EUR")
    assert -a == Money(-1050, "EUR")
    assert +a == a
    assert abs(Money(-3, "EUR")) == Money(3, "EUR")
    assert a * 3 == Money(3150, "EUR")
    assert 3 * a == Money(3150, "EUR")
    assert sum([a, b]) == Money(1300, "EUR")
    assert Money.sum([a, b], "EUR") == Money(1300, "EUR")
    assert Money.sum([], "JPY") == Money(0, "JPY")
    assert a > b and b < a and a >= a and b <= a
    assert Money(0, "EUR").is_zero and a.is_positive and (-a).is_negative


def test_multiplying_by_a_float_or_decimal_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Money(100, "EUR") * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(100, "EUR") * Decimal("1.5")  # type: ignore[operator]


def test_scale_rounds_once_half_up() -> None:
    assert Money(5, "EUR").scale(Decimal("0.5")) == Money(3, "EUR")
    assert Money(-5, "EUR").scale(Fraction(1, 2)) == Money(-3, "EUR")
    assert Money(7, "JPY").scale(2) == Money(14, "JPY")
    with pytest.raises(
        InvalidAmount, match=r"^Scale amounts by Decimal, Fraction or int, not float\.$"
    ):
        Money(5, "EUR").scale(0.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount, match=r"^The factor must be a finite number\.$"):
        Money(5, "EUR").scale(Decimal("Infinity"))


def test_adding_different_currencies_raises_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch) as exc:
        Money(100, "USD") + Money(100, "EUR")
    assert exc.value.message == "Cannot add EUR to USD amounts."
    with pytest.raises(CurrencyMismatch) as sub:
        Money(100, "USD") - Money(100, "EUR")
    assert sub.value.message == "Cannot subtract EUR from USD amounts."
    with pytest.raises(CurrencyMismatch, match=r"^Cannot add USD to EUR amounts\.$"):
        Money.sum([Money(1, "EUR"), Money(1, "USD")], "EUR")


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_ordering_different_currencies_raises_currency_mismatch(op: str) -> None:
    a, b = Money(1, "EUR"), Money(1, "USD")
    compare = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op]
    with pytest.raises(CurrencyMismatch, match=r"^Cannot compare EUR and USD amounts\.$"):
        compare(a, b)


def test_equality_across_currencies_is_false_not_an_error() -> None:
    assert Money(1, "EUR") != Money(1, "USD")
    assert len({Money(1, "EUR"), Money(1, "USD"), Money(1, "EUR")}) == 2


@given(moneys, amounts)
def test_add_then_subtract_is_identity(money: Money, other: int) -> None:
    delta = Money(other, money.currency)
    assert money + delta - delta == money


# --------------------------------------------------------------------------- rounding


@given(st.integers(-(10**30), 10**30), st.integers(1, 10**12))
def test_div_half_up_matches_decimal_round_half_up(numerator: int, denominator: int) -> None:
    from decimal import ROUND_HALF_UP, Context

    context = Context(prec=100, rounding=ROUND_HALF_UP)
    expected = int(
        context.divide(Decimal(numerator), Decimal(denominator)).quantize(
            Decimal(1), context=context
        )
    )
    assert div_half_up(numerator, denominator) == expected


def test_div_half_up_halves_go_away_from_zero() -> None:
    assert div_half_up(5, 2) == 3
    assert div_half_up(-5, 2) == -3
    assert div_half_up(1, 2) == 1
    assert div_half_up(-1, 2) == -1
    assert div_half_up(4, 2) == 2
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Decimal("2.5")) == 3
    with pytest.raises(ValueError):
        div_half_up(1, 0)
    with pytest.raises(InvalidAmount):
        round_half_up(Decimal("NaN"))


# --------------------------------------------------------------------------- allocation


def test_allocate_examples() -> None:
    assert allocate(Money(100, "EUR"), [1, 1, 1]) == (
        Money(34, "EUR"),
        Money(33, "EUR"),
        Money(33, "EUR"),
    )
    assert allocate(Money(5, "JPY"), [Decimal("0.3"), Decimal("0.7")]) == (
        Money(2, "JPY"),
        Money(3, "JPY"),
    )
    assert allocate(Money(10, "EUR"), [0, 1]) == (Money(0, "EUR"), Money(10, "EUR"))
    assert allocate(Money(-100, "EUR"), [1, 1, 1]) == (
        Money(-34, "EUR"),
        Money(-33, "EUR"),
        Money(-33, "EUR"),
    )
    assert split_evenly(Money(101, "KWD"), 3) == (
        Money(34, "KWD"),
        Money(34, "KWD"),
        Money(33, "KWD"),
    )


def test_allocate_error_paths() -> None:
    with pytest.raises(InvalidAllocation, match=r"^Allocation shares cannot be negative\.$"):
        allocate(Money(10, "EUR"), [1, -1])
    with pytest.raises(
        InvalidAllocation, match=r"^At least one allocation share must be greater than zero\.$"
    ):
        allocate(Money(10, "EUR"), [0, 0])
    with pytest.raises(InvalidAllocation, match=r"^Give at least one share to allocate to\.$"):
        allocate(Money(10, "EUR"), [])
    with pytest.raises(
        InvalidAllocation,
        match=r"^Allocation shares must be int, Decimal or Fraction, not float\.$",
    ):
        allocate(Money(10, "EUR"), [0.5, 0.5])  # type: ignore[list-item]
    with pytest.raises(InvalidAllocation, match=r"^Split an amount into at least one part\.$"):
        split_evenly(Money(10, "EUR"), 0)
    with pytest.raises(InvalidAllocation, match=r"^Allocation shares must be finite numbers\.$"):
        allocate(Money(10, "EUR"), [Decimal("NaN")])


ratios = st.lists(
    st.one_of(
        st.integers(0, 1000),
        st.decimals(min_value=0, max_value=100, places=3, allow_nan=False),
        st.fractions(min_value=0, max_value=50, max_denominator=97),
    ),
    min_size=1,
    max_size=12,
).filter(lambda rs: sum(Fraction(r) for r in rs) > 0)


@given(moneys, ratios)
def test_allocation_always_sums_to_the_whole(money: Money, shares: list[int]) -> None:
    parts = allocate(money, shares)
    assert len(parts) == len(shares)
    assert sum(part.amount_minor for part in parts) == money.amount_minor
    assert all(part.currency == money.currency for part in parts)
    total_share = sum(Fraction(s) for s in shares)
    for part, share in zip(parts, shares, strict=True):
        exact = Fraction(money.amount_minor) * Fraction(share) / total_share
        assert abs(part.amount_minor - exact) < 1
        if Fraction(share) == 0:
            assert part.amount_minor == 0


@given(moneys, st.integers(1, 50))
def test_even_split_parts_differ_by_at_most_one_unit(money: Money, count: int) -> None:
    parts = split_evenly(money, count)
    values = [part.amount_minor for part in parts]
    assert sum(values) == money.amount_minor
    assert max(values) - min(values) <= 1
    # Deterministic: same input, same output; larger parts come first.
    assert values == sorted(values, key=abs, reverse=True)
    assert split_evenly(money, count) == parts


@given(st.integers(-(10**9), 10**9), st.lists(st.integers(0, 100), min_size=1, max_size=8))
def test_allocate_minor_is_symmetric(total: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        weights = [*weights, 1]
    assert allocate_minor(-total, weights) == [-p for p in allocate_minor(total, weights)]


# --------------------------------------------------------------------------- parse / format


def test_format_money_uses_babel_per_locale() -> None:
    assert format_money(Money(123450, "EUR"), "en") == "€1,234.50"
    assert format_money(Money(123450, "EUR"), "fr") == "1\u202f234,50\xa0€"
    assert format_money(Money(123450, "EUR"), "de") == "1.234,50\xa0€"
    assert format_money(Money(1234, "JPY"), "en") == "¥1,234"
    assert format_money(Money(1234567, "KWD"), "en") == "KWD1,234.567"
    assert format_money(Money(-500, "USD"), "en_US") == "-$5.00"
    assert format_money(Money(500, "USD"), "en-US") == "$5.00"


def test_unknown_locale_is_a_domain_error() -> None:
    with pytest.raises(UnknownLocale, match=r"^Unknown locale 'xx_YY'\.$"):
        format_money(Money(1, "EUR"), "xx_YY")
    with pytest.raises(UnknownLocale):
        parse_money("1", "EUR", "not a locale")


@pytest.mark.parametrize(
    ("text", "currency", "locale", "expected"),
    [
        ("1 234,50", "EUR", "fr", 123450),
        ("1\u202f234,50\xa0€", "EUR", "fr", 123450),
        ("1,234.50", "USD", "en", 123450),
        ("1.234,50", "EUR", "de", 123450),
        ("1234.5", "EUR", "en", 123450),
        ("€1,234.50", "EUR", "en", 123450),
        ("EUR 12", "EUR", "en", 1200),
        ("-12.30", "EUR", "en", -1230),
        ("\u221212.30", "EUR", "en", -1230),
        ("+12.30", "EUR", "en", 1230),
        ("(12.30)", "USD", "en", -1230),
        ("10.500", "EUR", "en", 1050),
        (".5", "EUR", "en", 50),
        ("1,234", "JPY", "en", 1234),
        ("1.234,567", "KWD", "de", 1234567),
        ("0", "EUR", "en", 0),
    ],
)
def test_parse_money_examples(text: str, currency: str, locale: str, expected: int) -> None:
    assert parse_money(text, currency, locale) == Money(expected, currency)


@pytest.mark.parametrize(
    ("text", "currency", "locale", "message"),
    [
        ("12.345", "EUR", "en", "EUR amounts have at most 2 decimals."),
        ("1,5", "JPY", "de", "JPY amounts have no decimals."),
        ("1.2345", "KWD", "en", "KWD amounts have at most 3 decimals."),
        ("", "EUR", "en", "Enter an amount."),
        ("   ", "EUR", "en", "Enter an amount."),
        ("abc", "EUR", "en", "'abc' is not a valid amount. Enter an amount like 1,234.50."),
        ("1e5", "EUR", "en", "'1e5' is not a valid amount. Enter an amount like 1,234.50."),
        ("NaN", "EUR", "en", "'NaN' is not a valid amount. Enter an amount like 1,234.50."),
        ("12.", "EUR", "en", "'12.' is not a valid amount. Enter an amount like 1,234.50."),
        ("1,2345", "EUR", "en", "'1,2345' is not a valid amount. Did you mean 12,345?"),
        ("x", "JPY", "en", "'x' is not a valid amount. Enter an amount like 1,234."),
        ("x", "KWD", "de", "'x' is not a valid amount. Enter an amount like 1.234,500."),
        ("--5", "EUR", "en", "'--5' is not a valid amount. Enter an amount like 1,234.50."),
        ("99999999999999999999", "EUR", "en", "The amount is too large."),
    ],
)
def test_parse_money_refuses_bad_input_with_a_message(
    text: str, currency: str, locale: str, message: str
) -> None:
    with pytest.raises(InvalidAmount) as exc:
        parse_money(text, currency, locale)
    assert exc.value.message == message
    assert exc.value.field == "amount"


@given(moneys, st.sampled_from(["en", "fr", "de"]))
def test_parse_of_format_round_trips(money: Money, locale: str) -> None:
    assert parse_money(format_money(money, locale), money.currency, locale) == money


@given(moneys, st.sampled_from(["en_US", "fr_CH", "de_CH", "sv", "ar", "fa", "ja"]))
def test_parse_of_format_round_trips_in_other_locales(money: Money, locale: str) -> None:
    assert parse_money(format_money(money, locale), money.currency, locale) == money


# --------------------------------------------------------------------------- edges


def test_zero_is_never_shown_with_a_minus_sign() -> None:
    assert str(Money.zero("EUR")) == "0.00 EUR"
    assert str(Money.zero("EUR").to_decimal()) == "0.00"
    assert format_money(Money.zero("EUR"), "en") == "€0.00"
    assert format_money(-Money(0, "JPY"), "en") == "¥0"


def test_only_the_zero_that_sum_starts_from_can_be_added_to_money() -> None:
    assert 0 + Money(5, "EUR") == Money(5, "EUR")
    with pytest.raises(TypeError):
        5 + Money(5, "EUR")  # type: ignore[operator]
    with pytest.raises(TypeError):
        0.0 + Money(5, "EUR")  # type: ignore[operator]


def test_equal_amounts_order_as_equal() -> None:
    a, b = Money(700, "EUR"), Money(700, "EUR")
    assert not a < b
    assert a <= b
    assert not a > b
    assert a >= b


def test_the_largest_storable_amount_survives_every_calculation() -> None:
    for amount in (MAX_AMOUNT_MINOR, -MAX_AMOUNT_MINOR):
        money = Money(amount, "EUR")
        assert allocate(money, [1]) == (money,)
        assert compute_tax(money, []).gross == money
    # One unit more is refused with a readable message, never wrapped around.
    with pytest.raises(InvalidAmount) as exc:
        compute_tax(Money(MAX_AMOUNT_MINOR, "EUR"), [TaxRate("VAT", Decimal(20))])
    assert exc.value.message == "The amount is too large."


def test_a_currency_seen_for_the_first_time_in_a_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each worker process starts with no currency looked up yet: the first amount in a
    currency must already have the right number of decimals."""
    monkeypatch.setattr(money_module, "_EXPONENTS", {})
    assert currency_exponent("KWD") == 3
    assert currency_exponent("KWD") == 3
    assert currency_exponent("JPY") == 0
    assert str(Money(1234, "BHD")) == "1.234 BHD"


def test_allocate_minor_refuses_bad_shares_on_its_own() -> None:
    with pytest.raises(InvalidAllocation, match=r"^Give at least one share to allocate to\.$"):
        allocate_minor(10, [])
    with pytest.raises(InvalidAllocation, match=r"^Allocation shares cannot be negative\.$"):
        allocate_minor(10, [2, -1])


def test_rounding_a_non_finite_number_is_explained() -> None:
    with pytest.raises(InvalidAmount, match=r"^The amount must be a finite number\.$"):
        round_half_up(Decimal("Infinity"))


@pytest.mark.parametrize(
    ("text", "currency", "locale", "expected"),
    [
        # Accounting parentheses keep every digit.
        ("(12.35)", "USD", "en", -1235),
        # A longer symbol is removed whole, not just the shorter one inside it.
        ("JP¥123,450", "JPY", "en_GB", 123_450),
        ("1 234,50 BR$", "BRL", "sv", 123_450),
        # The English symbol is understood in any locale.
        ("12,50 $", "USD", "fr", 1250),
        # A French amount may start with its decimal comma, as ".5" does in English.
        (",5", "EUR", "fr", 50),
        # Spaces inside a German amount are ignored.
        ("1 234,50", "EUR", "de", 123_450),
        # The longest accepted text, and the largest storable amount.
        ("12.50".rjust(MAX_AMOUNT_TEXT), "EUR", "en", 1250),
        ("92,233,720,368,547,758.07", "EUR", "en", MAX_AMOUNT_MINOR),
    ],
)
def test_parse_money_edge_cases(text: str, currency: str, locale: str, expected: int) -> None:
    assert parse_money(text, currency, locale) == Money(expected, currency)


@pytest.mark.parametrize("text", ["(12.30", "12.30)", "$1$", "$12 $"])
def test_unbalanced_parentheses_and_doubled_symbols_are_refused(text: str) -> None:
    with pytest.raises(InvalidAmount) as exc:
        parse_money(text, "USD", "en")
    assert exc.value.message == (f"{text!r} is not a valid amount. Enter an amount like 1,234.50.")


def test_parsing_never_depends_on_the_servers_own_locale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server may run with LANG=fr_FR (or C): amounts are read and explained in the
    locale of the agency, never in the server's."""
    import babel.numbers

    monkeypatch.setattr(babel.numbers, "LC_NUMERIC", "fr_FR")
    monkeypatch.setattr(babel.numbers, "LC_MONETARY", "fr_FR")
    assert parse_money("1 234,50", "EUR", "de") == Money(123_450, "EUR")
    assert parse_money("$1,234.50", "USD", "en") == Money(123_450, "USD")
    assert parse_money("12,50 $", "USD", "fr") == Money(1250, "USD")
    with pytest.raises(InvalidAmount) as exc:
        parse_money("x", "EUR", "en")
    assert exc.value.message == "'x' is not a valid amount. Enter an amount like 1,234.50."
