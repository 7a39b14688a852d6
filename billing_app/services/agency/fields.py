"""Cleaning what staff type into the agency and brand forms: one-line text and email addresses
(nothing that could break an email header), and a brand's sending settings (From address, SMTP
server, its password encrypted)."""

from __future__ import annotations

import re

from billing_app.adapters import crypto
from billing_app.adapters.mailer import CONTROL_CHARACTERS
from billing_app.domain.numbers import parse_whole_number
from billing_app.services.access.identity import normalize_email
from billing_app.services.common.errors import FieldChecks, ValidationFailed
from billing_app.services.common.outbox import SMTP_PASSWORD_PURPOSE, SMTP_SECURITIES

ONE_LINE = "Use a single line without control characters."
SMTP_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


def text_field(
    value: str,
    field: str,
    label: str,
    limit: int,
    *,
    required: bool = False,
    header: bool = False,
) -> str:
    """`value` trimmed. A ``header`` value ends up in email headers (sender, subject, reply-to):
    it may hold no control characters (docs/security.md item 47)."""
    cleaned = value.strip()
    if header and CONTROL_CHARACTERS.search(cleaned):
        raise ValidationFailed(ONE_LINE, field=field)
    if required and not cleaned:
        msg = f"Enter {label}."
        raise ValidationFailed(msg, field=field)
    if len(cleaned) > limit:
        msg = f"Use at most {limit} characters."
        raise ValidationFailed(msg, field=field)
    return cleaned


def header_email(value: str, field: str) -> str:
    """An optional email address that ends up in email headers ("" when left empty)."""
    cleaned = text_field(value, field, "an email address", 320, header=True)
    return normalize_email(cleaned, field) if cleaned else ""


def _smtp_port(value: str) -> int:
    if not value.strip():
        return 0
    port = parse_whole_number(value, max_digits=5)
    if port is None or not 1 <= port <= 65535:
        msg = "Use a port between 1 and 65535 (usually 587, or 465 for SSL)."
        raise ValidationFailed(msg, field="smtp_port")
    return port


def _smtp_host(value: str) -> str:
    host = value.strip().lower()
    if host and not SMTP_HOST.match(host):
        msg = "Enter the server's host name, like smtp.youragency.com."
        raise ValidationFailed(msg, field="smtp_host")
    return host


def clean_sending(
    checks: FieldChecks,
    *,
    mail_from: str,
    host: str,
    port: str,
    security: str,
    username: str,
    password: str,
) -> dict[str, object]:
    """A brand's From address and SMTP server, problems kept in ``checks``. Without a host the
    app's transport sends and the rest is cleared; a new password is stored encrypted, an empty
    one keeps the stored one (it is absent from the values returned)."""
    sender = checks.value("mail_from", "", header_email, mail_from, "mail_from")
    server = checks.value("smtp_host", "", _smtp_host, host)
    if not server:
        return {
            "mail_from": sender,
            "smtp_host": "",
            "smtp_port": 0,
            "smtp_security": "starttls",
            "smtp_username": "",
            "smtp_password": "",
        }
    if not sender and not checks.failed("mail_from"):
        checks.add("mail_from", "Give the From address this server may send from.")
    if security not in SMTP_SECURITIES:
        checks.add("smtp_security", "Choose STARTTLS, SSL or none.")
    values: dict[str, object] = {
        "mail_from": sender,
        "smtp_host": server,
        "smtp_port": checks.value("smtp_port", 0, _smtp_port, port),
        "smtp_security": security,
        "smtp_username": checks.value(
            "smtp_username",
            "",
            text_field,
            username,
            "smtp_username",
            "a user name",
            320,
            header=True,
        ),
    }
    if password:
        if len(password) > 500 or CONTROL_CHARACTERS.search(password):
            checks.add("smtp_password", "Use at most 500 characters, on one line.")
        else:
            values["smtp_password"] = crypto.encrypt(password, purpose=SMTP_PASSWORD_PURPOSE)
    return values
