"""Moments are shown in the agency's time zone, with the zone's name (domain/timestamps.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from billing_app.domain.timestamps import as_utc, format_timestamp, local_time, zone_of


def test_a_moment_reads_in_the_agency_zone_with_its_abbreviation() -> None:
    winter = datetime(2026, 3, 3, 14, 5, tzinfo=UTC)
    summer = datetime(2026, 7, 3, 14, 5, tzinfo=UTC)
    assert format_timestamp(winter, "Europe/Paris") == "3 Mar 2026, 15:05 CET"
    assert format_timestamp(summer, "Europe/Paris") == "3 Jul 2026, 16:05 CEST"
    assert format_timestamp(summer, "America/New_York") == "3 Jul 2026, 10:05 EDT"
    assert format_timestamp(summer, "UTC") == "3 Jul 2026, 14:05 UTC"


def test_the_date_changes_with_the_zone() -> None:
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert format_timestamp(late, "Asia/Tokyo") == "1 Jan 2027, 08:30 JST"
    assert format_timestamp(late, "Pacific/Honolulu") == "31 Dec 2026, 13:30 HST"


def test_zones_without_letters_show_their_offset() -> None:
    moment = datetime(2026, 7, 3, 14, 5, tzinfo=UTC)
    assert format_timestamp(moment, "Asia/Dubai") == "3 Jul 2026, 18:05 UTC+4"
    assert format_timestamp(moment, "Asia/Kathmandu") == "3 Jul 2026, 19:50 UTC+05:45"
    assert format_timestamp(moment, "America/Sao_Paulo") == "3 Jul 2026, 11:05 UTC-3"


def test_naive_moments_are_utc_as_sqlite_returns_them() -> None:
    naive = datetime(2026, 3, 3, 14, 5)
    assert as_utc(naive) == datetime(2026, 3, 3, 14, 5, tzinfo=UTC)
    assert local_time(naive, "Europe/Helsinki").hour == 16
    other = datetime(2026, 3, 3, 16, 5, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(other) == datetime(2026, 3, 3, 14, 5, tzinfo=UTC)


def test_an_unknown_or_empty_zone_reads_utc_and_nothing_is_shown_for_no_moment() -> None:
    moment = datetime(2026, 3, 3, 14, 5, tzinfo=UTC)
    assert format_timestamp(moment, "Mars/Olympus") == "3 Mar 2026, 14:05 UTC"
    assert format_timestamp(moment, "") == "3 Mar 2026, 14:05 UTC"
    assert format_timestamp(moment, None) == "3 Mar 2026, 14:05 UTC"
    assert format_timestamp(moment, "../../etc/passwd") == "3 Mar 2026, 14:05 UTC"
    assert zone_of("Europe/Paris").key == "Europe/Paris"
    assert format_timestamp(None, "Europe/Paris") == "—"
