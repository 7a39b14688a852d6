"""What clients may change themselves on a product's subscriptions in the portal (the product's
"Client self-service" settings): the quantity, between a minimum and a maximum, and the
alternative plans they may switch to (other recurring products of the same currency and
interval). Read and saved by staff; services/catalog/portal_changes.py applies them."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.customers import Product, ProductAlternative
from billing_app.domain.billing import RECURRING
from billing_app.domain.numbers import parse_whole_number
from billing_app.domain.permissions import Permission
from billing_app.services.catalog.subscriptions import MAX_QUANTITY
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import FieldChecks, NotFound, ValidationFailed


@dataclass(frozen=True)
class SelfService:
    product_id: int
    name: str
    client_quantity: bool
    quantity_min: int
    quantity_max: int
    alternative_ids: tuple[int, ...]
    choices: tuple[tuple[int, str], ...]  # the products that may be listed: (id, name)


def _product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id) if 0 < product_id < 2**63 else None
    if product is None:
        raise NotFound("That product does not exist.")
    return product


def _choices(session: Session, product: Product) -> list[Product]:
    return list(
        session.exec(
            select(Product)
            .where(col(Product.id) != product.id)
            .where(col(Product.archived).is_(False))
            .where(col(Product.billing_type) == RECURRING)
            .where(col(Product.currency) == product.currency)
            .where(col(Product.interval_unit) == product.interval_unit)
            .where(col(Product.interval_count) == product.interval_count)
            .order_by(col(Product.name))
        )
    )


def self_service(session: Session, actor: Acting, product_id: int) -> SelfService:
    require(actor, Permission.CATALOG_READ)
    product = _product(session, product_id)
    chosen = session.exec(
        select(ProductAlternative.alternative_id).where(
            col(ProductAlternative.product_id) == product_id
        )
    ).all()
    return SelfService(
        product_id,
        product.name,
        product.client_quantity,
        product.client_quantity_min,
        product.client_quantity_max,
        tuple(chosen),
        tuple((p.id or 0, p.name) for p in _choices(session, product)),
    )


def _bound(text: str) -> int:
    number = parse_whole_number(str(text).strip(), max_digits=9)
    if number is None or not 1 <= number <= MAX_QUANTITY:
        raise ValidationFailed(f"Enter a whole number from 1 to {MAX_QUANTITY:,}.")
    return number


def update_self_service(
    session: Session,
    actor: Acting,
    product_id: int,
    *,
    client_quantity: bool,
    quantity_min: str,
    quantity_max: str,
    alternative_ids: list[int],
    clock: Clock = system_clock,
) -> None:
    """Save the product's self-service settings; nothing is written if a field is wrong."""
    require(actor, Permission.CATALOG_WRITE)
    product = _product(session, product_id)
    if product.billing_type != RECURRING:
        raise ValidationFailed("One-time purchases cannot be changed by clients.")
    checks = FieldChecks()
    low = checks.value("quantity_min", 1, _bound, quantity_min)
    high = checks.value("quantity_max", 1, _bound, quantity_max)
    if low > high:
        checks.add("quantity_max", "The maximum cannot be below the minimum.")
    allowed = {p.id for p in _choices(session, product)}
    if any(i not in allowed for i in alternative_ids):
        checks.add("alternatives", "Choose plans of the same currency and interval.")
    checks.raise_if_failed()
    product.client_quantity = client_quantity
    product.client_quantity_min, product.client_quantity_max = low, high
    product.updated_at = clock.now()
    session.add(product)
    session.execute(
        sa.delete(ProductAlternative).where(col(ProductAlternative.product_id) == product_id)
    )
    for alternative_id in sorted(set(alternative_ids)):
        session.add(ProductAlternative(product_id=product_id, alternative_id=alternative_id))
    audit.record(
        session,
        "product.self_service_updated",
        actor.actor(),
        target=f"product:{product_id}",
        details=f"quantity {'on' if client_quantity else 'off'} ({low}-{high}); "
        f"{len(set(alternative_ids))} alternative plan(s)",
        clock=clock,
    )
