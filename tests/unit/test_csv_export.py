"""The one CSV writer (docs/security.md item 39): formula cells neutralised, numbers left as
numbers, UTF-8 with a BOM; and the quoting undone when our own file is read back."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_app.services.common.csv_export import neutralise, unneutralise, write_csv


def read(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://evil","x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "-12.50", "'=1"],
)
def test_formula_cells_become_text(text: str) -> None:
    assert read(write_csv(["name"], [[text]])) == [["name"], ["'" + text]]


@pytest.mark.parametrize("text", ["Acme", "", "Café Ünder", "a=b", " =1", "'quoted", "'"])
def test_other_text_is_unchanged(text: str) -> None:
    assert read(write_csv(["name"], [[text]]))[1] == [text]


def test_numbers_are_plain_and_never_quoted() -> None:
    rows = read(write_csv(["a", "b", "c"], [[Decimal("-12.50"), -3, Decimal("1E+3")]]))
    assert rows[1] == ["-12.50", "-3", "1000"]


def test_file_is_utf8_with_bom_and_crlf() -> None:
    data = write_csv(["company"], [["Amélie"]])
    assert data == "\ufeffcompany\r\nAmélie\r\n".encode()


@given(st.text() | st.text(alphabet="'=+-@\t\rab1 "))
def test_reading_back_gives_what_was_written(text: str) -> None:
    assert unneutralise(neutralise(text)) == text
    assert not neutralise(text).startswith(("=", "+", "-", "@", "\t", "\r"))
