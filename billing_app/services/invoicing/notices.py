"""Emails about a sent invoice that staff ask for: the invoice again, and a payment reminder.
Each is one use case: the email (with the frozen PDF), the client-visible timeline entry and the
audit record, in the caller's transaction."""

from __future__ import annotations

import json

from sqlmodel import Session

from billing_app.db.invoicing import Invoice
from billing_app.domain.lifecycle import InvoiceStatus, can_email_invoice, can_remind
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.common import audit
from billing_app.services.common.actors import require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict
from billing_app.services.invoicing.documents import queue_reminder_email, resend_invoice_email
from billing_app.services.invoicing.queries import get_invoice
from billing_app.services.invoicing.settlement import outstanding_minor
from billing_app.services.invoicing.timeline import add_event


def client_email_of(invoice: Invoice) -> str:
    """The address the client gets emails at, as frozen when the invoice was sent."""
    try:
        return str(json.loads(invoice.snapshot)["client"]["email"])
    except (ValueError, KeyError, TypeError):
        return "the client"


def note_emailed(
    session: Session, invoice: Invoice, actor: CurrentUser, what: str, clock: Clock
) -> None:
    """The timeline entry for an email the client was sent (client-visible, names no staff)."""
    assert invoice.id is not None
    message = f"{what} to {client_email_of(invoice)}"
    add_event(session, invoice.id, "emailed", actor.email, message, clock, internal=False)


def resend_invoice(
    session: Session, actor: CurrentUser, invoice_id: int, *, clock: Clock = system_clock
) -> None:
    """Email the sent invoice to the client again, with the same PDF."""
    require(actor, Permission.INVOICES_SEND)
    invoice = get_invoice(session, invoice_id)
    if not can_email_invoice(InvoiceStatus(invoice.status)):
        msg = "Only sent invoices that are not void can be emailed."
        raise Conflict(msg)
    resend_invoice_email(session, invoice, clock=clock)
    note_emailed(session, invoice, actor, "Invoice emailed again", clock)
    audit.record(session, "invoice.resent", actor.actor(), target=invoice.number or "", clock=clock)


def send_reminder(
    session: Session, actor: CurrentUser, invoice_id: int, *, clock: Clock = system_clock
) -> None:
    """Remind the client of what is still due (the wording says when it is overdue)."""
    require(actor, Permission.INVOICES_SEND)
    invoice = get_invoice(session, invoice_id)
    if not can_remind(InvoiceStatus(invoice.status), outstanding_minor(invoice)):
        msg = "Reminders are for sent invoices with money still due."
        raise Conflict(msg)
    today = today_at_agency(session, clock=clock)
    queue_reminder_email(session, invoice, today=today, clock=clock)
    note_emailed(session, invoice, actor, "Payment reminder emailed", clock)
    audit.record(
        session, "invoice.reminded", actor.actor(), target=invoice.number or "", clock=clock
    )
