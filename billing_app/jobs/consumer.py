"""Runs the Huey consumer inside the app process (embedded mode) as threads."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from huey.consumer import Consumer

from billing_app.jobs import tasks  # noqa: F401  (registers the tasks)
from billing_app.jobs.queue import huey
from billing_app.settings import get_settings

log = logging.getLogger(__name__)


class InProcessConsumer(Consumer):  # type: ignore[misc]
    """A consumer that leaves the host server's signal handlers alone."""

    def _set_signal_handlers(self) -> None:
        return None


def start_consumer() -> InProcessConsumer:
    consumer = InProcessConsumer(
        huey,
        workers=2,
        worker_type="thread",
        periodic=True,
        initial_delay=0.1,
        max_delay=2.0,
        check_worker_health=False,
    )
    consumer.start()
    return consumer


@contextlib.asynccontextmanager
async def consumer_lifespan(**_: Any) -> AsyncIterator[None]:
    """Reflex lifespan task: start the in-process consumer unless jobs run elsewhere."""
    consumer = None
    if get_settings().jobs_in_process:
        consumer = start_consumer()
        log.info("in-process job consumer started")
    try:
        yield
    finally:
        if consumer is not None:
            consumer.stop(graceful=False)
