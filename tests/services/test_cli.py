"""The command line: creating the owner from a shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_migrations

ROOT = Path(__file__).resolve().parents[2]


def run_cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BILLING_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    env.pop("BILLING_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "billing_app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_create_owner_from_a_shell_works_once(tmp_path: Path) -> None:
    run_migrations(f"sqlite:///{tmp_path / 'billing.db'}")
    weak = run_cli(
        tmp_path,
        "create-owner",
        "--name",
        "Olivia",
        "--email",
        "o@agency.test",
        "--password-stdin",
        stdin="short\n",
    )
    assert weak.returncode == 2
    assert "Use at least 8 characters." in weak.stderr

    ok = run_cli(
        tmp_path,
        "create-owner",
        "--name",
        "Olivia",
        "--email",
        "O@Agency.test",
        "--password-stdin",
        stdin="a long enough passphrase\n",
    )
    assert ok.returncode == 0, ok.stderr
    assert "Owner account created for o@agency.test" in ok.stdout

    again = run_cli(
        tmp_path,
        "create-owner",
        "--name",
        "Eve",
        "--email",
        "e@agency.test",
        "--password-stdin",
        stdin="another long passphrase\n",
    )
    assert again.returncode == 1
    assert "already has an owner" in again.stderr

    banner = run_cli(tmp_path, "banner")
    assert "Sign in at" in banner.stdout
