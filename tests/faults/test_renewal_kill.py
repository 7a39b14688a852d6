"""The renewal engine SIGKILLed at random moments of a run, and run again until a run
completes, many times over: every due period is invoiced exactly once, no invoice is charged
twice, every charge the bank accepted is recorded (with one receipt), invoice numbers have no
gaps, no invoice is left without lines or unfinished, each client gets one email per invoice
(docs/testing.md, "Faults").

Each run is a process of its own (tests/faults/renewal_runner.py) using the gateway fake made
durable (every charge it accepts is on disk before the run hears of it). An unkilled run is
timed first; kills then land at random moments across that time, and at two chosen points:
just after the bank accepted a charge, and just after a PaymentIntent was made, before it was
confirmed. Sizes: FAULTS_SUBSCRIPTIONS (default 60) and FAULTS_ITERATIONS (default 3);
`make soak` runs 1,000 and 20 and prints the figures.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import sqlalchemy as sa

from billing_app.db.engine import make_engine
from tests.faults.harness import Place, finish, start, timed_run
from tests.faults.world import Figures, Reference, check, populate

SUBSCRIPTIONS = int(os.environ.get("FAULTS_SUBSCRIPTIONS", "60"))
ITERATIONS = int(os.environ.get("FAULTS_ITERATIONS", "3"))
MAX_KILLS = 8  # then a run is let finish


def _copy(base: Place, folder: Path) -> Place:
    folder.mkdir()
    shutil.copyfile(base.url.removeprefix("sqlite:///"), folder / "billing.db")
    shutil.copytree(base.data_dir, folder / "data")
    return Place(f"sqlite:///{folder / 'billing.db'}", folder / "data", folder / "journal")


def _check(place: Place, ref: Reference) -> Figures:
    engine = make_engine(place.url)
    try:
        return check(engine, place.journal, ref)
    finally:
        engine.dispose()


def test_killed_anywhere_and_run_again_bills_and_charges_everything_once(
    sqlite_template: Path, tmp_path: Path
) -> None:
    began = time.perf_counter()
    base = Place(f"sqlite:///{tmp_path / 'base.db'}", tmp_path / "data", tmp_path / "unused")
    shutil.copyfile(sqlite_template, tmp_path / "base.db")
    engine: sa.Engine = make_engine(base.url)
    ref = populate(engine, base.data_dir, SUBSCRIPTIONS)
    engine.dispose()

    # An unkilled run: how long one takes (the kills land across it), and the same result.
    clean = _copy(base, tmp_path / "clean")
    done, duration = timed_run(clean, 0)
    assert done
    figures = _check(clean, ref)

    rng = random.Random(int(os.environ.get("FAULTS_SEED", "20260314")))
    runs = kills = charges = 0
    for iteration in range(ITERATIONS):
        place = _copy(base, tmp_path / f"run{iteration}")
        run_no = 0
        chosen = iteration % 4  # 0, 1: a chosen kill point first; 2, 3: random moments only
        while True:
            run_no += 1
            runs += 1
            if chosen in (0, 1) and run_no == 1:
                where = "confirm" if chosen == 0 else "create"
                nth = rng.randint(1, max(1, figures.charges))
                completed = finish(start(place, run_no, kill_after=where, kill_nth=nth))
            elif run_no > MAX_KILLS:
                completed = finish(start(place, run_no))
            else:
                completed = finish(start(place, run_no), kill_at=rng.uniform(0.3, duration))
            if completed is not None:
                break
            kills += 1
        charges += _check(place, ref).charges
        shutil.rmtree(place.data_dir.parent)
    print(
        f"\nrenewal kill loop: {ITERATIONS} iterations of {SUBSCRIPTIONS} subscriptions "
        f"({figures.invoices} invoices, {figures.charges} charges, {figures.declined} declined "
        f"each); {runs} runs, {kills} killed; unkilled run {duration:.1f} s; "
        f"{charges} charges checked; {time.perf_counter() - began:.0f} s in all"
    )
