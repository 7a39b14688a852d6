"""Dunning rules: when a failed automatic charge is tried again, and which payment reminder an
invoice is due (docs/architecture.md, "Renewals").

* Retries: after the n-th failure the card is tried again ``retry_days[n-1]`` days later; after
  the last one, no more. A hard refusal (a lost or stolen card, or the bank's "do not try again")
  and a bank that wants the client (authentication) are never retried off-session.
* Reminders: one before the due date (``before`` days before; 0 for none, and none for an
  invoice due on issue) and one ``after`` days after it for each number of days given. A run
  sends only the latest step due that was not sent, so a run after downtime never sends a burst
  of stale reminders.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from typing import Final

from billing_app.domain.errors import DomainError

__all__ = ["MAX_TRIES_PER_CARD", "next_retry", "parse_days", "reminder_due"]

MAX_TRIES_PER_CARD: Final = 15
"""Charges of one card within 30 days, at most (the card networks' limit is near)."""


class InvalidSchedule(DomainError):
    """A retry or reminder schedule that cannot be used."""


def parse_days(text: str, *, field: str, most: int = 10, longest: int = 60) -> tuple[int, ...]:
    """ "1, 3, 5, 7" -> (1, 3, 5, 7): whole days, 1 to ``longest``, increasing, at most ``most``
    of them ("" is none)."""
    parts = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
    days: list[int] = []
    for part in parts:
        if not part.isdigit() or not 1 <= int(part) <= longest:
            msg = f"Give whole days from 1 to {longest}, separated by commas, such as 1, 3, 5, 7."
            raise InvalidSchedule(msg, field=field)
        days.append(int(part))
    if len(days) > most:
        raise InvalidSchedule(f"At most {most} steps.", field=field)
    if any(later <= earlier for earlier, later in pairwise(days)):
        raise InvalidSchedule("Give the days in increasing order.", field=field)
    return tuple(days)


def next_retry(failures: int, retry_days: tuple[int, ...], failed_on: date) -> date | None:
    """When the card is tried again after its ``failures``-th failure (None: no more)."""
    if failures < 1 or failures > len(retry_days):
        return None
    return failed_on + timedelta(days=retry_days[failures - 1])


def reminder_due(
    issue_date: date,
    due_date: date,
    today: date,
    *,
    before: int,
    after: tuple[int, ...],
) -> str | None:
    """The latest reminder step due on ``today`` ("before-3", "after-7"), or None."""
    steps: list[tuple[date, str]] = []
    if before > 0 and due_date > issue_date:
        steps.append((max(due_date - timedelta(days=before), issue_date), f"before-{before}"))
    steps += [(due_date + timedelta(days=days), f"after-{days}") for days in after]
    due = [step for on, step in sorted(steps) if on <= today]
    return due[-1] if due else None
