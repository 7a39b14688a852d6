"""The catalog: tax rates and products & services.

A product that was ever used by a subscription is archived, never deleted. Repricing a product
leaves existing subscriptions at their price unless ``update_subscriptions=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.adapters import storage
from billing_app.db.customers import Product, ProductTaxRate, Subscription, TaxRateRow
from billing_app.domain.billing import BILLING_KINDS, RECURRING
from billing_app.domain.errors import DomainError
from billing_app.domain.money import Money, format_money, normalize_currency, parse_money
from billing_app.domain.numbers import parse_id, parse_plain_decimal, parse_whole_number
from billing_app.domain.periods import MAX_INTERVAL_COUNT, Interval, IntervalUnit
from billing_app.domain.tax import PPM, TaxRate
from billing_app.services.access.identity import CurrentUser
from billing_app.services.common import audit
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed
from billing_app.services.common.listing import Page, clamp_page, like_pattern

BILLING_TYPES = BILLING_KINDS
INTERVAL_UNITS = tuple(unit.value for unit in IntervalUnit)


# --------------------------------------------------------------------------- tax rates


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
    try:
        return TaxRate(" ".join(name.split()), _parse_percent(percent), inclusive=inclusive)
    except DomainError as exc:
        raise ValidationFailed(str(exc), field=getattr(exc, "field", None) or "percent") from exc


def list_tax_rates(session: Session, *, include_archived: bool = False) -> list[TaxRateRow]:
    query = select(TaxRateRow)
    if not include_archived:
        query = query.where(col(TaxRateRow.archived).is_(False))
    return list(session.exec(query.order_by(col(TaxRateRow.name), col(TaxRateRow.id))).all())


def get_tax_rate(session: Session, tax_rate_id: int) -> TaxRateRow:
    row = session.get(TaxRateRow, tax_rate_id)
    if row is None:
        raise NotFound("That tax rate does not exist.")
    return row


def create_tax_rate(
    session: Session,
    actor: CurrentUser,
    *,
    name: str,
    percent: str,
    inclusive: bool = False,
    clock: Clock = system_clock,
) -> TaxRateRow:
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
    actor: CurrentUser,
    tax_rate_id: int,
    *,
    name: str,
    percent: str,
    inclusive: bool = False,
    clock: Clock = system_clock,
) -> TaxRateRow:
    row = get_tax_rate(session, tax_rate_id)
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
    actor: CurrentUser,
    tax_rate_id: int,
    archived: bool,
    *,
    clock: Clock = system_clock,
) -> TaxRateRow:
    row = get_tax_rate(session, tax_rate_id)
    row.archived = archived
    row.updated_at = clock.now()
    session.add(row)
    action = "tax_rate.archived" if archived else "tax_rate.restored"
    audit.record(session, action, actor.actor(), target=tax_rate_of(row).label, clock=clock)
    return row


# --------------------------------------------------------------------------- products


@dataclass
class ProductInput:
    """What the product form sends (amounts as typed by a person)."""

    name: str
    price: str
    currency: str
    billing_type: str = RECURRING
    interval_unit: str = "month"
    interval_count: str = "1"
    description: str = ""
    tax_rate_ids: list[int] = field(default_factory=list)
    locale: str = "en"


@dataclass(frozen=True)
class ProductRow:
    id: int
    name: str
    description: str
    price: Money
    billing_type: str
    interval_unit: str
    interval_count: int
    archived: bool
    image_key: str
    tax_rates: tuple[TaxRate, ...]
    tax_rate_ids: tuple[int, ...]
    subscriptions: int
    created_at: datetime

    @property
    def interval(self) -> Interval | None:
        if self.billing_type != RECURRING:
            return None
        return Interval(IntervalUnit(self.interval_unit), self.interval_count)

    @property
    def billing_label(self) -> str:
        interval = self.interval
        return "one-time" if interval is None else interval.label

    def price_text(self, locale: str = "en") -> str:
        return format_money(self.price, locale)


def product_interval(product: Product) -> Interval | None:
    """The billing interval of a recurring product; None for one-time products."""
    if product.billing_type != RECURRING:
        return None
    return Interval(IntervalUnit(product.interval_unit), product.interval_count)


@dataclass(frozen=True)
class _CleanProduct:
    name: str
    description: str
    price: Money
    billing_type: str
    interval_unit: str
    interval_count: int
    tax_rate_ids: list[int]


def _clean_product(session: Session, data: ProductInput) -> _CleanProduct:
    name = " ".join(data.name.split())
    if not name:
        raise ValidationFailed("Give the product a name.", field="name")
    if len(name) > 200:
        raise ValidationFailed("Use at most 200 characters.", field="name")
    try:
        currency = normalize_currency(data.currency)
    except DomainError as exc:
        raise ValidationFailed(str(exc), field="currency") from exc
    try:
        price = parse_money(data.price, currency, data.locale or "en")
    except DomainError as exc:
        raise ValidationFailed(str(exc), field="price") from exc
    if price.is_negative:
        raise ValidationFailed("A price cannot be negative.", field="price")
    if data.billing_type not in BILLING_TYPES:
        raise ValidationFailed("Choose one-time or recurring.", field="billing_type")
    unit, count = "", 1
    if data.billing_type == RECURRING:
        if data.interval_unit not in INTERVAL_UNITS:
            raise ValidationFailed("Choose days, weeks, months or years.", field="interval_unit")
        parsed = parse_whole_number(str(data.interval_count), max_digits=18)
        if parsed is None:
            raise ValidationFailed(
                "Enter how many days, weeks, months or years, such as 1 or 3.",
                field="interval_count",
            )
        if not 1 <= parsed <= MAX_INTERVAL_COUNT:
            raise ValidationFailed(
                f"The interval is a whole number from 1 to {MAX_INTERVAL_COUNT}.",
                field="interval_count",
            )
        unit, count = data.interval_unit, parsed
    parsed_ids = [parse_id(i) for i in data.tax_rate_ids]
    ids = list(dict.fromkeys(i for i in parsed_ids if i is not None))
    if None in parsed_ids:
        raise ValidationFailed("Choose tax rates from the list.", field="tax_rate_ids")
    if ids:
        found = session.exec(select(TaxRateRow).where(col(TaxRateRow.id).in_(ids))).all()
        rates = [tax_rate_of(r) for r in found]
        if len(found) != len(ids) or any(r.archived for r in found):
            raise ValidationFailed("Choose tax rates from the list.", field="tax_rate_ids")
        if len({r.key[0] for r in rates}) != len(rates):
            raise ValidationFailed(
                "Two tax rates with the same name cannot apply together.", field="tax_rate_ids"
            )
        if len({r.inclusive for r in rates}) > 1:
            raise ValidationFailed(
                "Mix inclusive and exclusive tax rates on separate products.",
                field="tax_rate_ids",
            )
    return _CleanProduct(
        name=name,
        description=data.description.strip()[:5000],
        price=price,
        billing_type=data.billing_type,
        interval_unit=unit,
        interval_count=count,
        tax_rate_ids=ids,
    )


def _set_tax_rates(session: Session, product_id: int, ids: Sequence[int]) -> None:
    session.execute(sa.delete(ProductTaxRate).where(col(ProductTaxRate.product_id) == product_id))
    for position, tax_rate_id in enumerate(ids):
        session.add(
            ProductTaxRate(product_id=product_id, tax_rate_id=tax_rate_id, position=position)
        )


def get_product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("That product does not exist.")
    return product


def product_tax_rates(
    session: Session, product_ids: Sequence[int]
) -> dict[int, list[tuple[int, TaxRate]]]:
    """Default tax rates (id, TaxRate) of each product, in order, in one query."""
    result: dict[int, list[tuple[int, TaxRate]]] = {pid: [] for pid in product_ids}
    if not product_ids:
        return result
    rows = session.exec(
        select(ProductTaxRate.product_id, TaxRateRow)
        .join(TaxRateRow, col(TaxRateRow.id) == col(ProductTaxRate.tax_rate_id))
        .where(col(ProductTaxRate.product_id).in_(list(product_ids)))
        .order_by(col(ProductTaxRate.product_id), col(ProductTaxRate.position))
    ).all()
    for product_id, rate in rows:
        assert rate.id is not None
        result[product_id].append((rate.id, tax_rate_of(rate)))
    return result


def create_product(
    session: Session, actor: CurrentUser, data: ProductInput, *, clock: Clock = system_clock
) -> Product:
    clean = _clean_product(session, data)
    now = clock.now()
    product = Product(
        name=clean.name,
        description=clean.description,
        price_minor=clean.price.amount_minor,
        currency=clean.price.currency,
        billing_type=clean.billing_type,
        interval_unit=clean.interval_unit,
        interval_count=clean.interval_count,
        created_at=now,
        updated_at=now,
    )
    session.add(product)
    session.flush()
    assert product.id is not None
    _set_tax_rates(session, product.id, clean.tax_rate_ids)
    audit.record(
        session,
        "product.created",
        actor.actor(),
        target=f"product:{product.id}",
        details=f"{clean.name} {clean.price}",
        clock=clock,
    )
    return product


def update_product(
    session: Session,
    actor: CurrentUser,
    product_id: int,
    data: ProductInput,
    *,
    update_subscriptions: bool = False,
    clock: Clock = system_clock,
) -> Product:
    """Rename, reprice or re-describe a product. Subscriptions keep their price unless
    ``update_subscriptions`` (then every running subscription of it takes the new price,
    effective next period)."""
    product = get_product(session, product_id)
    clean = _clean_product(session, data)
    used = use_count(session, product_id) > 0
    if used and (
        clean.billing_type != product.billing_type
        or clean.interval_unit != product.interval_unit
        or clean.interval_count != product.interval_count
    ):
        raise ValidationFailed(
            "This product has subscriptions: its billing interval cannot change. "
            "Duplicate it and change the copy instead.",
            field="billing_type",
        )
    if used and clean.price.currency != product.currency:
        raise ValidationFailed(
            "This product has subscriptions: its currency cannot change.", field="currency"
        )
    old_price = Money(product.price_minor, product.currency)
    product.name = clean.name
    product.description = clean.description
    product.price_minor = clean.price.amount_minor
    product.currency = clean.price.currency
    product.billing_type = clean.billing_type
    product.interval_unit = clean.interval_unit
    product.interval_count = clean.interval_count
    product.updated_at = clock.now()
    session.add(product)
    _set_tax_rates(session, product_id, clean.tax_rate_ids)
    details = clean.name
    if old_price != clean.price:
        details += f"; price {old_price} -> {clean.price}"
    audit.record(
        session,
        "product.updated",
        actor.actor(),
        target=f"product:{product_id}",
        details=details,
        clock=clock,
    )
    if update_subscriptions and old_price != clean.price:
        from billing_app.services.catalog import subscriptions

        subscriptions.reprice_product_subscriptions(
            session, actor, product_id, clean.price.amount_minor, clock=clock
        )
    return product


def duplicate_product(
    session: Session, actor: CurrentUser, product_id: int, *, clock: Clock = system_clock
) -> Product:
    """A copy named "Copy of <name>" with the same price, interval, image and tax rates."""
    source = get_product(session, product_id)
    now = clock.now()
    copy = Product(
        name=f"Copy of {source.name}"[:200],
        description=source.description,
        image_key=source.image_key,
        price_minor=source.price_minor,
        currency=source.currency,
        billing_type=source.billing_type,
        interval_unit=source.interval_unit,
        interval_count=source.interval_count,
        created_at=now,
        updated_at=now,
    )
    session.add(copy)
    session.flush()
    assert copy.id is not None
    ids = [i for i, _ in product_tax_rates(session, [product_id])[product_id]]
    _set_tax_rates(session, copy.id, ids)
    audit.record(
        session,
        "product.duplicated",
        actor.actor(),
        target=f"product:{copy.id}",
        details=f"from product:{product_id}",
        clock=clock,
    )
    return copy


def use_count(session: Session, product_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(Subscription)
        .where(col(Subscription.product_id) == product_id)
    ).one()


def set_product_archived(
    session: Session,
    actor: CurrentUser,
    product_id: int,
    archived: bool,
    *,
    clock: Clock = system_clock,
) -> Product:
    product = get_product(session, product_id)
    product.archived = archived
    product.updated_at = clock.now()
    session.add(product)
    action = "product.archived" if archived else "product.restored"
    audit.record(session, action, actor.actor(), target=f"product:{product_id}", clock=clock)
    return product


def delete_product(
    session: Session, actor: CurrentUser, product_id: int, *, clock: Clock = system_clock
) -> None:
    """Delete a product nobody ever used; a used product must be archived instead."""
    product = get_product(session, product_id)
    if use_count(session, product_id):
        raise Conflict("This product was used by subscriptions: archive it instead.")
    session.execute(sa.delete(ProductTaxRate).where(col(ProductTaxRate.product_id) == product_id))
    session.delete(product)
    audit.record(
        session,
        "product.deleted",
        actor.actor(),
        target=f"product:{product_id}",
        details=product.name,
        clock=clock,
    )


def set_product_image(
    session: Session,
    actor: CurrentUser,
    product_id: int,
    image_key: str,
    *,
    clock: Clock = system_clock,
) -> Product:
    product = get_product(session, product_id)
    product.image_key = image_key
    product.updated_at = clock.now()
    session.add(product)
    audit.record(
        session, "product.image_changed", actor.actor(), target=f"product:{product_id}", clock=clock
    )
    return product


def upload_product_image(
    session: Session,
    actor: CurrentUser,
    product_id: int,
    data: bytes,
    *,
    clock: Clock = system_clock,
) -> str:
    """Check and store an uploaded image privately and make it the product's; returns its key."""
    get_product(session, product_id)
    try:
        key = storage.save_image(data)
    except storage.StorageError as exc:
        raise ValidationFailed(str(exc), field="image") from exc
    set_product_image(session, actor, product_id, key, clock=clock)
    return key


PRODUCT_SORTS = {
    "name": sa.func.lower(col(Product.name)),
    "price": col(Product.price_minor),
    "created": col(Product.created_at),
}


def list_products(
    session: Session,
    *,
    search: str = "",
    status: str = "active",
    billing_type: str = "",
    sort: str = "name",
    descending: bool = False,
    page: int = 1,
    per_page: int = 25,
) -> Page[ProductRow]:
    """A page of products (status: active, archived or "" for all), with their tax rates and
    how many subscriptions use them (three queries in all)."""
    page, per_page = clamp_page(page, per_page)
    conditions: list[sa.ColumnElement[bool]] = []
    if status == "active":
        conditions.append(col(Product.archived).is_(False))
    elif status == "archived":
        conditions.append(col(Product.archived).is_(True))
    if billing_type in BILLING_TYPES:
        conditions.append(col(Product.billing_type) == billing_type)
    if search.strip():
        conditions.append(sa.func.lower(col(Product.name)).like(like_pattern(search), escape="\\"))
    total = session.exec(select(func.count()).select_from(Product).where(*conditions)).one()
    order = PRODUCT_SORTS.get(sort, PRODUCT_SORTS["name"])
    products = session.exec(
        select(Product)
        .where(*conditions)
        .order_by(order.desc() if descending else order.asc(), col(Product.id))
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    ids = [p.id for p in products if p.id is not None]
    rates = product_tax_rates(session, ids)
    uses = dict(
        session.exec(
            select(Subscription.product_id, func.count())
            .where(col(Subscription.product_id).in_(ids))
            .group_by(col(Subscription.product_id))
        ).all()
    )
    rows = [_row(p, rates.get(p.id or 0, []), uses.get(p.id or 0, 0)) for p in products]
    return Page(rows=rows, total=total, page=page, per_page=per_page)


def _row(product: Product, rates: list[tuple[int, TaxRate]], uses: int) -> ProductRow:
    assert product.id is not None
    return ProductRow(
        id=product.id,
        name=product.name,
        description=product.description,
        price=Money(product.price_minor, product.currency),
        billing_type=product.billing_type,
        interval_unit=product.interval_unit,
        interval_count=product.interval_count,
        archived=product.archived,
        image_key=product.image_key,
        tax_rates=tuple(r for _, r in rates),
        tax_rate_ids=tuple(i for i, _ in rates),
        subscriptions=uses,
        created_at=product.created_at,
    )


def product_row(session: Session, product_id: int) -> ProductRow:
    """One product with its default tax rates: what invoicing needs for a catalog line."""
    product = get_product(session, product_id)
    return _row(product, product_tax_rates(session, [product_id])[product_id], 0)


def product_choices(session: Session) -> list[ProductRow]:
    """Every active product, by name (for pickers)."""
    products = session.exec(
        select(Product)
        .where(col(Product.archived).is_(False))
        .order_by(sa.func.lower(col(Product.name)))
    ).all()
    ids = [p.id for p in products if p.id is not None]
    rates = product_tax_rates(session, ids)
    return [_row(p, rates.get(p.id or 0, []), 0) for p in products]


__all__ = [
    "PPM",
    "ProductInput",
    "ProductRow",
    "create_product",
    "create_tax_rate",
    "delete_product",
    "duplicate_product",
    "get_product",
    "list_products",
    "list_tax_rates",
    "product_row",
    "product_tax_rates",
    "set_product_archived",
    "tax_rate_of",
    "update_product",
]
