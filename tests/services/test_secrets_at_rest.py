"""Secrets at rest (docs/security.md item 48): TOTP secrets are stored encrypted, and the app
refuses to start when the database holds encrypted secrets but the key to them is missing or
wrong."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters import crypto
from billing_app.db.engine import make_engine
from billing_app.db.models import AuthThrottle, StaffUser
from billing_app.services.access import account, auth, secrets_check, throttling
from billing_app.services.common.clock import FixedClock
from billing_app.settings import Settings
from tests.conftest import run_migrations
from tests.support import BROWSER

from .test_account import enable_2fa, me
from .test_auth import PASSWORD, make_owner
from .test_cli import ROOT, run_cli


def stored_row(session: Session, user_id: int) -> dict[str, object]:
    """The staff_user row exactly as the database holds it."""
    row = session.execute(sa.text("SELECT * FROM staff_user WHERE id = :i"), {"i": user_id}).one()
    return dict(row._mapping)


def run_key() -> str:
    """The key this test run encrypts with (BILLING_SECRET_KEY unset: the data dir's file)."""
    return crypto.key_file().read_text().strip()


def test_totp_secrets_are_stored_encrypted_and_sign_in_still_works(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = make_owner(session, clock)
    setup = account.begin_totp_setup(session, me(session, user_id))
    session.commit()
    pending = stored_row(session, user_id)
    assert str(pending["totp_pending_secret"]).startswith("v1:")
    assert setup.secret not in str(pending.values())

    code = pyotp.TOTP(setup.secret).at(clock.now())
    account.confirm_totp(
        session, me(session, user_id), code=code, current_password=PASSWORD, clock=clock
    )
    session.commit()
    enabled = stored_row(session, user_id)
    assert str(enabled["totp_secret"]).startswith("v1:") and enabled["totp_pending_secret"] == ""
    assert setup.secret not in str(enabled.values())
    assert crypto.decrypt(str(enabled["totp_secret"]), purpose="totp") == setup.secret

    outcome = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert outcome.mfa_ticket_id
    clock.advance(seconds=30)
    done = account.complete_second_factor(
        session,
        mfa_ticket_id=outcome.mfa_ticket_id,
        browser=BROWSER,
        code=pyotp.TOTP(setup.secret).at(clock.now()),
        clock=clock,
    )
    session.commit()
    assert done.ticket and auth.redeem_ticket(
        session, done.ticket, browser=BROWSER, clock=clock, settings=settings
    )


def test_a_secret_the_key_does_not_open_is_not_counted_as_a_wrong_code(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    user_id = make_owner(session, clock)
    secret, codes = enable_2fa(session, clock, user_id)
    other = Settings(data_dir=settings.data_dir, secret_key=crypto.generate_key())
    session.execute(
        sa.update(StaffUser)
        .where(col(StaffUser.id) == user_id)
        .values(totp_secret=crypto.encrypt(secret, purpose="totp", settings=other))
    )
    session.commit()
    outcome = auth.authenticate(
        session,
        email="owner@agency.test",
        password=PASSWORD,
        browser=BROWSER,
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert outcome.mfa_ticket_id
    clock.advance(seconds=30)
    refused = account.complete_second_factor(
        session,
        mfa_ticket_id=outcome.mfa_ticket_id,
        browser=BROWSER,
        code=pyotp.TOTP(secret).at(clock.now()),
        clock=clock,
    )
    session.commit()
    assert refused.ticket is None and refused.error == account.KEY_MISMATCH
    assert session.get(AuthThrottle, throttling.second_factor_key(user_id)) is None
    # Recovery codes are hashed, not encrypted: they still let the member in.
    rescued = account.complete_second_factor(
        session, mfa_ticket_id=outcome.mfa_ticket_id, browser=BROWSER, code=codes[0], clock=clock
    )
    assert rescued.ticket


def test_startup_refuses_when_secrets_are_encrypted_and_the_key_is_missing(
    session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    without_key = Settings(data_dir=tmp_path / "restored", secret_key=None)
    user_id = make_owner(session, clock)
    secrets_check.check_secret_key(session, without_key)  # nothing encrypted: a key may be made
    account.begin_totp_setup(session, me(session, user_id))  # pending secrets count too
    session.commit()
    with pytest.raises(secrets_check.SecretKeyProblem, match="secret key is missing") as exc:
        secrets_check.check_secret_key(session, without_key)
    assert "BILLING_SECRET_KEY is not set" in exc.value.message
    assert "restore" in exc.value.message and str(crypto.key_file(without_key)) in exc.value.message
    assert not crypto.key_file(without_key).exists(), "no new key was made"

    secrets_check.check_secret_key(session, Settings(data_dir=tmp_path, secret_key=run_key()))
    crypto.write_key_file(crypto.key_file(without_key), run_key())
    secrets_check.check_secret_key(session, without_key)  # the key put back: it starts


def test_startup_refuses_a_key_that_does_not_decrypt_the_stored_secrets(
    session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    enable_2fa(session, clock, make_owner(session, clock))
    wrong_file = Settings(data_dir=tmp_path, secret_key=None)
    crypto.write_key_file(crypto.key_file(wrong_file), crypto.generate_key())
    with pytest.raises(secrets_check.SecretKeyProblem, match="does not decrypt") as exc:
        secrets_check.check_secret_key(session, wrong_file)
    assert str(crypto.key_file(wrong_file)) in exc.value.message
    wrong_env = Settings(data_dir=tmp_path, secret_key=crypto.generate_key())
    with pytest.raises(secrets_check.SecretKeyProblem, match="BILLING_SECRET_KEY does not"):
        secrets_check.check_secret_key(session, wrong_env)
    rotated = Settings(data_dir=tmp_path, secret_key=f"{crypto.generate_key()},{run_key()}")
    secrets_check.check_secret_key(session, rotated)


LIFESPAN = """
import asyncio
from billing_app.api.startup import secret_key_lifespan

async def main() -> None:
    async with secret_key_lifespan():
        print("serving")

asyncio.run(main())
"""


def test_make_run_and_the_app_refuse_to_start_without_the_key(
    tmp_path: Path, clock: FixedClock
) -> None:
    """`make run` runs `python -m billing_app banner` before the server, and the server runs
    its lifespan tasks before serving: both stop, and neither makes a new key."""
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    run_migrations(url)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        enable_2fa(session, clock, make_owner(session, clock))
        assert session.exec(select(StaffUser.totp_secret)).one().startswith("v1:")
    engine.dispose()
    key = tmp_path / "secret.key"

    banner = run_cli(tmp_path, "banner")
    assert banner.returncode == 1, banner.stdout
    assert "secret key is missing" in banner.stderr and "restore" in banner.stderr
    assert "Client Billing is starting" not in banner.stdout
    lifespan = subprocess.run(
        [sys.executable, "-c", LIFESPAN],
        capture_output=True,
        text=True,
        env={**os.environ, "BILLING_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert lifespan.returncode != 0 and "serving" not in lifespan.stdout
    assert "SecretKeyProblem" in lifespan.stderr and "secret key is missing" in lifespan.stderr
    assert not key.exists()

    shutil.copyfile(crypto.key_file(), key)
    key.chmod(0o600)
    banner = run_cli(tmp_path, "banner")
    assert banner.returncode == 0, banner.stderr
    assert f"Secret key: {key}" in banner.stdout


def test_startup_refuses_a_malformed_key_before_anything_is_encrypted(
    session: Session, tmp_path: Path
) -> None:
    short = "c2hvcnQ="  # "short": not 32 bytes
    with pytest.raises(secrets_check.SecretKeyProblem, match="BILLING_SECRET_KEY: key 1") as exc:
        secrets_check.check_secret_key(session, Settings(data_dir=tmp_path, secret_key=short))
    assert short not in exc.value.message
    damaged = Settings(data_dir=tmp_path, secret_key=None)
    crypto.key_file(damaged).write_text("not a key\n")
    with pytest.raises(secrets_check.SecretKeyProblem, match=r"secret\.key: key 1"):
        secrets_check.check_secret_key(session, damaged)
