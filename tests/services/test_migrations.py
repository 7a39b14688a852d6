"""Migrations build the schema from empty on SQLite and PostgreSQL, match the models, and go down
and up again cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import billing_app.db.tables  # noqa: F401
from billing_app.adapters import crypto
from tests.conftest import downgrade_migrations, run_migrations


def schema_drift(url: str) -> list[object]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, SQLModel.metadata))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or the run's PostgreSQL database taken down to
    empty (and migrated back afterwards for the other tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    downgrade_migrations(url)
    yield url
    run_migrations(url)


def test_migrations_from_empty_match_the_models(empty_url: str) -> None:
    run_migrations(empty_url)
    assert schema_drift(empty_url) == []


def test_downgrade_to_empty_and_upgrade_again(empty_url: str) -> None:
    run_migrations(empty_url)
    downgrade_migrations(empty_url)
    engine = sa.create_engine(empty_url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert tables == set()
    run_migrations(empty_url)
    assert schema_drift(empty_url) == []


def test_expression_indexes_survive_every_migration(empty_url: str) -> None:
    """SQLite table rebuilds (batch mode) silently drop expression indexes: check they stay."""
    run_migrations(empty_url)
    engine = sa.create_engine(empty_url)
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'index'"
        if empty_url.startswith("sqlite")
        else "SELECT indexname FROM pg_indexes"
    )
    with engine.connect() as conn:  # the inspector skips expression indexes: ask the catalog
        names = {row[0] for row in conn.execute(sa.text(query))}
    engine.dispose()
    # The keyset indexes of the lists (services/common/listing.py).
    assert {
        "ix_client_company_key",
        "ix_subscription_renewal_first",
        "ix_subscription_renewal_last",
    } <= names


def test_0009_encrypts_existing_totp_secrets_in_place_and_downgrade_decrypts(
    empty_url: str,
) -> None:
    """docs/security.md item 48: secrets stored in plain text before 0009 end up encrypted
    (with rows of other tables referring to their users), and a downgrade gives them back."""
    run_migrations(empty_url, "0008")
    enabled, pending = pyotp.random_base32(), pyotp.random_base32()
    created = datetime(2026, 3, 1, tzinfo=UTC)
    engine = sa.create_engine(empty_url)
    with engine.begin() as conn:
        for email, secret, pending_secret in (
            ("on@agency.test", enabled, ""),
            ("setting-up@agency.test", "", pending),
            ("off@agency.test", "", ""),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO staff_user (email, name, password_hash, role_key, is_active, "
                    "totp_secret, totp_pending_secret, totp_last_timecode, created_at) VALUES "
                    "(:e, 'N', 'x', 'owner', :t, :s, :p, 0, :c)"
                ),
                {"e": email, "t": True, "s": secret, "p": pending_secret, "c": created},
            )
        conn.execute(
            sa.text(
                "INSERT INTO recovery_code (user_id, code_hash, created_at) "
                "SELECT id, 'h', :c FROM staff_user"
            ),
            {"c": created},
        )
    query = sa.text("SELECT email, totp_secret, totp_pending_secret FROM staff_user ORDER BY email")
    try:
        run_migrations(empty_url)
        with engine.connect() as conn:
            rows = {r.email: (r.totp_secret, r.totp_pending_secret) for r in conn.execute(query)}
        assert rows["off@agency.test"] == ("", "")
        assert rows["on@agency.test"][1] == "" and rows["setting-up@agency.test"][0] == ""
        stored_secret, stored_pending = rows["on@agency.test"][0], rows["setting-up@agency.test"][1]
        for stored, plain in ((stored_secret, enabled), (stored_pending, pending)):
            assert stored.startswith("v1:") and plain not in stored
            assert crypto.decrypt(stored, purpose="totp") == plain
        assert schema_drift(empty_url) == []

        downgrade_migrations(empty_url, "0008")
        with engine.connect() as conn:
            rows = {r.email: (r.totp_secret, r.totp_pending_secret) for r in conn.execute(query)}
        assert rows == {
            "off@agency.test": ("", ""),
            "on@agency.test": (enabled, ""),
            "setting-up@agency.test": ("", pending),
        }
        run_migrations(empty_url)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM recovery_code"))
            conn.execute(sa.text("DELETE FROM staff_user"))
        engine.dispose()
