"""The one CSV writer: every CSV file the app produces is written here (docs/security.md item 39).

* Formula injection: spreadsheet programs run a cell starting with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return as a formula (``=HYPERLINK("http://evil", "x")``). Every text cell
  starting with one of those characters gets a leading single quote, which makes it plain text
  (OWASP "CSV injection"). Numbers are given as ``int`` or ``Decimal`` values, never as text:
  they are written in plain notation ("-12.50") and left alone, since a number cannot be a
  formula and a negative amount must stay a number. A text cell that merely looks like a number
  ("-12" typed as a phone number) is still quoted.
* Encoding: UTF-8 with a byte order mark, or Excel shows "Ã©" for "é".
* Lines end with CRLF (RFC 4180).

`unneutralise` undoes the quoting when we read a CSV back (services/customers/imports.py), so
our own export imports unchanged. To keep that exact, a cell already starting with quotes before a
trigger ("'=x") gets one more quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

Cell = str | int | Decimal

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


def _formula_like(text: str) -> bool:
    # Quotes before a trigger count too, so that reading back is exact ("'=x" stays "'=x").
    return text.lstrip(_QUOTE).startswith(FORMULA_TRIGGERS)


def neutralise(text: str) -> str:
    """A text cell a spreadsheet shows as text: ``'=1+1`` for ``=1+1``."""
    return _QUOTE + text if _formula_like(text) else text


def unneutralise(text: str) -> str:
    """The text `neutralise` was given (a cell read back from one of our files)."""
    return text[1:] if text.startswith(_QUOTE) and _formula_like(text) else text


def _cell(value: Cell) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return neutralise(value)


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """A CSV file: UTF-8 with a BOM, CRLF line ends, formula cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(name) for name in header])
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue().encode("utf-8-sig")
