"""Invoice number templates.

Template syntax
---------------
A template is literal text with tokens in braces, for example ``INV-{YYYY}-{SEQ:5}``:

    {YYYY}   four-digit year of the issue date       2026
    {YY}     two-digit year                           26
    {MM}     two-digit month                          03
    {DD}     two-digit day                            09
    {SEQ:N}  the sequence number, zero-padded to N digits (N from 1 to 12); a number that
             outgrows N digits is printed in full, never truncated. {SEQ} means {SEQ:1}.

Rules: exactly one {SEQ} token; literal text may use letters A-Z/a-z, digits and
``- _ / . #``; at most 40 characters. Tokens are case-sensitive.

Sequences
---------
A sequence counts from 1 within a *scope*. With `SequenceReset.NEVER` there is one scope;
`YEARLY` restarts each year (scope "2026") and requires a year token in the template;
`MONTHLY` restarts each month (scope "2026-03") and requires a year token and {MM}, so
numbers never repeat. Store the last number per (brand, scope) and allocate the next with
`next_sequence` inside the finalizing transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Final

from billing_app.domain.errors import InvalidNumberFormat, InvalidSequence

__all__ = [
    "DEFAULT_NUMBER_FORMAT",
    "MAX_SEQUENCE",
    "MAX_SEQ_WIDTH",
    "MAX_TEMPLATE_LENGTH",
    "NumberFormat",
    "SequenceReset",
    "format_number",
    "next_sequence",
    "sequence_scope",
    "validate_number_format",
]

DEFAULT_NUMBER_FORMAT: Final = "INV-{YYYY}-{SEQ:5}"
MAX_TEMPLATE_LENGTH: Final = 40
MAX_SEQ_WIDTH: Final = 12
MAX_SEQUENCE: Final = 10**15 - 1

_LITERAL_CHARS: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_/.#"
)
_SEQ_TOKEN: Final = re.compile(r"SEQ(?::(\d+))?")
_DATE_TOKENS: Final = ("YYYY", "YY", "MM", "DD")
_SYNTAX_HINT: Final = "Use {YYYY}, {YY}, {MM}, {DD} or {SEQ:N}."


class SequenceReset(StrEnum):
    NEVER = "never"
    YEARLY = "yearly"
    MONTHLY = "monthly"


def _parse_token(token: str) -> tuple[str, str]:
    if token in _DATE_TOKENS:
        return ("date", token)
    match = _SEQ_TOKEN.fullmatch(token)
    if match is None:
        raise InvalidNumberFormat(f"Unknown token {{{token}}} in the number format. {_SYNTAX_HINT}")
    width = int(match.group(1)) if match.group(1) is not None else 1
    if not 1 <= width <= MAX_SEQ_WIDTH:
        raise InvalidNumberFormat(f"The sequence width must be between 1 and {MAX_SEQ_WIDTH}.")
    return ("seq", str(width))


def _parse(template: str) -> tuple[tuple[str, str], ...]:
    """Split a template into ('lit', text), ('date', token) and ('seq', width) parts."""
    if not isinstance(template, str) or not template.strip():
        raise InvalidNumberFormat("Enter a number format, such as INV-{YYYY}-{SEQ:5}.")
    if len(template) > MAX_TEMPLATE_LENGTH:
        raise InvalidNumberFormat(
            f"The number format has at most {MAX_TEMPLATE_LENGTH} characters."
        )
    parts: list[tuple[str, str]] = []
    literal: list[str] = []
    position = 0
    while position < len(template):
        char = template[position]
        if char == "{":
            close = template.find("}", position + 1)
            if close == -1:
                raise InvalidNumberFormat("A '{' in the number format is never closed.")
            token = template[position + 1 : close]
            if literal:
                parts.append(("lit", "".join(literal)))
                literal = []
            parts.append(_parse_token(token))
            position = close + 1
            continue
        if char == "}":
            raise InvalidNumberFormat("A '}' in the number format has no matching '{'.")
        if char not in _LITERAL_CHARS:
            raise InvalidNumberFormat(
                f"The number format cannot contain {char!r}; use letters, digits and - _ / . #."
            )
        literal.append(char)
        position += 1
    if literal:
        parts.append(("lit", "".join(literal)))
    seq_count = sum(1 for kind, _ in parts if kind == "seq")
    if seq_count != 1:
        raise InvalidNumberFormat(
            "The number format must contain the sequence token {SEQ:N} exactly once."
        )
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class NumberFormat:
    """A validated invoice number template and its sequence reset policy."""

    template: str = DEFAULT_NUMBER_FORMAT
    reset: SequenceReset = SequenceReset.NEVER
    parts: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        reset = self.reset
        if not isinstance(reset, SequenceReset):
            try:
                reset = SequenceReset(reset)
            except ValueError:
                raise InvalidNumberFormat(
                    "The sequence restarts never, yearly or monthly."
                ) from None
            object.__setattr__(self, "reset", reset)
        parts = _parse(self.template)
        tokens = {value for kind, value in parts if kind == "date"}
        has_year = bool(tokens & {"YYYY", "YY"})
        if reset is SequenceReset.YEARLY and not has_year:
            raise InvalidNumberFormat(
                "A number format that restarts every year must contain {YYYY} or {YY}."
            )
        if reset is SequenceReset.MONTHLY and not (has_year and "MM" in tokens):
            raise InvalidNumberFormat(
                "A number format that restarts every month must contain {YYYY} (or {YY}) and {MM}."
            )
        object.__setattr__(self, "parts", parts)

    def format(self, seq: int, issue_date: date) -> str:
        """The invoice number for sequence `seq` issued on `issue_date`."""
        _check_sequence(seq)
        out: list[str] = []
        for kind, value in self.parts:
            if kind == "lit":
                out.append(value)
            elif kind == "seq":
                out.append(str(seq).zfill(int(value)))
            elif value == "YYYY":
                out.append(f"{issue_date.year:04d}")
            elif value == "YY":
                out.append(f"{issue_date.year % 100:02d}")
            elif value == "MM":
                out.append(f"{issue_date.month:02d}")
            else:
                out.append(f"{issue_date.day:02d}")
        return "".join(out)

    def scope(self, issue_date: date) -> str:
        """The sequence scope of `issue_date` under this format's reset policy."""
        return sequence_scope(self.reset, issue_date)


def validate_number_format(template: str, reset: SequenceReset = SequenceReset.NEVER) -> None:
    """Raise InvalidNumberFormat with a readable message if the template is not valid."""
    NumberFormat(template, reset)


def _check_sequence(seq: int) -> None:
    if type(seq) is not int or not 1 <= seq <= MAX_SEQUENCE:
        raise InvalidSequence(
            f"The sequence number must be a whole number from 1 to {MAX_SEQUENCE}."
        )


def format_number(fmt: NumberFormat | str, seq: int, issue_date: date) -> str:
    """format_number("INV-{YYYY}-{SEQ:5}", 42, date(2026, 3, 9)) == "INV-2026-00042"."""
    number_format = fmt if isinstance(fmt, NumberFormat) else NumberFormat(fmt)
    return number_format.format(seq, issue_date)


def next_sequence(last_seq: int | None) -> int:
    """The sequence number after `last_seq` (None: nothing issued yet in this scope -> 1)."""
    if last_seq is None:
        return 1
    if type(last_seq) is not int or not 0 <= last_seq < MAX_SEQUENCE:
        raise InvalidSequence(
            f"The last sequence number must be a whole number from 0 to {MAX_SEQUENCE - 1}."
        )
    return last_seq + 1


def sequence_scope(reset: SequenceReset, issue_date: date) -> str:
    """'' (never resets), '2026' (yearly) or '2026-03' (monthly)."""
    if reset is SequenceReset.YEARLY:
        return f"{issue_date.year:04d}"
    if reset is SequenceReset.MONTHLY:
        return f"{issue_date.year:04d}-{issue_date.month:02d}"
    return ""
