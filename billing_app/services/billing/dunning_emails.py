"""The emails dunning sends about an invoice, each once per event (docs/architecture.md,
"Dunning"): a failed automatic charge ("failed-<n>", the n-th failure), a bank that wants the
client ("action-<n>"), its subscriptions going past due ("past-due") and then paused or canceled
("stopped"). The key (invoice, event) is a primary key claimed, under the invoice's lock, in the
transaction that queues the email: a run again, or two runs at once, never send one twice.
Reminders have their own key (``invoice_reminder``, one per step)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from babel.dates import format_date
from sqlmodel import Session

from billing_app.db.dunning import DunningEmail
from billing_app.db.invoicing import Invoice
from billing_app.domain.money import Money, format_money
from billing_app.services.common.clock import Clock
from billing_app.services.common.outbox import WAKE_OUTBOX
from billing_app.services.common.transactions import wake
from billing_app.services.invoicing.documents import (
    ensure_pdf,
    pdf_filename,
    queue_about_invoice,
)
from billing_app.services.invoicing.settlement import outstanding_minor


def queue_once(
    session: Session,
    invoice: Invoice,
    event: str,
    kind: str,
    extra: dict[str, Any],
    clock: Clock,
    *,
    attach: bool = False,
) -> bool:
    """Queue the email ``kind`` about ``invoice`` (locked by the caller) with its pay link,
    unless the one of ``event`` was queued already; whether it was queued now."""
    assert invoice.id is not None
    if session.get(DunningEmail, (invoice.id, event)) is not None:
        return False
    session.add(DunningEmail(invoice_id=invoice.id, event=event, kind=kind, queued_at=clock.now()))
    session.flush()  # the primary key refuses a second claim here, before anything is queued
    queue_about_invoice(
        session,
        kind,
        invoice,
        extra,
        attachment=(ensure_pdf(session, invoice), pdf_filename(invoice)) if attach else None,
        pay_link=True,
        clock=clock,
    )
    wake(session, WAKE_OUTBOX)
    return True


def queue_past_due(
    session: Session,
    invoice: Invoice,
    services: list[str],
    *,
    days: int,
    action: str,
    since: Any,
    clock: Clock,
) -> bool:
    """Tell the client the subscriptions ``services`` of the unpaid ``invoice`` are past due,
    and what happens on which day unless it is paid."""
    locale = invoice.locale or "en"
    extra = {
        "services": ", ".join(services),
        "amount": format_money(Money(outstanding_minor(invoice), invoice.currency), locale),
        "action_on": format_date(since + timedelta(days=days), "long", locale=locale),
        "paused": action == "pause",
    }
    return queue_once(session, invoice, "past-due", "subscription_past_due", extra, clock)
