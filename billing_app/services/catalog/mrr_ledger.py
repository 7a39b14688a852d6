"""The MRR movement ledger: whatever changes a subscription's monthly amount (attaching, a
change taking effect, pausing, canceling, resuming, dunning's final action) writes one
``mrr_movement`` in the same flush, so revenue history is read, never guessed. It listens to
the ORM: every service that changes ``subscription.mrr_minor`` goes through it (the kind of
movement is the domain's, domain/mrr.py ``movement_kind``). The monthly rollups the reports read
are brought up to date in the same flush (services/catalog/mrr_rollups.py), also when a client
moves to another brand."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession

from billing_app.db.customers import Client, MrrMovement, Subscription
from billing_app.domain.mrr import movement_kind
from billing_app.services.catalog.mrr_rollups import refresh_clients


def _had_mrr(connection: sa.Connection, subscription_id: int) -> bool:
    table: Any = MrrMovement.__table__  # type: ignore[attr-defined]
    found = connection.execute(
        sa.select(table.c.id).where(table.c.subscription_id == subscription_id).limit(1)
    ).first()
    return found is not None


@sa.event.listens_for(OrmSession, "after_flush")
def _write_movements(session: OrmSession, _context: Any) -> None:
    """One movement per subscription whose monthly amount this flush changed; the rollups of
    their clients, and of clients that changed brand."""
    rows = []
    moved: set[tuple[int, str | None]] = set()
    for obj in session.dirty:
        if (
            isinstance(obj, Client)
            and obj.id is not None
            and sa.inspect(obj).attrs.brand_id.history.deleted
        ):
            moved.add((obj.id, None))
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Subscription) or obj.id is None:
            continue
        history = sa.inspect(obj).attrs.mrr_minor.history
        if obj in session.new:
            before = 0
        elif history.deleted:
            before = int(history.deleted[0] or 0)
        else:
            continue
        after = int(obj.mrr_minor or 0)
        if before == after:
            continue
        connection = session.connection()
        kind = movement_kind(before, after, ever_had=before > 0 or _had_mrr(connection, obj.id))
        if kind is None:
            continue
        rows.append(
            {
                "subscription_id": obj.id,
                "client_id": obj.client_id,
                "currency": obj.currency,
                "kind": kind.value,
                "delta_minor": after - before,
                "mrr_after_minor": after,
                "at": obj.updated_at or obj.created_at,
            }
        )
    if rows:
        table: Any = MrrMovement.__table__  # type: ignore[attr-defined]
        session.connection().execute(sa.insert(table), rows)
        moved.update((int(str(r["client_id"])), str(r["currency"])) for r in rows)
    if moved:
        refresh_clients(session.connection(), moved)
