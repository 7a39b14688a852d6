"""Starting, killing and timing billing runs in processes of their own (tests/faults)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.faults.world import START

ROOT = Path(__file__).resolve().parents[2]
# Each run's clock is this much after the one before: a charge a killed run left started is
# then old enough for the next run to settle it (services/card_payments/charges.STALE_START).
RUN_GAP = timedelta(minutes=3)
RUN_TIMEOUT = 600


@dataclass
class Place:
    """A database and what goes with it: the data folder (the secret key, PDFs) and the
    gateway fake's journal."""

    url: str
    data_dir: Path
    journal: Path


def start(place: Place, run_no: int, **extra: Any) -> subprocess.Popen[str]:
    args = {
        "url": place.url,
        "data_dir": str(place.data_dir),
        "journal": str(place.journal),
        "now": (START + RUN_GAP * run_no).isoformat(),
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.renewal_runner", json.dumps(args)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], kill_at: float | None = None) -> dict[str, Any] | None:
    """Wait for the run, SIGKILLing it ``kill_at`` seconds after it started (None: never);
    what it did (None: killed). Any other end fails the test with the run's error."""
    try:
        out, err = proc.communicate(timeout=kill_at if kill_at is not None else RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        if kill_at is None:
            proc.kill()
            raise
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    if proc.returncode == -signal.SIGKILL:
        return None
    assert proc.returncode == 0, err[-3000:]
    done: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return done


def timed_run(place: Place, run_no: int, **extra: Any) -> tuple[dict[str, Any] | None, float]:
    began = time.perf_counter()
    done = finish(start(place, run_no, **extra))
    return done, time.perf_counter() - began
