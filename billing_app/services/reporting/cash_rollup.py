"""Keeps ``cash_month`` exact (db/reporting.py): every flush that adds a payment, a refund or a
reversal, issues or voids an invoice, or issues a credit note adds its amounts to the month,
brand and currency it counts in, in the same transaction. The batch renewal path inserts its
invoices without the ORM and calls ``add_invoices`` itself.

What counts, and where:

* ``invoice_payment`` rows by kind on ``received_on`` (the invoice's brand); a refund to the
  client's credit balance moves no money and is not counted;
* an invoice on its ``issue_date`` while it is neither a draft nor void (sending adds it,
  voiding takes it off again);
* a credit note on its ``issue_date``.

Rows are added with one upsert per month, brand and currency touched, in a fixed order (so two
transactions never wait for each other's rows the other way round)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession

from billing_app.db.credit_notes import CreditNote
from billing_app.db.invoicing import Invoice, InvoicePayment
from billing_app.db.reporting import CashMonth

# The rows that do not count as invoiced, and the refunds that move no money.
NOT_INVOICED = frozenset({"draft", "void"})
CREDIT_BALANCE = "credit_balance"
_KIND_COLUMN = {
    "payment": "payments_minor",
    "refund": "refunds_minor",
    "reversal": "reversals_minor",
}

Key = tuple[date, int, str]
Deltas = dict[Key, dict[str, int]]


def month_of(day: date) -> date:
    return day.replace(day=1)


def payment_counts(kind: str, method: str) -> bool:
    """Whether a payment row moves money (everything but a refund to the credit balance)."""
    return kind in _KIND_COLUMN and not (kind == "refund" and method == CREDIT_BALANCE)


def _table() -> Any:
    return CashMonth.__table__  # type: ignore[attr-defined]


def apply(conn: sa.Connection, deltas: Deltas) -> None:
    """Add ``deltas`` to the rollup (rows made as needed)."""
    table = _table()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for key in sorted(deltas):
        values = {name: amount for name, amount in deltas[key].items() if amount}
        if not values:
            continue
        month, brand_id, currency = key
        stmt = dialect.insert(table).values(
            month=month, brand_id=brand_id, currency=currency, **values
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.month, table.c.brand_id, table.c.currency],
            set_={name: table.c[name] + stmt.excluded[name] for name in values},
        )
        conn.execute(stmt)


def _add(deltas: Deltas, key: Key, **amounts: int) -> None:
    row = deltas.setdefault(key, defaultdict(int))
    for name, amount in amounts.items():
        row[name] += amount


def add_invoices(conn: sa.Connection, invoices: Iterable[Any]) -> None:
    """The rollup of invoices inserted issued without the ORM (the renewal batches): each with
    ``issue_date``, ``brand_id``, ``currency``, ``total_minor``."""
    deltas: Deltas = {}
    for row in invoices:
        key = (month_of(row.issue_date), row.brand_id, row.currency)
        _add(deltas, key, invoiced_minor=row.total_minor, invoices=1)
    apply(conn, deltas)


def _old(obj: Any, name: str) -> Any:
    history = sa.inspect(obj).attrs[name].history
    return history.deleted[0] if history.deleted else getattr(obj, name)


def _invoice_delta(deltas: Deltas, invoice: Invoice, *, new: bool) -> None:
    """What this flush changed in the invoice's contribution: off before, on after."""
    if not new and _old(invoice, "status") not in NOT_INVOICED:
        key = (
            month_of(_old(invoice, "issue_date")),
            _old(invoice, "brand_id"),
            _old(invoice, "currency"),
        )
        _add(deltas, key, invoiced_minor=-int(_old(invoice, "total_minor")), invoices=-1)
    if invoice.status not in NOT_INVOICED:
        key = (month_of(invoice.issue_date), invoice.brand_id, invoice.currency)
        _add(deltas, key, invoiced_minor=int(invoice.total_minor), invoices=1)


def _invoice_changed(invoice: Invoice) -> bool:
    state = sa.inspect(invoice)
    return any(
        state.attrs[name].history.has_changes()
        for name in ("status", "issue_date", "brand_id", "currency", "total_minor")
    )


def _brands(session: OrmSession, invoice_ids: set[int]) -> dict[int, int]:
    table: Any = Invoice.__table__  # type: ignore[attr-defined]
    rows = session.connection().execute(
        sa.select(table.c.id, table.c.brand_id).where(table.c.id.in_(sorted(invoice_ids)))
    )
    return {invoice_id: brand_id for invoice_id, brand_id in rows}


@sa.event.listens_for(OrmSession, "after_flush")
def _roll_up(session: OrmSession, _context: Any) -> None:
    deltas: Deltas = {}
    payments: list[InvoicePayment] = []
    for obj in session.new:
        if isinstance(obj, InvoicePayment):
            if payment_counts(obj.kind, obj.method):
                payments.append(obj)
        elif isinstance(obj, Invoice):
            _invoice_delta(deltas, obj, new=True)
        elif isinstance(obj, CreditNote):
            key = (month_of(obj.issue_date), obj.brand_id, obj.currency)
            _add(deltas, key, credited_minor=int(obj.total_minor), credit_notes=1)
    for obj in session.dirty:
        if isinstance(obj, Invoice) and _invoice_changed(obj):
            _invoice_delta(deltas, obj, new=False)
    if payments:
        brands = _brands(session, {p.invoice_id for p in payments})
        for p in payments:
            key = (month_of(p.received_on), brands[p.invoice_id], p.currency)
            _add(deltas, key, **{_KIND_COLUMN[p.kind]: int(p.amount_minor)})
    if deltas:
        apply(session.connection(), deltas)
