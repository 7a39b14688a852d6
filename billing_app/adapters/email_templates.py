"""Renders the HTML and plain-text bodies of each message with Jinja2 (autoescaped HTML)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR = Path(__file__).parent / "templates" / "email"

SUBJECTS: dict[str, str] = {
    "password_reset": "Reset your {sender_name} password",
    "invitation": "You're invited to join {sender_name}",
    "password_changed": "Your {sender_name} password was changed",
    "invoice_sent": "Invoice {number} from {sender_name}",
    "account_changed": "Security notice for your {sender_name} account",
    "receipt": "Receipt for invoice {number} from {sender_name}",
    "payment_reminder": "Reminder: invoice {number} from {sender_name}",
    "invoice_voided": "Invoice {number} from {sender_name} was voided",
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_email(kind: str, context: dict[str, Any]) -> RenderedEmail:
    """Render message ``kind`` with ``context`` (which must hold sender_name and footer)."""
    ctx = {"brand_color": "#1f4b99", **context}
    ctx["subject"] = SUBJECTS[kind].format(**ctx)
    env = _environment()
    html = env.get_template(f"{kind}.html").render(ctx)
    text = env.get_template(f"{kind}.txt").render(ctx)
    return RenderedEmail(subject=ctx["subject"], text=text, html=html)
