"""Huey tasks. Each one drains a durable table; running one twice is harmless."""

from __future__ import annotations

import logging

from huey import crontab

from billing_app.adapters.mailer import mailer_from_settings
from billing_app.db.engine import get_engine, session_scope
from billing_app.jobs.queue import huey
from billing_app.services.access.auth import answer_reset_requests
from billing_app.services.common.outbox import deliver_due
from billing_app.settings import get_settings

log = logging.getLogger(__name__)


@huey.task(name="deliver_outbox")
def deliver_outbox() -> int:
    """Deliver every email that is due now; returns how many were sent."""
    settings = get_settings()
    report = deliver_due(get_engine(), mailer_from_settings(settings), settings=settings)
    if report.sent or report.failed:
        log.info("outbox: %s sent, %s failed", report.sent, report.failed)
    return report.sent


@huey.periodic_task(crontab(minute="*"), name="deliver_outbox_periodic")
def deliver_outbox_periodic() -> None:
    """Every minute: retries whose backoff is over, and anything a lost task left behind."""
    deliver_outbox.call_local()


def kick_outbox() -> None:
    """Ask for a delivery now (after a transaction that queued email has committed)."""
    try:
        deliver_outbox()
    except Exception:
        log.exception("could not enqueue outbox delivery; the periodic task will retry")


@huey.task(name="answer_reset_requests")
def answer_reset_requests_task() -> int:
    """Answer the queued "forgot password" requests, then deliver what they queued."""
    with session_scope() as session:
        answered = answer_reset_requests(session)
    if answered:
        deliver_outbox.call_local()
    return answered


@huey.periodic_task(crontab(minute="*"), name="answer_reset_requests_periodic")
def answer_reset_requests_periodic() -> None:
    """Every minute: requests a lost task left behind (nothing is lost after a crash)."""
    answer_reset_requests_task.call_local()


def kick_reset_requests() -> None:
    """Ask for the queued reset requests to be answered now (after the request committed)."""
    try:
        answer_reset_requests_task()
    except Exception:
        log.exception("could not enqueue reset requests; the periodic task will answer them")
