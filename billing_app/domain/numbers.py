"""Bounded parsers for numbers typed by people or sent by the browser (docs/security.md item 34).

Python's ``int()``, ``Decimal()`` and ``float()`` accept exponents ("1e999990"), NaN,
Infinity, underscores and non-ASCII digits, and build numbers of any size: one search for
"1e999990" used to build a million-digit integer on the only event loop. Everything a person
or a page sends goes through these functions instead. Each checks the length of its input
before converting anything, accepts only plain ASCII notation, and answers None for anything
else; callers turn None into their own message.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

__all__ = ["MAX_ID", "MAX_ID_DIGITS", "parse_id", "parse_plain_decimal", "parse_whole_number"]

MAX_ID: Final = 2**63 - 1
"""Largest database id (a signed 64-bit column)."""

MAX_ID_DIGITS: Final = 18
"""Ids have at most 18 digits: every such number is below MAX_ID."""

_DECIMAL: Final = re.compile(r"[+-]?([0-9]*)(?:[.,]([0-9]*))?")
_WHOLE: Final = re.compile(r"[+-]?[0-9]+")
_DIGITS: Final = re.compile(r"[0-9]+")


def parse_plain_decimal(
    text: str, *, max_integer_digits: int, max_fraction_digits: int
) -> Decimal | None:
    """A number in plain decimal notation, or None.

    Accepted: an optional sign, digits, and at most one decimal separator ('.' or ','),
    with at least one digit: "12", "-3.5", "2,25", ".5", "7.". Refused (None): exponents,
    NaN, Infinity, grouping, spaces inside, non-ASCII digits, more than
    ``max_integer_digits`` digits before the separator or ``max_fraction_digits`` after it.
    Leading and trailing whitespace is ignored.
    """
    if len(text) > max_integer_digits + max_fraction_digits + 64:
        return None
    stripped = text.strip()
    match = _DECIMAL.fullmatch(stripped)
    if match is None:
        return None
    whole, fraction = match.group(1), match.group(2) or ""
    if not (whole or fraction) or len(whole) > max_integer_digits:
        return None
    if len(fraction) > max_fraction_digits:
        return None
    return Decimal(stripped.replace(",", "."))


def parse_whole_number(text: str, *, max_digits: int) -> int | None:
    """A whole number with an optional sign and at most ``max_digits`` ASCII digits, or None.

    Leading and trailing whitespace is ignored; "1e3", "1_000", "1.0" and "٣" are refused.
    """
    if len(text) > max_digits + 64:
        return None
    stripped = text.strip()
    if _WHOLE.fullmatch(stripped) is None or len(stripped.lstrip("+-")) > max_digits:
        return None
    return int(stripped)


def parse_id(value: object) -> int | None:
    """A database id (1 .. 2**63-1) from an int or a string of at most 18 ASCII digits.

    Anything else (signs, spaces, exponents, bools, floats, larger numbers) is None, which
    callers treat as "not found".
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= MAX_ID else None
    if not isinstance(value, str) or len(value) > MAX_ID_DIGITS:
        return None
    if _DIGITS.fullmatch(value) is None:
        return None
    number = int(value)
    return number if number >= 1 else None
