"""Ids and positions sent by the page (docs/security.md item 34): an id out of range is no id."""

from __future__ import annotations

import pytest

from billing_app.ui.format import optional_index, optional_int, to_int


@pytest.mark.parametrize(
    "value", ["100000000000000000000000", "1e5", "٣", "-1", "0", "", None, 2**63, 1.5, True]
)
def test_anything_but_an_id_in_range_is_not_an_id(value: object) -> None:
    assert optional_int(value) is None
    assert to_int(value) == 0
    assert to_int(value, 1) == 1


def test_ids_and_page_numbers() -> None:
    assert (optional_int("42"), to_int(7), to_int("3", 1)) == (42, 7, 3)


def test_positions_start_at_zero() -> None:
    assert [optional_index(v) for v in ("0", "12", "-1", "1e3", "9" * 10)] == [
        0,
        12,
        None,
        None,
        None,
    ]
