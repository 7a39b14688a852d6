"""One invoice's dunning on the staff invoice page (docs/architecture.md, "Dunning"): the
automatic charges tried (when, which card, what came of it), the emails dunning sent (payment
failed, the bank wants the client, reminders, past due, paused or canceled), the changes of
state (past due, paused, canceled, active again) and what comes next - all read from the rows
dunning keeps; nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from billing_app.db.customers import RenewalClaim, Subscription, SubscriptionEvent
from billing_app.db.dunning import DunningEmail, DunningState, InvoiceReminder
from billing_app.db.invoicing import Invoice
from billing_app.domain.permissions import Permission
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.billing.dunning_outlook import Outlook, outlooks
from billing_app.services.billing.dunning_state import dunning_settings
from billing_app.services.billing.past_due import DUNNING
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import NotFound
from billing_app.services.invoicing.settlement import outstanding_minor


@dataclass(frozen=True)
class SentEmail:
    at: datetime
    kind: str  # payment_failed, payment_action_required, payment_reminder, ...
    step: str  # the event or reminder step ("failed-2", "after-7")


@dataclass(frozen=True)
class StateChange:
    at: datetime
    subscription: str
    action: str  # past_due, active, paused, canceled
    details: str


@dataclass(frozen=True)
class DunningSummary:
    outlook: Outlook
    emails: list[SentEmail]
    changes: list[StateChange]
    past_due_since: date | None
    owed: bool  # money is still due: what comes next applies


def invoice_dunning(
    session: Session, viewer: Acting, invoice_id: int, *, clock: Clock = system_clock
) -> DunningSummary | None:
    """The dunning of one invoice, or None when dunning never touched it (no automatic
    charge, no reminder)."""
    require(viewer, Permission.INVOICES_READ)
    invoice = session.get(Invoice, invoice_id) if 0 < invoice_id < 2**63 else None
    if invoice is None:
        msg = "That invoice does not exist."
        raise NotFound(msg)
    state = session.get(DunningState, invoice_id)
    emails = [
        SentEmail(at, kind, event)
        for event, kind, at in session.execute(
            sa.select(
                col(DunningEmail.event), col(DunningEmail.kind), col(DunningEmail.queued_at)
            ).where(col(DunningEmail.invoice_id) == invoice_id)
        )
    ] + [
        SentEmail(at, "payment_reminder", step)
        for step, at in session.execute(
            sa.select(col(InvoiceReminder.step), col(InvoiceReminder.sent_at)).where(
                col(InvoiceReminder.invoice_id) == invoice_id
            )
        )
    ]
    today = today_at_agency(session, clock=clock)
    outlook = outlooks(session, [(invoice, state)], today, dunning_settings(session, clock))[
        invoice_id
    ]
    if state is None and not emails and not outlook.attempts:
        return None
    changes = [
        StateChange(event.at, description, event.action, event.details)
        for event, description in session.execute(
            sa.select(SubscriptionEvent, col(Subscription.description))
            .join(Subscription, col(Subscription.id) == col(SubscriptionEvent.subscription_id))
            .join(RenewalClaim, col(RenewalClaim.subscription_id) == col(Subscription.id))
            .where(col(RenewalClaim.invoice_id) == invoice_id)
            .where(col(SubscriptionEvent.actor_label) == DUNNING.label)
            .where(col(SubscriptionEvent.at) >= invoice.created_at)
            .order_by(col(SubscriptionEvent.at), col(SubscriptionEvent.id))
        )
    ]
    return DunningSummary(
        outlook=outlook,
        emails=sorted(emails, key=lambda e: e.at),
        changes=changes,
        past_due_since=state.past_due_since if state is not None else None,
        owed=outstanding_minor(invoice) > 0,
    )
