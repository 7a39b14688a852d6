"""Dunning that works (docs/architecture.md, "Renewals"): failed automatic charges tried again on
the agency's schedule, and payment reminders before and after the due date, each step once.

A run (hourly, with the renewals) does both for the agency's ``today``:

* each invoice whose retry is due is charged again to the client's default card, off-session,
  under its lock, unless it was paid or closed meanwhile (the retries stop), or the card was
  tried 15 times in 30 days already (they stop: the limit the card networks watch);
* each collectible invoice with money due gets the latest reminder step due that it was not
  sent; the step is claimed by a unique key (invoice, step) in the transaction that queues the
  email, so two runs, or a run again, never send it twice, and steps missed during downtime are
  not sent in a burst (only the latest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from billing_app.db.card_payments import PaymentAttempt
from billing_app.db.dunning import DunningState, InvoiceReminder
from billing_app.db.invoicing import Invoice
from billing_app.domain.dunning import MAX_TRIES_PER_CARD, parse_days, reminder_due
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.billing import past_due
from billing_app.services.billing.auto_charge import charge_default_card, default_card
from billing_app.services.billing.dunning_emails import queue_once
from billing_app.services.billing.dunning_state import dunning_settings, stop
from billing_app.services.billing.past_due import due_for_action
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.outbox import WAKE_OUTBOX
from billing_app.services.common.transactions import wake
from billing_app.services.invoicing.documents import queue_reminder_email
from billing_app.services.invoicing.payments import locked_invoice
from billing_app.services.invoicing.settlement import (
    is_collectible_sql,
    outstanding_minor,
    outstanding_sql,
)
from billing_app.services.invoicing.timeline import add_event
from billing_app.settings import Settings


@dataclass
class DunningReport:
    retried: int = 0
    paid: int = 0
    stopped: int = 0
    reminders: int = 0
    stopped_services: int = 0  # unpaid invoices whose subscriptions were paused or canceled


def run_dunning(
    engine: sa.Engine,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    limit: int = 1000,
) -> DunningReport:
    """Retries due, then reminders due, for the agency's today."""
    report = DunningReport()
    with Session(engine) as session:
        today = today_at_agency(session, clock=clock)
        due = list(
            session.exec(
                select(DunningState.invoice_id)
                .where(col(DunningState.stopped) == "")
                .where(col(DunningState.next_retry_on) <= today)
                .order_by(col(DunningState.next_retry_on), col(DunningState.invoice_id))
                .limit(limit)
            )
        )
    for invoice_id in due:
        with Session(engine, expire_on_commit=False) as session:
            outcome = _retry(session, invoice_id, clock, settings)
            session.commit()
        if outcome in ("paid", "failed", "action", "pending"):
            report.retried += 1
            report.paid += outcome == "paid"
        else:
            report.stopped += 1
    report.reminders = _remind(engine, clock, limit)
    report.stopped_services = _past_due(engine, clock, settings)
    return report


def _past_due(engine: sa.Engine, clock: Clock, settings: Settings | None) -> int:
    """Pause or cancel, as the agency chose, what unpaid invoices past due long enough bill;
    the client is told. How many invoices it acted on."""
    with Session(engine) as session:
        today = today_at_agency(session, clock=clock)
        rules = dunning_settings(session, clock)
        ids = due_for_action(session, today, rules.past_due_days)
    acted = 0
    for invoice_id in ids:
        with Session(engine, expire_on_commit=False) as session:
            invoice = locked_invoice(session, invoice_id)
            if outstanding_minor(invoice) <= 0:
                past_due.paid(session, invoice, clock)  # settled some other way
                session.commit()
                continue
            changed = past_due.act_on_past_due(session, invoice_id, rules.past_due_action, clock)
            if changed:
                paused = rules.past_due_action == "pause"
                extra = {"services": ", ".join(changed), "paused": paused}
                if queue_once(session, invoice, "stopped", "subscription_stopped", extra, clock):
                    add_event(
                        session,
                        invoice_id,
                        "emailed",
                        "Dunning",
                        "Emailed the client: the subscription was "
                        + ("paused" if paused else "canceled"),
                        clock,
                        internal=False,
                    )
                acted += 1
            session.commit()
    return acted


def _retry(session: Session, invoice_id: int, clock: Clock, settings: Settings | None) -> str:
    invoice = locked_invoice(session, invoice_id)
    state = session.get(DunningState, invoice_id)
    today = today_at_agency(session, clock=clock)
    if state is None or state.stopped or state.next_retry_on is None:
        return ""
    if state.next_retry_on > today:
        return ""  # another run tried it a moment ago
    if outstanding_minor(invoice) <= 0:
        stop(session, invoice_id, "closed", clock)  # paid, credited or voided meanwhile
        return "closed"
    card = default_card(session, invoice.client_id)
    if card is not None and _tries(session, card.payment_method_id, clock) >= MAX_TRIES_PER_CARD:
        stop(session, invoice_id, "limit", clock)
        return "limit"
    state.next_retry_on = None  # taken: a failure schedules the next one
    session.add(state)
    outcome = charge_default_card(session, invoice, clock, settings)
    if outcome == "paid":
        stop(session, invoice_id, "paid", clock)
    elif outcome in ("nocard", ""):
        stop(session, invoice_id, "closed", clock)
    return outcome


def _tries(session: Session, payment_method_id: str, clock: Clock) -> int:
    """Charges of the card in the last 30 days."""
    return int(
        session.exec(
            select(func.count())
            .select_from(PaymentAttempt)
            .where(col(PaymentAttempt.kind) == "charge")
            .where(col(PaymentAttempt.payment_method_id) == payment_method_id)
            .where(col(PaymentAttempt.created_at) >= clock.now() - timedelta(days=30))
        ).one()
    )


def _remind(engine: sa.Engine, clock: Clock, limit: int) -> int:
    """Queue the latest reminder step due of every collectible invoice, once each."""
    with Session(engine) as session:
        today = today_at_agency(session, clock=clock)
        rules = dunning_settings(session, clock)
        before = rules.remind_before_days
        after = parse_days(rules.remind_after_days, field="remind_after_days")
        rows = session.execute(
            sa.select(col(Invoice.id), col(Invoice.issue_date), col(Invoice.due_date))
            .where(is_collectible_sql())
            .where(outstanding_sql() > 0)
            .where(col(Invoice.due_date) <= today + timedelta(days=before))
            .order_by(col(Invoice.due_date), col(Invoice.id))
            .limit(limit)
        ).all()
        wanted = {
            invoice_id: step
            for invoice_id, issued, due in rows
            if (step := reminder_due(issued, due, today, before=before, after=after))
        }
        sent = {
            (row[0], row[1])
            for row in session.execute(
                sa.select(col(InvoiceReminder.invoice_id), col(InvoiceReminder.step)).where(
                    col(InvoiceReminder.invoice_id).in_(list(wanted))
                )
            )
        }
    queued = 0
    for invoice_id, step in wanted.items():
        if (invoice_id, step) in sent:
            continue
        with Session(engine, expire_on_commit=False) as session:
            invoice = locked_invoice(session, invoice_id or 0)
            try:
                with session.begin_nested():
                    session.add(
                        InvoiceReminder(invoice_id=invoice_id, step=step, sent_at=clock.now())
                    )
            except IntegrityError:
                session.rollback()
                continue  # another run sent it
            queue_reminder_email(session, invoice, today=today, clock=clock)
            add_event(
                session,
                invoice_id or 0,
                "emailed",
                "Reminders",
                "Payment reminder emailed" + (" (overdue)" if invoice.due_date < today else ""),
                clock,
                internal=False,
            )
            wake(session, WAKE_OUTBOX)
            session.commit()
            queued += 1
    return queued
