"""Keeps credentials out of the logs (docs/security.md items 27, 37).

Reflex logs a whole event when it cannot handle it — a stale tab after a deploy names a
handler that no longer exists — and an event carries what the page sent: a typed password, a
code, a token. Cookies never reach an event (api/edge.py takes them out of the websocket
handshake), but a log record may still quote a form. A filter on every handler rewrites such
records: the values of secret-looking fields, cookie headers and token query parameters are
replaced by ``[redacted]`` before anything is written.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

REDACTED = "[redacted]"

_SECRET_KEYS = (
    r"password|current_password|new_password|confirm|passphrase|code|otp|token|ticket|"
    r"secret|cookie|authorization|recovery_codes?|card_number|cvc"
)
# 'password': 'hunter2' / "token": "abc" (Python and JSON reprs of event payloads).
_QUOTED_VALUE = re.compile(
    rf"""(?P<key>(['"])(?:{_SECRET_KEYS})\2\s*:\s*)(?P<q>['"])(?:\\.|(?!(?P=q)).)*(?P=q)""",
    re.IGNORECASE,
)
# Cookie: a=b; c=d  /  'cookie': '...'
_COOKIE_HEADER = re.compile(r"(?i)(cookie\s*[:=]\s*)[^\r\n,}]+")
# ?token=...&ticket=...
_QUERY_SECRET = re.compile(r"(?i)([?&](?:token|ticket)=)[^&\s'\"]+")


def redact(text: str) -> str:
    text = _QUOTED_VALUE.sub(lambda m: f"{m.group('key')}'{REDACTED}'", text)
    text = _COOKIE_HEADER.sub(rf"\1{REDACTED}", text)
    return _QUERY_SECRET.sub(rf"\1{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message (with its arguments and traceback text) redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Put the filter on every handler of the root logger and of the loggers that already
    have their own (Reflex's), and on those loggers themselves for handlers added later."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)


@contextlib.asynccontextmanager
async def redaction_lifespan(**_: Any) -> AsyncIterator[None]:
    """Reflex lifespan task: install again once the server has set its logging up."""
    install()
    yield
