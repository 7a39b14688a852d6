"""Credentials never reach the logs (docs/security.md items 27, 37): what Reflex logs about an
event it cannot handle (its payload) is redacted by the filter every handler carries."""

from __future__ import annotations

import logging

import pytest

from billing_app.adapters.log_redaction import REDACTED, RedactSecrets, redact


@pytest.mark.parametrize(
    "text",
    [
        "Event(name='x.no_such', payload={'form': {'email': 'a@b.c', 'password': 'hunter2!'}})",
        '{"name": "x", "payload": {"current_password": "hunter2!", "code": "123456"}}',
        "headers={'cookie': 'billing_session=hunter2!; billing_browser=abc'}",
        "GET /reset-password?token=hunter2! HTTP/1.1",
        "redirect to /api/auth/handoff?ticket=hunter2!&next=/",
        "payload={'new_password': 'it\\'s hunter2!'}",
    ],
)
def test_secrets_are_redacted(text: str) -> None:
    cleaned = redact(text)
    assert "hunter2" not in cleaned
    assert "123456" not in cleaned
    assert REDACTED in cleaned


def test_other_text_is_left_alone() -> None:
    text = "Error processing event queue entry for Event(name='team_state.load', payload={})"
    assert redact(text) == text


def test_the_filter_rewrites_the_record_and_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("tests.redaction")
    logger.addFilter(RedactSecrets())
    try:
        raise KeyError("payload={'password': 'hunter2!'}")
    except KeyError:
        with caplog.at_level(logging.ERROR, logger="tests.redaction"):
            logger.exception("bad event %s", {"form": {"password": "hunter2!"}})
    record = caplog.records[-1]
    assert "hunter2" not in record.getMessage()
    assert record.exc_text is not None and "hunter2" not in record.exc_text
