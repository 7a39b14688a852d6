"""Scale-out mode: with BILLING_REDIS_URL set, jobs go to a Redis queue and a separate
``huey_consumer`` process delivers the outbox (here into PostgreSQL and a real SMTP server)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from billing_app.db.engine import make_engine
from billing_app.db.models import OutboxEmail
from billing_app.services.common import outbox
from billing_app.settings import Settings
from tests.conftest import require_or_skip
from tests.integration.test_outbox import Inbox, free_port

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("BILLING_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        require_or_skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_a_separate_consumer_delivers_queued_email_through_redis(
    postgres_url: str, redis_url: str, smtp: tuple[Inbox, int], tmp_path: Path
) -> None:
    inbox, smtp_port = smtp
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE outbox_email RESTART IDENTITY CASCADE"))
    settings = Settings(data_dir=tmp_path, mail_from_name="Studio Nord")
    with Session(engine) as session:
        outbox.enqueue_email(
            session, "password_changed", "ana@client.test", {"name": "Ana"}, settings=settings
        )
        session.commit()

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BILLING_DATA_DIR": str(tmp_path),
        "BILLING_DATABASE_URL": postgres_url,
        # A queue name of its own so parallel runs never share tasks.
        "BILLING_REDIS_URL": redis_url,
        "BILLING_SMTP_HOST": "127.0.0.1",
        "BILLING_SMTP_PORT": str(smtp_port),
        "BILLING_SMTP_STARTTLS": "false",
        "BILLING_JOBS_QUEUE": f"billing-test-{uuid.uuid4().hex[:8]}",
    }
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from huey import RedisHuey; from billing_app.jobs.tasks import huey, deliver_outbox; "
            "assert isinstance(huey, RedisHuey), type(huey); deliver_outbox(); print('queued')",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert probe.returncode == 0, probe.stderr
    assert inbox.messages == [], "enqueueing alone must not deliver: the consumer does"

    consumer_bin = Path(sys.executable).parent / "huey_consumer"
    consumer = subprocess.Popen(
        [str(consumer_bin), "billing_app.jobs.tasks.huey", "-w", "1", "-k", "thread"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        consumer.terminate()
        output = consumer.communicate(timeout=20)[0].decode(errors="replace")
    assert [m["To"] for m in inbox.messages] == ["ana@client.test"], output[-2000:]
    with Session(engine) as session:
        assert session.exec(select(OutboxEmail.status)).all() == ["sent"]
    engine.dispose()
