"""Display helpers shared by every page: money, dates and timestamps (Babel), the admin locale
and page size, currency and language choices, and parsing of ids the page sends."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel.core import get_global
from babel.dates import format_date
from babel.numbers import get_currency_name, get_territory_currencies

from billing_app.domain import timestamps
from billing_app.domain.money import Money, format_money
from billing_app.domain.numbers import parse_id, parse_whole_number
from billing_app.services.common.clock import system_clock


def format_timestamp(value: datetime | None, zone: str) -> str:
    """A stored moment in the viewer's time zone (``CurrentUser.time_zone``)."""
    return timestamps.format_timestamp(value, zone, ADMIN_LOCALE)


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


ADMIN_LOCALE = "en"


PER_PAGE = 25


def money(amount: Money) -> str:
    return format_money(amount, ADMIN_LOCALE)


def figure(amount: Money | None) -> str:
    """A figure the viewer may see, or "" (its column is not shown to them)."""
    return money(amount) if amount is not None else ""


def day(value: date | None) -> str:
    return format_date(value, "d MMM yyyy", locale=ADMIN_LOCALE) if value else "—"


def _page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def _currency_choices() -> tuple[tuple[str, str], ...]:
    """Every currency that is legal tender somewhere today (ISO 4217, from Babel's CLDR data),
    as (code, "EUR — Euro"), by code. The one list every currency picker offers."""
    today = system_clock.now().date()
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, start_date=today, tender=True))
    return tuple(
        (code, f"{code} — {get_currency_name(code, locale=ADMIN_LOCALE)}") for code in sorted(codes)
    )


CURRENCY_CHOICES = _currency_choices()

# Suggested languages (any locale Babel knows is accepted and kept): the ones agencies use most.
LOCALE_CHOICES = (
    ("en", "English"),
    ("en_GB", "English (UK)"),
    ("en_US", "English (US)"),
    ("fr", "French"),
    ("fr_FR", "French (France)"),
    ("fr_CA", "French (Canada)"),
    ("de", "German"),
    ("de_CH", "German (Switzerland)"),
    ("es", "Spanish"),
    ("it", "Italian"),
    ("nl", "Dutch"),
    ("pt", "Portuguese"),
    ("pt_BR", "Portuguese (Brazil)"),
    ("sv", "Swedish"),
    ("fi", "Finnish"),
    ("da", "Danish"),
    ("nb", "Norwegian"),
    ("pl", "Polish"),
)


def today_iso() -> str:
    """Today's date as an ISO string (a form's default date)."""
    return system_clock.now().date().isoformat()
