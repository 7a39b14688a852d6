"""Issuing a credit note against a sent invoice (docs/architecture.md, "Credit notes").

One transaction, under the invoice's lock: what is left to credit (the lines of the credit
notes so far), the credit's lines and taxes (domain/credit_notes.py), the number from the
brand's own gapless sequence, the frozen snapshot and PDF, the invoice's and the client's
figures, the timeline, the audit log. The credit first reduces what is still due; the rest
(money the client paid) goes back the way staff chose:

* offline (a refund recorded with its method) or to the client's credit balance: in the same
  transaction, with the email;
* to the card: a refund attempt is committed with the credit note, then Stripe is asked
  (services/card_payments/card_refunds.py). Whoever records the refund (this page, Stripe's
  event, the reconciliation) completes the credit note (``complete_card_credit``); a refund
  Stripe refuses puts the money on the client's credit balance instead
  (``card_credit_failed``), so the credit is never lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session

from billing_app.db.credit_notes import CreditNote, CreditNoteLine, CreditNoteSequence
from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoiceLine, InvoicePayment
from billing_app.domain.credit_notes import (
    CreditSplit,
    CreditTotals,
)
from billing_app.domain.invoice_math import payment_status
from billing_app.domain.lifecycle import InvoiceStatus, settled_transition
from billing_app.domain.money import Money, format_money
from billing_app.domain.numbering import NumberFormat, SequenceReset
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import get_agency, today_at_agency
from billing_app.services.card_payments import card_refunds
from billing_app.services.card_payments.cards import connected_config
from billing_app.services.common import audit
from billing_app.services.common.actors import Actor, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, ValidationFailed
from billing_app.services.credit_notes import card_credits
from billing_app.services.credit_notes.documents import build_snapshot
from billing_app.services.credit_notes.planning import (
    BALANCE,
    MAX_REASON,
    REFUND_IN_PROGRESS,
    CreditNoteForm,
    card_payment_for,
    check_give_back,
    plan_credit,
    refusal,
)
from billing_app.services.invoicing.limits import bounded_text
from billing_app.services.invoicing.payments import (
    CARD,
    CARD_PAYMENT_IN_FLIGHT,
    card_payment_in_flight,
    locked_invoice,
)
from billing_app.services.invoicing.sending import allocate_number
from billing_app.services.invoicing.settlement import outstanding_minor
from billing_app.settings import Settings


@dataclass(frozen=True)
class IssuedCreditNote:
    id: int
    number: str
    total_minor: int
    outcome: str  # due | card | balance | an offline method | card_failed
    message: str = ""


def resettle(session: Session, invoice: Invoice, outstanding_before: int) -> None:
    """Move the invoice to the status its figures give and keep the client's outstanding
    figure equal to what its invoices have outstanding."""
    figures = payment_status(
        invoice.total_minor,
        invoice.paid_minor,
        invoice.refunded_minor,
        invoice.credited_minor,
        invoice.credit_applied_minor,
    )
    invoice.status = settled_transition(InvoiceStatus(invoice.status), figures).value
    session.add(invoice)
    client = session.get(Client, invoice.client_id)
    assert client is not None
    client.outstanding_minor += outstanding_minor(invoice) - outstanding_before
    session.add(client)


def issue_credit_note(
    session: Session,
    actor: CurrentUser,
    invoice_id: int,
    form: CreditNoteForm,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> IssuedCreditNote:
    """Issue a credit note against a sent invoice, as ``form`` says. A card refund is made
    after the credit note is committed; everything else is in the caller's transaction."""
    require(actor, Permission.INVOICES_SEND)
    invoice = locked_invoice(session, invoice_id)
    why = refusal(InvoiceStatus(invoice.status))
    if why is not None:
        raise Conflict(why)
    if card_payment_in_flight(session, invoice_id):
        raise Conflict(CARD_PAYMENT_IN_FLIGHT)
    reason = bounded_text(" ".join(form.reason.split()), MAX_REASON, "reason")
    if not reason:
        msg = "Say why the invoice is credited: the client reads it on the credit note."
        raise ValidationFailed(msg, field="reason")
    plan = plan_credit(session, invoice, form)
    rows, credit, split = plan.rows, plan.credit, plan.split
    give_back = form.give_back if split.given_back else ""
    payment = None
    if split.given_back:
        require(actor, Permission.REFUNDS_CREATE)
        check_give_back(session, invoice, form, split.given_back)
        if give_back == CARD:
            payment = card_payment_for(session, invoice, form.card_payment_id, split.given_back)
    reference = bounded_text(form.reference, 120, "reference")
    outstanding_before = outstanding_minor(invoice)
    note = book_note(
        session,
        actor.id,
        actor.email,
        actor.actor(),
        invoice,
        credit,
        split,
        give_back,
        reason,
        rows,
        clock,
    )
    assert note.id is not None
    if give_back == CARD:
        resettle(session, invoice, outstanding_before)
        assert payment is not None
        return _refund_to_card(session, actor, note, invoice, payment, clock, settings)
    if give_back:
        card_credits.give_back(
            session,
            note,
            invoice,
            give_back,
            outstanding_before=outstanding_before,
            reference=reference,
            actor=actor.actor(),
            actor_label=actor.email,
            recorded_by_id=actor.id,
            clock=clock,
        )
    else:
        resettle(session, invoice, outstanding_before)
    outcome = give_back or "due"
    card_credits.finish(session, note, invoice, outcome)
    return IssuedCreditNote(note.id, note.number, credit.total, outcome)


def book_note(
    session: Session,
    created_by_id: int | None,
    actor_label: str,
    audit_actor: Actor,
    invoice: Invoice,
    credit: CreditTotals,
    split: CreditSplit,
    give_back: str,
    reason: str,
    rows: list[InvoiceLine],
    clock: Clock,
) -> CreditNote:
    """Write the credit note and what it changes at once: the invoice's credit, the client's
    net invoiced, the invoice's timeline and the audit log (where the money goes is the
    caller's)."""
    note = write_note(
        session, created_by_id, actor_label, invoice, credit, split, give_back, reason, rows, clock
    )
    invoice.credited_minor += split.reduces_due
    client = session.get(Client, invoice.client_id)
    assert client is not None and invoice.id is not None
    client.net_invoiced_minor -= credit.total
    session.add(client)
    label = format_money(Money(credit.total, invoice.currency), invoice.locale)
    session.add(
        InvoiceEvent(
            invoice_id=invoice.id,
            at=clock.now(),
            kind="credit_note",
            actor_label=actor_label,
            message=f"Credit note {note.number} issued: {label} credited ({reason})",
            internal=False,
        )
    )
    audit.record(
        session,
        "credit_note.issued",
        audit_actor,
        target=note.number,
        details=f"{invoice.number}: {label}",
        clock=clock,
    )
    return note


def write_note(
    session: Session,
    created_by_id: int | None,
    actor_label: str,
    invoice: Invoice,
    credit: CreditTotals,
    split: CreditSplit,
    give_back: str,
    reason: str,
    rows: list[InvoiceLine],
    clock: Clock,
) -> CreditNote:
    """The credit note, its number and lines, and its frozen snapshot."""
    agency = get_agency(session, clock=clock)
    fmt = NumberFormat(agency.credit_note_format, SequenceReset(agency.credit_note_reset))
    today = today_at_agency(session, clock=clock)
    sequence = allocate_number(session, invoice.brand_id, fmt, today, CreditNoteSequence)
    number = fmt.format(sequence, today)
    assert invoice.id is not None
    note = CreditNote(
        invoice_id=invoice.id,
        client_id=invoice.client_id,
        brand_id=invoice.brand_id,
        number=number,
        currency=invoice.currency,
        locale=invoice.locale,
        issue_date=today,
        reason=reason,
        net_minor=credit.net,
        tax_minor=credit.tax,
        total_minor=credit.total,
        reduces_due_minor=split.reduces_due,
        given_back_minor=split.given_back,
        give_back=give_back,
        give_back_state="pending" if give_back == CARD else ("done" if give_back else ""),
        created_by_id=created_by_id,
        actor_label=actor_label,
        created_at=clock.now(),
    )
    session.add(note)
    session.flush()
    assert note.id is not None
    for piece in credit.lines:
        session.add(
            CreditNoteLine(
                credit_note_id=note.id,
                invoice_id=invoice.id,
                line_index=piece.index,
                quantity=format(piece.quantity, "f") if piece.quantity is not None else "",
                gross_minor=piece.gross,
                net_minor=piece.net,
                taxes=json.dumps(list(piece.taxes)),
            )
        )
    snapshot = build_snapshot(
        session,
        note,
        invoice,
        credit,
        [row.quantity for row in rows],
        [row.unit_price_minor for row in rows],
    )
    note.snapshot = json.dumps(snapshot, sort_keys=True)
    session.add(note)
    session.flush()
    return note


def _refund_to_card(
    session: Session,
    actor: CurrentUser,
    note: CreditNote,
    invoice: Invoice,
    payment: InvoicePayment,
    clock: Clock,
    settings: Settings | None,
) -> IssuedCreditNote:
    """Commit the credit note with its refund attempt, then ask Stripe for the refund."""
    assert note.id is not None and invoice.id is not None
    config = connected_config(session, settings)
    try:
        attempt = card_refunds.start_refund(
            session,
            invoice,
            payment,
            note.given_back_minor,
            note.reason,
            actor.email,
            clock,
            credit_note_id=note.id,
        )
    except Conflict as exc:
        raise Conflict(REFUND_IN_PROGRESS) from exc
    number, total = note.number, note.total_minor
    try:
        card_refunds.make_refund(session, config, attempt, payment, actor.actor(), clock)
    except Conflict as exc:
        session.commit()  # a refusal put the money on the credit balance: keep that
        session.refresh(note)
        outcome = BALANCE if note.give_back_state == BALANCE else "card_pending"
        return IssuedCreditNote(note.id, number, total, outcome, exc.message)
    return IssuedCreditNote(note.id, number, total, CARD)
