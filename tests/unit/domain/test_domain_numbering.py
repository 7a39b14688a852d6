"""Invoice number templates and sequences."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_app.domain.errors import InvalidNumberFormat, InvalidSequence
from billing_app.domain.numbering import (
    DEFAULT_NUMBER_FORMAT,
    MAX_SEQUENCE,
    MAX_TEMPLATE_LENGTH,
    NumberFormat,
    SequenceReset,
    format_number,
    next_sequence,
    sequence_scope,
    validate_number_format,
)


@pytest.mark.parametrize(
    ("template", "seq", "issued", "expected"),
    [
        ("INV-{YYYY}-{SEQ:5}", 42, date(2026, 3, 9), "INV-2026-00042"),
        (DEFAULT_NUMBER_FORMAT, 1, date(2027, 1, 1), "INV-2027-00001"),
        ("{YY}{MM}/{SEQ:3}", 7, date(2026, 3, 9), "2603/007"),
        ("F{YYYY}.{MM}.{DD}#{SEQ}", 12, date(2026, 11, 5), "F2026.11.05#12"),
        ("{SEQ:4}", 123456, date(2026, 1, 1), "123456"),
        ("A_{SEQ:12}", 5, date(2026, 1, 1), "A_000000000005"),
    ],
)
def test_format_number(template: str, seq: int, issued: date, expected: str) -> None:
    assert format_number(template, seq, issued) == expected
    assert format_number(NumberFormat(template), seq, issued) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("", "Enter a number format, such as INV-{YYYY}-{SEQ:5}."),
        ("INV-{YYYY}", "The number format must contain the sequence token {SEQ:N} exactly once."),
        (
            "{SEQ:3}-{SEQ:3}",
            "The number format must contain the sequence token {SEQ:N} exactly once.",
        ),
        ("INV-{SEQ:0}", "The sequence width must be between 1 and 12."),
        ("INV-{SEQ:13}", "The sequence width must be between 1 and 12."),
        (
            "INV-{YEAR}-{SEQ:4}",
            "Unknown token {YEAR} in the number format. Use {YYYY}, {YY}, {MM}, {DD} or {SEQ:N}.",
        ),
        (
            "INV-{seq:4}",
            "Unknown token {seq:4} in the number format. Use {YYYY}, {YY}, {MM}, {DD} or {SEQ:N}.",
        ),
        ("INV-{SEQ:4", "A '{' in the number format is never closed."),
        ("INV}-{SEQ:4}", "A '}' in the number format has no matching '{'."),
        ("INV {SEQ:4}", "The number format cannot contain ' '; use letters, digits and - _ / . #."),
        (
            "FAC-é{SEQ:4}",
            "The number format cannot contain 'é'; use letters, digits and - _ / . #.",
        ),
        ("X" * 41 + "{SEQ}", "The number format has at most 40 characters."),
    ],
)
def test_bad_formats_are_refused(template: str, message: str) -> None:
    with pytest.raises(InvalidNumberFormat) as exc:
        validate_number_format(template)
    assert exc.value.message == message


def test_reset_policies_require_the_matching_date_tokens() -> None:
    validate_number_format("INV-{YYYY}-{SEQ:4}", SequenceReset.YEARLY)
    validate_number_format("INV-{YY}{MM}-{SEQ:4}", SequenceReset.MONTHLY)
    with pytest.raises(InvalidNumberFormat) as yearly:
        validate_number_format("INV-{SEQ:4}", SequenceReset.YEARLY)
    assert yearly.value.message == (
        "A number format that restarts every year must contain {YYYY} or {YY}."
    )
    with pytest.raises(InvalidNumberFormat) as monthly:
        validate_number_format("INV-{YYYY}-{SEQ:4}", SequenceReset.MONTHLY)
    assert monthly.value.message == (
        "A number format that restarts every month must contain {YYYY} (or {YY}) and {MM}."
    )
    with pytest.raises(
        InvalidNumberFormat, match=r"^The sequence restarts never, yearly or monthly\.$"
    ):
        NumberFormat("INV-{SEQ}", "weekly")  # type: ignore[arg-type]
    assert NumberFormat("INV-{YYYY}-{SEQ}", "yearly").reset is SequenceReset.YEARLY  # type: ignore[arg-type]


def test_sequences() -> None:
    assert next_sequence(None) == 1
    assert next_sequence(0) == 1
    assert next_sequence(41) == 42
    with pytest.raises(InvalidSequence) as exc:
        next_sequence(-1)
    assert exc.value.message == (
        "The last sequence number must be a whole number from 0 to 999999999999998."
    )
    with pytest.raises(InvalidSequence) as zero:
        format_number(DEFAULT_NUMBER_FORMAT, 0, date(2026, 1, 1))
    assert (
        zero.value.message
        == "The sequence number must be a whole number from 1 to 999999999999999."
    )


def test_sequence_scopes() -> None:
    day = date(2026, 3, 9)
    assert sequence_scope(SequenceReset.NEVER, day) == ""
    assert sequence_scope(SequenceReset.YEARLY, day) == "2026"
    assert sequence_scope(SequenceReset.MONTHLY, day) == "2026-03"
    assert NumberFormat("INV-{YYYY}-{SEQ}", SequenceReset.YEARLY).scope(day) == "2026"


@given(
    st.sampled_from(["INV-{YYYY}-{SEQ:5}", "{YY}{MM}-{SEQ:3}", "C/{SEQ}", "{SEQ:12}"]),
    st.integers(1, 10**6),
    st.integers(1, 10**6),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
)
def test_distinct_sequences_give_distinct_numbers(
    template: str, first: int, second: int, issued: date
) -> None:
    a = format_number(template, first, issued)
    b = format_number(template, second, issued)
    assert (a == b) == (first == second)


# --------------------------------------------------------------------------- edges


@pytest.mark.parametrize(
    ("template", "seq", "expected"),
    [
        # {SEQ} pads nothing: the number as it is.
        ("C/{SEQ}", 7, "C/7"),
        ("{SEQ}", 1, "1"),
        # Text after the sequence is kept.
        ("{YYYY}-{SEQ:4}/A", 42, "2026-0042/A"),
        ("{SEQ:2}{DD}.x", 3, "0309.x"),
    ],
)
def test_format_number_edges(template: str, seq: int, expected: str) -> None:
    assert format_number(template, seq, date(2026, 3, 9)) == expected


def test_a_template_of_40_characters_is_accepted() -> None:
    template = "INV-" + "X" * 28 + "-{SEQ:4}"
    assert len(template) == MAX_TEMPLATE_LENGTH
    validate_number_format(template)
    with pytest.raises(InvalidNumberFormat, match=r"^The number format has at most 40 "):
        validate_number_format("X" + template)


def test_empty_braces_are_named_as_an_unknown_token() -> None:
    with pytest.raises(InvalidNumberFormat) as exc:
        validate_number_format("INV-{}-{SEQ}")
    assert exc.value.message == (
        "Unknown token {} in the number format. Use {YYYY}, {YY}, {MM}, {DD} or {SEQ:N}."
    )


def test_the_last_sequence_number_is_usable_and_never_exceeded() -> None:
    assert next_sequence(MAX_SEQUENCE - 1) == MAX_SEQUENCE
    assert format_number("{SEQ}", MAX_SEQUENCE, date(2026, 1, 1)) == str(MAX_SEQUENCE)
    with pytest.raises(InvalidSequence):
        next_sequence(MAX_SEQUENCE)
    with pytest.raises(InvalidSequence):
        format_number("{SEQ}", MAX_SEQUENCE + 1, date(2026, 1, 1))
