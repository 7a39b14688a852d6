"""The renewal engine: how many renewals a second a billing run makes in full (the period
claimed, the subscription moved on, the invoice numbered, frozen, rendered and its email
queued, the timeline, the audit, the MRR ledger), and how fast clients with a card are charged
at once, against the gateway fake (tests/fake_stripe_gateway.py: Stripe's latency left out).

Run: .venv/bin/python bench/bench_billing_run.py [--subscriptions 300] [--charged 100]
     [--postgres]

A throwaway database (SQLite, or a database made for the run on BILLING_TEST_POSTGRES_URL's
server) is migrated and given an agency, Stripe keys, a product with 20 % VAT and one client
per subscription, all renewing today; --charged of the clients have a default card (charged at
once), the others get the invoice by email. One run bills them all.

Printed: renewals per second (everything above in one number), the automatic charges per
second, the invoices made (must equal --subscriptions: each period once) and a second run
(must make none).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
from sqlmodel import Session, func, select  # noqa: E402

from bench.bench_setup import database, drop, studio  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--charged", type=int, default=1_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-run-"))
    url = database(args.postgres, folder, "bench_run")
    os.environ["BILLING_DATA_DIR"] = str(folder / "data")
    os.environ["BILLING_DATABASE_URL"] = url

    from alembic.config import Config

    from alembic import command
    from billing_app.db.card_payments import SavedCard, StripeCustomer
    from billing_app.db.customers import Client, Product, ProductTaxRate, Subscription, TaxRateRow
    from billing_app.db.engine import make_engine
    from billing_app.db.invoicing import Invoice
    from billing_app.services.billing.renewals import billing_run
    from billing_app.services.common.clock import FixedClock
    from billing_app.settings import Settings, get_settings
    from tests.fake_stripe_gateway import install

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")
    engine = make_engine(url)
    settings = get_settings()
    install(pytest.MonkeyPatch())
    today = date(2026, 3, 14)
    clock = FixedClock(datetime(2026, 3, 14, 9, 30, tzinfo=UTC))
    kind = "PostgreSQL" if args.postgres else "SQLite"
    print(f"setting up {args.subscriptions} subscriptions due today ({kind})...")
    with Session(engine, expire_on_commit=False) as session:
        now = clock.now()
        studio(session, settings.data_dir, now, "benchRun00001")
        vat = TaxRateRow(name="VAT", rate_ppm=200_000, created_at=now, updated_at=now)
        product = Product(
            name="Site care", price_minor=4950, currency="EUR", created_at=now, updated_at=now
        )
        session.add_all([vat, product])
        session.flush()
        assert vat.id is not None and product.id is not None
        session.add(ProductTaxRate(product_id=product.id, tax_rate_id=vat.id))
        for n in range(args.subscriptions):
            client = Client(
                company=f"Client {n}",
                email=f"c{n}@bench.test",
                currency="EUR",
                created_at=now,
                updated_at=now,
            )
            session.add(client)
            session.flush()
            assert client.id is not None
            session.add(
                Subscription(
                    client_id=client.id,
                    product_id=product.id,
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
            if n < args.charged:
                session.add(
                    SavedCard(
                        client_id=client.id,
                        payment_method_id=f"pm_bench_{n}",  # the fake charges any card
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
                        client_id=client.id, customer_id=f"cus_{n}", livemode=False, created_at=now
                    )
                )
        session.commit()

    started = time.perf_counter()
    report = billing_run(engine, clock=clock, settings=Settings(data_dir=settings.data_dir))
    elapsed = time.perf_counter() - started
    again = billing_run(engine, clock=clock, settings=Settings(data_dir=settings.data_dir))
    with Session(engine) as session:
        made = session.exec(select(func.count()).select_from(Invoice)).one()
    engine.dispose()
    drop(url)
    charges = report.charges
    assert charges is not None
    made_s = report.seconds["invoices"]
    print(
        f"billing run ({kind}): {len(report.invoices)} renewals in {made_s:.2f} s = "
        f"{len(report.invoices) / made_s:,.0f} renewals/s (goal >= 2,000: each period claimed, "
        "the subscription moved on, the invoice numbered and frozen with its lines, timeline, "
        "audit, the client's figures and its PDF and email queued)"
    )
    charged_s = report.seconds["charges"]
    print(
        f"automatic charges: {charges.paid} paid in {charged_s:.2f} s = "
        f"{charges.paid / max(charged_s, 1e-9):,.0f}/s (gateway fake answering at once)"
    )
    drained_s = report.seconds["documents"]
    print(
        f"drained after: {report.documents} PDFs rendered (and {report.documents - charges.paid} "
        f"invoice emails queued) in {drained_s:.1f} s = "
        f"{report.documents / max(drained_s, 1e-9):,.0f}/s; whole run {elapsed:.1f} s"
    )
    print(
        f"invoices in the database: {made} (must be {args.subscriptions}); a second run made "
        f"{len(again.invoices)} (must be 0)"
    )


if __name__ == "__main__":
    main()
