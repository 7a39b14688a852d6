"""Clients' credit balances: money a credit note left with the agency for the client, per
currency, which the client's next invoices use before anything is charged (docs/architecture.md,
"Credit notes").

The balance row never goes below zero: spending it is one compare-and-set UPDATE (``balance >=
amount``) under the row lock, so two invoices sent at once never spend the same credit. Every
movement is an append-only ``client_credit_entry`` and an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.credit_notes import ClientCredit, ClientCreditEntry, CreditNote
from billing_app.db.invoicing import Invoice, InvoiceEvent
from billing_app.domain.lifecycle import InvoiceStatus
from billing_app.domain.money import Money, format_money
from billing_app.services.common import audit
from billing_app.services.common.actors import Actor
from billing_app.services.common.clock import Clock
from billing_app.services.common.errors import Conflict


@dataclass(frozen=True)
class Balance:
    currency: str
    amount_minor: int

    @property
    def money(self) -> Money:
        return Money(self.amount_minor, self.currency)


def balances_of(session: Session, client_id: int) -> list[Balance]:
    """The client's credit balances that are not zero, by currency."""
    rows = session.exec(
        select(ClientCredit.currency, ClientCredit.balance_minor)
        .where(col(ClientCredit.client_id) == client_id)
        .where(col(ClientCredit.balance_minor) > 0)
        .order_by(col(ClientCredit.currency))
    ).all()
    return [Balance(currency, int(amount)) for currency, amount in rows]


def balance_minor(session: Session, client_id: int, currency: str) -> int:
    value = session.exec(
        select(ClientCredit.balance_minor)
        .where(col(ClientCredit.client_id) == client_id)
        .where(col(ClientCredit.currency) == currency)
    ).first()
    return int(value or 0)


def entry(
    session: Session,
    client_id: int,
    currency: str,
    kind: str,
    amount_minor: int,
    clock: Clock,
    **fields: Any,
) -> None:
    session.add(
        ClientCreditEntry(
            client_id=client_id,
            currency=currency,
            kind=kind,
            amount_minor=amount_minor,
            created_at=clock.now(),
            **fields,
        )
    )


def add_credit(
    session: Session,
    client_id: int,
    currency: str,
    amount_minor: int,
    *,
    kind: str,
    actor: Actor,
    actor_label: str,
    target: str,
    clock: Clock,
    credit_note_id: int | None = None,
    invoice_id: int | None = None,
    note: str = "",
) -> None:
    """Put ``amount_minor`` on the client's balance (a credit note, an invoice it paid was
    voided, a prorated downgrade: ``note`` says why), in the caller's transaction."""
    assert amount_minor > 0
    now = clock.now()
    bumped = session.execute(
        sa.update(ClientCredit)
        .where(col(ClientCredit.client_id) == client_id)
        .where(col(ClientCredit.currency) == currency)
        .values(balance_minor=col(ClientCredit.balance_minor) + amount_minor, updated_at=now)
    )
    if getattr(bumped, "rowcount", 0) == 0:
        session.add(
            ClientCredit(
                client_id=client_id, currency=currency, balance_minor=amount_minor, updated_at=now
            )
        )
    entry(
        session,
        client_id,
        currency,
        kind,
        amount_minor,
        clock,
        credit_note_id=credit_note_id,
        invoice_id=invoice_id,
        actor_label=actor_label,
        note=note[:500],
    )
    audit.record(
        session,
        "credit_balance.added",
        actor,
        target=target,
        details=format_money(Money(amount_minor, currency), "en") + (f": {note}" if note else ""),
        clock=clock,
    )
    session.flush()


def spend(session: Session, client_id: int, currency: str, amount_minor: int, clock: Clock) -> bool:
    """Take ``amount_minor`` off the balance if it holds that much (compare-and-set)."""
    spent = session.execute(
        sa.update(ClientCredit)
        .where(col(ClientCredit.client_id) == client_id)
        .where(col(ClientCredit.currency) == currency)
        .where(col(ClientCredit.balance_minor) >= amount_minor)
        .values(
            balance_minor=col(ClientCredit.balance_minor) - amount_minor, updated_at=clock.now()
        )
    )
    return getattr(spent, "rowcount", 0) == 1


def apply_to_invoice(
    session: Session, invoice: Invoice, *, actor: Actor, actor_label: str, clock: Clock
) -> int:
    """Pay what the client's credit balance can of a just-sent invoice (its total at most);
    what was applied (0 when the client has no credit in the invoice's currency). The caller
    then settles the invoice's status."""
    assert invoice.id is not None
    available = balance_minor(session, invoice.client_id, invoice.currency)
    amount = min(available, max(invoice.total_minor - invoice.credit_applied_minor, 0))
    if amount <= 0 or not spend(session, invoice.client_id, invoice.currency, amount, clock):
        return 0
    invoice.credit_applied_minor += amount
    session.add(invoice)
    entry(
        session,
        invoice.client_id,
        invoice.currency,
        "applied",
        -amount,
        clock,
        invoice_id=invoice.id,
        actor_label=actor_label,
    )
    label = format_money(Money(amount, invoice.currency), invoice.locale)
    session.add(
        InvoiceEvent(
            invoice_id=invoice.id,
            at=clock.now(),
            kind="credit_applied",
            actor_label=actor_label,
            message=f"{label} paid from the client's credit balance",
            internal=False,
        )
    )
    audit.record(
        session,
        "credit_balance.applied",
        actor,
        target=invoice.number or "",
        details=label,
        clock=clock,
    )
    session.flush()
    return amount


def return_to_balance(
    session: Session, invoice: Invoice, *, actor: Actor, actor_label: str, clock: Clock
) -> None:
    """A voided invoice gives the credit balance it used back to the client."""
    amount = invoice.credit_applied_minor
    if amount <= 0:
        return
    add_credit(
        session,
        invoice.client_id,
        invoice.currency,
        amount,
        kind="returned",
        actor=actor,
        actor_label=actor_label,
        target=invoice.number or "",
        clock=clock,
        invoice_id=invoice.id,
    )


def voidable_status(session: Session, invoice: Invoice) -> InvoiceStatus:
    """The status voiding moves the invoice from (an invoice paid by the credit balance alone
    is voided as if open: the credit goes back to the balance); Conflict when a credit note
    corrects it (it is corrected further by another credit note, never voided)."""
    noted = session.exec(
        select(CreditNote.id).where(col(CreditNote.invoice_id) == invoice.id).limit(1)
    ).first()
    if invoice.credited_minor or noted is not None:
        msg = "A credit note corrects this invoice: correct it further with another credit note."
        raise Conflict(msg)
    current = InvoiceStatus(invoice.status)
    if current in (InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID) and not invoice.paid_minor:
        return InvoiceStatus.OPEN
    return current
