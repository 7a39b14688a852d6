"""Display formatting for the UI (Babel)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_datetime

from billing_app.domain.numbers import parse_id, parse_whole_number


def format_timestamp(value: datetime | None, locale: str = "en_GB") -> str:
    if value is None:
        return "—"
    return format_datetime(value, "d MMM yyyy, HH:mm", tzinfo=None, locale=locale) + " UTC"


def to_int(value: Any, default: int = 0) -> int:
    """An id or page number sent by the page (1 .. 2**63-1, see domain.numbers.parse_id);
    ``default`` for anything else, so an id out of range is simply not found."""
    parsed = parse_id(value)
    return default if parsed is None else parsed


def optional_int(value: Any) -> int | None:
    """An id sent by the page (1 .. 2**63-1), or None for anything else."""
    return parse_id(value)


def optional_index(value: str) -> int | None:
    """A position in a list sent by the page (0 .. 999,999,999), or None."""
    index = parse_whole_number(value, max_digits=9)
    return index if index is not None and index >= 0 else None
