"""Monthly MRR rollups kept exact by the transaction that writes the ledger (docs/architecture.md,
"Revenue"). When movements of a (client, currency) are written, its month rows are computed again
from its own ledger (domain/mrr_rollup.py) and each month total gets the difference: the old row's
contribution taken off, the new one added. A client moving to another brand moves its rows and
their contributions with it, so a brand's history is that of the clients it has now.

Months are the agency's (its time zone when the client's rows were last computed). The client's
row is locked first, so two transactions never compute the same client from different ledgers;
month totals are added with one atomic upsert each (``ON CONFLICT DO UPDATE``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from billing_app.db.customers import Client, MrrMovement
from billing_app.db.invoicing import AgencySettings
from billing_app.db.mrr_rollups import MrrClientMonth, MrrMonth
from billing_app.domain.mrr_rollup import (
    FIELDS,
    ClientMonth,
    Contribution,
    client_months,
    contribution,
)

_ledger: Any = MrrMovement.__table__  # type: ignore[attr-defined]
_rows: Any = MrrClientMonth.__table__  # type: ignore[attr-defined]
_months: Any = MrrMonth.__table__  # type: ignore[attr-defined]
_clients: Any = Client.__table__  # type: ignore[attr-defined]
_agency: Any = AgencySettings.__table__  # type: ignore[attr-defined]

Total = tuple[date, int, str]  # month, brand (0: the default brand), currency


def agency_zone(connection: sa.Connection) -> ZoneInfo:
    name = connection.execute(sa.select(_agency.c.time_zone).where(_agency.c.id == 1)).scalar()
    return ZoneInfo(name or "UTC")


def _day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


class _Totals:
    def __init__(self) -> None:
        self.deltas: dict[Total, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))

    def add(self, key: Total, part: Contribution, sign: int = 1) -> None:
        bucket = self.deltas[key]
        for name, value in part.as_dict().items():
            bucket[name] += sign * value

    def write(self, connection: sa.Connection) -> None:
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        for (month, brand, currency), values in sorted(self.deltas.items()):
            if not any(values.values()):
                continue
            stmt = insert(_months).values(month=month, brand_id=brand, currency=currency, **values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["month", "brand_id", "currency"],
                set_={name: _months.c[name] + stmt.excluded[name] for name in FIELDS},
            )
            connection.execute(stmt)


def _client_brand(connection: sa.Connection, client_id: int) -> int:
    """The client's brand (0: the default one), its row locked for this transaction."""
    brand = connection.execute(
        sa.select(_clients.c.brand_id).where(_clients.c.id == client_id).with_for_update()
    ).scalar()
    return int(brand or 0)


def _resync(
    connection: sa.Connection, client_id: int, currency: str, brand: int, zone: ZoneInfo
) -> _Totals:
    entries = connection.execute(
        sa.select(_ledger.c.at, _ledger.c.delta_minor)
        .where(_ledger.c.client_id == client_id, _ledger.c.currency == currency)
        .order_by(_ledger.c.at, _ledger.c.id)
    ).all()
    fresh = {r.month: r for r in client_months((_day(at, zone), int(d)) for at, d in entries)}
    stored = {
        r.month: (
            int(r.brand_id),
            ClientMonth(r.month, int(r.start_minor), int(r.end_minor), r.had_before, r.active),
        )
        for r in connection.execute(
            sa.select(_rows).where(_rows.c.client_id == client_id, _rows.c.currency == currency)
        )
    }
    totals = _Totals()
    for month in sorted(set(fresh) | set(stored)):
        new = fresh.get(month)
        old_brand, old = stored.get(month, (brand, None))
        if old == new and old_brand == brand:
            continue
        if old is not None:
            totals.add((month, old_brand, currency), contribution(old), -1)
        key = {"client_id": client_id, "currency": currency, "month": month}
        where = sa.and_(*(_rows.c[k] == v for k, v in key.items()))
        if new is None:
            connection.execute(sa.delete(_rows).where(where))
            continue
        totals.add((month, brand, currency), contribution(new))
        values = {
            "brand_id": brand,
            "start_minor": new.start_minor,
            "end_minor": new.end_minor,
            "had_before": new.had_before,
            "active": new.active,
        }
        if old is None:
            connection.execute(sa.insert(_rows).values(**key, **values))
        else:
            connection.execute(sa.update(_rows).where(where).values(**values))
    return totals


def refresh_clients(connection: sa.Connection, keys: Iterable[tuple[int, str | None]]) -> None:
    """Compute the rows of these (client, currency) pairs again from the ledger (currency None:
    every currency the client has rows or movements in) and add the differences to the months."""
    zone = agency_zone(connection)
    wanted: dict[int, set[str | None]] = defaultdict(set)
    for client_id, currency in keys:
        wanted[client_id].add(currency)
    totals = _Totals()
    for client_id in sorted(wanted):
        brand = _client_brand(connection, client_id)
        currencies = {c for c in wanted[client_id] if c is not None}
        if None in wanted[client_id]:
            for table in (_rows, _ledger):
                currencies.update(
                    connection.execute(
                        sa.select(table.c.currency).where(table.c.client_id == client_id).distinct()
                    ).scalars()
                )
        for currency in sorted(currencies):
            part = _resync(connection, client_id, currency, brand, zone)
            for key, values in part.deltas.items():
                totals.add(key, Contribution(**values))
    totals.write(connection)


def rebuild_all(connection: sa.Connection) -> None:
    """Every row and month total again from the whole ledger (the migration that made them, a
    repair): the result does not depend on what the tables held."""
    zone = agency_zone(connection)
    connection.execute(sa.delete(_rows))
    connection.execute(sa.delete(_months))
    brands = {
        int(cid): int(brand or 0)
        for cid, brand in connection.execute(sa.select(_clients.c.id, _clients.c.brand_id))
    }
    per_key: dict[tuple[int, str], list[tuple[date, int]]] = defaultdict(list)
    for client_id, currency, at, delta in connection.execute(
        sa.select(
            _ledger.c.client_id, _ledger.c.currency, _ledger.c.at, _ledger.c.delta_minor
        ).order_by(_ledger.c.at, _ledger.c.id)
    ):
        per_key[(int(client_id), currency)].append((_day(at, zone), int(delta)))
    totals = _Totals()
    batch: list[dict[str, Any]] = []
    for (client_id, currency), changes in sorted(per_key.items()):
        brand = brands.get(client_id, 0)
        for row in client_months(changes):
            totals.add((row.month, brand, currency), contribution(row))
            batch.append(
                {
                    "client_id": client_id,
                    "currency": currency,
                    "month": row.month,
                    "brand_id": brand,
                    "start_minor": row.start_minor,
                    "end_minor": row.end_minor,
                    "had_before": row.had_before,
                    "active": row.active,
                }
            )
            if len(batch) >= 5000:
                connection.execute(sa.insert(_rows), batch)
                batch = []
    if batch:
        connection.execute(sa.insert(_rows), batch)
    rows = [
        {"month": m, "brand_id": b, "currency": c, **values}
        for (m, b, c), values in sorted(totals.deltas.items())
        if any(values.values())
    ]
    if rows:
        connection.execute(sa.insert(_months), rows)
