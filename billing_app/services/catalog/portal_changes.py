"""Clients change their own subscriptions in the portal, where the agency allows it per product
(docs/architecture.md, "Prorated changes"): the quantity between the product's bounds, a switch
to one of the plans the agency lists as the product's alternatives, and keeping a subscription
set to cancel at the end of its period. Each change is previewed (what is paid now, the new
price from the next renewal) and confirmed through services/catalog/proration.py, prorated now
or from the next period as the agency chose in Settings.

Everything is scoped by the client the session looks at: another client's subscription is the
same NotFound as one that does not exist; ids from the browser only pick among the client's own
subscriptions and the product's listed alternatives.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from billing_app.db.customers import Client, Product, ProductAlternative, Subscription
from billing_app.domain.billing import RECURRING
from billing_app.domain.lifecycle import SubscriptionStatus
from billing_app.domain.money import Money, format_money
from billing_app.domain.numbers import parse_whole_number
from billing_app.domain.permissions import ClientPermission
from billing_app.i18n import N_, gettext
from billing_app.services.access.portal_identity import (
    NOT_FOUND,
    ClientUser,
    require_client,
    require_member,
)
from billing_app.services.catalog import subscriptions
from billing_app.services.catalog.proration import (
    NEXT_PERIOD,
    PRORATE,
    Outcome,
    Plan,
    Quote,
    apply_change,
    client_changes_prorate,
    made_before,
    quote,
)
from billing_app.services.catalog.recurring_revenue import RUNNING
from billing_app.services.common.actors import SystemActor
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed

CHANGE = ClientPermission.SUBSCRIPTIONS_CHANGE


@dataclass(frozen=True)
class PlanChoice:
    id: int
    name: str
    price: str  # per period, before taxes, in the client's locale


@dataclass(frozen=True)
class ChangeOptions:
    """What the client may change on one subscription."""

    subscription_id: int
    name: str
    quantity: int
    quantity_min: int
    quantity_max: int
    can_change_quantity: bool
    plans: tuple[PlanChoice, ...]  # the alternatives to switch to
    prorate: bool  # changes take effect now (else from the next period)
    locale: str  # the client's: the dialog's sentences, money and dates


def portal_locale(session: Session, actor: ClientUser) -> str:
    """The language of the client the session looks at: the dialog's sentences and toasts."""
    client = session.get(Client, require_member(actor))
    return client.locale if client is not None else "en"


def _own(session: Session, client_id: int, subscription_id: int) -> Subscription:
    """One of the client's subscriptions; another client's is not found."""
    sub = session.get(Subscription, subscription_id) if 0 < subscription_id < 2**63 else None
    if sub is None or sub.client_id != client_id:
        raise NotFound(NOT_FOUND)
    return sub


def alternatives(session: Session, sub: Subscription) -> list[Product]:
    """The plans the agency lets clients switch ``sub`` to: same currency and interval."""
    return list(
        session.exec(
            select(Product)
            .join(ProductAlternative, col(ProductAlternative.alternative_id) == col(Product.id))
            .where(col(ProductAlternative.product_id) == sub.product_id)
            .where(col(Product.archived).is_(False))
            .where(col(Product.billing_type) == RECURRING)
            .where(col(Product.currency) == sub.currency)
            .where(col(Product.interval_unit) == sub.interval_unit)
            .where(col(Product.interval_count) == sub.interval_count)
            .order_by(col(Product.price_minor), col(Product.id))
        )
    )


def may_change(session: Session, sub: Subscription) -> bool:
    """Whether the client may change anything on ``sub`` (its product allows it)."""
    if sub.kind != RECURRING or sub.status not in RUNNING or sub.cancel_at_period_end:
        return False
    product = session.get(Product, sub.product_id)
    return bool(product and product.client_quantity) or bool(alternatives(session, sub))


def change_options(session: Session, actor: ClientUser, subscription_id: int) -> ChangeOptions:
    sub = _own(session, require_client(actor, CHANGE), subscription_id)
    if not may_change(session, sub):
        raise Conflict(N_("This service cannot be changed here: ask the agency."))
    product = session.get(Product, sub.product_id)
    assert product is not None and sub.id is not None
    client = session.get(Client, sub.client_id)
    locale = client.locale if client is not None else "en"
    return ChangeOptions(
        subscription_id=sub.id,
        name=sub.description or product.name,
        quantity=sub.quantity,
        quantity_min=product.client_quantity_min,
        quantity_max=product.client_quantity_max,
        can_change_quantity=product.client_quantity,
        plans=tuple(
            PlanChoice(p.id or 0, p.name, format_money(Money(p.price_minor, p.currency), locale))
            for p in alternatives(session, sub)
        ),
        prorate=client_changes_prorate(session),
        locale=locale,
    )


def _wanted(session: Session, sub: Subscription, quantity: str, plan_id: int) -> Plan:
    """The plan the client asks for, checked against what the agency allows."""
    product = session.get(Product, sub.product_id)
    assert product is not None
    new_product = product
    price = sub.unit_price_minor
    if plan_id and plan_id != sub.product_id:
        chosen = [p for p in alternatives(session, sub) if p.id == plan_id]
        if not chosen:
            raise ValidationFailed(N_("Choose one of the plans offered."), field="plan")
        new_product, price = chosen[0], chosen[0].price_minor
    number = parse_whole_number(str(quantity).strip(), max_digits=9)
    if number is None:
        raise ValidationFailed(N_("Enter a whole number, such as 1 or 3."), field="quantity")
    if number != sub.quantity:
        if not new_product.client_quantity:
            raise ValidationFailed(
                N_("The quantity of this plan cannot be changed."), field="quantity"
            )
        low, high = new_product.client_quantity_min, new_product.client_quantity_max
        if not low <= number <= high:
            client = session.get(Client, sub.client_id)
            locale = client.locale if client is not None else None
            msg = gettext("Choose a quantity from {low} to {high}.", locale=locale)
            raise ValidationFailed(msg.format(low=low, high=high), field="quantity")
    return Plan(new_product.id or 0, number, price)


def _timing(session: Session) -> str:
    return PRORATE if client_changes_prorate(session) else NEXT_PERIOD


def portal_quote(
    session: Session,
    actor: ClientUser,
    subscription_id: int,
    *,
    quantity: str,
    plan_id: int = 0,
    clock: Clock = system_clock,
) -> Quote:
    """The preview of a change the client asks for."""
    sub = _own(session, require_client(actor, CHANGE), subscription_id)
    if not may_change(session, sub):
        raise Conflict(N_("This service cannot be changed here: ask the agency."))
    new = _wanted(session, sub, quantity, plan_id)
    return quote(session, sub, new, _timing(session), clock=clock)


def portal_change(
    session: Session,
    actor: ClientUser,
    subscription_id: int,
    expected: Plan,
    *,
    quantity: str,
    plan_id: int = 0,
    token: str,
    clock: Clock = system_clock,
) -> Outcome:
    """Make the change the client previewed (``expected``: the subscription as previewed)."""
    sub = _own(session, require_client(actor, CHANGE), subscription_id)
    made = made_before(session, subscription_id, token)
    if made is not None:
        return made  # a double submit: the change was made once
    if not may_change(session, sub):
        raise Conflict(N_("This service cannot be changed here: ask the agency."))
    new = _wanted(session, sub, quantity, plan_id)
    return apply_change(
        session,
        actor,
        subscription_id,
        expected,
        new,
        timing=_timing(session),
        token=token,
        by_client=True,
        clock=clock,
    )


def keep_subscription(
    session: Session, actor: ClientUser, subscription_id: int, *, clock: Clock = system_clock
) -> None:
    """Withdraw a cancel-at-period-end: the subscription renews again."""
    sub = _own(session, require_client(actor, CHANGE), subscription_id)
    if sub.status != SubscriptionStatus.CANCELED.value or not sub.cancel_at_period_end:
        raise Conflict(N_("This service is not set to end."))
    assert sub.id is not None
    acting = SystemActor(label=actor.actor().label)
    subscriptions.resume_cancellation(session, acting, sub.id, clock=clock)
