"""Settings > Dunning: the retry schedule of failed automatic charges and the reminder steps,
read and changed by staff with the settings permissions, audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from billing_app.domain.dunning import InvalidSchedule, parse_days
from billing_app.domain.numbers import parse_whole_number
from billing_app.domain.permissions import Permission
from billing_app.services.billing.dunning_state import dunning_settings
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import FieldChecks, ValidationFailed


@dataclass(frozen=True)
class DunningForm:
    retry_days: str
    remind_before_days: str
    remind_after_days: str
    past_due_days: str = "14"  # then the subscriptions of an unpaid invoice are...
    past_due_action: str = "cancel"  # ... paused or canceled


def read_dunning(session: Session, actor: Acting, *, clock: Clock = system_clock) -> DunningForm:
    require(actor, Permission.SETTINGS_READ)
    row = dunning_settings(session, clock)
    return DunningForm(
        row.retry_days,
        str(row.remind_before_days),
        row.remind_after_days,
        str(row.past_due_days),
        row.past_due_action,
    )


def _days(text: str, field: str) -> str:
    try:
        return ", ".join(str(day) for day in parse_days(text, field=field))
    except InvalidSchedule as exc:
        raise ValidationFailed(exc.message, field=field) from exc


def _before(text: str) -> int:
    days = parse_whole_number(text.strip() or "0", max_digits=2)
    if days is None or not 0 <= days <= 30:
        msg = "Enter 0 (no reminder before the due date) to 30 days."
        raise ValidationFailed(msg, field="remind_before_days")
    return days


def _past_due_days(text: str) -> int:
    days = parse_whole_number(text.strip(), max_digits=2)
    if days is None or not 1 <= days <= 90:
        msg = "Enter 1 to 90 days."
        raise ValidationFailed(msg, field="past_due_days")
    return days


def save_dunning(
    session: Session, actor: Acting, form: DunningForm, *, clock: Clock = system_clock
) -> None:
    """Validate and save the schedule; every field's problem is reported at once."""
    require(actor, Permission.SETTINGS_WRITE)
    checks = FieldChecks()
    retry = checks.value("retry_days", "", _days, form.retry_days, "retry_days")
    before = checks.value("remind_before_days", 0, _before, form.remind_before_days)
    after = checks.value(
        "remind_after_days", "", _days, form.remind_after_days, "remind_after_days"
    )
    days = checks.value("past_due_days", 14, _past_due_days, form.past_due_days)
    if form.past_due_action not in ("pause", "cancel"):
        checks.add("past_due_action", "Choose to pause or to cancel.")
    checks.raise_if_failed()
    row = dunning_settings(session, clock)
    row.retry_days, row.remind_before_days, row.remind_after_days = retry, before, after
    row.past_due_days, row.past_due_action = days, form.past_due_action
    row.updated_at = clock.now()
    session.add(row)
    audit.record(
        session,
        "settings.updated",
        actor.actor(),
        target="dunning",
        details=(
            f"retries {retry or 'none'}; reminders {before} before, {after or 'none'} after; "
            f"{form.past_due_action} after {days} days past due"
        ),
        clock=clock,
    )
