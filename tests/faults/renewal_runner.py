"""One billing run in a process of its own, as the scheduler starts it, for the fault tests:
``python -m tests.faults.renewal_runner '<json>'`` with url, data_dir, journal (the durable
gateway fake's file), now (the run's clock, ISO) and optionally ``kill_after`` ("create" or
"confirm", and ``kill_nth``): the process SIGKILLs itself right after the fake's nth answer
to that call, before anything of it is written. It prints one JSON line when the run ends."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest


def main(argv: list[str]) -> int:
    args = json.loads(argv[0])
    os.environ["BILLING_DATA_DIR"] = args["data_dir"]
    from billing_app.adapters import stripe_gateway as gateway
    from billing_app.db.engine import make_engine
    from billing_app.services.billing.renewals import billing_run
    from billing_app.services.common.clock import FixedClock
    from billing_app.settings import Settings
    from tests.faults.durable_gateway import install_durable

    monkeypatch = pytest.MonkeyPatch()
    install_durable(monkeypatch, Path(args["journal"]))
    where = args.get("kill_after")
    if where:
        name = {"create": "create_payment_intent", "confirm": "confirm_payment_intent"}[where]
        answered = getattr(gateway, name)
        calls = [0]

        def then_killed(*a: Any, **k: Any) -> Any:
            result = answered(*a, **k)
            calls[0] += 1
            if calls[0] >= int(args.get("kill_nth", 1)):
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        monkeypatch.setattr(gateway, name, then_killed)
    engine = make_engine(args["url"])
    started = time.perf_counter()
    report = billing_run(
        engine,
        clock=FixedClock(datetime.fromisoformat(args["now"])),
        settings=Settings(data_dir=Path(args["data_dir"])),
    )
    # Only what any version of the engine reports: the checks read the database.
    charges = getattr(report, "charges", None)
    print(
        json.dumps(
            {
                "paid": getattr(charges, "paid", None),
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
