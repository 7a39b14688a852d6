"""Display formatting for the UI (Babel)."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime


def format_timestamp(value: datetime | None, locale: str = "en_GB") -> str:
    if value is None:
        return "—"
    return format_datetime(value, "d MMM yyyy, HH:mm", tzinfo=None, locale=locale) + " UTC"
