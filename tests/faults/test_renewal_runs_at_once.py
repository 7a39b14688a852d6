"""Two billing runs started at the same moment, as two processes on one database (PostgreSQL,
and SQLite), each charging with its own thread pool: together they bill every due period
once, charge every invoice once and record every charge, with numbers without gaps and one
email per invoice. PostgreSQL missing fails the run in CI (tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from tests.faults.harness import Place, finish, start
from tests.faults.world import check, populate

SUBSCRIPTIONS = int(os.environ.get("FAULTS_AT_ONCE_SUBSCRIPTIONS", "60"))


def test_two_runs_at_once_bill_and_charge_everything_once(
    engine: sa.Engine, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    ref = populate(engine, data_dir, SUBSCRIPTIONS)
    engine.dispose()
    place = Place(engine.url.render_as_string(hide_password=False), data_dir, tmp_path / "j")

    first, second = start(place, 0), start(place, 0)
    one, two = finish(first), finish(second)
    assert one is not None and two is not None
    print(f"\ntwo runs at once ({engine.dialect.name}): {one} and {two}")

    figures = check(engine, place.journal, ref)
    assert figures.invoices == ref.invoices and figures.charges > 0
