"""Migrations build the schema from empty on SQLite and PostgreSQL, match the models, and go down
and up again cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import billing_app.db.tables  # noqa: F401
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
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'client'"
        if empty_url.startswith("sqlite")
        else "SELECT indexname FROM pg_indexes WHERE tablename = 'client'"
    )
    with engine.connect() as conn:  # the inspector skips expression indexes: ask the catalog
        names = {row[0] for row in conn.execute(sa.text(query))}
    engine.dispose()
    assert "ix_client_company_lower" in names
