"""Backups are consistent while the app writes, and restore to a working database
(docs/security.md item 33), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from billing_app.adapters.backup import BackupError, create_backup, restore_backup
from billing_app.db.engine import make_engine
from billing_app.db.models import OutboxEmail, StaffUser
from billing_app.services.access import auth
from billing_app.services.common import outbox
from billing_app.settings import Settings
from tests.conftest import PG_ADMIN_URL, run_migrations

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def seed(engine: sa.Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        auth.create_owner(
            session, name="Olivia", email="o@agency.test", password="a long enough passphrase"
        )
        session.commit()


def test_sqlite_backup_while_writing_then_restore(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "private" / "documents").mkdir(parents=True)
    (data / "private" / "documents" / "x.pdf").write_bytes(b"%PDF-1.4 test")
    url = f"sqlite:///{data / 'billing.db'}"
    run_migrations(url)
    engine = make_engine(url)
    seed(engine, tmp_path)
    settings = Settings(data_dir=data)
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            with Session(engine) as s:
                outbox.enqueue_email(
                    s, "password_changed", "a@b.test", {"name": "A"}, settings=settings
                )
                s.commit()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        archive = create_backup(url, data, tmp_path / "backups", now=NOW)
    finally:
        stop.set()
        thread.join(30)
    engine.dispose()
    assert archive.name == "billing-backup-20261127-120000.tar.gz"

    restored = tmp_path / "restored"
    target = f"sqlite:///{restored / 'billing.db'}"
    restore_backup(archive, target, restored)
    with sqlite3.connect(restored / "billing.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT email FROM staff_user").fetchall() == [("o@agency.test",)]
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    assert (restored / "private" / "documents" / "x.pdf").read_bytes() == b"%PDF-1.4 test"
    with pytest.raises(BackupError, match="Pass --force"):
        restore_backup(archive, target, restored)
    restore_backup(archive, target, restored, force=True)


def test_postgres_backup_and_restore(postgres_url: str, tmp_path: Path) -> None:
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("TRUNCATE staff_user, outbox_email, installation RESTART IDENTITY CASCADE")
        )
    seed(engine, tmp_path)
    archive = create_backup(postgres_url, tmp_path, tmp_path / "backups", now=NOW)
    engine.dispose()

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"billing_restore_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        target = admin.url.set(database=name).render_as_string(hide_password=False)
        restore_backup(archive, target, tmp_path / "restored")
        restored = make_engine(target)
        with Session(restored) as session:
            assert session.exec(select(StaffUser.email)).all() == ["o@agency.test"]
            assert session.exec(select(func.count()).select_from(OutboxEmail)).one() == 0
        restored.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_not_a_backup_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="No backup"):
        restore_backup(tmp_path / "missing.tar.gz", "sqlite:///x.db", tmp_path)
