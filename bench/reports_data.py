"""A large agency for the report benchmarks: clients, subscriptions with two years of history
(the MRR ledger), monthly invoices, payments, refunds and credit notes, written with bulk
INSERTs at the schema revision before the reporting rollups, so that upgrading to the head
fills the rollups as a real upgrade would.

Deterministic (a seeded random generator): the same arguments give the same data."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

PRICES = [1500, 2900, 4950, 9900, 14900, 24900]  # monthly, minor units
CHUNK = 5_000
ORDER = ["client", "subscription", "mrr_movement", "invoice", "invoice_payment"]


@dataclass
class Made:
    clients: int = 0
    subscriptions: int = 0
    movements: int = 0
    invoices: int = 0
    payments: int = 0
    refunds: int = 0
    months: list[date] = field(default_factory=list)


def _month(start: date, n: int) -> date:
    year, month = divmod(start.month - 1 + n, 12)
    return date(start.year + year, month + 1, 1)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


class Writer:
    """Buffered bulk INSERTs into the tables as they exist in the database (columns the
    schema does not have yet are left out)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.meta = sa.MetaData()
        self.buffers: dict[str, list[dict[str, Any]]] = {}

    def table(self, name: str) -> sa.Table:
        if name not in self.meta.tables:
            sa.Table(name, self.meta, autoload_with=self.conn)
        return self.meta.tables[name]

    def add(self, name: str, **row: Any) -> None:
        self.buffers.setdefault(name, []).append({**_defaults_of(name), **row})
        if len(self.buffers[name]) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Write what is buffered, parents first (the foreign keys are checked)."""
        for table_name in sorted(self.buffers, key=ORDER.index):
            rows = self.buffers.pop(table_name, [])
            if rows:
                table = self.table(table_name)
                keep = set(table.columns.keys())
                self.conn.execute(
                    sa.insert(table), [{k: v for k, v in r.items() if k in keep} for r in rows]
                )


def _defaults_of(table: str) -> dict[str, Any]:
    """What the model of ``table`` gives a new row unless told otherwise."""
    from sqlmodel import SQLModel

    from billing_app.services.common.bulk_rows import defaults

    for mapper in SQLModel._sa_registry.mappers:
        if mapper.local_table.name == table:
            return defaults(mapper.class_)
    return {}


def _ids(conn: sa.Connection, table: str) -> int:
    return int(conn.execute(sa.text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one())


def generate(
    conn: sa.Connection,
    *,
    clients: int,
    subscriptions_per_client: int,
    months: int,
    today: date,
    brands: list[int],
    product_id: int,
    seed: int = 14,
) -> Made:
    """Write the agency's history ending ``today``: each client starts in a random month of
    the last ``months``, its subscriptions change, pause, end or come back month by month, each
    month is invoiced and (mostly) paid; the last months leave some invoices unpaid."""
    rng = random.Random(seed)
    made = Made()
    first = _month(today.replace(day=1), -(months - 1))
    made.months = [_month(first, n) for n in range(months)]
    writer = Writer(conn)
    client_id = _ids(conn, "client")
    sub_id = _ids(conn, "subscription")
    invoice_id = _ids(conn, "invoice")
    now = _at(today)
    figures: list[dict[str, Any]] = []
    for _ in range(clients):
        client_id += 1
        currency = "USD" if rng.random() < 0.1 else "EUR"
        brand = brands[client_id % len(brands)]
        joined = rng.randrange(months)
        writer.add(
            "client",
            id=client_id,
            company=f"Client {client_id}",
            email=f"c{client_id}@bench.test",
            search_text=f"client {client_id} c{client_id}@bench.test",
            currency=currency,
            locale="en",
            brand_id=brand,
            status="active",
            created_at=_at(made.months[joined]),
            updated_at=now,
            mrr_minor=0,
            outstanding_minor=0,
            net_invoiced_minor=0,
            active_subscriptions=0,
        )
        made.clients += 1
        client_mrr = 0
        client_outstanding = 0
        client_invoiced = 0
        monthly: dict[int, int] = {}  # month index -> what the client pays that month
        active = 0
        for _ in range(subscriptions_per_client):
            sub_id += 1
            start = min(months - 1, joined + rng.randrange(3))
            price = rng.choice(PRICES)
            quantity = 1
            mrr = 0
            had = False
            for m in range(start, months):
                day = made.months[m] + timedelta(days=rng.randrange(27))
                roll = rng.random()
                want = mrr
                if m == start:
                    want = price * quantity
                elif mrr and roll < 0.03:
                    want = 0  # canceled
                elif mrr and roll < 0.08:
                    quantity = max(1, quantity + rng.choice([-1, 1, 1]))
                    want = price * quantity
                elif not mrr and roll < 0.05:
                    want = price * quantity  # back
                if want != mrr:
                    kind = (
                        ("reactivation" if had else "new")
                        if mrr == 0
                        else "churn"
                        if want == 0
                        else "expansion"
                        if want > mrr
                        else "contraction"
                    )
                    writer.add(
                        "mrr_movement",
                        subscription_id=sub_id,
                        client_id=client_id,
                        currency=currency,
                        kind=kind,
                        delta_minor=want - mrr,
                        mrr_after_minor=want,
                        at=_at(day),
                    )
                    made.movements += 1
                    had = had or want > 0
                    mrr = want
                if mrr:
                    monthly[m] = monthly.get(m, 0) + mrr
            status = "active" if mrr else "canceled"
            active += 1 if mrr else 0
            client_mrr += mrr
            writer.add(
                "subscription",
                id=sub_id,
                client_id=client_id,
                product_id=product_id,
                kind="recurring",
                status=status,
                description="Site care",
                quantity=quantity,
                unit_price_minor=price,
                currency=currency,
                interval_unit="month",
                interval_count=1,
                start_date=made.months[start],
                next_renewal_on=_month(today.replace(day=1), 1) if mrr else None,
                next_billing_on=_month(today.replace(day=1), 1) if mrr else None,
                cancel_at_period_end=False,
                mrr_minor=mrr,
                canceled_at=None if mrr else now,
                created_at=_at(made.months[start]),
                updated_at=now,
            )
            made.subscriptions += 1
        for m, amount in sorted(monthly.items()):
            invoice_id += 1
            issued = made.months[m]
            total = amount * 12 // 10  # 20 % VAT
            late = m >= months - 3 and rng.random() < 0.15
            paid = 0 if late else total
            writer.add(
                "invoice",
                id=invoice_id,
                client_id=client_id,
                brand_id=brand,
                status="paid" if paid else "open",
                number=f"B{brand}-{invoice_id:07d}",
                currency=currency,
                locale="en",
                issue_date=issued,
                due_date=issued + timedelta(days=14),
                message="",
                subtotal_minor=amount,
                discount_minor=0,
                tax_minor=total - amount,
                total_minor=total,
                paid_minor=paid,
                refunded_minor=0,
                credited_minor=0,
                credit_applied_minor=0,
                snapshot=json.dumps({"number": f"B{brand}-{invoice_id:07d}"}),
                pdf_key="",
                created_at=_at(issued),
                updated_at=_at(issued),
                sent_at=_at(issued),
                void_reason="",
                charge_pending=False,
            )
            made.invoices += 1
            client_invoiced += total
            client_outstanding += total - paid
            if paid:
                writer.add(
                    "invoice_payment",
                    invoice_id=invoice_id,
                    kind="payment",
                    method="card" if rng.random() < 0.7 else "bank_transfer",
                    amount_minor=paid,
                    currency=currency,
                    received_on=issued + timedelta(days=rng.randrange(10)),
                    reference="",
                    note="",
                    created_at=_at(issued),
                )
                made.payments += 1
                if rng.random() < 0.02:
                    writer.add(
                        "invoice_payment",
                        invoice_id=invoice_id,
                        kind="refund",
                        method="bank_transfer",
                        amount_minor=paid // 2,
                        currency=currency,
                        received_on=issued + timedelta(days=20),
                        reference="",
                        note="goodwill",
                        created_at=_at(issued),
                    )
                    made.refunds += 1
        figures.append(
            dict(
                id=client_id,
                mrr_minor=client_mrr,
                outstanding_minor=client_outstanding,
                net_invoiced_minor=client_invoiced,
                active_subscriptions=active,
            )
        )
    writer.flush()
    _set_figures(conn, figures)
    return made


def _set_figures(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """The clients' stored figures, as the services keep them."""
    table = sa.Table("client", sa.MetaData(), autoload_with=conn)
    for chunk in _chunks(rows, CHUNK):
        conn.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values(
                mrr_minor=sa.bindparam("b_mrr"),
                outstanding_minor=sa.bindparam("b_out"),
                net_invoiced_minor=sa.bindparam("b_inv"),
                active_subscriptions=sa.bindparam("b_active"),
            ),
            [
                {
                    "b_id": r["id"],
                    "b_mrr": r["mrr_minor"],
                    "b_out": r["outstanding_minor"],
                    "b_inv": r["net_invoiced_minor"],
                    "b_active": r["active_subscriptions"],
                }
                for r in chunk
            ],
        )


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
