"""The revenue reports and the dashboard at an agency's full size: how long each takes to
answer (the median of several calls, after one to warm up), on SQLite or PostgreSQL.

Run: .venv/bin/python bench/bench_reports.py [--clients 50000] [--subscriptions 3]
     [--months 24] [--postgres]

The data (bench/reports_data.py): --clients clients in two brands (a tenth paying in USD),
--subscriptions per client with --months of history in the MRR ledger (new, expansion,
contraction, churn, reactivation), a monthly invoice per client, nearly all paid, some refunded,
the last months' some unpaid. It is written at the schema before the reporting rollups, then the
database is upgraded to the head, which fills the rollups (timed too). Goal: < 200 ms each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from bench.bench_setup import database, drop, studio  # noqa: E402

BEFORE_ROLLUPS = "0032"  # the revision before the reporting rollups


def timed(call: Callable[[], Any], runs: int = 5) -> float:
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    # Reflecting the tables meets expression indexes SQLAlchemy cannot describe: harmless here.
    warnings.filterwarnings("ignore", message="Skipped unsupported reflection")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50_000)
    parser.add_argument("--subscriptions", type=int, default=3)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    url = database(args.postgres, folder, "bench_reports")
    os.environ["BILLING_DATA_DIR"] = str(folder / "data")
    os.environ["BILLING_DATABASE_URL"] = url

    from alembic.config import Config

    from alembic import command
    from bench.reports_data import generate
    from billing_app.db.customers import Product
    from billing_app.db.engine import make_engine
    from billing_app.db.invoicing import Brand
    from billing_app.services.common.clock import FixedClock
    from billing_app.services.reporting import (
        cash_reports,
        dashboard,
        mrr_reports,
        renewal_forecast,
    )
    from billing_app.settings import get_settings

    kind = "PostgreSQL" if args.postgres else "SQLite"
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")
    engine = make_engine(url)
    today = date(2026, 11, 30)
    clock = FixedClock(datetime(2026, 11, 30, 9, tzinfo=UTC))
    now = clock.now()
    with Session(engine, expire_on_commit=False) as session:
        actor = studio(session, get_settings().data_dir, now, "benchReports01")
        brands = []
        for name in ("Studio North", "Studio South"):
            brand = Brand(name=name, sender_name=name, created_at=now, updated_at=now)
            session.add(brand)
            session.flush()
            brands.append(brand.id)
        product = Product(
            name="Site care", price_minor=4950, currency="EUR", created_at=now, updated_at=now
        )
        session.add(product)
        session.commit()
        product_id = product.id
    engine.dispose()
    command.downgrade(config, BEFORE_ROLLUPS)
    print(f"writing {args.clients:,} clients' history ({kind})...", flush=True)
    started = time.perf_counter()
    writing = make_engine(url)
    with writing.begin() as conn:
        made = generate(
            conn,
            clients=args.clients,
            subscriptions_per_client=args.subscriptions,
            months=args.months,
            today=today,
            brands=[b for b in brands if b is not None],
            product_id=product_id or 0,
        )
    written = time.perf_counter() - started
    writing.dispose()
    print(
        f"  {made.clients:,} clients, {made.subscriptions:,} subscriptions, "
        f"{made.movements:,} MRR movements, {made.invoices:,} invoices, {made.payments:,} "
        f"payments, {made.refunds:,} refunds in {written:.0f} s"
    )
    started = time.perf_counter()
    command.upgrade(config, "head")
    print(f"  upgraded to the head (rollups filled) in {time.perf_counter() - started:.1f} s")

    engine = make_engine(url)
    renewal_forecast.refresh_forecast_now(engine, clock=clock)
    start = made.months[0]
    whole = cash_reports.CashFilters(start=start, end=today, currency="EUR")
    one_brand = cash_reports.CashFilters(start=start, end=today, currency="EUR", brand_id=brands[0])
    with Session(engine) as session:
        reports: list[tuple[str, Callable[[], Any]]] = [
            ("dashboard revenue", lambda: dashboard.revenue_figures(session, actor, clock=clock)),
            ("dashboard", lambda: dashboard.dashboard_figures(session, actor, clock=clock)),
            (
                "cash by month (24 months)",
                lambda: cash_reports.cash_by_month(session, actor, whole),
            ),
            (
                "cash by month, one brand",
                lambda: cash_reports.cash_by_month(session, actor, one_brand),
            ),
            ("aging", lambda: cash_reports.aging(session, actor, whole, clock=clock)),
            (
                "aging, one brand",
                lambda: cash_reports.aging(session, actor, one_brand, clock=clock),
            ),
            (
                "top clients by MRR",
                lambda: cash_reports.top_clients(session, actor, "mrr", "EUR", clock=clock),
            ),
            (
                "top clients by outstanding",
                lambda: cash_reports.top_clients(session, actor, "outstanding", "EUR", clock=clock),
            ),
            (
                "renewal forecast",
                lambda: renewal_forecast.renewal_forecast(session, actor, currency="EUR"),
            ),
        ]
        everything = mrr_reports.MrrFilters(months=24)
        middle = made.clients // 2  # a client with some history
        eur_one_brand = mrr_reports.MrrFilters(months=24, brand_id=brands[0], currency="EUR")
        reports += [
            (
                "MRR report (24 months, all)",
                lambda: mrr_reports.mrr_report(session, actor, everything, clock=clock),
            ),
            (
                "MRR report, one brand, EUR",
                lambda: mrr_reports.mrr_report(session, actor, eur_one_brand, clock=clock),
            ),
            (
                "a client's MRR history",
                lambda: mrr_reports.client_mrr_history(session, actor, middle, clock=clock),
            ),
            (
                "a client's payments by month",
                lambda: mrr_reports.client_payments_by_month(session, actor, middle, clock=clock),
            ),
        ]
        print(f"reports ({kind}; goal < 200 ms each):")
        for name, call in reports:
            ms = timed(call)
            print(f"  {name:<34} {ms:8.1f} ms{'' if ms < 200 else '  (over the goal)'}")
    engine.dispose()
    drop(url)


if __name__ == "__main__":
    main()
