"""Backups (docs/security.md item 33): a consistent copy while the app runs, and its restore.

One ``.tar.gz`` holds the database and the private files (logos, invoice PDFs). SQLite is
copied with its online backup API (a consistent snapshot even while the app writes);
PostgreSQL with ``pg_dump --format=custom`` (one transaction, so consistent too).

It also holds the key to the secrets stored encrypted (docs/security.md item 48): the key file
``secret.key``, or, when the key comes from BILLING_SECRET_KEY, a note saying so (the variable
is not copied: keep it with the backups). A restore puts the key file back (mode 0600) and
refuses to replace a different one without ``force``; the one replaced is kept beside it. The
archive is written with mode 0600: whoever reads it can read every secret in it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from billing_app.adapters import crypto

KEY_NOTE = "SECRET_KEY_FROM_ENVIRONMENT.txt"
_NOTE_TEXT = (
    "The secrets in this backup (two-factor keys) are encrypted with the key set in\n"
    "BILLING_SECRET_KEY when the backup was made; the key itself is not in this archive.\n"
    "Set BILLING_SECRET_KEY to the same value before starting a restored copy.\n"
)


class BackupError(RuntimeError):
    """The backup or restore could not be done; the message says why."""


@dataclass(frozen=True)
class Restored:
    """What a restore did with the secret key."""

    key_file: Path | None = None  # where the backup's key file was put back (or found equal)
    replaced_key: Path | None = None  # where the different key found there was moved
    key_from_environment: bool = False  # the backup's key came from BILLING_SECRET_KEY


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        msg = f"{name} is not installed (Debian: postgresql-client)."
        raise BackupError(msg)
    return path


def _sqlite_path(database_url: str) -> Path:
    return Path(database_url.removeprefix("sqlite:///"))


def create_backup(
    database_url: str,
    data_dir: Path,
    output_dir: Path,
    *,
    now: datetime,
    secret_key_in_environment: bool = False,
) -> Path:
    """Write ``billing-backup-<time>.tar.gz`` into ``output_dir``; returns its path. With
    ``secret_key_in_environment`` (BILLING_SECRET_KEY is set) the archive holds a note instead
    of the key file."""
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"billing-backup-{now:%Y%m%d-%H%M%S}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="billing-backup-") as tmp:
        work = Path(tmp)
        if database_url.startswith("sqlite"):
            source = _sqlite_path(database_url)
            if not source.exists():
                msg = f"There is no database at {source}."
                raise BackupError(msg)
            with sqlite3.connect(source) as src, sqlite3.connect(work / "billing.db") as dst:
                src.backup(dst)
            db_name = "billing.db"
        else:
            db_name = "billing.pgdump"
            url = make_url(database_url).set(drivername="postgresql")
            result = subprocess.run(  # noqa: S603 - fixed program, arguments are ours
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    f"--file={work / db_name}",
                    url.render_as_string(hide_password=False),
                ],
                capture_output=True,
                text=True,
                check=False,
                timeout=3600,
            )
            if result.returncode != 0:
                msg = f"pg_dump failed: {result.stderr.strip()[:500]}"
                raise BackupError(msg)
        partial = target.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            archive.add(work / db_name, arcname=db_name)
            private = data_dir / "private"
            if private.is_dir():
                archive.add(private, arcname="private")
            key = data_dir / crypto.KEY_FILE_NAME
            if secret_key_in_environment:
                note = work / KEY_NOTE
                note.write_text(_NOTE_TEXT, encoding="utf-8")
                archive.add(note, arcname=KEY_NOTE)
            elif key.is_file():
                archive.add(key, arcname=crypto.KEY_FILE_NAME)
        partial.replace(target)
    return target


def _read_keys(path: Path, label: str) -> tuple[bytes, ...] | None:
    try:
        return crypto.parse_keys(path.read_text(encoding="ascii"), source=label)
    except (crypto.SecretKeyInvalid, UnicodeDecodeError):
        return None


def _aside(path: Path) -> Path:
    for n in range(1, 10_000):
        candidate = path.with_name(f"{path.name}.replaced-{n}")
        if not candidate.exists():
            return candidate
    msg = f"Too many replaced keys beside {path}."
    raise BackupError(msg)


def _check_key(work: Path, data_dir: Path, *, force: bool) -> bool:
    """Whether the backup's key must be written (it is valid, and the one there differs or is
    missing). Raises before anything is restored when a different key would be replaced."""
    source = work / crypto.KEY_FILE_NAME
    if not source.is_file():
        return False
    keys = _read_keys(source, "the backup's secret.key")
    if keys is None:
        msg = "The secret key in this backup is damaged."
        raise BackupError(msg)
    target = data_dir / crypto.KEY_FILE_NAME
    if not target.exists():
        return True
    if _read_keys(target, str(target)) == keys:
        return False
    if not force:
        msg = (
            f"{target} holds a different secret key than this backup. Pass --force to replace "
            "it (the current key is kept beside it as secret.key.replaced-N)."
        )
        raise BackupError(msg)
    return True


def restore_backup(
    archive_path: Path, database_url: str, data_dir: Path, *, force: bool = False
) -> Restored:
    """Put a backup back. Refuses to overwrite an existing database, or a different secret key,
    unless ``force``."""
    if not archive_path.is_file():
        msg = f"No backup at {archive_path}."
        raise BackupError(msg)
    with tempfile.TemporaryDirectory(prefix="billing-restore-") as tmp:
        work = Path(tmp)
        with tarfile.open(archive_path, "r:gz") as archive:
            archive.extractall(work, filter="data")
        write_key = _check_key(work, data_dir, force=force)
        if (work / "billing.db").exists():
            if not database_url.startswith("sqlite"):
                msg = "This backup is of a SQLite database; restore it into SQLite."
                raise BackupError(msg)
            target = _sqlite_path(database_url)
            if target.exists() and not force:
                msg = f"{target} exists. Pass --force to replace it."
                raise BackupError(msg)
            target.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(work / "billing.db", target)
        elif (work / "billing.pgdump").exists():
            url = make_url(database_url).set(drivername="postgresql")
            args = [
                _tool("pg_restore"),
                "--no-owner",
                "--dbname",
                url.render_as_string(hide_password=False),
            ]
            if force:
                args += ["--clean", "--if-exists"]
            result = subprocess.run(  # noqa: S603 - fixed program, arguments are ours
                [*args, str(work / "billing.pgdump")],
                capture_output=True,
                text=True,
                check=False,
                timeout=3600,
            )
            if result.returncode != 0:
                msg = f"pg_restore failed: {result.stderr.strip()[:500]}"
                raise BackupError(msg)
        else:
            msg = "This file is not a Client Billing backup."
            raise BackupError(msg)
        if (work / "private").is_dir():
            shutil.copytree(work / "private", data_dir / "private", dirs_exist_ok=True)
        key = data_dir / crypto.KEY_FILE_NAME
        replaced = None
        if write_key:
            if key.exists():
                replaced = _aside(key)
                key.rename(replaced)
            crypto.write_key_file(
                key, (work / crypto.KEY_FILE_NAME).read_text(encoding="ascii"), replace=True
            )
        return Restored(
            key_file=key if (work / crypto.KEY_FILE_NAME).is_file() else None,
            replaced_key=replaced,
            key_from_environment=(work / KEY_NOTE).is_file(),
        )
