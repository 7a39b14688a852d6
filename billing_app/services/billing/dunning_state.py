"""Where each invoice's automatic retries stand (the dunning schedule of Settings > Dunning):
written in the transaction that records a failed automatic charge."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from billing_app.db.dunning import DunningSettings, DunningState
from billing_app.db.invoicing import Invoice
from billing_app.domain.dunning import next_retry, parse_days
from billing_app.services.billing.past_due import retries_over
from billing_app.services.common.clock import Clock
from billing_app.services.invoicing.settlement import is_collectible_sql


def dunning_settings(session: Session, clock: Clock) -> DunningSettings:
    """The agency's schedule (the defaults until it is changed)."""
    row = session.get(DunningSettings, 1)
    if row is None:
        row = DunningSettings(id=1, updated_at=clock.now())
    return row


def failed(session: Session, invoice_id: int, code: str, today: date, clock: Clock) -> list[str]:
    """An automatic charge of the invoice failed (``code``: why): the next retry, or none - a
    hard refusal or a bank that wants the client is never retried off-session. The
    descriptions of the subscriptions that went past due now (the retries are over)."""
    state = session.get(DunningState, invoice_id) or DunningState(
        invoice_id=invoice_id, updated_at=clock.now()
    )
    state.failures += 1
    if code in ("hard", "authentication_required"):
        state.next_retry_on, state.stopped = None, "hard" if code == "hard" else "action"
    else:
        days = parse_days(dunning_settings(session, clock).retry_days, field="retry_days")
        state.next_retry_on = next_retry(state.failures, days, today)
        state.stopped = "" if state.next_retry_on is not None else "exhausted"
    state.updated_at = clock.now()
    session.add(state)
    if state.stopped:  # no more retries: its subscriptions are past due
        session.flush()
        return retries_over(session, invoice_id, today, clock)
    return []


def stop(session: Session, invoice_id: int, why: str, clock: Clock) -> None:
    state = session.get(DunningState, invoice_id)
    if state is not None and not state.stopped:
        state.stopped, state.next_retry_on, state.updated_at = why, None, clock.now()
        session.add(state)


def card_changed(session: Session, client_id: int) -> None:
    """The client has a new default card: the failed automatic charges of their unpaid
    invoices are tried once more at the next run (the retries had stopped, or wait)."""
    waiting = session.exec(
        select(DunningState)
        .join(Invoice, col(Invoice.id) == col(DunningState.invoice_id))
        .where(col(Invoice.client_id) == client_id)
        .where(col(DunningState.stopped).in_(("", "hard", "action", "exhausted", "limit")))
        .where(is_collectible_sql())
    ).all()
    for state in waiting:
        state.stopped, state.next_retry_on = "", date.min  # due at the next run
        session.add(state)
