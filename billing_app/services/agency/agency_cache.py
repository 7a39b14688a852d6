"""The brands and the agency's portal settings as this process last read them.

Every portal event needs its brand's look and the agency's time zone and two-factor rule, and
staff change them rarely: they are kept in memory and reloaded whenever the agency's
``looks_stamp`` differs from the one they were read with. A flush that writes a brand or the
settings gives the stamp a new random value in its transaction (db/invoicing.py), so a change
made by any process, or a restored backup, is seen by the next event everywhere; the stamp and
the rows are read in the same transaction, so what is kept is always one consistent state
(docs/architecture.md, "What is kept in memory").

Only for reads. Writes load the rows themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from billing_app.db.invoicing import SNAPSHOT_KEY, AgencySettings, Brand

_settings: Any = AgencySettings.__table__  # type: ignore[attr-defined]
_brands: Any = Brand.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AgencySnapshot:
    stamp: str  # the database's address and its looks_stamp
    brands: Mapping[int, Brand]  # copies detached from any session: read them, never add them
    by_host: Mapping[str, int]  # a custom domain (lower case) -> its brand
    default_brand_id: int | None
    time_zone: str
    client_require_2fa: bool


_kept: list[AgencySnapshot] = []  # the last snapshot read, if any (one slot, swapped whole)

_STAMP = sa.select(
    _settings.c.looks_stamp, _settings.c.time_zone, _settings.c.client_require_2fa
).where(_settings.c.id == 1)
_BRANDS = sa.select(_brands)


def snapshot(session: Session) -> AgencySnapshot | None:
    """The brands and settings as of this transaction; None before the agency's settings row
    exists (callers then read the rows themselves, which creates it)."""
    memo = session.info.get(SNAPSHOT_KEY)
    if memo is not None and _unflushed_change(session):
        session.flush()  # its listener drops the memo and gives the stamp a new value
        memo = session.info.get(SNAPSHOT_KEY)
    if memo is not None:
        return memo  # type: ignore[no-any-return]
    row = session.execute(_STAMP).first()
    if row is None:
        return None
    # A copy of the database file (a test's template, a restored backup) has the same stamp
    # under another address: the address is part of the key.
    stamp = f"{session.connection().engine.url}#{row.looks_stamp}"
    kept = _kept[0] if _kept else None
    if kept is not None and row.looks_stamp and kept.stamp == stamp:
        session.info[SNAPSHOT_KEY] = kept
        return kept
    brands = {r["id"]: Brand(**r) for r in session.execute(_BRANDS).mappings().all()}
    default = next((b.id for b in sorted(brands.values(), key=_id) if b.is_default), None)
    fresh = AgencySnapshot(
        stamp=stamp,
        brands=MappingProxyType(brands),
        by_host=MappingProxyType(
            {b.custom_domain.lower(): i for i, b in brands.items() if b.custom_domain}
        ),
        default_brand_id=default,
        time_zone=row.time_zone or "UTC",
        client_require_2fa=bool(row.client_require_2fa),
    )
    if row.looks_stamp:  # a row written outside the ORM has none yet: read it every time
        _kept[:] = [fresh]
    session.info[SNAPSHOT_KEY] = fresh  # until this transaction writes a brand or the settings
    return fresh


def _unflushed_change(session: Session) -> bool:
    """Whether this transaction changed a brand or the settings without flushing yet (a read
    that autoflushes would see it; the memo would not)."""
    pending = (*session.new, *session.dirty, *session.deleted)
    return any(isinstance(row, Brand | AgencySettings) for row in pending)


def _id(brand: Brand) -> int:
    return brand.id or 0


def forget() -> None:
    """Drop what is kept (tests that swap databases under the same process)."""
    _kept.clear()
