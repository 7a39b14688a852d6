"""Bounded number parsing (docs/security.md item 34): plain notation only, bounded before any
conversion, None for everything else."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_app.domain.errors import InvalidAmount
from billing_app.domain.money import MAX_AMOUNT_TEXT, parse_money
from billing_app.domain.numbers import MAX_ID, parse_id, parse_plain_decimal, parse_whole_number

HOSTILE = [
    "1e5",
    "1E5",
    "1e999990",
    "1e-999990",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1_000",
    "0x10",
    "١٢",  # Arabic-Indic digits: int() and Decimal() accept them
    "1 000",
    "1.2.3",
    "1,2.3",
    "--1",
    "+",
    ".",
    "",
    "   ",
    "1\n2",
    str(10**23),
    "9" * 100_000,
]


def bounded(text: str) -> Decimal | None:
    return parse_plain_decimal(text, max_integer_digits=18, max_fraction_digits=6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", Decimal("12")),
        ("-3.5", Decimal("-3.5")),
        ("+3.5", Decimal("3.5")),
        ("2,25", Decimal("2.25")),
        (".5", Decimal("0.5")),
        ("7.", Decimal("7")),
        ("  10.500 ", Decimal("10.500")),
        ("9" * 18 + "." + "9" * 6, Decimal("9" * 18 + "." + "9" * 6)),
    ],
)
def test_plain_decimals_are_read_exactly(text: str, expected: Decimal) -> None:
    value = bounded(text)
    assert value == expected
    assert value is not None and value.as_tuple() == expected.as_tuple()


@pytest.mark.parametrize("text", [*HOSTILE, "9" * 19, "1." + "0" * 7])
def test_anything_else_is_refused(text: str) -> None:
    assert bounded(text) is None


@pytest.mark.parametrize(
    ("text", "expected"), [("3", 3), (" 42 ", 42), ("-1", -1), ("+7", 7), ("0", 0)]
)
def test_whole_numbers(text: str, expected: int) -> None:
    assert parse_whole_number(text, max_digits=9) == expected


@pytest.mark.parametrize("text", [*HOSTILE, "1.0", "9" * 10])
def test_whole_numbers_refuse_the_rest(text: str) -> None:
    assert parse_whole_number(text, max_digits=9) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 1), ("42", 42), ("9" * 18, 10**18 - 1), (7, 7), (MAX_ID, MAX_ID)],
)
def test_ids(value: object, expected: int) -> None:
    assert parse_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        *HOSTILE,
        "0",
        "-1",
        " 1",
        "1 ",
        "+1",
        "9" * 19,
        "100000000000000000000000",
        0,
        -5,
        MAX_ID + 1,
        10**23,
        True,
        1.0,
        None,
        b"12",
        ["1"],
    ],
)
def test_anything_but_an_id_in_range_is_none(value: object) -> None:
    assert parse_id(value) is None


@given(st.text(max_size=300))
def test_any_text_is_none_or_a_bounded_value(text: str) -> None:
    value = bounded(text)
    assert value is None or (value.is_finite() and abs(value) < 10**18)
    whole = parse_whole_number(text, max_digits=9)
    assert whole is None or abs(whole) < 10**9
    ident = parse_id(text)
    assert ident is None or 1 <= ident <= MAX_ID


@given(st.from_regex(r"[+-]?[0-9]{0,25}([.,][0-9]{0,10})?([eE][+-]?[0-9]{1,7})?", fullmatch=True))
def test_number_like_text_is_none_or_within_the_bounds(text: str) -> None:
    value = bounded(text)
    if value is None:
        return
    assert "e" not in text.lower()
    assert value == Decimal(text.strip().replace(",", "."))
    assert value.adjusted() < 18 and value.as_tuple().exponent >= -6  # type: ignore[operator]


@pytest.mark.parametrize("text", ["1e999990", "9" * 1_000_000, "1" + " " * 1_000_000 + "1"])
def test_huge_input_returns_at_once(text: str) -> None:
    started = time.perf_counter()
    assert bounded(text) is None
    assert parse_whole_number(text, max_digits=18) is None
    assert parse_id(text) is None
    assert time.perf_counter() - started < 0.1


def test_parse_money_refuses_long_text_before_parsing() -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidAmount, match=r"not a valid amount\. Enter an amount like 1,234\.50"):
        parse_money("1" * 1_000_000, "EUR", "en")
    assert time.perf_counter() - started < 0.1
    # The longest accepted text still reads the largest amounts.
    assert len("-EUR 92,233,720,368,547,758.07") <= MAX_AMOUNT_TEXT
    assert parse_money("-EUR 92,233,720,368,547,758.07", "EUR", "en").amount_minor == -(2**63 - 1)


# --------------------------------------------------------------------------- edges


def test_exactly_the_allowed_number_of_digits_is_read() -> None:
    assert parse_whole_number("9" * 9, max_digits=9) == 999_999_999
    assert parse_whole_number("-" + "9" * 9, max_digits=9) == -999_999_999
    assert parse_whole_number("9" * 10, max_digits=9) is None
    assert parse_plain_decimal("1" * 4 + ".25", max_integer_digits=4, max_fraction_digits=2) == (
        Decimal("1111.25")
    )


def test_the_smallest_id_is_one() -> None:
    assert parse_id(1) == 1
    assert parse_id("1") == 1
    assert parse_id(0) is None


def test_whitespace_around_a_long_number_is_ignored() -> None:
    padded = " " * 30 + "-123456789012345678.123456" + " " * 30
    assert bounded(padded) == Decimal("-123456789012345678.123456")
    assert parse_whole_number(" " * 40 + "+123456789" + " " * 20, max_digits=9) == 123_456_789
