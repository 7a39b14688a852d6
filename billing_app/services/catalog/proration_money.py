"""The money of a change prorated now (docs/architecture.md, "Prorated changes"): the invoice
of an upgrade, the credit of a downgrade. Both run in the caller's transaction, which holds the
subscription's lock.

* An upgrade: an invoice with one line (the change and its prorated dates, the product's taxes),
  finalized like a renewal invoice: numbered, frozen, PDF, the credit balance first; charged at
  once to the default card when the client pays automatically (``charge_pending``, the charge
  runs after the commit), else emailed with the agency's payment terms.
* A downgrade: a credit note against the invoice that billed the current period, on the
  subscription's line (it reduces what is still due first; the paid part goes to the client's
  credit balance). When that invoice cannot take it (none, not creditable, a card payment in
  flight, or less left on the line than the credit) the credit goes to the client's credit
  balance, with the reason recorded on the entry and in the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.customers import Client, ProductTaxRate, RenewalClaim, TaxRateRow
from billing_app.db.invoicing import Invoice, InvoiceLine
from billing_app.domain.credit_notes import (
    CreditTotals,
    InvalidCredit,
    Remaining,
    check_credit,
    credit_amount,
    split_credit,
)
from billing_app.domain.invoice_math import InvoiceLineInput, LineResult, compute_invoice
from billing_app.domain.lifecycle import InvoiceStatus
from billing_app.domain.money import Money
from billing_app.domain.permissions import ClientPermission, Permission
from billing_app.services.access.portal_identity import NOT_FOUND, ClientUser, require_client
from billing_app.services.billing import auto_charge
from billing_app.services.billing.auto_charge import system_invoice
from billing_app.services.common.actors import Acting, Actor, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import NotFound
from billing_app.services.common.outbox import WAKE_OUTBOX
from billing_app.services.common.transactions import wake
from billing_app.services.credit_notes import card_credits
from billing_app.services.credit_notes.issuing import book_note, resettle
from billing_app.services.credit_notes.ledger import add_credit
from billing_app.services.credit_notes.planning import BALANCE, credited_lines, refusal
from billing_app.services.invoicing.documents import queue_invoice_email
from billing_app.services.invoicing.drafts import domain_rate, recompute_totals, tax_json
from billing_app.services.invoicing.payments import card_payment_in_flight, locked_invoice
from billing_app.services.invoicing.sending import finalize_invoice
from billing_app.services.invoicing.settlement import outstanding_minor, settlement_of
from billing_app.services.invoicing.timeline import add_event


def charge_now(
    session: Session, actor: Acting | ClientUser, invoice_id: int, *, clock: Clock = system_clock
) -> str:
    """Charge a prorated change's invoice to the default card, once the change committed (an
    automatic charge: the client hears of the outcome as of a renewal's). Staff need to write
    subscriptions; a client user, to change them, and the invoice must be their client's."""
    invoice = session.get(Invoice, invoice_id) if 0 < invoice_id < 2**63 else None
    if isinstance(actor, ClientUser):
        client_id = require_client(actor, ClientPermission.SUBSCRIPTIONS_CHANGE)
        if invoice is None or invoice.client_id != client_id:
            raise NotFound(NOT_FOUND)
    else:
        require(actor, Permission.SUBSCRIPTIONS_WRITE)
        if invoice is None:
            raise NotFound(NOT_FOUND)
    return auto_charge.charge_pending_in(session, invoice_id, clock=clock)


def product_rates(session: Session, product_id: int) -> list[TaxRateRow]:
    """A product's tax rates, in order."""
    return list(
        session.exec(
            select(TaxRateRow)
            .join(ProductTaxRate, col(ProductTaxRate.tax_rate_id) == col(TaxRateRow.id))
            .where(col(ProductTaxRate.product_id) == product_id)
            .order_by(col(ProductTaxRate.position))
        )
    )


def priced(
    description: str, net_minor: int, currency: str, rates: Sequence[TaxRateRow], quantity: int = 1
) -> LineResult:
    """One line of ``quantity`` x ``net_minor`` with these taxes, as every invoice prices it."""
    line = InvoiceLineInput(
        description or "-",
        Decimal(quantity),
        Money(net_minor, currency),
        None,
        tuple(domain_rate(r) for r in rates),
    )
    return compute_invoice([line], currency).lines[0]


@dataclass(frozen=True)
class Charged:
    invoice_id: int
    number: str
    total_minor: int
    charge_pending: bool  # to charge to the default card once committed


def charge_invoice(
    session: Session,
    client_id: int,
    product_id: int,
    website_id: int | None,
    description: str,
    net_minor: int,
    today: date,
    actor_label: str,
    audit_actor: Actor,
    clock: Clock,
) -> Charged:
    """The invoice of an upgrade's prorated difference, finalized (see the module)."""
    session.execute(sa.update(Client).where(col(Client.id) == client_id).values(id=col(Client.id)))
    client = session.get(Client, client_id)
    assert client is not None
    rates = product_rates(session, product_id)
    invoice = system_invoice(session, client, client.currency, website_id, today, clock)
    automatic = invoice.charge_pending
    assert invoice.id is not None
    result = priced(description, net_minor, client.currency, rates)
    session.add(
        InvoiceLine(
            invoice_id=invoice.id,
            position=0,
            product_id=product_id,
            description=description,
            quantity="1",
            unit_price_minor=net_minor,
            taxes=json.dumps([tax_json(r) for r in rates]),
            amount_minor=result.amount_minor,
            net_minor=result.net_minor,
            tax_minor=result.tax_total_minor,
        )
    )
    session.flush()
    add_event(
        session,
        invoice.id,
        "created",
        actor_label,
        "Prorated change invoiced",
        clock,
        internal=True,
    )
    sent = finalize_invoice(
        session,
        invoice,
        actor_label=actor_label,
        audit_actor=audit_actor,
        clock=clock,
        email=not automatic,
    )
    if automatic and invoice.credit_applied_minor >= invoice.total_minor:
        invoice.charge_pending = False  # the credit balance paid it all: nothing to charge
        queue_invoice_email(session, invoice, json.loads(invoice.snapshot), sent.pdf_key)
    wake(session, WAKE_OUTBOX)
    return Charged(invoice.id, sent.number, invoice.total_minor, invoice.charge_pending)


@dataclass(frozen=True)
class Credited:
    total_minor: int
    credit_note_id: int | None  # None: put on the credit balance
    number: str  # the credit note's number ("" for the balance)
    reason: str  # why the balance (when it is)


def _period_invoice(
    session: Session, subscription_id: int, period_start: date, product_id: int
) -> tuple[Invoice | None, int | None, str]:
    """The invoice that billed the subscription's current period and the position of its line,
    or why there is none to credit."""
    invoice_id = session.exec(
        select(RenewalClaim.invoice_id)
        .where(col(RenewalClaim.subscription_id) == subscription_id)
        .where(col(RenewalClaim.period_start) == period_start)
    ).first()
    if invoice_id is None:
        return None, None, "no invoice billed the current period"
    invoice = locked_invoice(session, invoice_id)
    why = refusal(InvoiceStatus(invoice.status))
    if why is not None:
        return None, None, f"invoice {invoice.number} cannot be credited ({why})"
    if card_payment_in_flight(session, invoice_id):
        return None, None, f"a card payment of invoice {invoice.number} is in flight"
    position = session.exec(
        select(InvoiceLine.position)
        .where(col(InvoiceLine.invoice_id) == invoice_id)
        .where(col(InvoiceLine.product_id) == product_id)
        .order_by(col(InvoiceLine.position))
    ).first()
    if position is None:
        return None, None, f"invoice {invoice.number} has no line of this service"
    return invoice, position, ""


def credit_change(
    session: Session,
    subscription_id: int,
    client_id: int,
    currency: str,
    period_start: date,
    product_id: int,
    gross_minor: int,
    reason: str,
    actor_label: str,
    audit_actor: Actor,
    clock: Clock,
) -> Credited:
    """Credit a downgrade's ``gross_minor`` (taxes included): see the module."""
    invoice, position, why = _period_invoice(session, subscription_id, period_start, product_id)
    if invoice is not None and position is not None:
        assert invoice.id is not None
        totals = recompute_totals(session, invoice)
        done = credited_lines(session, invoice.id)
        # Only the subscription's line takes the credit: the others count as fully credited.
        others = {
            i: Remaining(line.total_minor) for i, line in enumerate(totals.lines) if i != position
        }
        try:
            left = others | {position: done.get(position, Remaining())}
            pieces = credit_amount(totals, left, gross_minor)
            credit = check_credit(totals, done, pieces)
        except InvalidCredit:
            why = f"less than the credit is left to credit on invoice {invoice.number}"
        else:
            return _credit_note(session, invoice, credit, reason, actor_label, audit_actor, clock)
    note = f"{reason}: {why}"
    add_credit(
        session,
        client_id,
        currency,
        gross_minor,
        kind="proration",
        actor=audit_actor,
        actor_label=actor_label,
        target=f"subscription:{subscription_id}",
        clock=clock,
        note=note,
    )
    return Credited(gross_minor, None, "", why)


def _credit_note(
    session: Session,
    invoice: Invoice,
    credit: CreditTotals,
    reason: str,
    actor_label: str,
    audit_actor: Actor,
    clock: Clock,
) -> Credited:
    """A credit note of ``credit`` on ``invoice`` (locked), as staff would issue one."""
    assert invoice.id is not None
    split = split_credit(credit.total, settlement_of(invoice).amount_due.amount_minor)
    rows = list(
        session.exec(
            select(InvoiceLine)
            .where(col(InvoiceLine.invoice_id) == invoice.id)
            .order_by(col(InvoiceLine.position))
        )
    )
    outstanding_before = outstanding_minor(invoice)
    give_back = BALANCE if split.given_back else ""
    note = book_note(
        session,
        None,
        actor_label,
        audit_actor,
        invoice,
        credit,
        split,
        give_back,
        reason,
        rows,
        clock,
    )
    assert note.id is not None
    if give_back:
        card_credits.give_back(
            session,
            note,
            invoice,
            BALANCE,
            outstanding_before=outstanding_before,
            reference="",
            actor=audit_actor,
            actor_label=actor_label,
            recorded_by_id=None,
            clock=clock,
        )
    else:
        resettle(session, invoice, outstanding_before)
    card_credits.finish(session, note, invoice, give_back or "due")
    return Credited(credit.total, note.id, note.number, "")
