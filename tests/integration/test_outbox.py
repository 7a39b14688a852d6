"""The email outbox: delivery over a real SMTP server (aiosmtpd), the file fallback, retries with
backoff, dead letters that stay visible, and exactly-once delivery under concurrent workers."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from billing_app.adapters.mailer import FileMailer, mailer_from_settings
from billing_app.db.models import OutboxEmail
from billing_app.services.common import outbox
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import FixedClock
from billing_app.settings import Settings


class Inbox:
    """Collects what the SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        data = envelope.content  # type: ignore[attr-defined]
        with self.lock:
            self.messages.append(email.message_from_bytes(data))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def smtp_settings(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
    )


def deliver(engine: sa.Engine, cfg: Settings, clock: FixedClock) -> outbox.DeliveryReport:
    """Deliver what is due with the transport ``cfg`` configures."""
    return outbox.deliver_due(engine, mailer_from_settings(cfg), clock=clock, settings=cfg)


def queue(
    session: Session, clock: FixedClock, settings: Settings, to: str = "a@client.test"
) -> int:
    row = outbox.enqueue_email(
        session,
        "password_reset",
        to,
        {
            "name": "Ana",
            "reset_url": "https://billing.agency.test/r?token=x",
            "expires_minutes": 60,
        },
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert row.id is not None
    return row.id


def test_smtp_delivery_sends_html_and_text(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    settings: Settings,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    cfg = smtp_settings(settings, port)
    email_id = queue(session, clock, cfg)
    report = deliver(engine, cfg, clock)
    assert report.sent == 1
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["Subject"] == "Reset your Studio Nord password"
    assert msg["From"] == "Studio Nord <billing@agency.test>"
    assert msg["To"] == "a@client.test"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in msg.walk()
        if not p.is_multipart()
    }
    assert "https://billing.agency.test/r?token=x" in parts["text/plain"]
    assert 'href="https://billing.agency.test/r?token=x"' in parts["text/html"]
    session.expire_all()
    row = session.get(OutboxEmail, email_id)
    assert row is not None and row.status == "sent" and row.transport == "smtp"
    # Nothing is sent twice.
    assert deliver(engine, cfg, clock).sent == 0
    assert len(inbox.messages) == 1


def test_without_smtp_messages_become_eml_files(
    engine: sa.Engine, session: Session, clock: FixedClock, settings: Settings, tmp_path: Path
) -> None:
    email_id = queue(session, clock, settings)
    outbox.deliver_due(engine, FileMailer(tmp_path / "outbox"), clock=clock, settings=settings)
    session.expire_all()
    row = session.get(OutboxEmail, email_id)
    assert row is not None and row.status == "sent" and row.transport == "file"
    saved = email.message_from_bytes(Path(row.file_path).read_bytes())
    assert saved["Subject"] == "Reset your Studio Nord password"
    assert Path(row.file_path).parent == tmp_path / "outbox"


def test_failures_are_retried_with_backoff_then_kept_as_dead(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    settings: Settings,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    broken = smtp_settings(settings, free_port()).model_copy(
        update={"outbox_max_attempts": 3, "smtp_timeout_seconds": 2}
    )
    email_id = queue(session, clock, broken)
    start = clock.now()
    deliver(engine, broken, clock)
    session.expire_all()
    row = session.get(OutboxEmail, email_id)
    assert row is not None
    assert (row.status, row.attempts) == ("failed", 1)
    assert "ConnectionRefusedError" in row.last_error
    assert row.next_attempt_at == start + outbox.retry_delay(1)
    # Not due yet: nothing happens.
    assert deliver(engine, broken, clock).failed == 0
    clock.advance(minutes=1)
    deliver(engine, broken, clock)
    session.expire_all()
    row = session.get(OutboxEmail, email_id)
    assert row is not None
    assert (row.status, row.attempts) == ("failed", 2)
    assert row.next_attempt_at == clock.now() + outbox.retry_delay(2)
    clock.advance(minutes=2)
    deliver(engine, broken, clock)
    session.expire_all()
    row = session.get(OutboxEmail, email_id)
    assert row is not None and row.status == "dead"
    clock.advance(days=1)
    assert deliver(engine, broken, clock).failed == 0

    # Nothing is lost: once SMTP works again, a retry delivers it.
    outbox.retry_now(session, SYSTEM, email_id, clock=clock)
    session.commit()
    cfg = smtp_settings(settings, port)
    assert deliver(engine, cfg, clock).sent == 1
    assert len(inbox.messages) == 1


def test_concurrent_workers_deliver_each_message_once(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    settings: Settings,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    cfg = smtp_settings(settings, port)
    for i in range(12):
        queue(session, clock, cfg, to=f"client{i}@client.test")
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            deliver(engine, cfg, clock)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    recipients = sorted(m["To"] for m in inbox.messages)
    assert recipients == sorted(f"client{i}@client.test" for i in range(12))
    statuses = set(session.exec(select(OutboxEmail.status)).all())
    assert statuses == {"sent"}


def test_the_emails_page_never_shows_usable_one_time_links(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    email_id = queue(session, clock, settings)
    raw = session.get(OutboxEmail, email_id)
    assert raw is not None and "token=x" in raw.body_text
    detail = outbox.get_email(session, SYSTEM, email_id)
    assert "token=x" not in detail.body_text and "token=x" not in detail.body_html
    assert "https://billing.agency.test/r?token=[hidden]" in detail.body_text
