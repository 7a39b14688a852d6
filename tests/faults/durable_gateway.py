"""The gateway fake (tests/fake_stripe_gateway.py) made to outlive the processes that use it:
every PaymentIntent it makes or changes, and every idempotency key's first answer, is appended
to a journal file and fsynced before the caller hears the answer, as Stripe would have it on
its side. A process killed right after a charge leaves the charge in the journal; the next
process (or one running at the same time) reads the journal and answers the reconciliation as
Stripe would. ``accepted_charges(journal)`` is what the bank took: the intents that succeeded.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from billing_app.adapters import stripe_gateway as gateway
from billing_app.adapters.stripe_objects import PaymentIntent
from tests.fake_stripe_gateway import FAKE_CARDS, PATCHED, FakeStripe

# Cards whose PaymentMethod id starts so decline (insufficient funds), as pm_fake_insufficient.
DECLINING = "pm_declines_"


def _read(journal: Path) -> list[dict[str, Any]]:
    if not journal.exists():
        return []
    records = []
    for line in journal.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:  # a line cut by a kill mid-write: never answered, so never happened
            continue
    return records


class _Journaled(dict[str, Any]):
    """A dict whose every write is appended to the journal, durably, before it returns."""

    def __init__(self, owner: DurableFake, kind: str) -> None:
        super().__init__()
        self.owner, self.kind = owner, kind

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.owner.write({"kind": self.kind, "key": key, "value": dataclasses.asdict(value)})

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        if not dict.__contains__(self, key):
            self.owner.reload()  # made by another process since
        return dict.get(self, key, default)

    def __getitem__(self, key: str) -> Any:
        if not dict.__contains__(self, key):
            self.owner.reload()
        return dict.__getitem__(self, key)


class DurableFake(FakeStripe):
    def __init__(self, journal: Path, *, latency: float = 0.0) -> None:
        super().__init__()
        self.journal, self.latency = journal, latency
        self._lock = threading.Lock()
        self.intents = _Journaled(self, "intent")  # type: ignore[assignment]
        self.keys = _Journaled(self, "key")
        self.reload()

    def _id(self, prefix: str) -> str:  # unique across processes
        return f"{prefix}_fake{os.getpid()}x{next(self._ids):06d}"

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        with self._lock:
            fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def reload(self) -> None:
        for record in _read(self.journal):
            target = self.intents if record["kind"] == "intent" else self.keys
            dict.__setitem__(target, record["key"], PaymentIntent(**record["value"]))

    def _charge(self, intent: PaymentIntent, *, off_session: bool) -> PaymentIntent:
        if intent.payment_method_id.startswith(DECLINING):
            FAKE_CARDS.setdefault(intent.payment_method_id, FAKE_CARDS["pm_fake_insufficient"])
        return super()._charge(intent, off_session=off_session)

    def confirm_payment_intent(
        self,
        config: Any,
        payment_intent_id: str,
        *,
        idempotency_key: str,
        off_session: bool = False,
    ) -> PaymentIntent:
        if self.latency:  # the bank's time to answer
            import time

            time.sleep(self.latency)
        return super().confirm_payment_intent(
            config, payment_intent_id, idempotency_key=idempotency_key, off_session=off_session
        )


def install_durable(
    monkeypatch: pytest.MonkeyPatch, journal: Path, *, latency: float = 0.0
) -> DurableFake:
    fake = DurableFake(journal, latency=latency)
    for name in PATCHED:
        monkeypatch.setattr(gateway, name, getattr(fake, name))
    return fake


def accepted_charges(journal: Path) -> dict[str, PaymentIntent]:
    """Every charge the fake accepted (its last word on each intent is "succeeded")."""
    last: dict[str, PaymentIntent] = {}
    for record in _read(journal):
        if record["kind"] == "intent":
            last[record["key"]] = PaymentIntent(**record["value"])
    return {k: v for k, v in last.items() if v.status == "succeeded"}
