"""Engine and sessions. SQLite runs with WAL, foreign keys and a busy timeout."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session

from billing_app.settings import Settings, get_settings

_lock = threading.Lock()
_engines: dict[str, sa.Engine] = {}
# The configured database URL of the current settings: resolving the data folder touches the
# file system, and every transaction asks for the engine.
_default_url: tuple[Settings, str] | None = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


SQLITE_POOL_SIZE = 20


def make_engine(url: str, *, pool_size: int | None = None) -> sa.Engine:
    """A new engine for ``url`` with our connection settings; ``pool_size`` keeps that many
    connections for as many threads, and no more (a thread pool's own engine)."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            # Connections are kept for every worker thread that may ask at once (the event
            # loop's executor, the job runner): one opened per transaction parses the schema
            # again and cost the portal a fifth of its events per second.
            pool_size=pool_size or SQLITE_POOL_SIZE,
            max_overflow=0 if pool_size else 10,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if pool_size:
        return sa.create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=0)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _configured_url() -> str:
    global _default_url  # noqa: PLW0603 - a cache of the current settings
    settings = get_settings()
    cached = _default_url
    if cached is None or cached[0] is not settings:
        cached = _default_url = (settings, settings.resolved_database_url)
    return cached[1]


def get_engine(url: str | None = None) -> sa.Engine:
    """The shared engine for ``url`` (default: the configured database)."""
    url = url or _configured_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(engine: sa.Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
