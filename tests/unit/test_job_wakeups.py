"""A burst of wake-ups queues one task: a thousand webhooks in a second do not each write a job
to the queue. The task, once started, is queued again by the next wake-up (it may have read
before that one's data was committed), and a wake-up left by a task that never started in this
process stops counting after a few seconds."""

from __future__ import annotations

import pytest

from billing_app.jobs import tasks
from billing_app.settings import Settings


def test_a_burst_queues_one_task_until_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[str] = []
    now = [1000.0]
    monkeypatch.setattr(tasks.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(tasks, "get_settings", lambda: Settings(run_jobs_in_process=True))
    wake = tasks._coalesced("test-job", lambda: queued.append("job"))
    for _ in range(1000):
        wake()
    assert queued == ["job"]
    tasks._started("test-job")  # the task runs: what is committed from now on needs a new one
    wake()
    wake()
    assert queued == ["job", "job"]
    now[0] += tasks.COALESCE_FOR + 0.1  # never started here (another process ran it)
    wake()
    assert queued == ["job", "job", "job"]


def test_a_wake_up_that_could_not_queue_does_not_block_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("queue unavailable")

    wake = tasks._coalesced("test-broken", broken)
    with pytest.raises(RuntimeError):
        wake()
    with pytest.raises(RuntimeError):
        wake()
    assert len(calls) == 2


def test_with_a_consumer_in_another_process_every_wake_up_queues(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The consumer elsewhere (Redis) never tells this process a task started: nothing is
    coalesced there."""
    monkeypatch.setattr(
        tasks, "get_settings", lambda: Settings(redis_url="redis://127.0.0.1:6379/0")
    )
    queued: list[int] = []
    wake = tasks._coalesced("test-scaled", lambda: queued.append(1))
    for _ in range(3):
        wake()
    assert len(queued) == 3
