"""The catalog: tax rates and products & services.

A product that was ever used by a subscription is archived, never deleted. Repricing a product
leaves existing subscriptions at their price unless ``update_subscriptions=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters import storage
from billing_app.db.customers import Product, ProductTaxRate, TaxRateRow
from billing_app.domain.billing import BILLING_KINDS, RECURRING
from billing_app.domain.errors import DomainError
from billing_app.domain.money import Money, normalize_currency, parse_money
from billing_app.domain.numbers import parse_id, parse_whole_number
from billing_app.domain.periods import MAX_INTERVAL_COUNT, Interval, IntervalUnit
from billing_app.domain.permissions import Permission
from billing_app.services.catalog.product_queries import (
    get_product,
    product_tax_rates,
    use_count,
)
from billing_app.services.catalog.tax_rates import tax_rate_of
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, FieldChecks, ValidationFailed

BILLING_TYPES = BILLING_KINDS


INTERVAL_UNITS = tuple(unit.value for unit in IntervalUnit)


MAX_DESCRIPTION = 5000


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


# A price is checked in its currency (the decimals allowed depend on it). While the currency
# is wrong, the price is still checked to be an amount, in the currency allowing the most
# decimals, so both problems show at once.
_ANY_CURRENCY = "CLF"


def _clean_price(text: str, currency: str, locale: str) -> Money:
    if currency:
        price = parse_money(text, currency, locale)
    else:
        try:
            price = parse_money(text, _ANY_CURRENCY, locale)
        except DomainError as exc:
            msg = "Enter the price as an amount, such as 25.00."
            raise ValidationFailed(msg, field="price") from exc
    if price.is_negative:
        raise ValidationFailed("A price cannot be negative.", field="price")
    return price


def _clean_interval_count(text: str) -> int:
    parsed = parse_whole_number(text, max_digits=18)
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
    return parsed


def _clean_tax_rate_ids(session: Session, raw_ids: Sequence[object]) -> list[int]:
    parsed_ids = [parse_id(i) for i in raw_ids]
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
    return ids


def _check_product(session: Session, data: ProductInput, checks: FieldChecks) -> _CleanProduct:
    """Check every field of the product form, keeping each field's problem in ``checks``."""
    name = " ".join(data.name.split())
    if not name:
        checks.add("name", "Give the product a name.")
    elif len(name) > 200:
        checks.add("name", "Use at most 200 characters.")
    description = data.description.strip()
    if len(description) > MAX_DESCRIPTION:
        checks.add("description", f"Use at most {MAX_DESCRIPTION:,} characters.")
    currency = checks.value("currency", "", normalize_currency, data.currency)
    price = checks.value(
        "price",
        Money(0, currency or _ANY_CURRENCY),
        _clean_price,
        data.price,
        currency,
        data.locale or "en",
    )
    unit, count = "", 1
    if data.billing_type not in BILLING_TYPES:
        checks.add("billing_type", "Choose one-time or recurring.")
    elif data.billing_type == RECURRING:
        if data.interval_unit not in INTERVAL_UNITS:
            checks.add("interval_unit", "Choose days, weeks, months or years.")
        unit = data.interval_unit
        count = checks.value("interval_count", 1, _clean_interval_count, str(data.interval_count))
    ids = checks.value("tax_rate_ids", [], _clean_tax_rate_ids, session, data.tax_rate_ids)
    return _CleanProduct(
        name=name,
        description=description,
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


def create_product(
    session: Session, actor: Acting, data: ProductInput, *, clock: Clock = system_clock
) -> Product:
    require(actor, Permission.CATALOG_WRITE)
    checks = FieldChecks()
    clean = _check_product(session, data, checks)
    checks.raise_if_failed()
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
    actor: Acting,
    product_id: int,
    data: ProductInput,
    *,
    update_subscriptions: bool = False,
    clock: Clock = system_clock,
) -> Product:
    """Rename, reprice or re-describe a product. Subscriptions keep their price unless
    ``update_subscriptions`` (then every running subscription of it takes the new price,
    effective next period)."""
    require(actor, Permission.CATALOG_WRITE)
    product = get_product(session, product_id)
    checks = FieldChecks()
    clean = _check_product(session, data, checks)
    used = use_count(session, product_id) > 0
    if (
        used
        and not checks.failed("billing_type", "interval_unit", "interval_count")
        and (
            clean.billing_type != product.billing_type
            or clean.interval_unit != product.interval_unit
            or clean.interval_count != product.interval_count
        )
    ):
        checks.add(
            "billing_type",
            "This product has subscriptions: its billing interval cannot change. "
            "Duplicate it and change the copy instead.",
        )
    if used and not checks.failed("currency") and clean.price.currency != product.currency:
        checks.add("currency", "This product has subscriptions: its currency cannot change.")
    checks.raise_if_failed()
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
    session: Session, actor: Acting, product_id: int, *, clock: Clock = system_clock
) -> Product:
    """A copy named "Copy of <name>" with the same price, interval, image and tax rates."""
    require(actor, Permission.CATALOG_WRITE)
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


def set_product_archived(
    session: Session,
    actor: Acting,
    product_id: int,
    archived: bool,
    *,
    clock: Clock = system_clock,
) -> Product:
    require(actor, Permission.CATALOG_WRITE)
    product = get_product(session, product_id)
    product.archived = archived
    product.updated_at = clock.now()
    session.add(product)
    action = "product.archived" if archived else "product.restored"
    audit.record(session, action, actor.actor(), target=f"product:{product_id}", clock=clock)
    return product


def delete_product(
    session: Session, actor: Acting, product_id: int, *, clock: Clock = system_clock
) -> None:
    """Delete a product nobody ever used; a used product must be archived instead."""
    require(actor, Permission.CATALOG_WRITE)
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
    actor: Acting,
    product_id: int,
    image_key: str,
    *,
    clock: Clock = system_clock,
) -> Product:
    require(actor, Permission.CATALOG_WRITE)
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
    actor: Acting,
    product_id: int,
    data: bytes,
    *,
    clock: Clock = system_clock,
) -> str:
    """Check and store an uploaded image privately and make it the product's; returns its key."""
    require(actor, Permission.CATALOG_WRITE)
    get_product(session, product_id)
    try:
        key = storage.save_image(data)
    except storage.StorageError as exc:
        raise ValidationFailed(str(exc), field="image") from exc
    set_product_image(session, actor, product_id, key, clock=clock)
    return key
