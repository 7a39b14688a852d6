"""Sending an invoice (docs/architecture.md, "Decisions"): the number from the brand's gapless
sequence, the frozen snapshot, the PDF stored as sent, the branded email with it, the
timeline and the client's figures, all in one transaction: a failure anywhere leaves the
draft as it was."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters.documents import save_document
from billing_app.db.credit_notes import CreditNoteSequence
from billing_app.db.customers import Client
from billing_app.db.invoicing import (
    Invoice,
    InvoiceSequence,
)
from billing_app.domain.errors import DomainError
from billing_app.domain.invoice_math import payment_status
from billing_app.domain.lifecycle import InvoiceStatus, settled_transition, transition
from billing_app.domain.money import (
    format_money,
)
from billing_app.domain.numbering import NumberFormat, SequenceReset
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import get_agency
from billing_app.services.common import audit
from billing_app.services.common.actors import Actor, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound
from billing_app.services.credit_notes.ledger import apply_to_invoice
from billing_app.services.invoicing.documents import queue_invoice_email, render_snapshot
from billing_app.services.invoicing.drafts import DraftForm, recompute_totals, save_draft
from billing_app.services.invoicing.settlement import (
    outstanding_minor,
)
from billing_app.services.invoicing.snapshots import build_snapshot
from billing_app.services.invoicing.timeline import add_event


def allocate_number(
    session: Session,
    brand_id: int,
    fmt: NumberFormat,
    issue_date: date,
    sequence: type[InvoiceSequence] | type[CreditNoteSequence] = InvoiceSequence,
    *,
    count: int = 1,
) -> int:
    """The next value of a brand's number sequence (per scope) - its invoices', or with
    ``sequence`` its credit notes' - in the caller's transaction; with ``count``, a block of
    that many values, of which this is the last (a batch of renewals numbers its invoices
    with one statement).

    One atomic UPDATE ... RETURNING: concurrent senders queue on the row lock and each gets the
    next value; if the sending transaction rolls back, so does the increment (no gaps)."""
    scope = fmt.scope(issue_date)
    table: Any = sequence
    bump = (
        sa.update(table)
        .where(table.brand_id == brand_id)
        .where(table.scope == scope)
        .values(last_value=table.last_value + count)
        .returning(table.last_value)
    )
    value = session.execute(bump).scalar_one_or_none()
    if value is not None:
        return int(value)
    # First number of this brand/scope: create the row (a concurrent creator may win).
    nested = session.begin_nested()
    try:
        session.execute(sa.insert(table).values(brand_id=brand_id, scope=scope, last_value=0))
        nested.commit()
    except sa.exc.IntegrityError:
        nested.rollback()
    return int(session.execute(bump).scalar_one())


@dataclass(frozen=True)
class SentInvoice:
    id: int
    number: str
    pdf_key: str


def send_invoice(
    session: Session, actor: CurrentUser, invoice_id: int, *, clock: Clock = system_clock
) -> SentInvoice:
    """Finalize a draft: number, snapshot, PDF, email, timeline, client figures — all in the
    caller's transaction, so a failure anywhere leaves the draft as it was."""
    require(actor, Permission.INVOICES_SEND)
    invoice = session.exec(
        select(Invoice).where(col(Invoice.id) == invoice_id).with_for_update()
    ).first()
    if invoice is None:
        msg = "That invoice does not exist."
        raise NotFound(msg)
    try:
        transition(InvoiceStatus(invoice.status), InvoiceStatus.OPEN)
    except DomainError as exc:
        raise Conflict(
            "This invoice was already sent." if invoice.status != "draft" else exc.message
        ) from exc
    return finalize_invoice(
        session, invoice, actor_label=actor.email, audit_actor=actor.actor(), clock=clock
    )


def finalize_invoice(
    session: Session,
    invoice: Invoice,
    *,
    actor_label: str,
    audit_actor: Actor,
    clock: Clock,
    email: bool = True,
) -> SentInvoice:
    """Number, freeze, render, email a draft the caller holds (locked, checked): the part of
    sending that staff and the renewal engine share. Without ``email`` (an invoice charged at
    once), the client hears of it with the outcome of the charge."""
    totals = recompute_totals(session, invoice)  # refuses a negative total
    agency = get_agency(session, clock=clock)
    fmt = NumberFormat(agency.number_format, SequenceReset(agency.number_reset))
    sequence = allocate_number(session, invoice.brand_id, fmt, invoice.issue_date)
    invoice.number = fmt.format(sequence, invoice.issue_date)
    invoice.status = InvoiceStatus.OPEN.value
    invoice.sent_at = invoice.updated_at = clock.now()
    invoice.subtotal_minor = totals.subtotal.amount_minor
    invoice.discount_minor = totals.discount_total.amount_minor
    invoice.tax_minor = totals.tax_total.amount_minor
    invoice.total_minor = totals.total.amount_minor
    session.add(invoice)
    session.flush()
    # The client's credit balance pays what it can before anything is asked or charged.
    applied = apply_to_invoice(
        session, invoice, actor=audit_actor, actor_label=actor_label, clock=clock
    )
    if applied:
        status = payment_status(invoice.total_minor, 0, 0, 0, applied)
        invoice.status = settled_transition(InvoiceStatus.OPEN, status).value
    snapshot = build_snapshot(session, invoice, totals)
    snapshot["credit_applied_minor"] = applied
    invoice.snapshot = json.dumps(snapshot, sort_keys=True)
    invoice.pdf_key = save_document(render_snapshot(snapshot))
    session.add(invoice)
    client = session.get(Client, invoice.client_id)
    assert client is not None and invoice.id is not None
    client.net_invoiced_minor += invoice.total_minor
    client.outstanding_minor += outstanding_minor(invoice)
    session.add(client)
    sent = f"Invoice {invoice.number} sent"
    add_event(session, invoice.id, "sent", actor_label, sent, clock, internal=False)
    if email:
        queue_invoice_email(session, invoice, snapshot, invoice.pdf_key, clock=clock)
        emailed = f"Emailed to {client.email}"
        add_event(session, invoice.id, "emailed", actor_label, emailed, clock, internal=False)
    audit.record(
        session,
        "invoice.sent",
        audit_actor,
        target=invoice.number,
        details=format_money(totals.total, invoice.locale),
        clock=clock,
    )
    return SentInvoice(invoice.id, invoice.number, invoice.pdf_key)


def save_and_send(
    session: Session,
    actor: CurrentUser,
    form: DraftForm,
    *,
    invoice_id: int | None = None,
    clock: Clock = system_clock,
) -> SentInvoice:
    """What the editor's "Send" does: save the draft as it stands, then send it, in one
    transaction (an error in either leaves nothing written)."""
    require(actor, Permission.INVOICES_WRITE)
    saved = save_draft(session, actor, form, invoice_id=invoice_id, clock=clock)
    session.flush()
    return send_invoice(session, actor, saved, clock=clock)
