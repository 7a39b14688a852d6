"""Automatic charges a killed billing run left behind (docs/architecture.md, "Renewals").

A run can die anywhere inside a charge: its attempt, committed before Stripe was called, stays
"started". Before charging, a run settles the started attempts whose run is surely gone by
asking Stripe (the card payments' reconciliation): a charge Stripe made is recorded, with its
receipt, once. An automatic charge that Stripe never made (the run died before the
confirmation reached it) would otherwise leave a renewal invoice open that nobody charges and
nobody emailed (an automatic charge sends no "please pay" email): it is charged again, once,
by putting the invoice back in the queue. A decline is not made again here: dunning's retry
schedule owns that.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.card_payments import PaymentAttempt
from billing_app.domain.lifecycle import InvoiceStatus, accepts_payment
from billing_app.services.card_payments.charges import NOT_MADE, reconcile_charges
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.invoicing.payments import locked_invoice
from billing_app.services.invoicing.settlement import payable_minor
from billing_app.services.invoicing.timeline import add_event
from billing_app.settings import Settings

AUTOMATIC = "Automatic charge"
# How far back a charge that was never made is looked for (runs are hourly).
LOOK_BACK = timedelta(days=30)
BATCH = 200


def recover_automatic_charges(
    engine: sa.Engine, *, clock: Clock = system_clock, settings: Settings | None = None
) -> int:
    """Settle the charges left started, then queue again every renewal invoice whose automatic
    charge was never made; how many were queued."""
    while True:
        report = reconcile_charges(engine, clock=clock, settings=settings, limit=BATCH)
        if report.settled == 0 or report.settled + report.left < BATCH:
            break
    with Session(engine) as session:
        latest = (
            sa.select(func.max(PaymentAttempt.id))
            .where(col(PaymentAttempt.kind) == "charge")
            .where(col(PaymentAttempt.invoice_id).is_not(None))
            .group_by(col(PaymentAttempt.invoice_id))
        )
        invoice_ids = list(
            session.exec(
                select(PaymentAttempt.invoice_id)
                .where(col(PaymentAttempt.state) == "failed")
                .where(col(PaymentAttempt.created_at) >= clock.now() - LOOK_BACK)
                .where(col(PaymentAttempt.actor_label) == AUTOMATIC)
                .where(col(PaymentAttempt.error) == NOT_MADE)
                .where(col(PaymentAttempt.id).in_(latest))
            )
        )
    queued = 0
    for invoice_id in invoice_ids:
        assert invoice_id is not None
        with Session(engine, expire_on_commit=False) as session:
            queued += _queue_again(session, invoice_id, clock)
            session.commit()
    return queued


def _queue_again(session: Session, invoice_id: int, clock: Clock) -> int:
    """Under the invoice's lock (another run may be recovering it too): charged again unless
    it was queued, charged or paid meanwhile."""
    invoice = locked_invoice(session, invoice_id)
    newest = session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.invoice_id) == invoice_id)
        .where(col(PaymentAttempt.kind) == "charge")
        .order_by(col(PaymentAttempt.id).desc())
    ).first()
    if (
        invoice.charge_pending
        or newest is None
        or (newest.state, newest.error, newest.actor_label) != ("failed", NOT_MADE, AUTOMATIC)
        or not accepts_payment(InvoiceStatus(invoice.status))
        or payable_minor(invoice) <= 0
    ):
        return 0
    invoice.charge_pending = True
    session.add(invoice)
    add_event(
        session,
        invoice_id,
        "card_retry",
        AUTOMATIC,
        "The automatic charge stopped before the card was charged: it will be made again",
        clock,
        internal=True,
    )
    return 1
