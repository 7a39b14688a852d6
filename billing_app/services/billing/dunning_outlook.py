"""Where dunning stands for some invoices and what it does next, read from the rows it keeps
(attempts, ``dunning_state``, reminders sent, the subscriptions the invoice bills): shared by the
staff "Past due" view, the invoice page's dunning summary and the portal's banner. A few queries
for a whole page of invoices, never one per invoice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from billing_app.db.card_payments import PaymentAttempt
from billing_app.db.customers import RenewalClaim, Subscription
from billing_app.db.dunning import DunningSettings, DunningState, InvoiceReminder
from billing_app.db.invoicing import Invoice
from billing_app.domain.dunning import attempt_outcome, next_reminder, parse_days
from billing_app.services.billing.charge_recovery import AUTOMATIC


@dataclass(frozen=True)
class Attempt:
    at: datetime
    card: str
    outcome: str  # domain.dunning.attempt_outcome
    amount_minor: int


@dataclass(frozen=True)
class Outlook:
    """``stage``: retrying (an automatic retry is scheduled), awaiting (no retry: the client
    must act), past_due (its subscriptions are past due), stopped (they were paused or
    canceled), overdue (no automatic charge: reminders only)."""

    attempts: list[Attempt]
    stage: str
    next_retry_on: date | None
    next_reminder_on: date | None
    action: str  # pause | cancel: what past due leads to (Settings > Dunning)
    action_on: date | None  # when, for a past-due invoice
    subscriptions: list[tuple[str, str]]  # (description, status) of what it bills

    @property
    def last_outcome(self) -> str:
        return self.attempts[-1].outcome if self.attempts else ""


def stage_of(state: DunningState | None) -> str:
    if state is None:
        return "overdue"
    if state.stopped == "":
        return "retrying"
    if state.past_due_since is not None:
        return "stopped" if state.past_due_ended else "past_due"
    return "awaiting"


def outlooks(
    session: Session,
    invoices: Sequence[tuple[Invoice, DunningState | None]],
    today: date,
    rules: DunningSettings,
) -> dict[int, Outlook]:
    """The outlook of each invoice (by id)."""
    ids = [invoice.id for invoice, _ in invoices if invoice.id is not None]
    if not ids:
        return {}
    attempts: dict[int, list[PaymentAttempt]] = defaultdict(list)
    for attempt in session.execute(
        sa.select(PaymentAttempt)
        .where(col(PaymentAttempt.invoice_id).in_(ids))
        .where(col(PaymentAttempt.kind) == "charge")
        .where(col(PaymentAttempt.actor_label) == AUTOMATIC)
        .order_by(col(PaymentAttempt.id))
    ).scalars():
        attempts[attempt.invoice_id or 0].append(attempt)
    sent: dict[int, set[str]] = defaultdict(set)
    for invoice_id, step in session.execute(
        sa.select(col(InvoiceReminder.invoice_id), col(InvoiceReminder.step)).where(
            col(InvoiceReminder.invoice_id).in_(ids)
        )
    ):
        sent[invoice_id].add(step)
    subscriptions: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for invoice_id, description, status in session.execute(
        sa.select(
            col(RenewalClaim.invoice_id), col(Subscription.description), col(Subscription.status)
        )
        .join(Subscription, col(Subscription.id) == col(RenewalClaim.subscription_id))
        .where(col(RenewalClaim.invoice_id).in_(ids))
        .order_by(col(Subscription.id))
    ):
        subscriptions[invoice_id or 0].append((description, status))
    before = rules.remind_before_days
    after = parse_days(rules.remind_after_days, field="remind_after_days")
    result: dict[int, Outlook] = {}
    for invoice, state in invoices:
        assert invoice.id is not None
        stopped = state.stopped if state is not None else ""
        tried = attempts[invoice.id]
        reminder = next_reminder(
            invoice.issue_date,
            invoice.due_date,
            today,
            before=before,
            after=after,
            sent=sent[invoice.id],
        )
        since = state.past_due_since if state is not None else None
        result[invoice.id] = Outlook(
            attempts=[
                Attempt(
                    at=a.created_at,
                    card=a.card_label,
                    outcome=attempt_outcome(a.state, last=i == len(tried) - 1, stopped=stopped),
                    amount_minor=a.amount_minor,
                )
                for i, a in enumerate(tried)
            ],
            stage=stage_of(state),
            next_retry_on=_shown_retry(state, today),
            next_reminder_on=reminder[0] if reminder else None,
            action=rules.past_due_action,
            action_on=since + timedelta(days=rules.past_due_days) if since else None,
            subscriptions=subscriptions[invoice.id],
        )
    return result


def _shown_retry(state: DunningState | None, today: date) -> date | None:
    """The next retry's day (a new card is tried at the next run: today)."""
    if state is None or state.stopped or state.next_retry_on is None:
        return None
    return max(state.next_retry_on, today)
