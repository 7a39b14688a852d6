"""Renders the subject, HTML and plain-text bodies of each message with Jinja2 (autoescaped
HTML), in the recipient's language (docs/architecture.md, Decisions: languages).

Templates mark their words with ``{% trans %}`` (Jinja2's i18n extension): the extension looks
``gettext``/``ngettext`` up in the context, and each render gets those of its own locale, so
one shared environment renders French and English messages at once. A sentence has the same
words in the HTML and the text body (one string to translate): HTML around a value comes from
the ``strong`` and ``mailto`` filters, never from the translated text. A translated sentence is
trusted like the template's own text (the catalogs are part of the code); the values put in it
are escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from markupsafe import Markup

from billing_app.i18n import DEFAULT_LOCALE, N_, translator

TEMPLATE_DIR = Path(__file__).parent / "templates" / "email"

SUBJECTS: dict[str, str] = {
    "password_reset": N_("Reset your {sender_name} password"),
    "invitation": N_("You're invited to join {sender_name}"),
    "password_changed": N_("Your {sender_name} password was changed"),
    "invoice_sent": N_("Invoice {number} from {sender_name}"),
    "account_changed": N_("Security notice for your {sender_name} account"),
    "receipt": N_("Receipt for invoice {number} from {sender_name}"),
    "refund": N_("Refund for invoice {number} from {sender_name}"),
    "payment_failed": N_("Payment failed for invoice {number} from {sender_name}"),
    "payment_action_required": N_(
        "Please confirm the payment of invoice {number} from {sender_name}"
    ),
    "subscription_past_due": N_("Your service with {sender_name} is past due: invoice {number}"),
    "subscription_stopped": N_("Your service with {sender_name}: invoice {number} is unpaid"),
    "credit_note": N_("Credit note {credit_note_number} for invoice {number} from {sender_name}"),
    "payment_reminder": N_("Reminder: invoice {number} from {sender_name}"),
    "invoice_voided": N_("Invoice {number} from {sender_name} was voided"),
    "portal_password_reset": N_("Reset your {sender_name} client portal password"),
    "portal_password_changed": N_("Your {sender_name} client portal password was changed"),
    "portal_account_changed": N_("Security notice for your {sender_name} client portal account"),
    "cancellation_requested": N_("{client} asks to cancel {service}"),
    "payment_disputed": N_("Disputed payment on invoice {number} ({client})"),
    "stripe_event_failed": N_("A Stripe event could not be handled: {event_type}"),
    "payment_notice": N_("Payment notice: {message}"),
    "payment_digest": N_("Card payments: your daily digest from {sender_name}"),
    "portal_invitation": N_("Your invitation to {client_name}'s account with {brand_name}"),
    "portal_access_granted": N_("You now have access to {client_name} in {brand_name}'s portal"),
    "brand_test": N_("Test email from {sender_name}"),
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _strong(value: object) -> Markup:
    return Markup("<strong>{}</strong>").format(value)


def _mailto(address: object, color: object) -> Markup:
    return Markup('<a href="mailto:{0}" style="color:{1};">{0}</a>').format(address, color)


@pass_context
def _text_table(context: Context, rows: Iterable[tuple[str, object]]) -> str:
    """'Label:  value' lines with the values aligned, for the plain-text bodies."""
    gettext: Callable[[str], str] = context["gettext"]
    # TRANSLATORS: a label before its value in a plain-text email ("Invoice: INV-0042").
    labelled = [(gettext("{label}:").format(label=label), value) for label, value in rows]
    width = max(len(label) for label, _ in labelled) + 1
    return "\n".join(f"{label:<{width}}{value}" for label, value in labelled)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    # The same whitespace rule as the extraction (babel.cfg: trimmed).
    env.policies["ext.i18n.trimmed"] = True
    env.filters.update(strong=_strong, mailto=_mailto, text_table=_text_table)
    return env


def render_email(
    kind: str, context: dict[str, Any], *, locale: str | None = DEFAULT_LOCALE
) -> RenderedEmail:
    """Render message ``kind`` with ``context`` (which must hold sender_name and footer) in
    ``locale``: its words from the catalogs (billing_app/i18n.py); amounts and dates in the
    context are formatted by the caller, in the same locale."""
    translations = translator(locale)
    ctx = {
        "brand_color": "#1f4b99",
        **context,
        "gettext": translations.gettext,
        "ngettext": translations.ngettext,
        "html_lang": (locale or DEFAULT_LOCALE).replace("_", "-"),
    }
    ctx["subject"] = translations.gettext(SUBJECTS[kind]).format(**ctx)
    env = _environment()
    html = env.get_template(f"{kind}.html").render(ctx)
    text = env.get_template(f"{kind}.txt").render(ctx)
    return RenderedEmail(subject=ctx["subject"], text=text, html=html)
