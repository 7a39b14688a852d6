"""The process paying an invoice is killed (SIGKILL) after Stripe accepted the charge and before
anything of it was written: after the restart the reconciliation records exactly one payment
and sends one receipt, and running it again changes nothing (docs/security.md, "Card
payments"). The payment is made by a real separate process against localstripe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from billing_app.services.card_payments import charges
from billing_app.services.card_payments.charges import STALE_START
from billing_app.services.common.clock import FixedClock

from .test_invoice_card_payments import (
    VISA,
    attempts,
    card_payments,
    intents_at_stripe,
    receipts,
    save_card,
    shop,
)
from .test_invoice_payment_rules import invoice_of
from .test_invoicing import world

__all__ = ["shop", "world"]

ROOT = Path(__file__).resolve().parents[2]

# The paying process: the portal's Pay, with the process killed the moment Stripe has answered
# that the charge succeeded, before the answer is written anywhere.
PAYER = """
import json, os, signal, sys
from datetime import datetime
from sqlmodel import Session
from billing_app.db.engine import make_engine
from billing_app.services.card_payments import charges, invoice_payments
from billing_app.services.common.clock import FixedClock
from billing_app.settings import Settings
from tests.services.test_portal_invoices import client_user

args = json.loads(sys.argv[1])
settings = Settings(data_dir=args["data_dir"], stripe_api_base=args["api_base"])
clock = FixedClock(datetime.fromisoformat(args["now"]))

def killed(*_a, **_k):
    os.kill(os.getpid(), signal.SIGKILL)

charges.settle_charge = killed
with Session(make_engine(args["url"]), expire_on_commit=False) as session:
    invoice_payments.pay_invoice(
        session, client_user(args["client_id"]), args["invoice_id"], args["card_id"],
        expected_due_minor=10000, clock=clock, settings=settings,
    )
print("not killed")
"""


def test_killed_after_stripe_charged_then_reconciled_to_one_payment_and_one_receipt(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    card_id = save_card(session, clock, shop, VISA)
    settings = shop["settings"]
    args = {
        "url": engine.url.render_as_string(hide_password=False),
        "data_dir": str(settings.data_dir),
        "api_base": settings.stripe_api_base,
        "now": clock.now().isoformat(),
        "client_id": shop["client"].id,
        "invoice_id": shop["invoice_id"],
        "card_id": card_id,
    }
    payer = subprocess.run(
        [sys.executable, "-c", PAYER, json.dumps(args)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert payer.returncode == -signal.SIGKILL, payer.stderr[-2000:]
    # Stripe took the money; we wrote nothing of it but the attempt made before the call.
    assert [pi["status"] for pi in intents_at_stripe(settings)] == ["succeeded"]
    assert attempts(session) == [("started", "")]
    assert card_payments(session) == [] and receipts(session) == []

    # The restarted app's reconciliation, once the attempt's page is surely gone.
    clock.advance(seconds=STALE_START.total_seconds() + 1)
    report = charges.reconcile_charges(engine, clock=clock, settings=settings)
    assert (report.settled, report.left) == (1, 0)
    again = charges.reconcile_charges(engine, clock=clock, settings=settings)
    assert (again.settled, again.left) == (0, 0)
    [payment] = card_payments(session)
    assert payment.amount_minor == 10000
    assert payment.processor_id == intents_at_stripe(settings)[0]["id"]
    assert len(receipts(session)) == 1
    assert invoice_of(session, shop["invoice_id"]).status == "paid"
    assert attempts(session) == [("done", "")]
