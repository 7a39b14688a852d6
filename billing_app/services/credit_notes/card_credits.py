"""How the money of a credit note goes back to the client, and how a credit note is completed:
its PDF (which says where the money went) and its email.

Shared by the issuing (offline refunds and credit balance, at once) and by the card refunds
(services/card_payments/card_refunds.py), which complete a credit note when its refund is
recorded - by the page, Stripe's event or the reconciliation - or put its money on the client's
credit balance when Stripe refuses the refund.
"""

from __future__ import annotations

import json

from sqlmodel import Session

from billing_app.adapters.documents import save_document
from billing_app.db.card_payments import PaymentAttempt
from billing_app.db.credit_notes import CreditNote
from billing_app.db.invoicing import Invoice, InvoiceEvent
from billing_app.domain.money import Money, format_money
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.common.actors import SYSTEM, Actor
from billing_app.services.common.clock import Clock
from billing_app.services.common.outbox import WAKE_OUTBOX
from billing_app.services.common.transactions import wake
from billing_app.services.credit_notes.documents import (
    queue_credit_note_email,
    render_credit_note,
)
from billing_app.services.credit_notes.ledger import add_credit
from billing_app.services.invoicing.payments import (
    CREDIT_BALANCE,
    METHODS,
    Entry,
    locked_invoice,
    record_entry,
)
from billing_app.services.invoicing.settlement import outstanding_minor

BALANCE = "balance"


def finish(
    session: Session, note: CreditNote, invoice: Invoice, outcome: str, card: str = ""
) -> None:
    """The credit note is complete: its PDF (saying where the money went: ``outcome`` due |
    card | balance | an offline method) and its email to the client."""
    note.pdf_key = save_document(render_credit_note(json.loads(note.snapshot), outcome, card))
    session.add(note)
    session.flush()
    queue_credit_note_email(session, note, invoice, outcome, card)
    wake(session, WAKE_OUTBOX)


def give_back(
    session: Session,
    note: CreditNote,
    invoice: Invoice,
    way: str,
    *,
    outstanding_before: int,
    reference: str,
    actor: Actor,
    actor_label: str,
    recorded_by_id: int | None,
    clock: Clock,
) -> None:
    """Give back the credit note's ``given_back_minor`` now: refunded offline (``way`` is the
    method) or put on the client's credit balance (``way`` is balance), recorded on the
    invoice as a refund of the credit note. The caller holds the invoice's lock;
    ``outstanding_before`` is what the invoice had outstanding before the credit note."""
    amount = Money(note.given_back_minor, invoice.currency)
    label = format_money(amount, invoice.locale)
    invoice.credited_minor += amount.amount_minor
    if way == BALANCE:
        message = f"{label} of credit note {note.number} added to the client's credit balance"
        method = CREDIT_BALANCE
    else:
        message = f"{label} of credit note {note.number} refunded by {METHODS[way].lower()}"
        method = way
    record_entry(
        session,
        invoice,
        Entry(
            kind="refund",
            method=method,
            amount=amount,
            received_on=today_at_agency(session, clock=clock),
            reference=reference,
            note=note.reason,
            message=message,
            credit_note_id=note.id,
        ),
        recorded_by_id=recorded_by_id,
        actor_label=actor_label,
        audit_actor=actor,
        clock=clock,
        outstanding_before=outstanding_before,
    )
    if way == BALANCE:
        add_credit(
            session,
            invoice.client_id,
            invoice.currency,
            amount.amount_minor,
            kind="credit_note",
            actor=actor,
            actor_label=actor_label,
            target=note.number,
            clock=clock,
            credit_note_id=note.id,
            invoice_id=invoice.id,
        )
    note.give_back_state = "done" if way != BALANCE or note.give_back == BALANCE else "balance"
    session.add(note)


def card_refund_entry(session: Session, attempt: PaymentAttempt | None) -> CreditNote | None:
    """The credit note a card refund belongs to (None for a plain refund)."""
    if attempt is None or attempt.credit_note_id is None:
        return None
    return session.get(CreditNote, attempt.credit_note_id)


def card_refund_recorded(session: Session, note: CreditNote, invoice: Invoice, card: str) -> None:
    """The card refund of a credit note was recorded: the credit note is complete."""
    note.give_back_state = "done"
    session.add(note)
    finish(session, note, invoice, "card", card)


def card_refund_failed(session: Session, attempt: PaymentAttempt, clock: Clock) -> None:
    """Stripe did not make the refund of a credit note: its money goes on the client's credit
    balance instead (nothing is lost; staff may pay it back from there), staff are told on the
    timeline, and the credit note is completed saying so. Once per credit note."""
    note = card_refund_entry(session, attempt)
    if note is None or note.give_back_state != "pending":
        return
    invoice = locked_invoice(session, note.invoice_id)
    session.refresh(note)
    if note.give_back_state != "pending":
        return
    before = outstanding_minor(invoice)
    give_back(
        session,
        note,
        invoice,
        BALANCE,
        outstanding_before=before,
        reference="",
        actor=SYSTEM.actor(),
        actor_label="Stripe",
        recorded_by_id=None,
        clock=clock,
    )
    label = format_money(Money(note.given_back_minor, invoice.currency), invoice.locale)
    assert invoice.id is not None
    session.add(
        InvoiceEvent(
            invoice_id=invoice.id,
            at=clock.now(),
            kind="refund_problem",
            actor_label="Stripe",
            message=(
                f"Stripe did not refund {label} of credit note {note.number} to the card "
                f"({attempt.error or 'refused'}): it was added to the client's credit balance. "
                "Pay it back from the client's page if they ask."
            ),
            internal=True,
        )
    )
    finish(session, note, invoice, BALANCE)
