"""Automatic charges at scale: how long 10,000 renewal invoices waiting for their automatic
charge take to be charged when every charge takes the bank 200 ms (the gateway fake,
tests/fake_stripe_gateway.py, made to sleep on each confirmation), with the charges' bounded
concurrency (services/billing/auto_charge.py; Settings.charge_concurrency; at most 16 threads
on SQLite, whose writers take turns). Goal: 10,000 in under 2 minutes, each charged once (with
real Stripe, its rate limits apply).

Run: .venv/bin/python bench/bench_charges.py [--invoices 10000] [--concurrency 32]
     [--latency 0.2] [--postgres]

A throwaway database (SQLite, or a database made for the run on BILLING_TEST_POSTGRES_URL's
server) is migrated and given an agency with Stripe keys and 50 clients with a default card;
the billing engine makes one renewal invoice each, which are then copied (numbers of their
own) up to --invoices, all waiting for their automatic charge. Everything a charge commits is
counted: the attempt before the call, the PaymentIntent's id, the payment, the receipt email,
the timeline, the audit, the staff notice.

Printed: the wall time, charges per second, and the check that each invoice was charged once.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, col, func, select  # noqa: E402

from bench.bench_setup import database, drop, studio  # noqa: E402

CLIENTS = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per charge")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-charges-"))
    url = database(args.postgres, folder, "bench_charges")
    os.environ["BILLING_DATA_DIR"] = str(folder / "data")
    os.environ["BILLING_DATABASE_URL"] = url

    from alembic.config import Config

    from alembic import command
    from billing_app.db.card_payments import PaymentAttempt, SavedCard, StripeCustomer
    from billing_app.db.customers import Client, Product, Subscription
    from billing_app.db.engine import make_engine
    from billing_app.db.invoicing import Invoice, InvoicePayment
    from billing_app.services.billing.auto_charge import (
        SQLITE_CHARGE_THREADS,
        charge_pending_invoices,
    )
    from billing_app.services.billing.renewals import billing_run
    from billing_app.services.common.clock import FixedClock
    from billing_app.settings import Settings, get_settings
    from tests.fake_stripe_gateway import PATCHED, FakeStripe

    class SlowBank(FakeStripe):
        def confirm_payment_intent(self, *a: Any, **k: Any) -> Any:
            time.sleep(args.latency)
            return super().confirm_payment_intent(*a, **k)

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")
    engine = make_engine(url)
    settings = Settings(data_dir=get_settings().data_dir)
    bank = SlowBank()
    monkeypatch = pytest.MonkeyPatch()
    for name in PATCHED:
        monkeypatch.setattr(f"billing_app.adapters.stripe_gateway.{name}", getattr(bank, name))
    today = date(2026, 3, 14)
    clock = FixedClock(datetime(2026, 3, 14, 9, 30, tzinfo=UTC))
    kind = "PostgreSQL" if args.postgres else "SQLite"
    print(f"setting up {args.invoices:,} invoices waiting for their charge ({kind})...")
    with Session(engine, expire_on_commit=False) as session:
        now = clock.now()
        studio(session, settings.data_dir, now, "benchCharges1")
        product = Product(
            name="Site care", price_minor=4950, currency="EUR", created_at=now, updated_at=now
        )
        session.add(product)
        session.flush()
        for n in range(CLIENTS):
            client = Client(
                company=f"Client {n}",
                email=f"c{n}@bench.test",
                currency="EUR",
                created_at=now,
                updated_at=now,
            )
            session.add(client)
            session.flush()
            session.add(
                Subscription(
                    client_id=client.id or 0,
                    product_id=product.id or 0,
                    description="Site care",
                    unit_price_minor=4950,
                    currency="EUR",
                    start_date=today,
                    next_renewal_on=today,
                    next_billing_on=today,
                    created_at=now,
                    updated_at=now,
                )
            )
        session.commit()
    billing_run(engine, clock=clock, settings=settings)  # no cards yet: emailed, not charged
    with Session(engine, expire_on_commit=False) as session:
        made = list(session.exec(select(Invoice).order_by(col(Invoice.id))))
        for invoice in made:
            session.add(
                SavedCard(
                    client_id=invoice.client_id,
                    payment_method_id=f"pm_bench_{invoice.client_id}",  # charged by the fake
                    brand="visa",
                    last4="4242",
                    exp_month=12,
                    exp_year=2031,
                    is_default=True,
                    created_at=now,
                )
            )
            session.add(
                StripeCustomer(
                    client_id=invoice.client_id,
                    customer_id=f"cus_{invoice.client_id}",
                    livemode=False,
                    created_at=now,
                )
            )
        columns = [c.name for c in Invoice.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
        rows = []
        for n in range(args.invoices):
            source = made[n % len(made)]
            row = {name: getattr(source, name) for name in columns}
            row.update(number=f"BENCH-{n + 1:06d}", charge_pending=True)
            rows.append(row)
        for start in range(0, len(rows), 2_000):
            session.execute(sa.insert(Invoice), rows[start : start + 2_000])
        session.commit()

    started = time.perf_counter()
    report = charge_pending_invoices(
        engine, clock=clock, settings=settings, concurrency=args.concurrency
    )
    elapsed = time.perf_counter() - started
    with Session(engine) as session:
        payments = session.exec(select(func.count()).select_from(InvoicePayment)).one()
        paid_twice = session.exec(
            select(InvoicePayment.invoice_id)
            .group_by(col(InvoicePayment.invoice_id))
            .having(func.count() > 1)
        ).all()
        attempts = session.exec(select(func.count()).select_from(PaymentAttempt)).one()
    engine.dispose()
    drop(url)
    threads = args.concurrency if args.postgres else min(args.concurrency, SQLITE_CHARGE_THREADS)
    print(
        f"automatic charges ({kind}, {threads} at a time, the bank "
        f"{args.latency * 1000:.0f} ms a charge): {report.paid:,} charged in {elapsed:.1f} s = "
        f"{report.paid / elapsed:,.0f} charges/s (goal: 10,000 in under 120 s)"
    )
    print(
        f"payments recorded: {payments:,} (must be {args.invoices:,}), attempts {attempts:,}, "
        f"invoices paid twice: {len(paid_twice)} (must be 0), the bank's calls: "
        f"{bank.calls.count('confirm_payment_intent'):,} confirmations"
    )


if __name__ == "__main__":
    main()
