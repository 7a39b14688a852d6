"""Stripe's webhooks against the running app: how many signed events a second it accepts
(verified, stored, answered 2xx), and how long each takes.

Run: .venv/bin/python bench/bench_webhooks.py [--events 6000] [--concurrency 32] [--postgres]

A throwaway database (SQLite in a temporary data folder, the embedded default; or, with
--postgres, a database made for the run on BILLING_TEST_POSTGRES_URL's server) is migrated and
given Stripe keys (the signing secret encrypted with the run's key, as Settings > Payments
stores it). The app is started as `make run` serves it (one process, 127.0.0.1), and this
process posts --events signed events (about 1 KiB each, as Stripe's are; one in ten a second
delivery of an earlier one, as Stripe's retries are) with --concurrency requests in flight.
The in-process job handles the stored events meanwhile, as in production.

Printed: events accepted per second, the latency p50 / p95 / p99 of the answers, how many were
answered as duplicates and how many were refused (any non-2xx is a failure of the run), and the
rows stored. Goal: >= 1,000 events/s with p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import live_app  # noqa: E402

SECRET = "whsec_bench_signing_secret_0001"
GOAL_RATE = 1000.0
GOAL_P99_MS = 50.0


def _payload(event_id: str) -> str:
    """An event shaped and sized like Stripe's payment_intent.succeeded (about 1 KiB)."""
    intent = f"pi_{uuid.uuid4().hex[:24]}"
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "type": "payment_intent.succeeded",
            "data": {
                "object": {
                    "id": intent,
                    "object": "payment_intent",
                    "amount": random.randint(100, 500_000),
                    "amount_received": 4200,
                    "currency": "eur",
                    "customer": f"cus_{uuid.uuid4().hex[:14]}",
                    "payment_method": f"pm_{uuid.uuid4().hex[:24]}",
                    "latest_charge": f"ch_{uuid.uuid4().hex[:24]}",
                    "metadata": {"attempt": uuid.uuid4().hex, "invoice_id": "1234"},
                    "status": "succeeded",
                    "description": "Invoice INV-2026-00042 " + "x" * 400,
                }
            },
            "request": {"id": f"req_{uuid.uuid4().hex[:14]}", "idempotency_key": None},
        }
    )


def _prepare(data_dir: Path, database_url: str | None) -> None:
    """Migrate and store the Stripe keys as Settings > Payments does."""
    os.environ["BILLING_DATA_DIR"] = str(data_dir)
    if database_url:
        os.environ["BILLING_DATABASE_URL"] = database_url
    from datetime import UTC, datetime

    from sqlmodel import Session

    from billing_app import settings as settings_module
    from billing_app.adapters import crypto
    from billing_app.db.card_payments import PaymentSettings
    from billing_app.db.engine import make_engine

    settings_module.get_settings.cache_clear()
    settings = settings_module.get_settings()
    env = {**os.environ}
    import subprocess

    subprocess.run(
        [str(ROOT / ".venv/bin/alembic"), "upgrade", "head"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        session.add(
            PaymentSettings(
                id=1,
                stripe_publishable_key="pk_test_bench0001",
                stripe_secret_key=crypto.encrypt(
                    "sk_test_bench0001", purpose="stripe-secret", settings=settings
                ),
                stripe_webhook_secret=crypto.encrypt(
                    SECRET, purpose="stripe-webhook", settings=settings
                ),
                updated_at=datetime.now(UTC),
            )
        )
        session.commit()
    engine.dispose()


class _Connection:
    """One kept-alive HTTP/1.1 connection, written by hand: the load must come from a client
    lighter than the server it measures (httpx cost this process a full core at 300 requests a
    second, and the machine has two)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await self.writer.drain()
        status_line = await self.reader.readline()
        length, closing = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            elif name.strip().lower() == "connection" and "close" in value.lower():
                closing = True
        answer = await self.reader.readexactly(length) if length else b""
        if closing:
            self.writer.close()
            self.writer = None
        return int(status_line.split()[1]), answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _post_all(url: str, events: int, concurrency: int) -> dict[str, object]:
    from urllib.parse import urlsplit

    import stripe

    ids: list[str] = []
    bodies: list[tuple[str, str]] = []
    for n in range(events):
        if ids and random.random() < 0.1:
            event_id = random.choice(ids)  # a second delivery, as Stripe retries
        else:
            event_id = f"evt_bench_{n}_{uuid.uuid4().hex[:10]}"
            ids.append(event_id)
        bodies.append((event_id, _payload(event_id)))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    duplicates = 0
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)

    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path

    async def worker(connection: _Connection) -> None:
        nonlocal duplicates
        while not queue.empty():
            _, payload = queue.get_nowait()
            header = stripe.WebhookSignature.generate_signature_header(payload, SECRET)
            sent = time.perf_counter()
            status, answer = await connection.post(
                path,
                payload.encode(),
                {"Content-Type": "application/json", "Stripe-Signature": header},
            )
            latencies.append((time.perf_counter() - sent) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200 and json.loads(answer).get("duplicate"):
                duplicates += 1

    connections = [_Connection(host, port) for _ in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    seconds = time.perf_counter() - started
    for connection in connections:
        connection.close()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    return {
        "events": events,
        "unique": len(ids),
        "seconds": seconds,
        "rate": events / seconds,
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "statuses": statuses,
        "duplicates": duplicates,
    }


def _stored(database_url: str | None, data_dir: Path) -> int:
    import sqlalchemy as sa

    url = database_url or f"sqlite:///{data_dir / 'billing.db'}"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(sa.text("SELECT count(*) FROM stripe_event")).scalar_one())
    engine.dispose()
    return count


def _postgres_database() -> tuple[str, str]:
    import sqlalchemy as sa

    admin_url = os.environ.get(
        "BILLING_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
    )
    name = f"billing_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url, sa.make_url(admin_url).set(database=name).render_as_string(False)


def _drop(admin_url: str, url: str) -> None:
    import sqlalchemy as sa

    name = sa.make_url(url).database
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--log", type=Path, help="write the app's output here")
    parser.add_argument(
        "--no-jobs", action="store_true", help="the intake alone (no in-process job runner)"
    )
    args = parser.parse_args()

    admin_url = database_url = None
    if args.postgres:
        admin_url, database_url = _postgres_database()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
            data_dir = Path(tmp) / "data"
            data_dir.mkdir()
            _prepare(data_dir, database_url)
            port = live_app.free_port()
            extra = {"BILLING_DATABASE_URL": database_url} if database_url else {}
            if args.no_jobs:
                extra["BILLING_RUN_JOBS_IN_PROCESS"] = "false"
            proc = live_app.start(data_dir, port, log=args.log, extra_env=extra)
            try:
                url = f"http://127.0.0.1:{port}/api/stripe/webhook"
                asyncio.run(_post_all(url, 200, 8))  # warm up: connections, caches
                result = asyncio.run(_post_all(url, args.events, args.concurrency))
            finally:
                live_app.stop(proc)
            stored = _stored(database_url, data_dir)
    finally:
        if admin_url and database_url:
            _drop(admin_url, database_url)

    where = "PostgreSQL" if args.postgres else "SQLite (embedded default)"
    print(
        f"{where}: {result['events']:,} signed events ({result['unique']:,} distinct, the rest "
        f"second deliveries), {args.concurrency} in flight"
    )
    print(
        f"  accepted {result['rate']:.0f} events/s over {result['seconds']:.1f} s; "
        f"latency p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, "
        f"p99 {result['p99']:.1f} ms"
    )
    print(
        f"  answers: {result['statuses']}; duplicates answered as such: {result['duplicates']:,}; "
        f"events stored: {stored:,} (warm-up included)"
    )
    rate, p99 = float(result["rate"]), float(result["p99"])  # type: ignore[arg-type]
    verdict = "meets" if rate >= GOAL_RATE and p99 < GOAL_P99_MS else "MISSES"
    print(f"  goal >= {GOAL_RATE:,.0f} events/s with p99 < {GOAL_P99_MS:.0f} ms: {verdict}")
    print(json.dumps({"database": where, **result}, default=str))


if __name__ == "__main__":
    main()
