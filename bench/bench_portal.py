"""Many clients in the portal at once, on the embedded default (SQLite, one app process).

Run: .venv/bin/python bench/bench_portal.py [--sessions 200] [--seconds 60] [--think 2]
     [--rates 150,200,300,400] [--step-seconds 30] [--no-steps]

A throwaway database is migrated and filled: seed-demo's clients (websites, ~3 subscriptions
each), and for sessions/2 of them two portal users each and --invoices sent invoices (one to
three lines, issued month after month, most paid by bank transfer, some partly, the newest open
or overdue). Every invoice is sent by the services (number, snapshot, timeline, email queued);
only its PDF is a stand-in (the portal pages never render one) and the queued emails are marked
sent before the app starts, so the in-process worker has nothing to deliver while we measure.

The app is started as `make run` serves it (`reflex run --env prod`, one process, 127.0.0.1),
then --sessions signed-in portal users each open a tab (a Socket.IO websocket with their portal
cookie, from this process, not the server's) and the portal overview (`hydrate_and_load` on
/portal, as a browser's first connect sends it). Each tab then moves between the invoice list
and the overview as a browser navigates (`on_load_internal` with the new path), waiting
--think seconds on average (0.5x to 1.5x, at random) between page opens: 200 tabs with 2 s
give about 100 page opens a second.

Printed per page: the round trip from sending the page's event to the first update carrying
the page's data (the page state's delta), p50/p95/p99, and to the page's last update
(is_hydrated); the goal is p95 < 150 ms. Then the offered rate is stepped up (--rates, by
shortening the think time of the same tabs) to find the highest rate whose p95 stays under
150 ms on both pages. Memory: the app's process tree (RSS, and PSS which counts shared pages
once) before the tabs connect and after every tab has opened the overview; the difference
divided by the number of tabs is the memory per session.
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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import live_app  # noqa: E402

GOAL_MS = 150.0
PASSWORD = "portal benchmarks are not a sprint"
OWNER = "bench@studio.test"
BROWSER = "bench-portal-browser"


# --- data ------------------------------------------------------------------------------------


@dataclass
class Seeded:
    cookies: list[str]  # one portal cookie header per session
    clients: int
    users: int
    invoices: int
    seconds: float


def seed(data_dir: Path, *, sessions: int, invoices: int, demo_clients: int) -> Seeded:
    """Fill the database through the services (see the module's docstring)."""
    os.environ["BILLING_DATA_DIR"] = str(data_dir)
    from sqlmodel import Session, col, select

    from billing_app import settings as settings_module
    from billing_app.db.customers import Client, TaxRateRow
    from billing_app.db.engine import make_engine
    from billing_app.db.invoicing import Invoice
    from billing_app.db.models import OutboxEmail, StaffUser
    from billing_app.db.portal import ClientMembership, PortalUser
    from billing_app.services.access import auth, portal_auth
    from billing_app.services.access.identity import current_user_from
    from billing_app.services.common.tokens import hash_password
    from billing_app.services.customers.demo import seed_demo
    from billing_app.services.invoicing import drafts, payments, sending

    settings_module.get_settings.cache_clear()
    started = time.perf_counter()
    live_app.migrate(data_dir)
    engine = make_engine(f"sqlite:///{data_dir / 'billing.db'}")
    seed_demo(engine, clients=demo_clients)
    with Session(engine) as session:
        auth.create_owner(session, name="Bench Owner", email=OWNER, password=PASSWORD)
        session.commit()
    # The portal pages never open a PDF: a stand-in instead of rendering thousands.
    sending.render_snapshot = lambda _snapshot: b"%PDF-1.4 bench stand-in\n"  # type: ignore[assignment]

    rng = random.Random(7)
    portal_clients = (sessions + 1) // 2
    today = date.today()
    password_hash = hash_password(PASSWORD)  # one hash for every user: argon2 is slow on purpose
    emails: list[str] = []
    with Session(engine, expire_on_commit=False) as session:
        owner = session.exec(select(StaffUser).where(col(StaffUser.email) == OWNER)).one()
        actor = current_user_from(session, owner)
        vat = session.exec(select(TaxRateRow.id)).first()
        assert vat is not None
        client_ids = session.exec(
            select(Client.id)
            .where(col(Client.status) == "active")
            .order_by(col(Client.id))
            .limit(portal_clients)
        ).all()
        assert len(client_ids) == portal_clients, "seed more demo clients"
        sent = 0
        for client_id in client_ids:
            assert client_id is not None
            for n in range(2):
                email = f"user{n}-{client_id}@client.test"
                user = PortalUser(
                    email=email,
                    name=f"Client User {client_id}-{n}",
                    password_hash=password_hash,
                    created_at=datetime.now(UTC),
                )
                session.add(user)
                session.flush()
                assert user.id is not None
                session.add(
                    ClientMembership(
                        portal_user_id=user.id,
                        client_id=client_id,
                        role_key="full",
                        created_at=datetime.now(UTC),
                    )
                )
                emails.append(email)
            for i in range(invoices):
                issued = today - timedelta(days=30 * (invoices - i) + rng.randint(0, 5))
                lines = tuple(
                    drafts.LineForm(
                        f"{rng.choice(('Managed hosting', 'Site care', 'Support hours'))} {i}",
                        str(rng.randint(1, 4)),
                        f"{rng.randint(20, 400)}.{rng.randint(0, 99):02d}",
                        tax_rate_ids=(vat,),
                    )
                    for _ in range(rng.randint(1, 3))
                )
                invoice_id = drafts.save_draft(
                    session,
                    actor,
                    drafts.DraftForm(
                        client_id=client_id,
                        lines=lines,
                        issue_date=issued,
                        due_date=issued + timedelta(days=14),
                    ),
                )
                sending.send_invoice(session, actor, invoice_id)
                sent += 1
                age = invoices - i  # 1 = the newest
                paid_on = min(today, issued + timedelta(days=rng.randint(3, 20)))
                if age > 3 or (age > 1 and rng.random() < 0.5):
                    invoice = session.get(Invoice, invoice_id)
                    assert invoice is not None
                    minor = invoice.total_minor
                    partly = rng.random() < 0.05
                    payments.record_payment(
                        session,
                        actor,
                        invoice_id,
                        payments.PaymentForm(
                            amount=_decimal(minor // 2 if partly else minor),
                            method="bank_transfer",
                            received_on=paid_on,
                            reference=f"TRF-{invoice_id}",
                        ),
                    )
            session.commit()
        # Nothing left for the app's email worker while we measure.
        for row in session.exec(select(OutboxEmail)).all():
            row.status = "sent"
            row.sent_at = datetime.now(UTC)
            row.transport = "file"
            session.add(row)
        session.commit()

    cookies = []
    with Session(engine) as session:
        for email in emails[:sessions]:
            outcome = portal_auth.sign_in(session, email=email, password=PASSWORD, browser=BROWSER)
            session.commit()
            assert outcome.ticket, outcome.error
            token = portal_auth.redeem_ticket(session, outcome.ticket, browser=BROWSER)
            session.commit()
            assert token
            cookies.append(f"billing_portal={token}")
    engine.dispose()
    return Seeded(
        cookies=cookies,
        clients=len(client_ids),
        users=len(emails),
        invoices=sent,
        seconds=time.perf_counter() - started,
    )


def _decimal(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


# --- load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageOpen:
    page: str  # "overview" | "invoices"
    first_ms: float  # the first update of any kind
    data_ms: float  # the first update carrying the page state's data
    done_ms: float  # the page's last update (is_hydrated)


@dataclass
class Pages:
    """Event names and the states whose delta carries each page's data."""

    hydrate: str
    navigate: str
    data_state: dict[str, str]  # page -> full state name
    path: dict[str, str]  # page -> path

    @classmethod
    def load(cls) -> Pages:
        import reflex as rx
        from reflex.state import OnLoadInternalState

        from billing_app.ui import routes
        from billing_app.ui.portal.invoices import PortalInvoicesState
        from billing_app.ui.portal.overview import PortalOverviewState

        return cls(
            hydrate=live_app.handler(rx.State, "hydrate_and_load"),
            navigate=live_app.handler(OnLoadInternalState, "on_load_internal"),
            data_state={
                "overview": PortalOverviewState.get_full_name(),
                "invoices": PortalInvoicesState.get_full_name(),
            },
            path={"overview": routes.PORTAL, "invoices": routes.PORTAL_INVOICES},
        )


TIMEOUT = 30.0


def _hydrated(update: dict[str, Any]) -> bool:
    for changes in update.get("delta", {}).values():
        if changes.get("is_hydrated_rx_state_") is True:
            return True
    return False


async def open_page(tab: live_app.Tab, pages: Pages, page: str, *, first: bool) -> PageOpen:
    """Open ``page`` in ``tab`` as a browser does (its first connect: hydrate_and_load; later:
    on_load_internal after a client-side navigation) and time its updates."""
    tab.drain()
    event = pages.hydrate if first else pages.navigate
    sent = await tab.send(event, {}, pages.path[page])
    first_at = data_at = None
    deadline = sent + TIMEOUT
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            at, update = await asyncio.wait_for(tab.updates.get(), left)
        except TimeoutError:
            break
        first_at = first_at or at
        if data_at is None and pages.data_state[page] in update.get("delta", {}):
            data_at = at
        if _hydrated(update):
            return PageOpen(
                page,
                (first_at - sent) * 1000,
                ((data_at or at) - sent) * 1000,
                (at - sent) * 1000,
            )
    return PageOpen(page, TIMEOUT * 1000, TIMEOUT * 1000, TIMEOUT * 1000)


@dataclass
class Step:
    label: str
    offered: float  # page opens per second the tabs aim at
    seconds: float
    opens: list[PageOpen] = field(default_factory=list)
    elapsed: float = 0.0  # wall seconds until the last page opened
    server_cpu: float = 0.0  # CPU seconds used by the app during the step
    client_cpu: float = 0.0  # ... and by this process

    def ms(self, page: str, kind: str = "data_ms") -> list[float]:
        return sorted(getattr(o, kind) for o in self.opens if o.page == page)

    def p95(self, page: str) -> float:
        return pct(self.ms(page), 95)

    def passes(self) -> bool:
        return all(self.ms(p) and self.p95(p) < GOAL_MS for p in ("overview", "invoices"))


def pct(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(len(ordered) * p / 100 + 0.5) - 1)]


async def browse(
    tab: live_app.Tab, pages: Pages, step: Step, think: float, until: float, rng: random.Random
) -> None:
    """Move between the invoice list and the overview until ``until``: the next page opens
    ``think`` seconds (0.5x-1.5x) after the previous one was asked for, or as soon as it has
    finished if it took longer."""
    page = "invoices"
    next_at = time.monotonic() + rng.uniform(0, think)  # spread the tabs' first clicks
    while next_at < until:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        asked = time.monotonic()
        step.opens.append(await open_page(tab, pages, page, first=False))
        page = "overview" if page == "invoices" else "invoices"
        next_at = asked + think * rng.uniform(0.5, 1.5)


async def run_step(
    tabs: list[live_app.Tab], pages: Pages, proc: Any, step: Step, rng: random.Random
) -> Step:
    think = len(tabs) / step.offered
    cpu0, mine0 = live_app.tree_cpu_seconds(proc), time.process_time()
    started = time.monotonic()
    until = started + step.seconds
    await asyncio.gather(*(browse(t, pages, step, think, until, rng) for t in tabs))
    step.elapsed = time.monotonic() - started
    step.server_cpu = live_app.tree_cpu_seconds(proc) - cpu0
    step.client_cpu = time.process_time() - mine0
    return step


async def connect_all(
    base: str, cookies: list[str], pages: Pages, spread: float
) -> tuple[list[live_app.Tab], list[PageOpen]]:
    """Open a tab per cookie on the overview, their starts spread over ``spread`` seconds."""

    async def one(i: int, cookie: str) -> tuple[live_app.Tab, PageOpen]:
        await asyncio.sleep(spread * i / len(cookies))
        tab = live_app.Tab(base, str(uuid.uuid4()), cookie)
        await tab.connect()
        return tab, await open_page(tab, pages, "overview", first=True)

    done = await asyncio.gather(*(one(i, c) for i, c in enumerate(cookies)))
    return [t for t, _ in done], [o for _, o in done]


def mib(value: float) -> str:
    return f"{value / 2**20:,.1f} MiB"


def line(step: Step, page: str) -> str:
    data, first, done = step.ms(page), step.ms(page, "first_ms"), step.ms(page, "done_ms")
    return (
        f"    {page:<9} data p50 {pct(data, 50):6.1f}  p95 {pct(data, 95):6.1f}  "
        f"p99 {pct(data, 99):6.1f} ms | first update p50 {pct(first, 50):5.1f} "
        f"p95 {pct(first, 95):6.1f} | done p95 {pct(done, 95):6.1f} ms  ({len(data)} opens)"
    )


def report(step: Step) -> None:
    achieved = len(step.opens) / step.elapsed if step.elapsed else 0.0
    verdict = "meets" if step.passes() else "MISSES"
    print(
        f"  {step.label}: offered {step.offered:.0f}/s, achieved {achieved:.1f}/s over "
        f"{step.elapsed:.0f} s; app CPU {step.server_cpu / step.elapsed:.2f} cores, "
        f"bench CPU {step.client_cpu / step.elapsed:.2f} cores; {verdict} p95 < {GOAL_MS:.0f} ms"
    )
    for page in ("overview", "invoices"):
        print(line(step, page))


async def measure(args: argparse.Namespace, base: str, proc: Any, seeded: Seeded) -> dict[str, Any]:
    pages = Pages.load()
    rng = random.Random(11)
    # Warm the app (first page compile of each state, caches) with one tab, then let it settle.
    warm = live_app.Tab(base, str(uuid.uuid4()), seeded.cookies[0])
    await warm.connect()
    await open_page(warm, pages, "overview", first=True)
    for page in ("invoices", "overview") * 3:
        await open_page(warm, pages, page, first=False)
    await warm.close()
    await asyncio.sleep(3)
    before = live_app.tree_memory(proc)

    cookies = seeded.cookies[: args.sessions]
    tabs, opened = await connect_all(base, cookies, pages, args.connect_seconds)
    await asyncio.sleep(3)
    after = live_app.tree_memory(proc)
    first_ms = sorted(o.data_ms for o in opened)
    print(
        f"{len(tabs)} tabs connected and opened the overview over {args.connect_seconds:.0f} s: "
        f"p50 {pct(first_ms, 50):.1f} ms, p95 {pct(first_ms, 95):.1f} ms, "
        f"max {first_ms[-1]:.1f} ms"
    )
    per_rss = (after["rss"] - before["rss"]) / len(tabs)
    per_pss = (after["pss"] - before["pss"]) / len(tabs)
    print(
        f"App memory (process tree): RSS {mib(before['rss'])} -> {mib(after['rss'])}, "
        f"PSS {mib(before['pss'])} -> {mib(after['pss'])}; per session: RSS "
        f"{per_rss / 1024:,.0f} KiB, PSS {per_pss / 1024:,.0f} KiB"
    )

    think_rate = len(tabs) / args.think
    base_step = await run_step(
        tabs, pages, proc, Step(f"think {args.think:g} s", think_rate, args.seconds), rng
    )
    print(f"\n{len(tabs)} tabs browsing, think time {args.think:g} s:")
    report(base_step)

    best = 0.0
    if not args.no_steps:
        print("\nStepping the offered rate up (the same tabs, a shorter or longer think time):")
        worst = 0.0  # the lowest rate seen to miss
        rates = sorted(args.rates)
        refine = args.refine
        while rates:
            rate = rates.pop(0)
            await asyncio.sleep(3)  # the previous step's backlog is gone: every tab is idle
            step = await run_step(
                tabs,
                pages,
                proc,
                Step(f"{rate:g}/s (think {len(tabs) / rate:.2f} s)", rate, args.step_seconds),
                rng,
            )
            report(step)
            if step.passes():
                best = max(best, rate)
                continue
            worst = rate if not worst else min(worst, rate)
            rates = []
            if refine and best and worst - best > 5:
                refine -= 1
                rates = [round((best + worst) / 2)]
        print(
            f"Highest offered rate with p95 < {GOAL_MS:.0f} ms on both pages: "
            + (f"{best:g} page opens/s" if best else f"none (not even {min(args.rates):g}/s)")
        )
    end = live_app.tree_memory(proc)
    print(f"App memory after browsing: RSS {mib(end['rss'])}, PSS {mib(end['pss'])}")
    await asyncio.gather(*(t.close() for t in tabs))
    return {
        "sessions": len(tabs),
        "p95_ms": {p: round(base_step.p95(p), 1) for p in ("overview", "invoices")},
        "p50_ms": {p: round(pct(base_step.ms(p), 50), 1) for p in ("overview", "invoices")},
        "max_rate_per_s": best,
        "memory_per_session_kib": {"rss": round(per_rss / 1024), "pss": round(per_pss / 1024)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60, help="the run at --think")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between pages")
    parser.add_argument("--invoices", type=int, default=30, help="per client")
    parser.add_argument("--clients", type=int, default=2000, help="seed-demo clients in all")
    parser.add_argument(
        "--rates",
        type=lambda v: [float(x) for x in v.split(",")],
        default=[25.0, 50.0, 75.0, 100.0, 150.0, 200.0],
        help="offered page opens/s to step through, up to the first that misses the goal",
    )
    parser.add_argument(
        "--refine", type=int, default=2, help="then halve the gap to the last that met it N times"
    )
    parser.add_argument("--step-seconds", type=float, default=30)
    parser.add_argument("--no-steps", action="store_true")
    parser.add_argument("--connect-seconds", type=float, default=10, help="spread of the connects")
    parser.add_argument("--log", type=Path, help="write the app's output here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-portal-") as tmp:
        data_dir = Path(tmp)
        seeded = seed(
            data_dir,
            sessions=args.sessions,
            invoices=args.invoices,
            demo_clients=max(args.clients, args.sessions),
        )
        print(
            f"Seeded in {seeded.seconds:.0f} s: {args.clients:,} clients, {seeded.clients} of them "
            f"with {seeded.users} portal users and {seeded.invoices:,} sent invoices "
            f"({args.invoices} each); {len(seeded.cookies)} signed-in portal sessions"
        )
        steps = 0 if args.no_steps else len(args.rates) + args.refine
        budget = int(600 + args.seconds + steps * args.step_seconds * 2)
        with live_app.served(data_dir, log=args.log, seconds=budget) as (base, proc):
            result = asyncio.run(measure(args, base, proc, seeded))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
