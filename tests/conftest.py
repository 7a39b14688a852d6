"""Shared fixtures: migrated databases (SQLite always; PostgreSQL when reachable, required in CI),
a movable clock and test settings."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Keep every test run away from the developer's own data/ before any settings are read.
_RUN_DIR = Path(tempfile.mkdtemp(prefix="billing-tests-"))
os.environ["BILLING_DATA_DIR"] = str(_RUN_DIR / "data")
os.environ.pop("BILLING_DATABASE_URL", None)
os.environ.pop("BILLING_REDIS_URL", None)
os.environ.pop("BILLING_SMTP_HOST", None)
os.environ.pop("BILLING_SECRET_KEY", None)  # the key comes from the run's data dir

import sqlalchemy as sa  # noqa: E402
from alembic.config import Config  # noqa: E402
from sqlmodel import Session  # noqa: E402

from alembic import command  # noqa: E402
from billing_app.db.engine import make_engine  # noqa: E402
from billing_app.services.common.clock import FixedClock  # noqa: E402
from billing_app.settings import PROJECT_ROOT, Settings, get_settings  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# Property tests check what must hold, not how fast: on a loaded 2-core machine one example
# may take longer than Hypothesis' default 200 ms deadline. Speed lives in bench/.
hypothesis_settings.register_profile("billing", deadline=None)
hypothesis_settings.load_profile("billing")
# The databases the `engine` fixture runs on: both unless told otherwise. Mutation runs of the
# services (scripts/mutation_run.py, docs/testing.md) set BILLING_TEST_DATABASES=sqlite.
DATABASES = [
    name.strip()
    for name in os.environ.get("BILLING_TEST_DATABASES", "sqlite,postgres").split(",")
    if name.strip()
]
if not DATABASES or not set(DATABASES) <= {"sqlite", "postgres"}:
    raise pytest.UsageError("BILLING_TEST_DATABASES: sqlite, postgres or both, comma-separated")
PG_ADMIN_URL = os.environ.get(
    "BILLING_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


def run_migrations(url: str, revision: str = "head") -> None:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["url"] = url
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, revision)


def downgrade_migrations(url: str, revision: str = "base") -> None:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["url"] = url
    cfg.attributes["configure_logger"] = False
    command.downgrade(cfg, revision)


_RUN_PID = os.getpid()


def pytest_sessionstart(session: pytest.Session) -> None:
    """A session in a fork of the process that made the run's folder gets a folder of its own.
    Mutation testing (scripts/mutation_run.py) runs each mutant's tests in such a fork, two at
    a time: they must not write to, or remove, each other's files."""
    global _RUN_DIR, _RUN_PID
    if os.getpid() != _RUN_PID:
        _RUN_DIR, _RUN_PID = Path(tempfile.mkdtemp(prefix="billing-tests-")), os.getpid()
        os.environ["BILLING_DATA_DIR"] = str(_RUN_DIR / "data")
        get_settings.cache_clear()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the run's temporary data (databases, outbox, private files)."""
    shutil.rmtree(_RUN_DIR, ignore_errors=True)


def require_or_skip(reason: str) -> None:
    """Missing infrastructure fails the run in CI, and only skips on a developer machine."""
    if IN_CI:
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def run_dir() -> Path:
    return _RUN_DIR


# The migrated SQLite database the tests copy. It is built once per process and removed when
# that process exits, so a fork (mutation testing runs each mutant's tests in one) copies its
# parent's instead of migrating again.
_TEMPLATE = Path(tempfile.mkdtemp(prefix="billing-template-")) / "template.db"


def _remove_template(owner_pid: int) -> None:
    if os.getpid() == owner_pid:  # not when a fork exits
        shutil.rmtree(_TEMPLATE.parent, ignore_errors=True)


atexit.register(_remove_template, os.getpid())


@pytest.fixture(scope="session")
def sqlite_template() -> Path:
    if not _TEMPLATE.exists():
        building = _TEMPLATE.with_suffix(f".{os.getpid()}.tmp")
        run_migrations(f"sqlite:///{building}")
        building.replace(_TEMPLATE)
    return _TEMPLATE


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        require_or_skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    name = f"billing_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    run_migrations(url)
    yield url
    with admin.connect() as conn:
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _truncate_all(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated, empty database: a copy of the SQLite template, or a truncated PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "billing.db"
        shutil.copyfile(template, path)
        eng = make_engine(f"sqlite:///{path}")
    else:
        url: str = request.getfixturevalue("postgres_url")
        eng = make_engine(url)
        _truncate_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 14, 9, 30, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        base_url="https://billing.agency.test",
        mail_from="billing@agency.test",
        mail_from_name="Studio Nord",
    )


@pytest.fixture(scope="session")
def localstripe_server() -> Iterator[str]:
    """localstripe on 127.0.0.1 for the whole run (tests/localstripe_server.py): its address,
    to give the SDK as ``StripeConfig.api_base``. It stops when the run does."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    launcher = Path(__file__).with_name("localstripe_server.py")
    proc = subprocess.Popen(
        [sys.executable, str(launcher), str(port), str(os.getpid())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            request = urllib.request.Request(
                f"{base}/v1/customers", headers={"Authorization": "Bearer sk_test_up"}
            )
            with urllib.request.urlopen(request, timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                _, err = proc.communicate(timeout=5)
                pytest.fail(f"localstripe did not start: {err.decode(errors='replace')[-2000:]}")
            time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def localstripe(localstripe_server: str) -> str:
    """localstripe emptied for this test (``DELETE /_config/data``)."""
    import urllib.request

    request = urllib.request.Request(f"{localstripe_server}/_config/data", method="DELETE")
    with urllib.request.urlopen(request, timeout=10):
        pass
    return localstripe_server
