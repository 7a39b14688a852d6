"""Delivers email: over SMTP when BILLING_SMTP_HOST is set, otherwise as .eml files in
data/outbox/."""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Protocol

from billing_app.settings import Settings

# Characters that never belong in a header (docs/security.md item 47): Unicode category Cc
# (line breaks, tabs, NUL ...) and the line and paragraph separators.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


@dataclass(frozen=True)
class OutgoingEmail:
    id: int
    to_address: str
    subject: str
    text: str
    html: str
    from_name: str
    from_address: str
    reply_to: str = ""
    attachments: tuple[tuple[str, str, bytes], ...] = ()  # (filename, content type, bytes)


@dataclass(frozen=True)
class Delivery:
    transport: str
    file_path: str = ""


class Mailer(Protocol):
    def send(self, message: OutgoingEmail) -> Delivery: ...


def header_value(value: str) -> str:
    """`value` on one line: each run of control characters becomes a space. Fields are checked
    when saved; this still delivers a message built from a value stored before that."""
    return CONTROL_CHARACTERS.sub(" ", value).strip()


def build_message(message: OutgoingEmail) -> EmailMessage:
    msg = EmailMessage()
    from_address = header_value(message.from_address)
    msg["Subject"] = header_value(message.subject)
    msg["From"] = formataddr((header_value(message.from_name), from_address))
    msg["To"] = header_value(message.to_address)
    if message.reply_to:
        msg["Reply-To"] = header_value(message.reply_to)
    domain = from_address.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid(idstring=f"outbox{message.id}", domain=domain)
    msg.set_content(message.text)
    msg.add_alternative(message.html, subtype="html")
    for filename, content_type, data in message.attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


class SmtpMailer:
    """Sends through the configured SMTP server (STARTTLS or SSL when asked)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, message: OutgoingEmail) -> Delivery:
        s = self.settings
        assert s.smtp_host
        msg = build_message(message)
        smtp: smtplib.SMTP
        if s.smtp_ssl:
            smtp = smtplib.SMTP_SSL(
                s.smtp_host,
                s.smtp_port,
                timeout=s.smtp_timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
        with smtp:
            if not s.smtp_ssl and s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
            smtp.send_message(msg)
        return Delivery(transport="smtp")


class FileMailer:
    """Writes each message as an .eml file (the embedded default, with no SMTP server)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: OutgoingEmail) -> Delivery:
        self.directory.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", message.subject.lower()).strip("-")[:40]
        path = self.directory / f"{message.id:06d}-{slug}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(build_message(message)))
        tmp.replace(path)
        return Delivery(transport="file", file_path=str(path))


def mailer_from_settings(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    return FileMailer(settings.outbox_dir)
