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
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import socketio  # noqa: E402
from sqlmodel import Session  # noqa: E402

from billing_app.db.engine import make_engine  # noqa: E402
from billing_app.services.access import auth  # noqa: E402

PASSWORD = "benchmarks are not a sprint"
NAMESPACE = "/_event"
BROWSER = "bench-browser"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(data_dir: Path, clients: int) -> str:
    env = {**os.environ, "BILLING_DATA_DIR": str(data_dir)}
    py = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run(
        [str(ROOT / ".venv/bin/alembic"), "upgrade", "head"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    subprocess.run(
        [py, "-m", "billing_app", "seed-demo", "--clients", str(clients)],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    subprocess.run(
        [
            py,
            "-m",
            "billing_app",
            "create-owner",
            "--name",
            "Bench Owner",
            "--email",
            "bench@studio.test",
            "--password-stdin",
        ],
        env=env,
        input=PASSWORD + "\n",
        text=True,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
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


def start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.tools/node_modules/.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "REFLEX_DIR": str(ROOT / ".tools" / "reflex"),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "BILLING_DATA_DIR": str(data_dir),
        "BILLING_BASE_URL": f"http://127.0.0.1:{port}",
        "BILLING_PORT": str(port),
    }
    proc = subprocess.Popen(
        [
            "timeout",
            "1200",
            str(ROOT / ".venv/bin/reflex"),
            "run",
            "--env",
            "prod",
            "--single-port",
            "--frontend-port",
            str(port),
            "--backend-port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("the app did not start")


def events() -> list[tuple[str, str, dict[str, object], str]]:
    from billing_app.ui.admin.audit.audit_log import AuditState
    from billing_app.ui.admin.clients.list import ClientsState
    from billing_app.ui.admin.dashboard.dashboard import DashboardState
    from billing_app.ui.admin.invoices.list import InvoicesState
    from billing_app.ui.admin.subscriptions.state import SubscriptionsState
    from billing_app.ui.auth.login import LoginState

    def name(state: type, handler: str) -> str:
        return f"{state.get_full_name()}.{handler}"  # type: ignore[attr-defined]

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
    client = socketio.AsyncClient(reconnection=False)
    got = asyncio.Event()

    @client.on("event", namespace=NAMESPACE)
    async def on_event(_: object) -> None:
        got.set()

    await client.connect(
        f"{base}?token={uuid.uuid4()}",
        socketio_path="/_event",
        transports=["websocket"],
        namespaces=[NAMESPACE],
        headers={"Origin": base, "Cookie": cookie},
    )
    plan = events()
    i = 0
    while time.monotonic() < until:
        label, event, payload, path = plan[i % len(plan)]
        i += 1
        got.clear()
        t0 = time.monotonic()
        await client.emit(
            "event",
            {"name": event, "payload": payload, "router_data": {"pathname": path}},
            namespace=NAMESPACE,
        )
        try:
            await asyncio.wait_for(got.wait(), 60)
        except TimeoutError:
            timings[label].append(60.0)
            continue
        timings[label].append(time.monotonic() - t0)
        await asyncio.sleep(0.2)  # wait out the rest of the handler's updates
    await client.disconnect()


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
        port = free_port()
        proc = start(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        cookie = f"billing_session={token}; billing_browser={BROWSER}"
        timings: dict[str, list[float]] = defaultdict(list)
        latencies: list[float] = []

        async def run() -> None:
            until = time.monotonic() + args.seconds
            await asyncio.gather(
                probe(base, until, latencies),
                *(tab(base, cookie, until, timings) for _ in range(args.users)),
            )

        try:
            asyncio.run(run())
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    print(f"{args.users} tabs for {args.seconds} s on {args.clients:,} clients (SQLite)")
    print(f"/healthz while they work: {ms(latencies)}")
    for label, values in sorted(timings.items()):
        print(f"  {label:<26} {ms(values)}")
    print(json.dumps({"healthz_max_ms": round(max(latencies) * 1000, 1)}))


if __name__ == "__main__":
    main()
