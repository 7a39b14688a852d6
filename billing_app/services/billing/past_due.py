"""Past due (Settings > Dunning): when the retries of a renewal invoice are over and it is still
unpaid, the subscriptions it bills are past due; after the agency's number of days they are
paused or canceled (the client is emailed); paying the invoice makes a past-due subscription
active again. The subscriptions of an invoice are those its renewal claims name."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, col, select

from billing_app.db.customers import RenewalClaim, Subscription
from billing_app.db.dunning import DunningState
from billing_app.db.invoicing import Invoice
from billing_app.domain.lifecycle import SubscriptionStatus, can_transition
from billing_app.services.catalog.recurring_revenue import (
    refresh_client,
    subscription_mrr_minor,
)
from billing_app.services.catalog.subscriptions import record_event
from billing_app.services.common import audit
from billing_app.services.common.actors import SystemActor
from billing_app.services.common.clock import Clock

S = SubscriptionStatus
DUNNING = SystemActor(label="Dunning")


def subscriptions_of(session: Session, invoice_id: int) -> list[Subscription]:
    return list(
        session.exec(
            select(Subscription)
            .join(RenewalClaim, col(RenewalClaim.subscription_id) == col(Subscription.id))
            .where(col(RenewalClaim.invoice_id) == invoice_id)
        )
    )


def _move(session: Session, sub: Subscription, target: SubscriptionStatus, clock: Clock) -> bool:
    if not can_transition(S(sub.status), target):
        return False
    sub.status = target.value
    now = clock.now()
    if target is S.PAUSED:
        sub.paused_at, sub.next_renewal_on, sub.next_billing_on = now, None, None
    elif target is S.CANCELED:
        sub.canceled_at, sub.ends_on = now, now.date()
        sub.next_renewal_on = sub.next_billing_on = None
        sub.status = S.ENDED.value  # canceled now: nothing more is given or billed
        sub.ended_at = now
    sub.mrr_minor = subscription_mrr_minor(sub)
    sub.updated_at = now
    session.add(sub)
    record_event(session, DUNNING, sub, target.value, _WHY[target], clock)
    return True


_WHY = {
    S.PAST_DUE: "Past due: the automatic payment failed after every retry",
    S.ACTIVE: "Active again: the overdue invoice was paid",
    S.PAUSED: "Paused: the overdue invoice was not paid",
    S.CANCELED: "Canceled: the overdue invoice was not paid",
}


def retries_over(session: Session, invoice_id: int, today: date, clock: Clock) -> list[str]:
    """The invoice's retries are over and it is unpaid: its subscriptions are past due; the
    descriptions of those that went past due now."""
    state = session.get(DunningState, invoice_id)
    if state is None or state.past_due_since is not None:
        return []
    state.past_due_since = today
    session.add(state)
    changed = []
    for sub in subscriptions_of(session, invoice_id):
        if _move(session, sub, S.PAST_DUE, clock):
            changed.append(sub.description)
        refresh_client(session, sub.client_id)
    return changed


def act_on_past_due(session: Session, invoice_id: int, action: str, clock: Clock) -> list[str]:
    """The agency's action on the subscriptions of a still-unpaid invoice past due long
    enough: paused or canceled (ended now); the descriptions of those it changed."""
    target = S.PAUSED if action == "pause" else S.CANCELED
    changed = []
    for sub in subscriptions_of(session, invoice_id):
        if sub.status == S.PAST_DUE.value and _move(session, sub, target, clock):
            changed.append(sub.description)
            refresh_client(session, sub.client_id)
            audit.record(
                session,
                f"subscription.{'paused' if target is S.PAUSED else 'canceled'}",
                DUNNING.actor(),
                target=sub.description,
                details=f"invoice {invoice_id} unpaid",
                clock=clock,
            )
    state = session.get(DunningState, invoice_id)
    if state is not None:
        state.past_due_ended = True
        session.add(state)
    return changed


def due_for_action(session: Session, today: date, days: int) -> list[int]:
    """Invoices whose subscriptions have been past due ``days`` days, not acted on yet."""
    return [
        int(invoice_id)
        for invoice_id in session.exec(
            select(DunningState.invoice_id)
            .where(col(DunningState.past_due_since) <= today - timedelta(days=days))
            .where(col(DunningState.past_due_ended).is_(False))
        )
    ]


def paid(session: Session, invoice: Invoice, clock: Clock) -> None:
    """The invoice was paid: its past-due subscriptions are active again."""
    if invoice.id is None:
        return
    for sub in subscriptions_of(session, invoice.id):
        if sub.status == S.PAST_DUE.value and _move(session, sub, S.ACTIVE, clock):
            refresh_client(session, sub.client_id)
    state = session.get(DunningState, invoice.id)
    if state is not None and state.past_due_since is not None:
        state.past_due_ended = True
        session.add(state)
