"""What a client still owes on an invoice: one definition for every view.

The rule is the domain's (docs/security.md item 28): domain/invoice_math.py ``settle`` gives
``amount_due = total - paid + refunded - credited - credit applied`` and
``Settlement.outstanding`` is that amount while the invoice is collectible (domain/lifecycle.py
``is_collectible``: open or partially paid), zero otherwise. So a refund never reopens what is
due: once money was given back, the invoice is partially refunded or refunded and there is
nothing to collect (nor a payment to record, ``accepts_payment``); void and draft invoices owe
nothing either.

Python code asks ``settlement_of(invoice)``; SQL that must compute the figure in the
database (lists, sums, sorts, the dashboard) uses ``outstanding_sql()``, built here once from
the same definition. A test checks the two agree for every status.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.invoicing import Invoice, InvoicePayment
from billing_app.domain.invoice_math import Settlement, settle
from billing_app.domain.lifecycle import (
    InvoiceStatus,
    accepts_payment,
    accepts_refund,
    is_collectible,
)
from billing_app.domain.money import Money
from billing_app.services.reporting import cash_rollup  # noqa: F401  (the cash rollup's listener)

COLLECTIBLE_STATUSES: Final[tuple[str, ...]] = tuple(
    status.value for status in InvoiceStatus if is_collectible(status)
)
"""The statuses in which the client is expected to pay what is due (domain/lifecycle.py)."""


def settlement_of(invoice: Invoice) -> Settlement:
    """Where the invoice stands: the domain's settlement of its recorded payments and refunds,
    with the status the invoice has (a person sets void and uncollectible; a draft is not
    sent yet), so ``outstanding`` is what the client owes now."""
    currency = invoice.currency
    paid = [Money(invoice.paid_minor, currency)] if invoice.paid_minor else []
    refunded = [Money(invoice.refunded_minor, currency)] if invoice.refunded_minor else []
    derived = settle(
        Money(invoice.total_minor, currency),
        paid,
        refunded,
        credited_minor=invoice.credited_minor,
        applied_minor=invoice.credit_applied_minor,
    )
    return dataclasses.replace(derived, status=InvoiceStatus(invoice.status))


def shown_settlement(invoice: Invoice) -> Settlement:
    """The settlement an invoice's detail page and PDF print. A draft is a preview of the
    invoice as the client will receive it, so it is shown as sent (open, all of it due);
    it still counts nowhere (lists, totals, dashboard, client figures) until it is sent."""
    if invoice.status == InvoiceStatus.DRAFT:
        return dataclasses.replace(settlement_of(invoice), status=InvoiceStatus.OPEN)
    return settlement_of(invoice)


def outstanding_minor(invoice: Invoice) -> int:
    """What the client owes on this invoice now, in minor units (0 when nothing is due)."""
    return settlement_of(invoice).outstanding.amount_minor


def is_collectible_sql() -> sa.ColumnElement[bool]:
    """SQL: the invoice is collectible (domain/lifecycle.py ``is_collectible``)."""
    return col(Invoice.status).in_(COLLECTIBLE_STATUSES)


def outstanding_sql() -> sa.ColumnElement[Any]:
    """SQL: ``Settlement.outstanding`` of each invoice row, in minor units - the balance
    ``total - paid + refunded - credited - credit applied`` while the invoice is collectible
    and the balance positive, else 0. The only place the database is told how much is due."""
    balance = (
        col(Invoice.total_minor)
        - col(Invoice.paid_minor)
        + col(Invoice.refunded_minor)
        - col(Invoice.credited_minor)
        - col(Invoice.credit_applied_minor)
    )
    return sa.case((sa.and_(is_collectible_sql(), balance > 0), balance), else_=0)


def can_record_payment(invoice: Invoice) -> bool:
    """Whether a payment can be recorded against the invoice now (the payment form is
    offered): its status accepts payments and money is still due."""
    settlement = settlement_of(invoice)
    return accepts_payment(settlement.status) and settlement.amount_due.amount_minor > 0


def payable_minor(invoice: Invoice) -> int:
    """The most a payment recorded now may be (0 when no payment can be recorded)."""
    if not can_record_payment(invoice):
        return 0
    return settlement_of(invoice).amount_due.amount_minor


def refundable_minor(invoice: Invoice) -> int:
    """Money received and not yet given back, when the status accepts a refund (else 0)."""
    settlement = settlement_of(invoice)
    if not accepts_refund(settlement.status):
        return 0
    return max(settlement.net_paid.amount_minor, 0)


def can_record_refund(invoice: Invoice) -> bool:
    """Whether a refund can be recorded against the invoice now (the refund form is offered)."""
    return refundable_minor(invoice) > 0


def settled_amounts(
    session: Session,
    invoice: Invoice,
    extra_payment: int = 0,
    extra_refund: int = 0,
    *,
    without_payment: int | None = None,
) -> tuple[int, int, InvoiceStatus]:
    """Paid, refunded and the settled status of the invoice over its recorded entries, with
    a payment or refund about to be recorded, or without a payment about to be reversed.
    Reversed payments count for nothing."""
    rows = session.exec(
        select(InvoicePayment).where(col(InvoicePayment.invoice_id) == invoice.id)
    ).all()
    cur = invoice.currency
    reversed_ids = {p.reversal_of_id for p in rows if p.kind == "reversal"}
    if without_payment is not None:
        reversed_ids.add(without_payment)
    payments = [
        Money(p.amount_minor, cur) for p in rows if p.kind == "payment" and p.id not in reversed_ids
    ]
    refunds = [Money(p.amount_minor, cur) for p in rows if p.kind == "refund"]
    if extra_payment:
        payments.append(Money(extra_payment, cur))
    if extra_refund:
        refunds.append(Money(extra_refund, cur))
    result = settle(
        Money(invoice.total_minor, cur),
        payments,
        refunds,
        credited_minor=invoice.credited_minor,
        applied_minor=invoice.credit_applied_minor,
    )
    return result.amount_paid.amount_minor, result.amount_refunded.amount_minor, result.status
