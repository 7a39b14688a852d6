"""Reading credit notes: an invoice's, a client's (with its credit balance), the staff list (its
own tab of the invoices page, searched by number, paginated in SQL), a credit note's PDF; and the
portal's view, scoped by the client the portal session looks at (never an id from the
browser)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters import documents as stored
from billing_app.db.credit_notes import CreditNote
from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice
from billing_app.domain.money import Money
from billing_app.domain.permissions import ClientPermission, Permission
from billing_app.services.access.portal_identity import NOT_FOUND, ClientUser, require_client
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.errors import NotFound
from billing_app.services.common.listing import (
    ListRequest,
    Page,
    keyset_page,
    like_pattern,
    sort_choice,
)
from billing_app.services.credit_notes.documents import pdf_filename, render_credit_note
from billing_app.services.credit_notes.ledger import Balance, balances_of
from billing_app.services.invoicing.views import PdfFile

# How each way of giving money back is named in lists (staff and portal).
OUTCOME_LABELS = {
    "": "Deducted from the amount due",
    "card": "Refunded to the card",
    "balance": "Added to the credit balance",
    "bank_transfer": "Refunded by bank transfer",
    "cheque": "Refunded by cheque",
    "cash": "Refunded in cash",
    "other": "Refunded",
}


@dataclass(frozen=True)
class CreditNoteRow:
    id: int
    number: str
    invoice_id: int
    invoice_number: str
    client_id: int
    client: str
    issue_date: date
    total: Money
    reduces_due: Money
    given_back: Money
    outcome: str  # what it did, as listed
    pending: bool  # a card refund still in flight
    reason: str


def outcome_label(note: CreditNote) -> str:
    """What the credit note did with the money, for a list."""
    if note.give_back_state == "pending":
        return "Refund to the card in progress"
    way = "balance" if note.give_back_state == "balance" else note.give_back
    return OUTCOME_LABELS.get(way, OUTCOME_LABELS[""])


def _row(note: CreditNote, invoice_number: str, client: str) -> CreditNoteRow:
    assert note.id is not None
    cur = note.currency
    return CreditNoteRow(
        id=note.id,
        number=note.number,
        invoice_id=note.invoice_id,
        invoice_number=invoice_number,
        client_id=note.client_id,
        client=client,
        issue_date=note.issue_date,
        total=Money(note.total_minor, cur),
        reduces_due=Money(note.reduces_due_minor, cur),
        given_back=Money(note.given_back_minor, cur),
        outcome=outcome_label(note),
        pending=note.give_back_state == "pending",
        reason=note.reason,
    )


def _joined() -> Any:
    return (
        select(CreditNote, Invoice.number, Client.company)
        .join(Invoice, col(Invoice.id) == col(CreditNote.invoice_id))
        .join(Client, col(Client.id) == col(CreditNote.client_id))
    )


def invoice_credit_notes(session: Session, actor: Acting, invoice_id: int) -> list[CreditNoteRow]:
    """The credit notes of an invoice, oldest first."""
    require(actor, Permission.INVOICES_READ)
    rows = session.execute(
        _joined().where(col(CreditNote.invoice_id) == invoice_id).order_by(col(CreditNote.id))
    ).all()
    return [_row(note, number or "", company) for note, number, company in rows]


@dataclass(frozen=True)
class ClientCredit:
    balances: list[Balance]
    notes: list[CreditNoteRow]
    today: date  # in the agency's time zone (the latest date a payback may carry)
    auto_charge: bool | None  # the client's choice (None: the agency's)


def client_credit(
    session: Session, actor: Acting, client_id: int, *, limit: int = 20
) -> ClientCredit:
    """A client's credit balances and latest credit notes (its overview page)."""
    require(actor, Permission.INVOICES_READ)
    rows = session.execute(
        _joined()
        .where(col(CreditNote.client_id) == client_id)
        .order_by(col(CreditNote.id).desc())
        .limit(limit)
    ).all()
    client = session.get(Client, client_id)
    return ClientCredit(
        balances_of(session, client_id),
        [_row(note, number or "", company) for note, number, company in rows],
        today_at_agency(session),
        client.auto_charge if client is not None else None,
    )


SORTS = {"issued": col(CreditNote.issue_date), "total": col(CreditNote.total_minor)}


def list_credit_notes(session: Session, actor: Acting, request: ListRequest) -> Page[CreditNoteRow]:
    """Every credit note, searched by its number, the invoice's number or the client, sorted
    and paginated in SQL (keyset pages)."""
    require(actor, Permission.INVOICES_READ)
    conditions: list[Any] = []
    term = request.term.lower()
    if term:
        pattern = like_pattern(term)
        conditions.append(
            sa.or_(
                sa.func.lower(col(CreditNote.number)).like(pattern, escape="\\"),
                sa.func.lower(col(Invoice.number)).like(pattern, escape="\\"),
                col(Client.search_text).like(pattern, escape="\\"),
            )
        )
    sort = sort_choice(request, SORTS, "issued")
    count = (
        select(sa.func.count())
        .select_from(CreditNote)
        .join(Invoice, col(Invoice.id) == col(CreditNote.invoice_id))
        .join(Client, col(Client.id) == col(CreditNote.client_id))
        .where(*conditions)
    )
    page = keyset_page(
        session, _joined().where(*conditions), count, [SORTS[sort], col(CreditNote.id)], request
    )
    return page.map(lambda row: _row(row[0], row[1] or "", row[2]))


def _note_pdf(note: CreditNote) -> PdfFile:
    data = stored.read_document(note.pdf_key) if note.pdf_key else None
    if data is None:  # a card refund still in flight: the note as it will read
        data = render_credit_note(json.loads(note.snapshot), note.give_back or "due")
    return PdfFile(data=data, filename=pdf_filename(note))


def credit_note_pdf(session: Session, actor: Acting, note_id: int) -> PdfFile:
    """A credit note's PDF, as it was issued."""
    require(actor, Permission.INVOICES_READ)
    note = session.get(CreditNote, note_id) if 0 < note_id < 2**63 else None
    if note is None:
        msg = "That credit note does not exist."
        raise NotFound(msg)
    return _note_pdf(note)


@dataclass(frozen=True)
class PortalCredit:
    balances: list[Balance]
    notes: list[CreditNoteRow]


def portal_credit(session: Session, actor: ClientUser, *, limit: int = 50) -> PortalCredit:
    """The client's credit balance and credit notes, as the portal shows them."""
    client_id = require_client(actor, ClientPermission.INVOICES_VIEW)
    rows = session.execute(
        _joined()
        .where(col(CreditNote.client_id) == client_id)
        .order_by(col(CreditNote.id).desc())
        .limit(limit)
    ).all()
    return PortalCredit(
        balances_of(session, client_id),
        [_row(note, number or "", company) for note, number, company in rows],
    )


def portal_credit_note_pdf(session: Session, actor: ClientUser, note_id: int) -> PdfFile:
    """One of the client's credit notes as a PDF; anything else is NotFound."""
    client_id = require_client(actor, ClientPermission.INVOICES_VIEW)
    note = session.get(CreditNote, note_id) if 0 < note_id < 2**63 else None
    if note is None or note.client_id != client_id:
        raise NotFound(NOT_FOUND)
    return _note_pdf(note)
