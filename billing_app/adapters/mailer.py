"""Delivers email: over SMTP when BILLING_SMTP_HOST is set, otherwise as .eml files in
data/outbox/."""

from __future__ import annotations

import email.policy
import itertools
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.charset import Charset
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
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


# email.policy.default, except that a value stored already folded (set_raw) is written out as
# is, never folded again (see encoded_subject); header objects are folded as usual.
_POLICY = email.policy.default.clone(refold_source="none")
_LINE = 78  # recommended line length (RFC 5322 2.1.1)
_WORD = 75  # longest encoded-word (RFC 2047 2)


def _fold_ascii(text: str, first: int) -> str:
    """Fold ASCII text at its spaces; unfolding (removing each line break) gives it back. The
    first word stays on the header's line; a word longer than a line is left whole."""
    lines: list[str] = []
    current, room = "", first
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > room:
            lines.append(current)
            current, room = word, _LINE - 1  # the next line starts with the space
        else:
            current = f"{current} {word}" if current or lines else word
    lines.append(current)
    return "\n ".join(lines)


def encoded_subject(subject: str) -> str:
    """The Subject header's value, encoded and folded. Short ASCII text is kept as it is, long
    ASCII text is folded at its spaces; other text becomes RFC 2047 encoded-words made by
    ``email.charset`` (UTF-8), split between characters with the text's spaces inside the
    words. A reader drops the whitespace between two encoded-words, so none of our spaces may
    be that whitespace - as Python 3.11's ``email.policy.default`` folding makes them:
    "Studio Lumière — Facturation" arrived as "Studio Lumière— Facturation"."""
    first = _LINE - len("Subject: ")
    if subject.isascii():
        return subject if len(subject) <= first else _fold_ascii(subject, first)
    widths = itertools.chain([first], itertools.repeat(_WORD))
    words = Charset("utf-8").header_encode_lines(subject, widths)
    return "\n ".join(word for word in words if word)


def build_message(message: OutgoingEmail, *, now: datetime | None = None) -> EmailMessage:
    """The MIME message; ``Date`` is ``now`` (default: the current time), in UTC."""
    msg = EmailMessage(policy=_POLICY)
    from_address = header_value(message.from_address)
    msg["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(UTC))
    # Stored encoded and folded: the policy writes it out as is (see encoded_subject).
    msg.set_raw("Subject", encoded_subject(header_value(message.subject)))
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


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to hand messages over: the app's server, or a brand's own."""

    host: str
    port: int
    security: str = "starttls"  # starttls | ssl | none
    username: str = ""
    password: str = field(default="", repr=False)
    timeout_seconds: int = 20

    @classmethod
    def from_settings(cls, s: Settings) -> SmtpConfig:
        assert s.smtp_host
        security = "ssl" if s.smtp_ssl else ("starttls" if s.smtp_starttls else "none")
        return cls(
            host=s.smtp_host,
            port=s.smtp_port,
            security=security,
            username=s.smtp_username or "",
            password=s.smtp_password or "",
            timeout_seconds=s.smtp_timeout_seconds,
        )


class SmtpMailer:
    """Sends through an SMTP server (STARTTLS or SSL when asked)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def send(self, message: OutgoingEmail) -> Delivery:
        c = self.config
        msg = build_message(message)
        smtp: smtplib.SMTP
        if c.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                c.host, c.port, timeout=c.timeout_seconds, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_seconds)
        with smtp:
            if c.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if c.username:
                smtp.login(c.username, c.password)
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
        return SmtpMailer(SmtpConfig.from_settings(settings))
    return FileMailer(settings.outbox_dir)
