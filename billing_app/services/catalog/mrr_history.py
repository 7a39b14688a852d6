"""The history of subscriptions older than the MRR ledger, rebuilt once from their change records
(migration 0033). The ledger's migration gave each of them a single "new" movement at creation,
with its MRR of that day (none at all if it had none); their events say more: when they were
paused, resumed, canceled, ended, went past due, left their trial, and what changes applied.

The replay starts from the amount the "created" event names (else today's), follows the changes
scheduled and applied, and switches the MRR off and on with the status events. It replaces the
single movement only when it ends on the subscription's MRR of today; otherwise the records are
not enough and the subscription keeps what it had. Deterministic (events by time, then id), and
running it again changes nothing (a rebuilt subscription no longer looks like a seeded one)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from billing_app.domain.money import currency_exponent, div_half_up
from billing_app.domain.mrr import movement_kind
from billing_app.domain.periods import Interval, IntervalUnit

ON = {"resumed", "cancellation_withdrawn", "trial_ended", "past_due", "active"}
OFF = {"paused", "canceled_now", "cancel_at_period_end", "ended", "canceled"}

_SUB_COLUMNS = (
    "id",
    "client_id",
    "currency",
    "quantity",
    "unit_price_minor",
    "interval_unit",
    "interval_count",
    "trial_ends_on",
    "mrr_minor",
    "created_at",
)
_CREATED = re.compile(r" x(\d+) at ([^()]+?) \(")
_SCHEDULED = re.compile(r"quantity (\d+) -> (\d+), unit price (.+?) -> (.+)$")
_REPRICED = re.compile(r"unit price .+? -> (.+?) from the next period")
_APPLIED = re.compile(r"Now quantity (\d+)(?: at (.+))?$")


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    action: str
    details: str


def parse_amount(text: str, currency: str) -> int | None:
    """Minor units of a price as the events print it (English format: "€1,200.50")."""
    digits = re.sub(r"[^0-9.]", "", text)
    try:
        value = Decimal(digits.strip("."))
    except InvalidOperation:
        return None
    minor = value.scaleb(currency_exponent(currency))
    return int(minor) if minor == minor.to_integral_value() else None


def replay(sub: dict[str, Any], events: list[Event]) -> list[tuple[datetime, int]] | None:
    """(when, MRR after) at each change of the subscription's monthly amount, or None when its
    records do not lead to its MRR of today."""
    currency = sub["currency"]
    interval = Interval(IntervalUnit(sub["interval_unit"]), sub["interval_count"])
    quantity, price = sub["quantity"], sub["unit_price_minor"]
    running = sub["trial_ends_on"] is None
    pending: tuple[int, int] | None = None
    steps: list[tuple[datetime, int]] = []
    current = 0

    def monthly() -> int:
        if not running:
            return 0
        numerator = price * quantity * interval.monthly_numerator
        return div_half_up(numerator, interval.monthly_denominator)

    for event in events:
        text = event.details
        if event.action == "created":
            found = _CREATED.search(text)
            amount = parse_amount(found.group(2), currency) if found else None
            if found and amount is not None:
                quantity, price = int(found.group(1)), amount
        elif event.action == "change_scheduled":
            if found := _SCHEDULED.search(text):
                amount = parse_amount(found.group(4), currency)
                pending = (int(found.group(2)), price if amount is None else amount)
            elif found := _REPRICED.search(text):
                amount = parse_amount(found.group(1), currency)
                base = pending[0] if pending else quantity
                pending = (base, price if amount is None else amount)
        elif event.action == "change_withdrawn":
            pending = None
        elif event.action == "change_applied":
            if pending is not None:
                quantity, price = pending
                pending = None
            elif found := _APPLIED.search(text):
                quantity = int(found.group(1))
                amount = parse_amount(found.group(2), currency) if found.group(2) else None
                price = price if amount is None else amount
        elif event.action in ON:
            running = True
        elif event.action in OFF:
            running = False
        after = monthly()
        if after != current:
            steps.append((sub["created_at"] if event.action == "created" else event.at, after))
            current = after
    return steps if current == sub["mrr_minor"] else None


def rebuild_pre_ledger(connection: sa.Connection) -> int:
    """Rebuild every seeded subscription's movements from its events; how many changed."""
    from billing_app.db.customers import MrrMovement, Subscription, SubscriptionEvent

    ledger: Any = MrrMovement.__table__  # type: ignore[attr-defined]
    events: Any = SubscriptionEvent.__table__  # type: ignore[attr-defined]
    table: Any = Subscription.__table__  # type: ignore[attr-defined]
    columns = [table.c[name] for name in _SUB_COLUMNS]  # only those that existed at 0033
    seeded = connection.execute(
        sa.select(ledger.c.subscription_id, sa.func.count(), sa.func.min(ledger.c.kind)).group_by(
            ledger.c.subscription_id
        )
    ).all()
    shape = {int(s): (int(n), kind) for s, n, kind in seeded}
    changed = 0
    for sub in connection.execute(
        sa.select(*columns).where(table.c.kind == "recurring").order_by(table.c.id)
    ).mappings():
        count, kind = shape.get(sub["id"], (0, None))
        if count > 1 or (count == 1 and kind != "new"):
            continue
        history = [
            Event(at, action, details)
            for at, action, details in connection.execute(
                sa.select(events.c.at, events.c.action, events.c.details)
                .where(events.c.subscription_id == sub["id"])
                .order_by(events.c.at, events.c.id)
            )
        ]
        steps = replay(dict(sub), history)
        if steps is None:
            continue
        existing = [
            (r.at, int(r.mrr_after_minor))
            for r in connection.execute(
                sa.select(ledger.c.at, ledger.c.mrr_after_minor).where(
                    ledger.c.subscription_id == sub["id"]
                )
            )
        ]
        if count == 1 and existing[0][0] != sub["created_at"]:
            continue  # a movement the ledger wrote itself, not the seed
        if existing == steps:
            continue
        rows, before, ever = [], 0, False
        for at, after in steps:
            found = movement_kind(before, after, ever_had=ever)
            assert found is not None
            rows.append(
                {
                    "subscription_id": sub["id"],
                    "client_id": sub["client_id"],
                    "currency": sub["currency"],
                    "kind": found.value,
                    "delta_minor": after - before,
                    "mrr_after_minor": after,
                    "at": at,
                }
            )
            before, ever = after, ever or after > 0
        connection.execute(sa.delete(ledger).where(ledger.c.subscription_id == sub["id"]))
        if rows:
            connection.execute(sa.insert(ledger), rows)
        changed += 1
    return changed
