"""Dunning rules (domain/dunning.py): the retry schedule, when the next retry is, which reminder
step is due (the latest only), and the kind of each change of monthly amount (domain/mrr.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from billing_app.domain.dunning import (
    MAX_TRIES_PER_CARD,
    InvalidSchedule,
    attempt_outcome,
    next_reminder,
    next_retry,
    parse_days,
    reminder_due,
)
from billing_app.domain.mrr import MovementKind, movement_kind


def test_the_schedule_rules() -> None:
    assert parse_days("1, 3,5 ,7", field="retry_days") == (1, 3, 5, 7)
    assert parse_days("", field="retry_days") == ()
    for wrong in ("0", "3,1", "1,1", "x", "61", ",".join(str(d) for d in range(1, 12))):
        with pytest.raises(InvalidSchedule) as bad:
            parse_days(wrong, field="retry_days")
        assert bad.value.field == "retry_days"
    day = date(2026, 3, 1)
    assert [next_retry(n, (1, 3), day) for n in (0, 1, 2, 3)] == [
        None,
        day + timedelta(1),
        day + timedelta(3),
        None,
    ]
    due = date(2026, 3, 15)
    assert reminder_due(day, due, date(2026, 3, 11), before=3, after=(1, 7)) is None
    assert reminder_due(day, due, date(2026, 3, 12), before=3, after=(1, 7)) == "before-3"
    assert reminder_due(day, due, date(2026, 3, 16), before=3, after=(1, 7)) == "after-1"
    assert reminder_due(day, due, date(2026, 5, 1), before=3, after=(1, 7)) == "after-7"
    assert reminder_due(day, due, date(2026, 3, 14), before=0, after=(1,)) is None
    assert reminder_due(due, due, due, before=3, after=(1,)) is None  # due on issue: none before
    assert reminder_due(date(2026, 3, 14), due, date(2026, 3, 14), before=3, after=()) == "before-3"


def test_the_limits_and_messages_of_a_schedule() -> None:
    assert MAX_TRIES_PER_CARD == 15
    assert parse_days("60", field="x") == (60,)
    assert parse_days("1;2", field="x") == (1, 2)
    assert parse_days(",".join(str(d) for d in range(1, 11)), field="x") == tuple(range(1, 11))
    with pytest.raises(InvalidSchedule, match="whole days from 1 to 60"):
        parse_days("61", field="x")
    with pytest.raises(InvalidSchedule, match="At most 10 steps"):
        parse_days(",".join(str(d) for d in range(1, 12)), field="x")
    with pytest.raises(InvalidSchedule, match="increasing order"):
        parse_days("3, 2", field="x")
    assert parse_days("5", field="x", longest=5) == (5,)
    with pytest.raises(InvalidSchedule):
        parse_days("6", field="x", longest=5)
    with pytest.raises(InvalidSchedule):
        parse_days("1,2,3", field="x", most=2)


def test_reminder_steps_in_order_and_on_their_day() -> None:
    issued, due = date(2026, 3, 1), date(2026, 3, 15)
    rule = {"before": 3, "after": (1, 7, 14)}
    assert reminder_due(issued, due, due, **rule) == "before-3"  # type: ignore[arg-type]
    assert reminder_due(issued, due, due + timedelta(1), **rule) == "after-1"  # type: ignore[arg-type]
    assert reminder_due(issued, due, due + timedelta(6), **rule) == "after-1"  # type: ignore[arg-type]
    assert reminder_due(issued, due, due + timedelta(7), **rule) == "after-7"  # type: ignore[arg-type]
    assert reminder_due(issued, due, due + timedelta(14), **rule) == "after-14"  # type: ignore[arg-type]
    # A reminder "before" never before the issue date: issued 2 days before it is due.
    late = date(2026, 3, 13)
    assert reminder_due(late, due, late, before=3, after=()) == "before-3"
    assert reminder_due(late, due, late - timedelta(1), before=3, after=()) is None


def test_each_change_of_monthly_amount_has_its_kind() -> None:
    assert movement_kind(0, 2500, ever_had=False) is MovementKind.NEW
    assert movement_kind(0, 2500, ever_had=True) is MovementKind.REACTIVATION
    assert movement_kind(2500, 5000, ever_had=True) is MovementKind.EXPANSION
    assert movement_kind(5000, 2500, ever_had=True) is MovementKind.CONTRACTION
    assert movement_kind(2500, 0, ever_had=True) is MovementKind.CHURN
    assert movement_kind(2500, 2500, ever_had=True) is None
    assert movement_kind(0, 0, ever_had=False) is None


def test_the_next_reminder_is_todays_unsent_step_else_the_first_to_come() -> None:
    issued, due = date(2026, 3, 1), date(2026, 3, 31)
    rules: dict[str, Any] = {"before": 3, "after": (1, 7)}
    assert next_reminder(issued, due, date(2026, 3, 10), sent=set(), **rules) == (
        date(2026, 3, 28),
        "before-3",
    )
    assert next_reminder(issued, due, date(2026, 3, 29), sent=set(), **rules) == (
        date(2026, 3, 29),
        "before-3",
    )  # due and not sent: at the next run
    assert next_reminder(issued, due, date(2026, 3, 29), sent={"before-3"}, **rules) == (
        date(2026, 4, 1),
        "after-1",
    )
    assert next_reminder(issued, due, date(2026, 4, 8), sent={"after-7"}, **rules) is None
    assert next_reminder(due, due, date(2026, 3, 1), before=3, after=(), sent=set()) is None


def test_what_an_automatic_charge_came_to() -> None:
    assert attempt_outcome("done", last=True, stopped="paid") == "paid"
    assert attempt_outcome("action", last=False, stopped="") == "authentication"
    assert attempt_outcome("started", last=True, stopped="") == "pending"
    assert attempt_outcome("failed", last=True, stopped="hard") == "hard_decline"
    assert attempt_outcome("failed", last=False, stopped="hard") == "declined"
    assert attempt_outcome("failed", last=True, stopped="action") == "authentication"
    assert attempt_outcome("failed", last=True, stopped="exhausted") == "declined"
