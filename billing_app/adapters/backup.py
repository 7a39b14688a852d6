"""Backups (docs/security.md item 33): a consistent copy while the app runs, and its restore.

One ``.tar.gz`` holds the database and the private files (logos, invoice PDFs). SQLite is
copied with its online backup API (a consistent snapshot even while the app writes);
PostgreSQL with ``pg_dump --format=custom`` (one transaction, so consistent too)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """The backup or restore could not be done; the message says why."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        msg = f"{name} is not installed (Debian: postgresql-client)."
        raise BackupError(msg)
    return path


def _sqlite_path(database_url: str) -> Path:
    return Path(database_url.removeprefix("sqlite:///"))


def create_backup(database_url: str, data_dir: Path, output_dir: Path, *, now: datetime) -> Path:
    """Write ``billing-backup-<time>.tar.gz`` into ``output_dir``; returns its path."""
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
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(work / db_name, arcname=db_name)
            private = data_dir / "private"
            if private.is_dir():
                archive.add(private, arcname="private")
        partial.replace(target)
    return target


def restore_backup(
    archive_path: Path, database_url: str, data_dir: Path, *, force: bool = False
) -> None:
    """Put a backup back. Refuses to overwrite an existing database unless ``force``."""
    if not archive_path.is_file():
        msg = f"No backup at {archive_path}."
        raise BackupError(msg)
    with tempfile.TemporaryDirectory(prefix="billing-restore-") as tmp:
        work = Path(tmp)
        with tarfile.open(archive_path, "r:gz") as archive:
            archive.extractall(work, filter="data")
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
