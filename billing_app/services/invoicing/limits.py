"""Limits of what an invoice's texts and numbers may hold: over-long input is refused with a
message on its field, never cut (docs/security.md item 32)."""

from __future__ import annotations

from billing_app.services.common.errors import ValidationFailed

MAX_LINES = 500
MAX_TYPED_DIGITS = 18  # digits read before and after the separator of a typed number
MAX_DESCRIPTION = 2_000  # characters of a line description
MAX_MESSAGE = 5_000  # characters of the message to the client, and of an internal note


def bounded_text(value: str, limit: int, field: str) -> str:
    """``value`` stripped, refused (never cut) when longer than ``limit`` characters
    (docs/security.md item 32: bad input gets a clear message and writes nothing)."""
    text = value.strip()
    if len(text) > limit:
        msg = f"Use at most {limit:,} characters."
        raise ValidationFailed(msg, field=field)
    return text
