"""Tax rates: exact percentages (stored as parts per million), inclusive or exclusive, archived
rather than deleted once used."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.customers import TaxRateRow
from billing_app.domain.errors import DomainError
from billing_app.domain.numbers import parse_plain_decimal
from billing_app.domain.permissions import Permission
from billing_app.domain.tax import TaxRate
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import FieldChecks, NotFound, ValidationFailed
from billing_app.services.common.listing import (
    ListRequest,
    Page,
    keyset_page,
    like_pattern,
    sort_choice,
)


def tax_rate_of(row: TaxRateRow) -> TaxRate:
    """The domain TaxRate of a stored rate (exact: percent = ppm / 10,000)."""
    percent = (Decimal(row.rate_ppm) / Decimal(10_000)).normalize()
    return TaxRate(row.name, percent, inclusive=row.inclusive)


def _parse_percent(text: str) -> Decimal:
    raw = text.strip().replace("%", "").strip()
    if not raw:
        raise ValidationFailed("Enter the tax percentage, such as 20 or 9.975.", field="percent")
    # Wide bounds: the domain still says "between 0 and 100" or "at most 4 decimals".
    value = parse_plain_decimal(raw, max_integer_digits=18, max_fraction_digits=18)
    if value is None:
        raise ValidationFailed(
            "Enter the percentage as a number, such as 20 or 9.975.", field="percent"
        )
    return value


def _checked_rate(name: str, percent: str, inclusive: bool) -> TaxRate:
    """The tax rate of the form; one ValidationFailed names every field with a problem."""
    checks = FieldChecks()
    name = " ".join(name.split())
    # The name is checked with a valid percentage, the percentage with a valid name, so a
    # problem with each shows at once (the domain stops at the first).
    checks.value("name", None, TaxRate, name, Decimal(0))
    value = checks.value("percent", Decimal(0), _parse_percent, percent)
    if not checks.failed("percent"):
        checks.value("percent", None, TaxRate, "Tax", value)
    checks.raise_if_failed()
    try:
        return TaxRate(name, value, inclusive=inclusive)
    except DomainError as exc:
        raise ValidationFailed(str(exc), field=exc.field or "percent") from exc


def list_tax_rates(session: Session, *, include_archived: bool = False) -> list[TaxRateRow]:
    """The tax rates by name, for use cases that checked their actor (not checked here; pages
    call ``tax_rate_choices``)."""
    query = select(TaxRateRow)
    if not include_archived:
        query = query.where(col(TaxRateRow.archived).is_(False))
    return list(session.exec(query.order_by(col(TaxRateRow.name), col(TaxRateRow.id))).all())


def tax_rate_choices(
    session: Session, viewer: Acting, *, include_archived: bool = False
) -> list[TaxRateRow]:
    """The tax rates a product form offers, by name."""
    require(viewer, Permission.CATALOG_READ)
    return list_tax_rates(session, include_archived=include_archived)


TAX_RATE_SORTS: dict[str, Any] = {
    "name": sa.func.lower(col(TaxRateRow.name)),
    "percent": col(TaxRateRow.rate_ppm),
}


def page_tax_rates(session: Session, viewer: Acting, request: ListRequest) -> Page[TaxRateRow]:
    """The tax rates page: filter "show" (active or all), search by name, sorted in SQL."""
    require(viewer, Permission.CATALOG_READ)
    conditions: list[Any] = []
    if request.filter("show", "active") != "all":
        conditions.append(col(TaxRateRow.archived).is_(False))
    if request.term:
        like = like_pattern(request.term)
        conditions.append(sa.func.lower(col(TaxRateRow.name)).like(like, escape="\\"))
    sort = sort_choice(request, TAX_RATE_SORTS, "name")
    return keyset_page(
        session,
        sa.select(TaxRateRow).where(*conditions),
        sa.select(sa.func.count()).select_from(TaxRateRow).where(*conditions),
        [TAX_RATE_SORTS[sort], col(TaxRateRow.id)],
        request,
    )


def get_tax_rate(session: Session, viewer: Acting, tax_rate_id: int) -> TaxRateRow:
    """One tax rate (to edit it)."""
    require(viewer, Permission.CATALOG_READ)
    return _tax_rate_row(session, tax_rate_id)


def _tax_rate_row(session: Session, tax_rate_id: int) -> TaxRateRow:
    row = session.get(TaxRateRow, tax_rate_id)
    if row is None:
        raise NotFound("That tax rate does not exist.")
    return row


def create_tax_rate(
    session: Session,
    actor: Acting,
    *,
    name: str,
    percent: str,
    inclusive: bool = False,
    clock: Clock = system_clock,
) -> TaxRateRow:
    require(actor, Permission.CATALOG_WRITE)
    rate = _checked_rate(name, percent, inclusive)
    now = clock.now()
    row = TaxRateRow(
        name=rate.name,
        rate_ppm=rate.parts_per_million,
        inclusive=rate.inclusive,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, "tax_rate.created", actor.actor(), target=rate.label, details="", clock=clock
    )
    return row


def update_tax_rate(
    session: Session,
    actor: Acting,
    tax_rate_id: int,
    *,
    name: str,
    percent: str,
    inclusive: bool = False,
    clock: Clock = system_clock,
) -> TaxRateRow:
    require(actor, Permission.CATALOG_WRITE)
    row = _tax_rate_row(session, tax_rate_id)
    rate = _checked_rate(name, percent, inclusive)
    before = tax_rate_of(row).label
    row.name, row.rate_ppm, row.inclusive = rate.name, rate.parts_per_million, rate.inclusive
    row.updated_at = clock.now()
    session.add(row)
    audit.record(
        session,
        "tax_rate.updated",
        actor.actor(),
        target=rate.label,
        details=f"was {before}",
        clock=clock,
    )
    return row


def set_tax_rate_archived(
    session: Session,
    actor: Acting,
    tax_rate_id: int,
    archived: bool,
    *,
    clock: Clock = system_clock,
) -> TaxRateRow:
    require(actor, Permission.CATALOG_WRITE)
    row = _tax_rate_row(session, tax_rate_id)
    row.archived = archived
    row.updated_at = clock.now()
    session.add(row)
    action = "tax_rate.archived" if archived else "tax_rate.restored"
    audit.record(session, action, actor.actor(), target=tax_rate_of(row).label, clock=clock)
    return row
