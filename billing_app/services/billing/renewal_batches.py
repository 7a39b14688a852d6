"""Renewals in batches (docs/architecture.md, "Renewals"): the common case - a running
subscription with nothing scheduled, of a client without a credit balance - is billed many
invoices per transaction, with a statement per table instead of a statement per row.

A batch keeps every rule of the one-by-one path (renewals.bill_group): each subscription moves
on by compare-and-set, then is read again under the lock and must be exactly as planned; each
period is claimed by its unique key; the invoices are numbered from one block of their brand's
sequence, taken in the same transaction (a rollback gives the block back: no gap). Anything
unexpected - a claim another run made, a subscription changed meanwhile, a credit balance that
appeared - rolls the whole batch back (``Fallback``) and its invoices are billed one by one,
where each case has its rule. PDFs and emails are not made here: each invoice gets a
``renewal_document`` row in the same transaction, which the drain (renewal_documents.py) turns
into the PDF and the email afterwards, at its own rate.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.card_payments import SavedCard
from billing_app.db.credit_notes import ClientCredit
from billing_app.db.customers import (
    Client,
    ClientWebsite,
    ProductTaxRate,
    RenewalClaim,
    RenewalDocument,
    RenewalHold,
    Subscription,
    TaxRateRow,
)
from billing_app.db.invoicing import Brand, Invoice, InvoiceEvent, InvoiceLine
from billing_app.db.models import AuditEvent
from billing_app.domain.invoice_math import InvoiceLineInput, InvoiceTotals, compute_invoice
from billing_app.domain.lifecycle import InvoiceStatus, SubscriptionStatus
from billing_app.domain.money import Money, format_money
from billing_app.domain.numbering import NumberFormat, SequenceReset
from billing_app.services.agency.branding import default_brand, get_agency
from billing_app.services.billing.renewal_plans import RENEWALS, GroupKey, Item, line_description
from billing_app.services.common.bulk_rows import insert_rows, new_row, update_rows
from billing_app.services.common.clock import Clock
from billing_app.services.invoicing.drafts import domain_rate, tax_json
from billing_app.services.invoicing.sending import allocate_number
from billing_app.services.invoicing.snapshots import seller_blocks, snapshot_of
from billing_app.services.reporting.cash_rollup import add_invoices

BATCH = 200  # invoices per transaction
# Only these are batched: anything that changes the subscription as it renews (a trial's end,
# a scheduled change, a cancellation, a one-time purchase) takes the one-by-one path.
_RUNNING = (SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PAST_DUE.value)
Group = tuple[GroupKey, list[Item]]


class Fallback(Exception):
    """The batch met something only the one-by-one path handles: roll it back."""


def batchable(
    session: Session, groups: dict[GroupKey, list[Item]], subs: dict[Any, Any]
) -> set[GroupKey]:
    """The invoices of ``groups`` a batch may make, as planned (checked again in the batch)."""
    credit = {
        (client_id, currency)
        for client_id, currency in session.execute(
            sa.select(col(ClientCredit.client_id), col(ClientCredit.currency)).where(
                col(ClientCredit.balance_minor) > 0
            )
        )
    }
    fast: set[GroupKey] = set()
    for key, items in groups.items():
        if (key[0], key[1]) in credit:
            continue
        if all(_plain(subs[i.subscription_id], i) for i in items):
            fast.add(key)
    return fast


def _plain(sub: Any, item: Item) -> bool:
    return item.period is not None and item.hold_id is None and _as_is(sub)


def _as_is(sub: Any) -> bool:
    """A running subscription with nothing scheduled: it renews unchanged."""
    return (
        sub.status in _RUNNING
        and sub.pending_quantity is None
        and sub.pending_unit_price_minor is None
        and sub.pending_product_id is None
    )


@dataclass
class _Invoice:
    key: GroupKey
    items: list[Item]
    row: Invoice
    lines: list[InvoiceLine]
    totals: InvoiceTotals
    automatic: bool


def bill_batch(session: Session, batch: Sequence[Group], today: date, clock: Clock) -> list[str]:
    """Make the invoices of ``batch`` (in order) in the caller's transaction; their numbers.
    Raises ``Fallback`` (the caller rolls back and bills them one by one)."""
    conn = session.connection()
    now = clock.now()
    final = _move_on(conn, batch, now)
    subs = _fresh(conn, final)
    clients: dict[int, Client] = {
        c.id: c
        for c in session.exec(select(Client).where(col(Client.id).in_({k[0] for k, _ in batch})))
        if c.id is not None
    }
    _check_no_credit(conn, batch)
    agency = get_agency(session, clock=clock)
    fallback_brand = default_brand(session, clock=clock).id or 0
    cards = set(
        conn.execute(
            sa.select(col(SavedCard.client_id))
            .where(col(SavedCard.client_id).in_(list(clients)))
            .where(col(SavedCard.is_default))
            .where(col(SavedCard.removed_at).is_(None))
        ).scalars()
    )
    sites = _sites(session, subs)
    rates = _rates(session, {s.product_id for s in subs.values()})
    made: list[_Invoice] = []
    for key, items in batch:
        client = clients[key[0]]
        wanted = agency.auto_charge if client.auto_charge is None else client.auto_charge
        automatic = bool(wanted) and client.id in cards
        days = 0 if automatic else agency.payment_terms_days
        invoice = new_row(
            Invoice,
            client_id=key[0],
            brand_id=client.brand_id or fallback_brand,
            currency=key[1],
            locale=client.locale,
            issue_date=today,
            due_date=today + timedelta(days=days),
            status=InvoiceStatus.OPEN.value,
            charge_pending=automatic,
            created_at=now,
            updated_at=now,
            sent_at=now,
        )
        lines, totals = _lines(invoice, items, subs, sites, rates)
        used = {subs[i.subscription_id].website_id for i in items}
        invoice.website_id = used.pop() if len(used) == 1 else None
        made.append(_Invoice(key, items, invoice, lines, totals, automatic))
    _number(session, made, agency, today)
    seller: dict[int, dict[str, Any]] = {}
    for m in made:
        brand_id = m.row.brand_id
        if brand_id not in seller:
            brand = session.get(Brand, brand_id)
            assert brand is not None
            seller[brand_id] = seller_blocks(agency, brand)
        site = sites.get(m.row.website_id) if m.row.website_id is not None else None
        snap = snapshot_of(m.row, clients[m.key[0]], seller[brand_id], site, m.lines, m.totals)
        snap["credit_applied_minor"] = 0
        m.row.snapshot = json.dumps(snap, sort_keys=True)
    ids = _insert_invoices(conn, made)
    _insert_rest(conn, made, ids, clients, now)
    return [m.row.number or "" for m in made]


def _move_on(conn: sa.Connection, batch: Sequence[Group], now: Any) -> dict[int, date | None]:
    """Move every subscription past its periods (compare-and-set: from where the first of its
    periods in the batch expects it to where the last leaves it); where each must stand
    afterwards. The first write: it takes the lock the batch holds to its end."""
    table: Any = Subscription.__table__  # type: ignore[attr-defined]
    was: dict[int, date] = {}
    final: dict[int, date | None] = {}
    for _, items in batch:
        for item in items:
            was.setdefault(item.subscription_id, item.expected)
            final[item.subscription_id] = item.moves_to
    rows = [(sub_id, was[sub_id], moved_to) for sub_id, moved_to in final.items()]
    columns = (
        sa.column("b_id", sa.Integer),
        sa.column("b_was", sa.Date),
        sa.column("b_to", sa.Date),
    )
    update_rows(
        conn,
        table,
        columns,
        rows,
        lambda value: {
            "next_billing_on": value("b_to"),
            "next_renewal_on": value("b_to"),
            "updated_at": now,
        },
        lambda value: table.c.next_billing_on == value("b_was"),
    )
    return final


def _fresh(conn: sa.Connection, final: dict[int, date | None]) -> dict[int, Any]:
    """The subscriptions as they now are, under the lock: each must have moved as planned and
    still be one a batch bills as is (else another run or a staff change came first)."""
    table: Any = Subscription.__table__  # type: ignore[attr-defined]
    rows = {r.id: r for r in conn.execute(sa.select(table).where(table.c.id.in_(list(final))))}
    for sub_id, moved_to in final.items():
        row = rows.get(sub_id)
        if row is None or row.next_billing_on != moved_to or not _as_is(row):
            raise Fallback
    return rows


def _check_no_credit(conn: sa.Connection, batch: Sequence[Group]) -> None:
    """A credit balance that appeared since the plan is applied by the one-by-one path."""
    found = conn.execute(
        sa.select(col(ClientCredit.client_id), col(ClientCredit.currency))
        .where(col(ClientCredit.client_id).in_({k[0] for k, _ in batch}))
        .where(col(ClientCredit.balance_minor) > 0)
    ).all()
    wanted = {(k[0], k[1]) for k, _ in batch}
    if any((client_id, currency) in wanted for client_id, currency in found):
        raise Fallback


def _sites(session: Session, subs: dict[int, Any]) -> dict[int, ClientWebsite]:
    ids = {s.website_id for s in subs.values() if s.website_id is not None}
    if not ids:
        return {}
    found = session.exec(select(ClientWebsite).where(col(ClientWebsite.id).in_(ids)))
    return {w.id: w for w in found if w.id is not None}


def _rates(session: Session, product_ids: set[int]) -> dict[int, list[TaxRateRow]]:
    found: dict[int, list[TaxRateRow]] = defaultdict(list)
    rows = session.execute(
        select(col(ProductTaxRate.product_id), TaxRateRow)
        .join(ProductTaxRate, col(ProductTaxRate.tax_rate_id) == col(TaxRateRow.id))
        .where(col(ProductTaxRate.product_id).in_(product_ids))
        .order_by(col(ProductTaxRate.product_id), col(ProductTaxRate.position))
    ).all()
    for product_id, rate in rows:
        found[product_id].append(rate)
    return found


def _lines(
    invoice: Invoice,
    items: list[Item],
    subs: dict[int, Any],
    sites: dict[int, ClientWebsite],
    rates: dict[int, list[TaxRateRow]],
) -> tuple[list[InvoiceLine], InvoiceTotals]:
    """The invoice's lines and totals, as the one-by-one path computes them."""
    inputs = []
    for item in items:
        sub = subs[item.subscription_id]
        site = sites.get(sub.website_id) if sub.website_id is not None else None
        text = line_description(
            sub.description, site.name if site else None, item.period, invoice.locale
        )
        taxes = tuple(domain_rate(r) for r in rates[sub.product_id])
        inputs.append(
            InvoiceLineInput(
                text,
                Decimal(sub.quantity),
                Money(sub.unit_price_minor, invoice.currency),
                None,
                taxes,
            )
        )
    totals = compute_invoice(inputs, invoice.currency)
    invoice.subtotal_minor = totals.subtotal.amount_minor
    invoice.discount_minor = totals.discount_total.amount_minor
    invoice.tax_minor = totals.tax_total.amount_minor
    invoice.total_minor = totals.total.amount_minor
    lines = []
    for position, (item, line, result) in enumerate(zip(items, inputs, totals.lines, strict=True)):
        sub = subs[item.subscription_id]
        lines.append(
            new_row(
                InvoiceLine,
                invoice_id=0,  # set once the invoice has its id
                position=position,
                product_id=sub.product_id,
                description=line.description,
                quantity=str(sub.quantity),
                unit_price_minor=sub.unit_price_minor,
                taxes=json.dumps([tax_json(r) for r in rates[sub.product_id]]),
                amount_minor=result.amount_minor,
                net_minor=result.net_minor,
                tax_minor=result.tax_total_minor,
            )
        )
    return lines, totals


def _number(session: Session, made: list[_Invoice], agency: Any, today: date) -> None:
    """Number the invoices from one block per brand (and scope), in the batch's order."""
    fmt = NumberFormat(agency.number_format, SequenceReset(agency.number_reset))
    counts = Counter(m.row.brand_id for m in made)
    following: dict[int, int] = {}
    for brand_id, count in counts.items():
        last = allocate_number(session, brand_id, fmt, today, count=count)
        following[brand_id] = last - count + 1
    for m in made:
        value = following[m.row.brand_id]
        following[m.row.brand_id] = value + 1
        m.row.number = fmt.format(value, today)


def _insert_invoices(conn: sa.Connection, made: list[_Invoice]) -> list[int]:
    """Insert the invoices; their ids, in order, found by their numbers (unique per brand among
    the rows made from now on: the batch holds the sequences' rows)."""
    table: Any = Invoice.__table__  # type: ignore[attr-defined]
    before = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    insert_rows(conn, Invoice, [m.row for m in made])
    add_invoices(conn, [m.row for m in made])  # the cash rollup, which the ORM would keep
    found = conn.execute(
        sa.select(table.c.id, table.c.brand_id, table.c.number)
        .where(table.c.id > before)
        .where(table.c.number.in_([m.row.number for m in made]))
    ).all()
    ids = {(brand_id, number): invoice_id for invoice_id, brand_id, number in found}
    return [ids[(m.row.brand_id, m.row.number)] for m in made]


def _insert_rest(
    conn: sa.Connection, made: list[_Invoice], ids: list[int], clients: dict[int, Client], now: Any
) -> None:
    """Everything else the invoices commit: claims (the unique key: another run's claim fails
    the batch), the periods held beyond the catch-up limit, lines, timeline, audit, the
    documents to drain, the clients' figures."""
    claims: list[Any] = []
    holds: list[Any] = []
    lines: list[Any] = []
    events: list[Any] = []
    audits: list[Any] = []
    documents: list[Any] = []
    said: dict[tuple[int, str, str], str] = {}  # amounts as the audit prints them
    owed: Counter[int] = Counter()
    for m, invoice_id in zip(made, ids, strict=True):
        invoice = m.row
        invoice.id = invoice_id
        for item in m.items:
            assert item.period is not None
            claims.append(
                new_row(
                    RenewalClaim,
                    subscription_id=item.subscription_id,
                    period_start=item.period.start,
                    period_end=item.period.end,
                    invoice_id=invoice_id,
                    created_at=now,
                )
            )
        holds.extend(
            new_row(
                RenewalHold,
                subscription_id=item.subscription_id,
                period_start=held.start,
                period_end=held.end,
                created_at=now,
            )
            for item in m.items
            for held in item.held
        )
        for line in m.lines:
            line.invoice_id = invoice_id
            lines.append(line)
        sent = f"Invoice {invoice.number} sent"
        for kind, message, internal in (
            ("created", "Renewal invoice made", True),
            ("sent", sent, False),
        ):
            events.append(
                new_row(
                    InvoiceEvent,
                    invoice_id=invoice_id,
                    at=now,
                    kind=kind,
                    actor_label=RENEWALS.label,
                    message=message,
                    internal=internal,
                )
            )
        amount = (invoice.total_minor, invoice.currency, invoice.locale)
        if amount not in said:
            said[amount] = format_money(Money(amount[0], amount[1]), amount[2])
        total = said[amount]
        company = clients[m.key[0]].company
        for action, details in (
            ("invoice.sent", total),
            ("renewal.invoiced", f"{len(m.items)} period(s) of {company}"),
        ):
            audits.append(
                new_row(
                    AuditEvent,
                    at=now,
                    action=action,
                    actor_id=None,
                    actor_label=RENEWALS.label,
                    target=invoice.number or "",
                    ip="",
                    details=details[:2000],
                )
            )
        documents.append(
            new_row(RenewalDocument, invoice_id=invoice_id, email=not m.automatic, created_at=now)
        )
        owed[invoice.client_id] += invoice.total_minor
    try:
        insert_rows(conn, RenewalClaim, claims)
        if holds:
            insert_rows(conn, RenewalHold, holds)
    except sa.exc.IntegrityError as error:  # another run claimed one of these periods
        raise Fallback from error
    insert_rows(conn, InvoiceLine, lines)
    insert_rows(conn, InvoiceEvent, events)
    insert_rows(conn, AuditEvent, audits)
    insert_rows(conn, RenewalDocument, documents)
    table: Any = Client.__table__  # type: ignore[attr-defined]
    update_rows(
        conn,
        table,
        (sa.column("b_id", sa.Integer), sa.column("b_owed", sa.BigInteger)),
        list(owed.items()),
        lambda value: {
            "net_invoiced_minor": table.c.net_invoiced_minor + value("b_owed"),
            "outstanding_minor": table.c.outstanding_minor + value("b_owed"),
        },
    )
