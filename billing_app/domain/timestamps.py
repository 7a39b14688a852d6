"""Moments shown to people: stored in UTC, shown in the agency's time zone.

The database keeps aware UTC timestamps (SQLite hands them back naive: they are UTC too). A
person reads them in the zone their agency set, with the zone's abbreviation so nobody has to
guess ("3 Mar 2026, 15:05 CET"). An unknown zone name falls back to UTC rather than failing a
page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime

DEFAULT_ZONE = "UTC"


def zone_of(name: str | None) -> ZoneInfo:
    """The zone called ``name``, or UTC when it is empty or unknown."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def as_utc(value: datetime) -> datetime:
    """An aware UTC moment; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local_time(value: datetime, zone: str | None) -> datetime:
    """``value`` on the wall clock of ``zone``."""
    return as_utc(value).astimezone(zone_of(zone))


def format_timestamp(value: datetime | None, zone: str | None, locale: str = "en_GB") -> str:
    """A moment as a person in ``zone`` reads it, with the zone's short name; "—" for none."""
    if value is None:
        return "—"
    here = local_time(value, zone)
    return format_datetime(here, "d MMM yyyy, HH:mm", locale=locale) + " " + _zone_label(here)


def _zone_label(here: datetime) -> str:
    """The zone's abbreviation at that moment (CET, CEST, EST); its UTC offset when the zone
    has no letters for it (many zones print "+04")."""
    name = here.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = here.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}" if mins else f"UTC{sign}{hours}"
