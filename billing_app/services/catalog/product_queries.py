"""Finding products: the catalog list (search, status, sort, keyset pages in SQL), one product
with its default tax rates (what an invoice line needs), and choices for pickers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Product, ProductTaxRate, Subscription, TaxRateRow
from billing_app.domain.billing import BILLING_KINDS, RECURRING
from billing_app.domain.money import Money, format_money
from billing_app.domain.periods import Interval, IntervalUnit
from billing_app.domain.permissions import Permission
from billing_app.domain.tax import TaxRate
from billing_app.services.access.identity import CurrentUser
from billing_app.services.catalog.tax_rates import tax_rate_of
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.errors import NotFound
from billing_app.services.common.listing import (
    ListRequest,
    Page,
    keyset_page,
    like_pattern,
    sort_choice,
)


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


def get_product(session: Session, product_id: int) -> Product:
    """The product, for use cases that checked their actor (not checked here)."""
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


def use_count(session: Session, product_id: int) -> int:
    """How many subscriptions use the product, for use cases that checked their actor."""
    return session.exec(
        select(func.count())
        .select_from(Subscription)
        .where(col(Subscription.product_id) == product_id)
    ).one()


PRODUCT_SORTS = {
    "name": sa.func.lower(col(Product.name)),
    "price": col(Product.price_minor),
    "created": col(Product.created_at),
}


def list_products(session: Session, viewer: CurrentUser, request: ListRequest) -> Page[ProductRow]:
    """A page of products (filter "status": active, archived or all; "billing_type"), with
    their tax rates and how many subscriptions use them (four queries in all)."""
    require(viewer, Permission.CATALOG_READ)
    status = request.filter("status", "active")
    billing_type = request.filter("billing_type")
    conditions: list[sa.ColumnElement[bool]] = []
    if status == "active":
        conditions.append(col(Product.archived).is_(False))
    elif status == "archived":
        conditions.append(col(Product.archived).is_(True))
    if billing_type in BILLING_KINDS:
        conditions.append(col(Product.billing_type) == billing_type)
    if request.term:
        like = like_pattern(request.term)
        conditions.append(sa.func.lower(col(Product.name)).like(like, escape="\\"))
    sort = sort_choice(request, PRODUCT_SORTS, "name")
    page = keyset_page(
        session,
        sa.select(Product).where(*conditions),
        sa.select(func.count()).select_from(Product).where(*conditions),
        [PRODUCT_SORTS[sort], col(Product.id)],
        request,
    )
    products: list[Product] = page.rows
    ids = [p.id for p in products if p.id is not None]
    rates = product_tax_rates(session, ids)
    uses = dict(
        session.exec(
            select(Subscription.product_id, func.count())
            .where(col(Subscription.product_id).in_(ids))
            .group_by(col(Subscription.product_id))
        ).all()
    )
    return page.map(lambda p: _row(p, rates.get(p.id or 0, []), uses.get(p.id or 0, 0)))


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


def product_row(session: Session, viewer: Acting, product_id: int) -> ProductRow:
    """One product with its default tax rates and how many subscriptions use it (to edit it)."""
    require(viewer, Permission.CATALOG_READ)
    product = get_product(session, product_id)
    rates = product_tax_rates(session, [product_id])[product_id]
    return _row(product, rates, use_count(session, product_id))


def product_choices(session: Session) -> list[ProductRow]:
    """Every active product, by name, for the pickers of use cases that checked their actor
    (not checked here)."""
    products = session.exec(
        select(Product)
        .where(col(Product.archived).is_(False))
        .order_by(sa.func.lower(col(Product.name)))
    ).all()
    ids = [p.id for p in products if p.id is not None]
    rates = product_tax_rates(session, ids)
    return [_row(p, rates.get(p.id or 0, []), 0) for p in products]
