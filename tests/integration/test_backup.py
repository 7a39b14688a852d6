"""Backups are consistent while the app writes, and restore to a working database
(docs/security.md item 33), on SQLite and PostgreSQL; they carry the key to the secrets stored
encrypted (docs/security.md item 48)."""

from __future__ import annotations

import sqlite3
import stat
import tarfile
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from billing_app.adapters import crypto
from billing_app.adapters.backup import KEY_NOTE, BackupError, create_backup, restore_backup
from billing_app.db.engine import make_engine
from billing_app.db.models import OutboxEmail, StaffUser
from billing_app.services.access import auth
from billing_app.services.common import outbox
from billing_app.settings import Settings
from tests.conftest import PG_ADMIN_URL, run_migrations

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def encrypt_in(data_dir: Path) -> str:
    """Encrypt a secret with data_dir's key (made on first use, as the app does)."""
    return crypto.encrypt(SECRET, purpose="totp", settings=Settings(data_dir=data_dir))


def opens_in(data_dir: Path, token: str) -> bool:
    settings = Settings(data_dir=data_dir, secret_key=None)
    return crypto.decrypt(token, purpose="totp", settings=settings) == SECRET


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
    token = encrypt_in(data)
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
    assert mode(archive) == 0o600, "it holds the key: only its owner reads it"

    restored = tmp_path / "restored"
    target = f"sqlite:///{restored / 'billing.db'}"
    report = restore_backup(archive, target, restored)
    assert report.key_file == restored / "secret.key" and report.replaced_key is None
    assert mode(restored / "secret.key") == 0o600 and opens_in(restored, token)
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
    token = encrypt_in(tmp_path)
    archive = create_backup(postgres_url, tmp_path, tmp_path / "backups", now=NOW)
    engine.dispose()

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"billing_restore_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        target = admin.url.set(database=name).render_as_string(hide_password=False)
        restore_backup(archive, target, tmp_path / "restored")
        assert opens_in(tmp_path / "restored", token)
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


def test_restore_never_replaces_a_different_key_without_force(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_migrations(f"sqlite:///{data / 'billing.db'}")
    token = encrypt_in(data)
    archive = create_backup(f"sqlite:///{data / 'billing.db'}", data, tmp_path / "b", now=NOW)
    with tarfile.open(archive) as tar:
        member = tar.getmember("secret.key")
    assert member.mode & 0o077 == 0

    other = tmp_path / "other"
    encrypt_in(other)  # another installation, with its own key
    theirs = (other / "secret.key").read_text()
    target = f"sqlite:///{other / 'billing.db'}"
    with pytest.raises(BackupError, match="different secret key"):
        restore_backup(archive, target, other)
    assert not (other / "billing.db").exists(), "nothing restored"
    assert (other / "secret.key").read_text() == theirs

    report = restore_backup(archive, target, other, force=True)
    assert opens_in(other, token) and mode(other / "secret.key") == 0o600
    assert report.replaced_key == other / "secret.key.replaced-1"
    assert report.replaced_key.read_text() == theirs, "the replaced key is kept"
    again = restore_backup(archive, target, other, force=True)
    assert again.replaced_key is None and not (other / "secret.key.replaced-2").exists()


def test_a_key_from_the_environment_is_noted_not_copied(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_migrations(f"sqlite:///{data / 'billing.db'}")
    encrypt_in(data)  # a key file left from before BILLING_SECRET_KEY was set
    archive = create_backup(
        f"sqlite:///{data / 'billing.db'}",
        data,
        tmp_path / "b",
        now=NOW,
        secret_key_in_environment=True,
    )
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        note = tar.extractfile(KEY_NOTE)
        assert note is not None and b"BILLING_SECRET_KEY" in note.read()
    assert "secret.key" not in names
    restored = tmp_path / "restored"
    report = restore_backup(archive, f"sqlite:///{restored / 'billing.db'}", restored)
    assert report.key_from_environment and report.key_file is None
    assert not (restored / "secret.key").exists()
