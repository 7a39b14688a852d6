"""Browser journeys: the real app (``reflex run --env prod``, as ``make run`` serves it) on
127.0.0.1, a real SMTP server (aiosmtpd), and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import email
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlmodel import Session, col, select

from billing_app.adapters import crypto
from billing_app.db.engine import make_engine
from billing_app.db.models import OutboxEmail
from billing_app.services.access import auth
from billing_app.services.common.outbox import deliver_due
from billing_app.settings import PROJECT_ROOT, Settings
from tests.conftest import require_or_skip, run_migrations
from tests.support import BROWSER, CapturingMailer, link_token

CHROMIUM = os.environ.get("BILLING_TEST_CHROMIUM", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SERVER_START_TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"

    def wait_for(self, to: str, subject_part: str, timeout: float = 30) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for msg in self.messages:
                    if msg["To"] == to and subject_part in str(msg["Subject"]):
                        return msg
            time.sleep(0.2)
        raise AssertionError(f"no email to {to} about {subject_part!r} within {timeout}s")


def text_body(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text part")


def link_in(msg: Message, path: str) -> str:
    match = re.search(rf"(http://\S+{re.escape(path)}\?token=[\w-]+)", text_body(msg))
    assert match, f"no {path} link in the email"
    return match.group(1)


@dataclass
class AppServer:
    base_url: str
    data_dir: Path
    mailbox: Mailbox
    engine: sa.Engine
    log_path: Path

    @property
    def settings(self) -> Settings:
        return Settings(base_url=self.base_url, mail_from_name="Studio Nord")


OWNER_EMAIL = "olivia@studio-nord.test"
OWNER_PASSWORD = "northern lights over the fjord"


def ensure_owner(server: AppServer) -> None:
    """The owner the first-run journey creates, made with the services when a file's tests run
    without that journey (a lone file, or -k): the sign-in page needs an installation."""
    with Session(server.engine) as session:
        if auth.setup_required(session):
            auth.create_owner(
                session, name="Olivia Nord", email=OWNER_EMAIL, password=OWNER_PASSWORD
            )
            session.commit()


def session_token(server: AppServer, email: str, password: str) -> str:
    """Sign in with the services as a browser would, and return the session cookie value."""
    with Session(server.engine) as session:
        outcome = auth.authenticate(
            session, email=email, password=password, browser=BROWSER, settings=server.settings
        )
        session.commit()
        assert outcome.ticket, outcome.error
        token = auth.redeem_ticket(
            session, outcome.ticket, browser=BROWSER, settings=server.settings
        )
        session.commit()
    assert token
    return token


def emailed_link(server: AppServer, to: str, path: str) -> str:
    """The single-use link of the newest email to ``to`` (its token is minted at delivery:
    deliver it here, or read it from the mailbox if the app's worker was faster)."""
    mailer = CapturingMailer()
    deliver_due(server.engine, mailer, settings=server.settings)
    sent = [m for m in mailer.sent if m.to_address == to]
    if sent:
        return f"{server.base_url}{path}?token={link_token(sent[-1], path)}"
    with Session(server.engine) as session:
        subject = session.exec(
            select(OutboxEmail.subject)
            .where(col(OutboxEmail.to_address) == to)
            .order_by(col(OutboxEmail.id).desc())
        ).first()
    assert subject, f"no email to {to}"
    return link_in(server.mailbox.wait_for(to, subject), path)


@pytest.fixture(scope="session")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the app exited early:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    with urllib.request.urlopen(url + "/login", timeout=5) as page:
                        if page.status == 200:
                            return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(
        f"the app did not start in {SERVER_START_TIMEOUT}s:\n{log.read_text()[-4000:]}"
    )


@pytest.fixture(scope="session")
def app_server(
    run_dir: Path, mailbox: tuple[Mailbox, int], localstripe_server: str
) -> Iterator[AppServer]:
    box, smtp_port = mailbox
    data_dir = run_dir / "e2e-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    # The app and this process (which prepares data with the services) share one secret key:
    # what either seals (a pay link's token, Stripe's keys) the other can open.
    crypto.load_keys(create=True)
    if not (data_dir / "secret.key").exists():
        shutil.copy(crypto.key_file(), data_dir / "secret.key")
    db_url = f"sqlite:///{data_dir / 'billing.db'}"
    run_migrations(db_url)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    tools_bin = PROJECT_ROOT / ".tools" / "node_modules" / ".bin"
    env = {
        **os.environ,
        "PATH": f"{tools_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "REFLEX_DIR": str(PROJECT_ROOT / ".tools" / "reflex"),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "BILLING_DATA_DIR": str(data_dir),
        "BILLING_BASE_URL": base_url,
        "BILLING_HOST": "127.0.0.1",
        "BILLING_PORT": str(port),
        "BILLING_SMTP_HOST": "127.0.0.1",
        "BILLING_SMTP_PORT": str(smtp_port),
        "BILLING_SMTP_STARTTLS": "false",
        "BILLING_MAIL_FROM": "billing@studio-nord.test",
        "BILLING_MAIL_FROM_NAME": "Studio Nord",
        # The Stripe SDK talks to localstripe (tests/localstripe_server.py), never to Stripe.
        "BILLING_STRIPE_API_BASE": localstripe_server,
        "BILLING_STRIPE_JS_URL": f"{localstripe_server}/js.stripe.com/v3/",
    }
    log_path = run_dir / "e2e-app.log"
    reflex = PROJECT_ROOT / ".venv" / "bin" / "reflex"
    if not reflex.exists():
        require_or_skip("the project's .venv with reflex is missing (run make test)")
    with log_path.open("wb") as log:
        # `timeout` makes sure the server stops by itself even if the test run is killed.
        proc = subprocess.Popen(
            [
                "timeout",
                "2400",
                str(reflex),
                "run",
                "--env",
                "prod",
                "--single-port",
                "--frontend-port",
                str(port),
                "--backend-port",
                str(port),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_up(base_url, proc, log_path)
        engine = make_engine(db_url)
        yield AppServer(base_url, data_dir, box, engine, log_path)
        engine.dispose()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it had already stopped (the failure above says why)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        require_or_skip(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash.setdefault(FAILED, report.failed)  # type: ignore[arg-type]


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def new_page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """Makes pages in fresh browser contexts (separate cookie jars); screenshots on failure."""
    contexts = []

    def make() -> object:
        ctx = browser.new_context(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
        ctx.set_default_timeout(20_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    if request.node.stash.get(FAILED, False):
        ARTIFACTS.mkdir(exist_ok=True)
        for i, ctx in enumerate(contexts):
            for j, page in enumerate(ctx.pages):
                page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{i}-{j}.png"))
    for ctx in contexts:
        ctx.close()


FIRST_RUN_JOURNEY = "test_first_run_setup_then_sign_out_and_in"


ACCESSIBILITY_SWEEP = "test_accessibility.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first-run journey needs an installation without any account, so it goes first;
    later journeys sign in with the owner it creates (or create that same owner). The
    accessibility sweep goes last: the data it adds to every page would crowd the first page
    of lists that other journeys read (the audit log)."""
    first = [item for item in items if item.name == FIRST_RUN_JOURNEY]
    if first:
        items.remove(first[0])
        index = next((i for i, item in enumerate(items) if "/e2e/" in str(item.path)), 0)
        items.insert(index, first[0])
    sweep = [item for item in items if item.path.name == ACCESSIBILITY_SWEEP]
    for item in sweep:
        items.remove(item)
    items.extend(sweep)
