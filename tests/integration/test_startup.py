"""The server checks the key to the stored secrets before anything else starts
(docs/security.md item 48; the check itself: tests/services/test_secrets_at_rest.py)."""

from __future__ import annotations

from billing_app.api.startup import secret_key_lifespan
from billing_app.billing_app import app
from billing_app.jobs.consumer import consumer_lifespan


def test_the_key_is_checked_before_the_job_consumer_starts() -> None:
    tasks = list(app.get_lifespan_tasks())
    assert secret_key_lifespan in tasks
    assert tasks.index(secret_key_lifespan) < tasks.index(consumer_lifespan)
