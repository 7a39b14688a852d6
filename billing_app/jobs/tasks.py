"""Huey tasks. Each one drains a durable table; running one twice is harmless. Use cases wake
them after their transaction commits (services/common/transactions.py); periodic tasks catch up
with whatever a lost wake-up left behind."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from huey import crontab

from billing_app.adapters.mailer import mailer_from_settings
from billing_app.db.engine import get_engine
from billing_app.jobs.queue import huey
from billing_app.services.access import portal_auth
from billing_app.services.access.password_reset import WAKE_RESET_REQUESTS, answer_reset_requests
from billing_app.services.billing.dunning import run_dunning
from billing_app.services.billing.renewals import billing_run
from billing_app.services.card_payments import notices
from billing_app.services.card_payments.card_refunds import reconcile_refunds
from billing_app.services.card_payments.charges import reconcile_charges
from billing_app.services.card_payments.events import WAKE_STRIPE_EVENTS, handle_due_events
from billing_app.services.common.outbox import WAKE_OUTBOX, deliver_due
from billing_app.services.common.transactions import register_waker, run
from billing_app.services.reporting.renewal_forecast import refresh_forecast_now
from billing_app.settings import get_settings

log = logging.getLogger(__name__)

# A burst of wake-ups (a thousand webhooks a second) queues one task, not one each: a wake-up is
# skipped while one queued by this process has not started yet (the task, once started, sees
# everything committed before). Bounded in time, in case a consumer in another process ran it.
COALESCE_FOR = 5.0  # seconds
BATCH = 50  # events handled per transaction batch
DRAIN_FOR = 30.0  # seconds a run goes on handling a burst before it lets others run
_queued: dict[str, float] = {}
_queued_lock = threading.Lock()


def _coalesced(name: str, task: Callable[[], object]) -> Callable[[], None]:
    """``task``'s wake-up, coalesced when the consumer runs in this process (only then does
    the task's start clear it); else every wake-up goes through."""
    settings = get_settings()
    coalesce = settings.jobs_in_process and not settings.redis_url

    def wake() -> None:
        if not coalesce:
            task()
            return
        now = time.monotonic()
        with _queued_lock:
            if now - _queued.get(name, -COALESCE_FOR) < COALESCE_FOR:
                return
            _queued[name] = now
        try:
            task()
        except Exception:
            _started(name)
            raise

    return wake


def _started(name: str) -> None:
    """The task ``name`` runs: the next wake-up queues it again."""
    with _queued_lock:
        _queued.pop(name, None)


@huey.task(name="deliver_outbox")
def deliver_outbox() -> int:
    """Deliver every email that is due now; returns how many were sent."""
    _started(WAKE_OUTBOX)
    settings = get_settings()
    report = deliver_due(get_engine(), mailer_from_settings(settings), settings=settings)
    if report.sent or report.failed:
        log.info("outbox: %s sent, %s failed", report.sent, report.failed)
    return report.sent


@huey.periodic_task(crontab(minute="*"), name="deliver_outbox_periodic")
def deliver_outbox_periodic() -> None:
    """Every minute: retries whose backoff is over, and anything a lost task left behind."""
    deliver_outbox.call_local()


@huey.task(name="answer_reset_requests")
def answer_reset_requests_task() -> int:
    """Answer the queued "forgot password" requests (the emails they queue wake the outbox)."""
    return run(answer_reset_requests)


@huey.periodic_task(crontab(minute="*"), name="answer_reset_requests_periodic")
def answer_reset_requests_periodic() -> None:
    """Every minute: requests a lost task left behind (nothing is lost after a crash)."""
    answer_reset_requests_task.call_local()


@huey.task(name="answer_portal_reset_requests")
def answer_portal_reset_requests_task() -> int:
    """Answer the queued portal "forgot password" requests (branded emails)."""
    return run(portal_auth.answer_reset_requests)


@huey.periodic_task(crontab(minute="*"), name="answer_portal_reset_requests_periodic")
def answer_portal_reset_requests_periodic() -> None:
    """Every minute: portal requests a lost task left behind."""
    answer_portal_reset_requests_task.call_local()


@huey.task(name="handle_stripe_events")
def handle_stripe_events() -> int:
    """Handle the Stripe events the webhook stored (each claimed, retried with backoff)."""
    _started(WAKE_STRIPE_EVENTS)
    handled = failed = 0
    ends = time.monotonic() + DRAIN_FOR
    while True:  # a burst is drained in one run, a batch at a time
        report = handle_due_events(get_engine(), settings=get_settings(), limit=BATCH)
        handled, failed = handled + report.handled, failed + report.failed
        if report.handled + report.failed + report.ignored < BATCH or time.monotonic() > ends:
            break
    if handled or failed:
        log.info("stripe events: %s handled, %s failed", handled, failed)
    return handled


@huey.periodic_task(crontab(minute="*"), name="handle_stripe_events_periodic")
def handle_stripe_events_periodic() -> None:
    """Every minute: retries whose backoff is over, and anything a lost wake-up left."""
    handle_stripe_events.call_local()


@huey.periodic_task(crontab(minute="*"), name="reconcile_card_charges_periodic")
def reconcile_card_charges_periodic() -> None:
    """Every minute: card charges whose page is gone (a crash, a timeout, a bank confirmation
    abandoned) are settled by asking Stripe."""
    report = reconcile_charges(get_engine(), settings=get_settings())
    if report.settled or report.left:
        log.info("card charges: %s settled, %s left", report.settled, report.left)
    refunds = reconcile_refunds(get_engine(), settings=get_settings())
    if refunds:
        log.info("card refunds: %s settled", refunds)


@huey.periodic_task(crontab(minute="7"), name="payment_digests_periodic")
def payment_digests_periodic() -> None:
    """Every hour: the daily payment digests that are due (each member's at most once in 20
    hours)."""
    sent = run(notices.send_digests)
    if sent:
        log.info("payment digests: %s queued", sent)


@huey.periodic_task(crontab(minute="3"), name="billing_run_periodic")
def billing_run_periodic() -> None:
    """Every hour: bill the subscription periods that started (after downtime, every missed
    one up to the agency's catch-up limit, oldest first), then compute the renewal forecast."""
    report = billing_run(get_engine())
    if report.invoices or report.held or report.runaways:
        log.info(
            "renewals: %s invoice(s), %s period(s) held, %s refused",
            len(report.invoices),
            report.held,
            len(report.runaways),
        )
    dunning = run_dunning(get_engine())
    if dunning.retried or dunning.reminders:
        log.info("dunning: %s retried, %s reminders", dunning.retried, dunning.reminders)
    refresh_forecast_now(get_engine())  # the reports' renewal forecast, from the new schedule


register_waker(WAKE_OUTBOX, _coalesced(WAKE_OUTBOX, deliver_outbox))
register_waker(WAKE_STRIPE_EVENTS, _coalesced(WAKE_STRIPE_EVENTS, handle_stripe_events))
register_waker(WAKE_RESET_REQUESTS, answer_reset_requests_task)
register_waker(portal_auth.WAKE_PORTAL_RESET_REQUESTS, answer_portal_reset_requests_task)
