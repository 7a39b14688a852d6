"""How long one user's work holds up everyone else, on the app as `make run` serves it.

Run: .venv/bin/python bench/bench_event_loop.py [--clients 5000] [--users 8] [--seconds 30]

A throwaway SQLite database is filled by seed-demo, the app is started (`reflex run --env
prod`, one worker, as in the embedded mode), and N signed-in staff tabs (websockets) send the
heaviest page events in a loop: the clients list sorted by MRR and searched, the subscriptions
list, the invoices list searched for "1e999990" (once a 32 s freeze), the dashboard, the audit
log, and a wrong password on the sign-in page (argon2, until the address is throttled).
Meanwhile a probe asks /healthz every 50 ms: its latency is the time the event loop was not
free. Printed: /healthz latency
(median, p99, max) and, per handler, the time from sending the event to its first update
(median, p99, max) — the longest handler under load.

The handlers run in worker threads (ui/session/staff.py), so /healthz should stay in the tens of
milliseconds whatever the tabs do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from bench import live_app  # noqa: E402
from billing_app.db.engine import make_engine  # noqa: E402
from billing_app.services.access import auth  # noqa: E402

PASSWORD = "benchmarks are not a sprint"
BROWSER = "bench-browser"


def prepare(data_dir: Path, clients: int) -> str:
    live_app.migrate(data_dir)
    live_app.seed_demo(data_dir, clients)
    live_app.create_owner(data_dir, "bench@studio.test", PASSWORD)
    engine = make_engine(f"sqlite:///{data_dir / 'billing.db'}")
    with Session(engine) as session:
        outcome = auth.authenticate(
            session, email="bench@studio.test", password=PASSWORD, browser=BROWSER
        )
        session.commit()
        assert outcome.ticket, outcome.error
        token = auth.redeem_ticket(session, outcome.ticket, browser=BROWSER)
        session.commit()
    engine.dispose()
    assert token
    return token


def events() -> list[tuple[str, str, dict[str, object], str]]:
    from billing_app.ui.admin.audit.audit_log import AuditState
    from billing_app.ui.admin.clients.list import ClientsState
    from billing_app.ui.admin.dashboard.dashboard import DashboardState
    from billing_app.ui.admin.invoices.list import InvoicesState
    from billing_app.ui.admin.subscriptions.state import SubscriptionsState
    from billing_app.ui.auth.login import LoginState

    name = live_app.handler

    return [
        ("clients list", name(ClientsState, "load"), {}, "/clients"),
        ("clients search", name(ClientsState, "set_search"), {"value": "fjord"}, "/clients"),
        ("subscriptions list", name(SubscriptionsState, "load"), {}, "/subscriptions"),
        (
            "invoice search 1e999990",
            name(InvoicesState, "set_search"),
            {"value": "1e999990"},
            "/invoices",
        ),
        ("dashboard", name(DashboardState, "load"), {}, "/"),
        ("audit log", name(AuditState, "load"), {}, "/audit"),
        (
            "sign-in (argon2)",
            name(LoginState, "submit"),
            {"form": {"email": "nobody@studio.test", "password": "wrong password here"}},
            "/login",
        ),
    ]


async def tab(base: str, cookie: str, until: float, timings: dict[str, list[float]]) -> None:
    browser_tab = live_app.Tab(base, str(uuid.uuid4()), cookie)
    await browser_tab.connect()
    plan = events()
    i = 0
    while time.monotonic() < until:
        label, event, payload, path = plan[i % len(plan)]
        i += 1
        browser_tab.drain()
        t0 = await browser_tab.send(event, payload, path)
        try:
            got, _ = await asyncio.wait_for(browser_tab.updates.get(), 60)
        except TimeoutError:
            timings[label].append(60.0)
            continue
        timings[label].append(got - t0)
        await asyncio.sleep(0.2)  # wait out the rest of the handler's updates
    await browser_tab.close()


async def probe(base: str, until: float, latencies: list[float]) -> None:
    loop = asyncio.get_running_loop()

    def get() -> None:
        with urllib.request.urlopen(f"{base}/healthz", timeout=60) as resp:
            resp.read()

    while time.monotonic() < until:
        t0 = time.monotonic()
        await loop.run_in_executor(None, get)
        latencies.append(time.monotonic() - t0)
        await asyncio.sleep(0.05)


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"median {statistics.median(ordered) * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   "
        f"max {ordered[-1] * 1000:7.1f} ms   ({len(ordered)} samples)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        data_dir = Path(tmp)
        token = prepare(data_dir, args.clients)
        cookie = f"billing_session={token}; billing_browser={BROWSER}"
        timings: dict[str, list[float]] = defaultdict(list)
        latencies: list[float] = []
        with live_app.served(data_dir) as (base, _):

            async def run() -> None:
                until = time.monotonic() + args.seconds
                await asyncio.gather(
                    probe(base, until, latencies),
                    *(tab(base, cookie, until, timings) for _ in range(args.users)),
                )

            asyncio.run(run())
    print(f"{args.users} tabs for {args.seconds} s on {args.clients:,} clients (SQLite)")
    print(f"/healthz while they work: {ms(latencies)}")
    for label, values in sorted(timings.items()):
        print(f"  {label:<26} {ms(values)}")
    print(json.dumps({"healthz_max_ms": round(max(latencies) * 1000, 1)}))


if __name__ == "__main__":
    main()
