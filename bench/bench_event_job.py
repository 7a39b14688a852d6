"""The job that handles Stripe's events: how many payment_intent.succeeded events a second it
handles in full (the PaymentIntent asked of "Stripe", the payment recorded on its invoice under
the invoice's lock, the receipt queued, the staff notice written), against the gateway fake
(tests/fake_stripe_gateway.py) so Stripe's own latency is left out.

Run: .venv/bin/python bench/bench_event_job.py [--events 300] [--workers 1] [--postgres]

A throwaway database (SQLite, the embedded default; or a database made for the run on
BILLING_TEST_POSTGRES_URL's server) is migrated, given an agency, a client, Stripe keys and
--events sent invoices, each with a card payment waiting for the client's bank (as after 3-D
Secure) and Stripe's event saying it succeeded, delivered twice for one in ten. Then --workers
threads run the job until no event is due.

Printed: events handled per second, the time per event p50 / p95, payments recorded (must equal
--events: each once) and receipts queued.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
from sqlmodel import Session, col, func, select  # noqa: E402

from bench.bench_setup import database, drop, studio  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-job-"))
    url = database(args.postgres, folder, "bench_job")
    os.environ["BILLING_DATA_DIR"] = str(folder / "data")
    os.environ["BILLING_DATABASE_URL"] = url

    from alembic.config import Config

    from alembic import command
    from billing_app.db.card_payments import PaymentAttempt, StripeEvent
    from billing_app.db.customers import Client
    from billing_app.db.engine import make_engine
    from billing_app.db.invoicing import InvoicePayment
    from billing_app.db.models import OutboxEmail
    from billing_app.services.card_payments import events, stripe_settings
    from billing_app.services.invoicing import drafts, sending
    from billing_app.settings import get_settings
    from tests.fake_stripe_gateway import FakeStripe

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")
    engine = make_engine(url)
    settings = get_settings()
    monkeypatch = pytest.MonkeyPatch()
    from tests.fake_stripe_gateway import install

    fake: FakeStripe = install(monkeypatch)

    print(f"setting up {args.events} invoices ({'PostgreSQL' if args.postgres else 'SQLite'})...")
    with Session(engine, expire_on_commit=False) as session:
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        actor = studio(session, settings.data_dir, now, "benchJob0001")
        client = Client(
            company="Bench Client",
            email="client@bench.test",
            currency="EUR",
            created_at=now,
            updated_at=now,
        )
        session.add(client)
        session.commit()
        stripe = stripe_settings.stripe_config(session)
        assert stripe is not None and client.id is not None
        customer = fake.create_customer(
            stripe,
            name="Bench",
            email="c@b.test",
            client_id=client.id,
            idempotency_key="bench-customer",
        )
        card = fake.attach_card(stripe, "pm_fake_visa", customer.id)
        for n in range(args.events):
            invoice_id = drafts.save_draft(
                session,
                actor,
                drafts.DraftForm(
                    client_id=client.id, lines=(drafts.LineForm("Hosting", "1", "49"),)
                ),
            )
            sending.send_invoice(session, actor, invoice_id)
            key = f"charge-bench-{n}"
            intent = fake.create_payment_intent(
                stripe,
                amount_minor=4900,
                currency="EUR",
                customer_id=customer.id,
                payment_method_id=card.id,
                idempotency_key=key,
                metadata={"attempt": key},
            )
            fake.confirm_payment_intent(stripe, intent.id, idempotency_key=f"{key}-confirm")
            session.add(
                PaymentAttempt(
                    idempotency_key=key,
                    kind="charge",
                    client_id=client.id,
                    invoice_id=invoice_id,
                    amount_minor=4900,
                    currency="EUR",
                    state="action",
                    stripe_id=intent.id,
                    payment_method_id=card.id,
                    card_label="Visa •••• 4242",
                    created_at=now,
                    updated_at=now,
                )
            )
            for delivery in range(2 if n % 10 == 0 else 1):
                session.add(
                    StripeEvent(
                        event_id=f"evt_bench_{n}_{delivery}",
                        type="payment_intent.succeeded",
                        livemode=False,
                        object_id=intent.id,
                        created=0,
                        payload=json.dumps(
                            {
                                "id": f"evt_bench_{n}_{delivery}",
                                "type": "payment_intent.succeeded",
                                "data": {"object": {"id": intent.id}},
                            }
                        ),
                        received_at=now,
                        next_attempt_at=now,
                    )
                )
            session.commit()
        total = session.exec(select(func.count()).select_from(StripeEvent)).one()

    timings: list[float] = []
    original = events.HANDLERS["payment_intent.succeeded"]

    def timed(*a: object, **k: object) -> object:
        apply = original(*a, **k)  # type: ignore[arg-type]

        def run(session: Session) -> None:
            started = time.perf_counter()
            apply(session)
            timings.append(time.perf_counter() - started)

        return run

    events.HANDLERS["payment_intent.succeeded"] = timed  # type: ignore[assignment]

    def worker() -> None:
        while events.handle_due_events(engine, settings=settings, limit=50).handled:
            pass

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    with Session(engine) as session:
        payments = session.exec(
            select(func.count())
            .select_from(InvoicePayment)
            .where(col(InvoicePayment.method) == "card")
        ).one()
        receipts = session.exec(
            select(func.count()).select_from(OutboxEmail).where(col(OutboxEmail.kind) == "receipt")
        ).one()
        handled = session.exec(
            select(func.count()).select_from(StripeEvent).where(col(StripeEvent.state) == "handled")
        ).one()
    monkeypatch.undo()
    ms = sorted(t * 1000 for t in timings)
    print(
        f"{'PostgreSQL' if args.postgres else 'SQLite'}, {args.workers} worker(s): "
        f"{handled}/{total} events handled in {elapsed:.1f} s = {handled / elapsed:.0f} events/s; "
        f"apply p50 {statistics.median(ms):.1f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms; "
        f"payments recorded {payments} (expected {args.events}), receipts {receipts}"
    )
    engine.dispose()
    drop(url)
    if payments != args.events or receipts != args.events:
        raise SystemExit("a payment was recorded twice or not at all")


if __name__ == "__main__":
    main()
