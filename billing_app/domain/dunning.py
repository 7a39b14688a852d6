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

__all__ = [
    "MAX_TRIES_PER_CARD",
    "attempt_outcome",
    "next_reminder",
    "next_retry",
    "parse_days",
    "reminder_due",
]

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
    steps = _reminder_steps(issue_date, due_date, before=before, after=after)
    due = [step for on, step in steps if on <= today]
    return due[-1] if due else None


def _reminder_steps(
    issue_date: date, due_date: date, *, before: int, after: tuple[int, ...]
) -> list[tuple[date, str]]:
    steps: list[tuple[date, str]] = []
    if before > 0 and due_date > issue_date:
        steps.append((max(due_date - timedelta(days=before), issue_date), f"before-{before}"))
    steps += [(due_date + timedelta(days=days), f"after-{days}") for days in after]
    return sorted(steps)


def next_reminder(
    issue_date: date,
    due_date: date,
    today: date,
    *,
    before: int,
    after: tuple[int, ...],
    sent: frozenset[str] | set[str],
) -> tuple[date, str] | None:
    """When the next reminder goes, and its step: today's latest step due when it was not
    sent (at the next run), else the first step still to come; None when the schedule is
    over."""
    steps = _reminder_steps(issue_date, due_date, before=before, after=after)
    due = [(on, step) for on, step in steps if on <= today]
    if due and due[-1][1] not in sent:
        return today, due[-1][1]
    later = [(on, step) for on, step in steps if on > today]
    return later[0] if later else None


def attempt_outcome(state: str, *, last: bool, stopped: str) -> str:
    """What one automatic charge of an invoice came to, for people: "paid", "declined",
    "hard_decline" (never tried again), "authentication" (the bank wants the client) or
    "pending". ``stopped`` is where the invoice's retries stand (the last attempt's refusal
    made them stop when "hard" or "action")."""
    if state == "done":
        return "paid"
    if state == "action":
        return "authentication"
    if state != "failed":
        return "pending"
    if last and stopped == "hard":
        return "hard_decline"
    if last and stopped == "action":
        return "authentication"
    return "declined"
