"""Display formatting for the UI (Babel)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_datetime


def format_timestamp(value: datetime | None, locale: str = "en_GB") -> str:
    if value is None:
        return "—"
    return format_datetime(value, "d MMM yyyy, HH:mm", tzinfo=None, locale=locale) + " UTC"


def to_int(value: Any, default: int = 0) -> int:
    """An id or number sent by the page; ``default`` when it is not a whole number."""
    parsed = optional_int(value)
    return default if parsed is None else parsed


def optional_int(value: Any) -> int | None:
    """An id or number sent by the page, or None when it is not a whole number."""
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None
