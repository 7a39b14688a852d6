"""What the client is told of a failed automatic charge, and the automatic charges a killed
billing run left behind (docs/architecture.md, "Renewals").

A run can die anywhere inside a charge: its attempt, committed before Stripe was called, stays
"started". Before charging, a run settles the started attempts whose run is surely gone by
asking Stripe (the card payments' reconciliation): a charge Stripe made is recorded, with its
receipt, once. Then two gaps a death leaves are closed:
- An automatic charge that Stripe never made (the run died before the confirmation reached it)
  would leave a renewal invoice open that nobody charges and nobody emailed (an automatic
  charge sends no "please pay" email): the invoice goes back in the queue, charged once more.
- A refusal recorded (the attempt failed) but never told (the run died before the client's
  email and the dunning state were written, or the reconciliation found the refusal): the
  client gets the email, and the retry schedule its step. What the bank said exactly is not
  kept on the attempt, so a refusal is taken as one to retry, unless it asked for the client.
Each failure told counts once in the invoice's ``dunning_state.failures``: an invoice with more
failed automatic attempts than that (started longer ago than a run could still be telling
them, the reconciliation's bound) has one untold. Both are done under the invoice's lock, so
two runs at once do it once.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.adapters.stripe_gateway import CARD_MESSAGES
from billing_app.db.card_payments import PaymentAttempt
from billing_app.db.dunning import DunningState
from billing_app.db.invoicing import Invoice
from billing_app.domain.lifecycle import InvoiceStatus, accepts_payment
from billing_app.domain.money import Money, format_money
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.billing.dunning_emails import queue_once, queue_past_due
from billing_app.services.billing.dunning_state import dunning_settings, failed
from billing_app.services.card_payments.charges import NOT_MADE, STALE_START, reconcile_charges
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.invoicing.payments import locked_invoice
from billing_app.services.invoicing.settlement import payable_minor
from billing_app.services.invoicing.timeline import add_event
from billing_app.settings import Settings

AUTOMATIC = "Automatic charge"
AUTHENTICATION = "authentication_required"  # Stripe's code: the bank wants the client
# How far back charges a run left behind are looked for (runs are hourly).
LOOK_BACK = timedelta(days=30)
BATCH = 200


def tell_failure(
    session: Session, invoice_id: int, code: str, reason: str, card: str, clock: Clock
) -> str:
    """A failed automatic charge of the invoice: its dunning step (``code``: why, as
    stripe_gateway.refusal_code says it), the client's email with the pay link (once per
    failure: ``dunning_email``) and, when the retries are over, the "past due" email; "action"
    when the bank wants the client, else "failed"."""
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    session.refresh(invoice)
    today = today_at_agency(session, clock=clock)
    past_due = failed(session, invoice_id, code, today, clock)
    state = session.get(DunningState, invoice_id)
    failures = state.failures if state is not None else 1
    amount = format_money(Money(payable_minor(invoice), invoice.currency), invoice.locale)
    action = code == AUTHENTICATION
    kind = "payment_action_required" if action else "payment_failed"
    event = f"{'action' if action else 'failed'}-{failures}"
    extra = {"amount": amount, "card": card, "reason": reason}
    if queue_once(session, invoice, event, kind, extra, clock, attach=True):
        said = (
            "Emailed the client: their bank needs them to confirm the payment"
            if action
            else "Emailed the client: the automatic payment failed"
        )
        note(session, invoice, said, clock)
    if past_due:
        rules = dunning_settings(session, clock)
        sent = queue_past_due(
            session,
            invoice,
            past_due,
            days=rules.past_due_days,
            action=rules.past_due_action,
            since=today,
            clock=clock,
        )
        if sent:
            note(session, invoice, "Emailed the client: the subscription is past due", clock)
    return "action" if action else "failed"


def note(session: Session, invoice: Invoice, message: str, clock: Clock) -> None:
    assert invoice.id is not None
    add_event(session, invoice.id, "emailed", AUTOMATIC, message, clock, internal=False)


def recover_automatic_charges(
    engine: sa.Engine, *, clock: Clock = system_clock, settings: Settings | None = None
) -> int:
    """Settle the charges left started, queue again the renewal invoices whose automatic
    charge was never made, tell the refusals never told; how many invoices were recovered."""
    while True:
        report = reconcile_charges(engine, clock=clock, settings=settings, limit=BATCH)
        if report.settled == 0 or report.settled + report.left < BATCH:
            break
    automatic = (
        select(PaymentAttempt.invoice_id)
        .where(col(PaymentAttempt.kind) == "charge")
        .where(col(PaymentAttempt.state) == "failed")
        .where(col(PaymentAttempt.actor_label) == AUTOMATIC)
        .where(col(PaymentAttempt.created_at) >= clock.now() - LOOK_BACK)
    )
    with Session(engine) as session:
        latest = (
            sa.select(func.max(PaymentAttempt.id))
            .where(col(PaymentAttempt.kind) == "charge")
            .where(col(PaymentAttempt.invoice_id).is_not(None))
            .group_by(col(PaymentAttempt.invoice_id))
        )
        never_made = set(
            session.exec(
                automatic.where(col(PaymentAttempt.error) == NOT_MADE).where(
                    col(PaymentAttempt.id).in_(latest)
                )
            )
        )
        recent = automatic.where(col(PaymentAttempt.error) != NOT_MADE)
        refusals = (
            sa.select(col(PaymentAttempt.invoice_id).label("invoice_id"), func.count().label("n"))
            .where(col(PaymentAttempt.kind) == "charge")
            .where(col(PaymentAttempt.state) == "failed")
            .where(col(PaymentAttempt.actor_label) == AUTOMATIC)
            .where(col(PaymentAttempt.error) != NOT_MADE)
            .where(col(PaymentAttempt.invoice_id).in_(recent))
            .group_by(col(PaymentAttempt.invoice_id))
            # Not one a run may be telling right now: its charge started before the
            # reconciliation's bound (the reconciliation may have ended it a moment ago).
            .having(func.max(PaymentAttempt.created_at) < clock.now() - STALE_START)
            .subquery()
        )
        refused = set(
            session.execute(
                sa.select(refusals.c.invoice_id)
                .outerjoin(DunningState, col(DunningState.invoice_id) == refusals.c.invoice_id)
                .where(refusals.c.n > func.coalesce(DunningState.failures, 0))
            ).scalars()
        )
    recovered = 0
    for invoice_id in sorted(i for i in never_made | refused if i is not None):
        with Session(engine, expire_on_commit=False) as session:
            recovered += _recover(session, invoice_id, clock, invoice_id in never_made)
            session.commit()
    return recovered


def _recover(session: Session, invoice_id: int, clock: Clock, never_made: bool) -> int:
    """Under the invoice's lock (another run may be recovering it too), checked again."""
    invoice = locked_invoice(session, invoice_id)
    if not accepts_payment(InvoiceStatus(invoice.status)) or payable_minor(invoice) <= 0:
        return 0  # paid (or voided) meanwhile: nothing to charge or tell
    refusals = session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.invoice_id) == invoice_id)
        .where(col(PaymentAttempt.kind) == "charge")
        .where(col(PaymentAttempt.state) == "failed")
        .where(col(PaymentAttempt.actor_label) == AUTOMATIC)
        .where(col(PaymentAttempt.error) != NOT_MADE)
        .order_by(col(PaymentAttempt.id))
    ).all()
    state = session.get(DunningState, invoice_id)
    if refusals and len(refusals) > (state.failures if state is not None else 0):
        last = refusals[-1]
        asked = last.error == CARD_MESSAGES["authentication_required"]
        code = "authentication_required" if asked else "card_declined"
        tell_failure(session, invoice_id, code, last.error, last.card_label, clock)
        return 1
    if never_made:
        return _queue_again(session, invoice, clock)
    return 0


def _queue_again(session: Session, invoice: Invoice, clock: Clock) -> int:
    """Charged again unless it was queued or charged meanwhile."""
    assert invoice.id is not None
    newest = session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.invoice_id) == invoice.id)
        .where(col(PaymentAttempt.kind) == "charge")
        .order_by(col(PaymentAttempt.id).desc())
    ).first()
    if (
        invoice.charge_pending
        or newest is None
        or (newest.state, newest.error, newest.actor_label) != ("failed", NOT_MADE, AUTOMATIC)
    ):
        return 0
    invoice.charge_pending = True
    session.add(invoice)
    add_event(
        session,
        invoice.id,
        "card_retry",
        AUTOMATIC,
        "The automatic charge stopped before the card was charged: it will be made again",
        clock,
        internal=True,
    )
    return 1
