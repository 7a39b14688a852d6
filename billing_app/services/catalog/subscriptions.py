"""Subscriptions: attaching products to clients, and every change after that.

Recurring products create a subscription; one-time products a one-time purchase (kind
"one_time", status active until invoiced - the invoicing service ends it). Renewal dates come
from domain/periods.py, anchored on the first billing day (the trial's end, else the start).
``next_renewal_on`` is the start of the next period (the current period is
[previous renewal, next_renewal_on)).

MRR (domain/mrr.py): ``subscription.mrr_minor`` is the subscription's monthly amount while it
renews (active or past due), else 0; ``client.mrr_minor`` is mrr_total() over the client's
renewing recurring subscriptions, rounded once, and ``client.active_subscriptions`` their
count. Both are refreshed in the same transaction as every change, by ``refresh_client``.
Quantity and price changes are pending until the next period (``apply_pending``).

Every change writes a SubscriptionEvent (shown on the subscription) and an audit event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.customers import (
    Client,
    ClientWebsite,
    Product,
    Subscription,
    SubscriptionEvent,
)
from billing_app.domain.billing import ONE_TIME, RECURRING
from billing_app.domain.errors import DomainError
from billing_app.domain.lifecycle import SubscriptionStatus, is_running, renews, transition
from billing_app.domain.money import Money, div_half_up, format_money, parse_money
from billing_app.domain.mrr import RecurringPrice, arr_total, monthly_amount, mrr_total
from billing_app.domain.numbers import parse_whole_number
from billing_app.domain.periods import Interval, IntervalUnit, next_renewal
from billing_app.domain.permissions import visible_figures
from billing_app.services.access.identity import CurrentUser
from billing_app.services.common import audit
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed
from billing_app.services.common.listing import Page, clamp_page, like_pattern

S = SubscriptionStatus
# Status sets from the domain's lifecycle, for SQL filters.
RENEWING = tuple(s.value for s in SubscriptionStatus if renews(s))
RUNNING = tuple(s.value for s in SubscriptionStatus if is_running(s))
MAX_TRIAL_DAYS = 365
MAX_QUANTITY = 1_000_000


def interval_of(sub: Subscription) -> Interval | None:
    if sub.kind != RECURRING:
        return None
    return Interval(IntervalUnit(sub.interval_unit), sub.interval_count)


def anchor_of(sub: Subscription) -> date:
    """The first billing day: renewals are computed from it."""
    return sub.trial_ends_on or sub.start_date


def subscription_mrr_minor(sub: Subscription) -> int:
    """The subscription's monthly amount, rounded once (0 unless it renews)."""
    interval = interval_of(sub)
    if interval is None or sub.status not in RENEWING:
        return 0
    exact = monthly_amount(Money(sub.unit_price_minor, sub.currency), interval, sub.quantity)
    return div_half_up(exact.numerator, exact.denominator)


def _renewing_prices(
    session: Session, client_ids: Iterable[int] | None = None
) -> dict[int, list[RecurringPrice]]:
    """Per client, its renewing recurring charges summed per (currency, interval) in SQL:
    monthly_amount is linear, so mrr_total over the sums equals mrr_total over the rows."""
    amount = func.sum(col(Subscription.unit_price_minor) * col(Subscription.quantity))
    query = (
        sa.select(
            col(Subscription.client_id),
            col(Subscription.currency),
            col(Subscription.interval_unit),
            col(Subscription.interval_count),
            amount,
        )
        .where(col(Subscription.status).in_(RENEWING), col(Subscription.kind) == RECURRING)
        .group_by(
            col(Subscription.client_id),
            col(Subscription.currency),
            col(Subscription.interval_unit),
            col(Subscription.interval_count),
        )
    )
    if client_ids is not None:
        query = query.where(col(Subscription.client_id).in_(list(client_ids)))
    result: dict[int, list[RecurringPrice]] = {}
    for client_id, currency, unit, count, total in session.execute(query).all():
        result.setdefault(client_id, []).append(
            RecurringPrice(Money(int(total), currency), Interval(IntervalUnit(unit), count))
        )
    return result


def refresh_client(session: Session, client_id: int) -> Client:
    """Recompute the client's stored MRR and active subscription count from its subscriptions
    (call after any change, in the same transaction)."""
    session.flush()
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("That client does not exist.")
    prices = _renewing_prices(session, [client_id]).get(client_id, [])
    totals = mrr_total(prices)
    client.mrr_minor = totals[client.currency].amount_minor if client.currency in totals else 0
    client.active_subscriptions = session.exec(
        select(func.count())
        .select_from(Subscription)
        .where(
            col(Subscription.client_id) == client_id,
            col(Subscription.status).in_(RENEWING),
            col(Subscription.kind) == RECURRING,
        )
    ).one()
    session.add(client)
    return client


def recompute_mrr_from_scratch(session: Session) -> dict[int, Money]:
    """Every client's MRR recomputed with domain/mrr.py from the stored subscriptions, row by
    row in one pass (no SQL aggregation): what the stored figures must always equal."""
    rows = session.exec(
        select(Subscription).where(
            col(Subscription.status).in_(RENEWING), col(Subscription.kind) == RECURRING
        )
    ).all()
    per_client: dict[int, list[RecurringPrice]] = {}
    for sub in rows:
        interval = interval_of(sub)
        assert interval is not None
        per_client.setdefault(sub.client_id, []).append(
            RecurringPrice(Money(sub.unit_price_minor, sub.currency), interval, sub.quantity)
        )
    result: dict[int, Money] = {}
    for client_id, prices in per_client.items():
        for money in mrr_total(prices).values():
            result[client_id] = money
    return result


def _prices_by_currency(session: Session) -> list[RecurringPrice]:
    """Every renewing recurring charge summed in SQL per (currency, interval) - a handful of
    rows (monthly_amount is linear, so totals over the sums equal totals over the rows)."""
    amount = func.sum(col(Subscription.unit_price_minor) * col(Subscription.quantity))
    query = (
        sa.select(
            col(Subscription.currency),
            col(Subscription.interval_unit),
            col(Subscription.interval_count),
            amount,
        )
        .where(col(Subscription.status).in_(RENEWING), col(Subscription.kind) == RECURRING)
        .group_by(
            col(Subscription.currency),
            col(Subscription.interval_unit),
            col(Subscription.interval_count),
        )
    )
    return [
        RecurringPrice(Money(int(total), currency), Interval(IntervalUnit(unit), count))
        for currency, unit, count, total in session.execute(query).all()
    ]


def mrr_by_currency(session: Session) -> dict[str, Money]:
    """Total MRR per currency (dashboards), normalised and rounded once by domain/mrr.py."""
    return mrr_total(_prices_by_currency(session))


def recurring_revenue_by_currency(
    session: Session,
) -> tuple[dict[str, Money], dict[str, Money]]:
    """(MRR, ARR) per currency, both by domain/mrr.py from one query: ARR is the exact
    monthly amount x 12 rounded once (an every-4-weeks plan of 49.00 is 13 x 49.00 = 637.00
    a year), never the rounded MRR x 12."""
    prices = _prices_by_currency(session)
    return mrr_total(prices), arr_total(prices)


def client_arr(session: Session, client: Client) -> Money:
    """The client's annual run rate (arr_total over its renewing recurring subscriptions, in
    its currency), the yearly counterpart of the stored ``client.mrr_minor``."""
    assert client.id is not None
    totals = arr_total(_renewing_prices(session, [client.id]).get(client.id, []))
    return totals.get(client.currency, Money.zero(client.currency))


# --------------------------------------------------------------------------- attach


def _event(
    session: Session,
    actor: CurrentUser,
    sub: Subscription,
    action: str,
    details: str,
    clock: Clock,
) -> None:
    assert sub.id is not None
    session.add(
        SubscriptionEvent(
            subscription_id=sub.id,
            at=clock.now(),
            actor_id=actor.id,
            actor_label=actor.name or actor.email,
            action=action,
            details=details[:1000],
        )
    )
    audit.record(
        session,
        f"subscription.{action}",
        actor.actor(),
        target=f"subscription:{sub.id}",
        details=details,
        clock=clock,
    )


def _money_text(amount_minor: int, currency: str, locale: str = "en") -> str:
    return format_money(Money(amount_minor, currency), locale)


def _parse_quantity(text: str | int) -> int:
    quantity = parse_whole_number(str(text), max_digits=18)
    if quantity is None:
        raise ValidationFailed("Enter a whole number, such as 1 or 3.", field="quantity")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed(
            f"The quantity is a whole number from 1 to {MAX_QUANTITY:,}.", field="quantity"
        )
    return quantity


def _parse_price(text: str, currency: str, locale: str, field: str = "price") -> int:
    try:
        price = parse_money(text, currency, locale)
    except DomainError as exc:
        raise ValidationFailed(str(exc), field=field) from exc
    if price.is_negative:
        raise ValidationFailed("A price cannot be negative.", field=field)
    return price.amount_minor


@dataclass
class AttachInput:
    client_id: int
    product_id: int
    start_date: date
    quantity: str | int = 1
    price_override: str = ""  # typed in the client's currency and locale; "" = product price
    website_id: int | None = None
    trial_days: str | int = 0


def attach(
    session: Session, actor: CurrentUser, data: AttachInput, *, clock: Clock = system_clock
) -> Subscription:
    """Attach a product to a client (optionally to one of its websites)."""
    client = session.get(Client, data.client_id)
    if client is None:
        raise NotFound("That client does not exist.")
    if client.status == "archived":
        raise ValidationFailed("This client is archived: restore it first.", field="client_id")
    product = session.get(Product, data.product_id)
    if product is None:
        raise ValidationFailed("Choose a product.", field="product_id")
    if product.archived:
        raise ValidationFailed(f"{product.name} is archived.", field="product_id")
    if data.website_id is not None:
        site = session.get(ClientWebsite, data.website_id)
        if site is None or site.client_id != client.id:
            raise ValidationFailed("Choose one of this client's websites.", field="website_id")
    quantity = _parse_quantity(data.quantity)
    if data.price_override.strip():
        price_minor = _parse_price(data.price_override, client.currency, client.locale)
    elif product.currency != client.currency:
        raise ValidationFailed(
            f"{product.name} is priced in {product.currency} but {client.company} is billed in "
            f"{client.currency}: enter a price in {client.currency}.",
            field="price",
        )
    else:
        price_minor = product.price_minor
    trial_days = parse_whole_number(str(data.trial_days or 0).strip() or "0", max_digits=18)
    if trial_days is None:
        raise ValidationFailed("Enter a number of days.", field="trial_days")
    if not 0 <= trial_days <= MAX_TRIAL_DAYS:
        raise ValidationFailed(f"A trial lasts 0 to {MAX_TRIAL_DAYS} days.", field="trial_days")
    now = clock.now()
    today = now.date()
    sub = Subscription(
        client_id=data.client_id,
        product_id=data.product_id,
        website_id=data.website_id,
        description=product.name,
        quantity=quantity,
        unit_price_minor=price_minor,
        currency=client.currency,
        start_date=data.start_date,
        created_at=now,
        updated_at=now,
    )
    if product.billing_type == ONE_TIME:
        if trial_days:
            raise ValidationFailed("One-time purchases have no trial.", field="trial_days")
        sub.kind = ONE_TIME
        sub.interval_unit, sub.interval_count = "", 1
        sub.status = S.ACTIVE.value
        sub.next_renewal_on = None
    else:
        sub.kind = RECURRING
        sub.interval_unit, sub.interval_count = product.interval_unit, product.interval_count
        interval = interval_of(sub)
        assert interval is not None
        if trial_days:
            sub.trial_ends_on = data.start_date + timedelta(days=trial_days)
            sub.status = S.TRIALING.value
            sub.next_renewal_on = anchor_of(sub)
        else:
            sub.status = S.ACTIVE.value
            sub.next_renewal_on = next_renewal(anchor_of(sub), interval, today)
    sub.mrr_minor = subscription_mrr_minor(sub)
    session.add(sub)
    session.flush()
    label = "one-time purchase" if sub.kind == ONE_TIME else (interval_of(sub) or "").__str__()
    site_text = f" on website {data.website_id}" if data.website_id else ""
    _event(
        session,
        actor,
        sub,
        "created",
        f"{product.name} x{quantity} at {_money_text(price_minor, client.currency)} "
        f"({label}){site_text}, starting {data.start_date.isoformat()}",
        clock,
    )
    refresh_client(session, data.client_id)
    return sub


# --------------------------------------------------------------------------- changes


def get_subscription(session: Session, subscription_id: int) -> Subscription:
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound("That subscription does not exist.")
    return sub


def _move(sub: Subscription, target: SubscriptionStatus) -> None:
    try:
        sub.status = transition(SubscriptionStatus(sub.status), target).value
    except DomainError as exc:
        raise Conflict(str(exc)) from exc


def _save(session: Session, sub: Subscription, clock: Clock) -> None:
    sub.mrr_minor = subscription_mrr_minor(sub)
    sub.updated_at = clock.now()
    session.add(sub)
    refresh_client(session, sub.client_id)


def _recurring(sub: Subscription) -> Interval:
    interval = interval_of(sub)
    if interval is None:
        raise Conflict("A one-time purchase has no renewals.")
    return interval


def cancel_now(
    session: Session, actor: CurrentUser, subscription_id: int, *, clock: Clock = system_clock
) -> Subscription:
    """Stop now: canceled and ended in one operation; nothing more is billed."""
    sub = get_subscription(session, subscription_id)
    if sub.status == S.ENDED.value:
        raise Conflict("This subscription has already ended.")
    now = clock.now()
    if sub.status != S.CANCELED.value:
        _move(sub, S.CANCELED)
        sub.canceled_at = now
    _move(sub, S.ENDED)
    sub.ended_at = now
    sub.ends_on = now.date()
    sub.next_renewal_on = None
    sub.cancel_at_period_end = False
    sub.pending_quantity = sub.pending_unit_price_minor = None
    _save(session, sub, clock)
    _event(session, actor, sub, "canceled_now", "Canceled immediately", clock)
    return sub


def cancel_at_period_end(
    session: Session, actor: CurrentUser, subscription_id: int, *, clock: Clock = system_clock
) -> Subscription:
    """No further renewals; service runs until the end of the current period."""
    sub = get_subscription(session, subscription_id)
    _recurring(sub)
    if sub.status == S.PAUSED.value:
        raise Conflict("Resume the subscription or cancel it now.")
    _move(sub, S.CANCELED)
    sub.canceled_at = clock.now()
    sub.cancel_at_period_end = True
    sub.ends_on = sub.next_renewal_on or clock.now().date()
    sub.next_renewal_on = None
    _save(session, sub, clock)
    _event(
        session,
        actor,
        sub,
        "cancel_at_period_end",
        f"Cancels at the end of the period, on {sub.ends_on.isoformat()}",
        clock,
    )
    return sub


def resume_cancellation(
    session: Session, actor: CurrentUser, subscription_id: int, *, clock: Clock = system_clock
) -> Subscription:
    """Withdraw a cancel-at-period-end before the period is over."""
    sub = get_subscription(session, subscription_id)
    interval = _recurring(sub)
    if sub.status != S.CANCELED.value or not sub.cancel_at_period_end:
        raise Conflict("Only a subscription set to cancel at period end can be resumed.")
    today = clock.now().date()
    if sub.ends_on is not None and sub.ends_on <= today:
        raise Conflict("The period is over: attach the product again instead.")
    _move(sub, S.ACTIVE)
    sub.cancel_at_period_end = False
    sub.canceled_at = None
    sub.next_renewal_on = sub.ends_on or next_renewal(anchor_of(sub), interval, today)
    sub.ends_on = None
    _save(session, sub, clock)
    _event(session, actor, sub, "cancellation_withdrawn", "Will renew again", clock)
    return sub


def pause(
    session: Session, actor: CurrentUser, subscription_id: int, *, clock: Clock = system_clock
) -> Subscription:
    sub = get_subscription(session, subscription_id)
    _recurring(sub)
    _move(sub, S.PAUSED)
    sub.paused_at = clock.now()
    sub.next_renewal_on = None
    _save(session, sub, clock)
    _event(session, actor, sub, "paused", "Paused: no renewals until resumed", clock)
    return sub


def unpause(
    session: Session, actor: CurrentUser, subscription_id: int, *, clock: Clock = system_clock
) -> Subscription:
    sub = get_subscription(session, subscription_id)
    interval = _recurring(sub)
    if sub.status != S.PAUSED.value:
        raise Conflict("This subscription is not paused.")
    _move(sub, S.ACTIVE)
    sub.paused_at = None
    sub.next_renewal_on = next_renewal(anchor_of(sub), interval, clock.now().date())
    _save(session, sub, clock)
    _event(
        session,
        actor,
        sub,
        "resumed",
        f"Resumed; next renewal {sub.next_renewal_on.isoformat()}",
        clock,
    )
    return sub


def change(
    session: Session,
    actor: CurrentUser,
    subscription_id: int,
    *,
    quantity: str | int,
    price: str,
    clock: Clock = system_clock,
) -> Subscription:
    """Change the quantity and/or unit price from the next period on (pending until then)."""
    sub = get_subscription(session, subscription_id)
    _recurring(sub)
    if sub.status not in RUNNING:
        raise Conflict("Only a running subscription can be changed.")
    client = session.get(Client, sub.client_id)
    assert client is not None
    new_quantity = _parse_quantity(quantity)
    new_price = (
        _parse_price(price, sub.currency, client.locale) if price.strip() else sub.unit_price_minor
    )
    if new_quantity == sub.quantity and new_price == sub.unit_price_minor:
        if sub.pending_quantity is None and sub.pending_unit_price_minor is None:
            raise ValidationFailed("Nothing changed.", field="quantity")
        sub.pending_quantity = sub.pending_unit_price_minor = None
        _save(session, sub, clock)
        _event(session, actor, sub, "change_withdrawn", "Pending change withdrawn", clock)
        return sub
    sub.pending_quantity = new_quantity
    sub.pending_unit_price_minor = new_price
    _save(session, sub, clock)
    when = sub.next_renewal_on.isoformat() if sub.next_renewal_on else "the next period"
    _event(
        session,
        actor,
        sub,
        "change_scheduled",
        f"From {when}: quantity {sub.quantity} -> {new_quantity}, unit price "
        f"{_money_text(sub.unit_price_minor, sub.currency)} -> "
        f"{_money_text(new_price, sub.currency)}",
        clock,
    )
    return sub


def apply_pending(
    session: Session, actor: CurrentUser, subscription_id: int, *, clock: Clock = system_clock
) -> Subscription:
    """Make a scheduled quantity/price change effective (the renewal job calls this when the
    new period starts, before invoicing it)."""
    sub = get_subscription(session, subscription_id)
    if sub.pending_quantity is None and sub.pending_unit_price_minor is None:
        return sub
    if sub.pending_quantity is not None:
        sub.quantity = sub.pending_quantity
    if sub.pending_unit_price_minor is not None:
        sub.unit_price_minor = sub.pending_unit_price_minor
    sub.pending_quantity = sub.pending_unit_price_minor = None
    _save(session, sub, clock)
    _event(
        session,
        actor,
        sub,
        "change_applied",
        f"Now quantity {sub.quantity} at {_money_text(sub.unit_price_minor, sub.currency)}",
        clock,
    )
    return sub


def reprice_product_subscriptions(
    session: Session,
    actor: CurrentUser,
    product_id: int,
    price_minor: int,
    *,
    clock: Clock = system_clock,
) -> int:
    """Schedule the product's new price on its running subscriptions in the product's currency
    (effective next period). Returns how many were updated."""
    product = session.get(Product, product_id)
    assert product is not None
    subs = session.exec(
        select(Subscription).where(
            col(Subscription.product_id) == product_id,
            col(Subscription.status).in_(RUNNING),
            col(Subscription.kind) == RECURRING,
            col(Subscription.currency) == product.currency,
        )
    ).all()
    for sub in subs:
        assert sub.id is not None
        if sub.unit_price_minor == price_minor:
            continue
        sub.pending_quantity = sub.pending_quantity or sub.quantity
        sub.pending_unit_price_minor = price_minor
        sub.updated_at = clock.now()
        session.add(sub)
        _event(
            session,
            actor,
            sub,
            "change_scheduled",
            f"Product repriced: unit price {_money_text(sub.unit_price_minor, sub.currency)} -> "
            f"{_money_text(price_minor, sub.currency)} from the next period",
            clock,
        )
    return len(subs)


def end_due_cancellations(
    session: Session, actor: CurrentUser, *, clock: Clock = system_clock
) -> int:
    """canceled -> ended for every cancel-at-period-end whose period is over (scheduler)."""
    today = clock.now().date()
    subs = session.exec(
        select(Subscription).where(
            col(Subscription.status) == S.CANCELED.value,
            col(Subscription.ends_on) <= today,
        )
    ).all()
    for sub in subs:
        _move(sub, S.ENDED)
        sub.ended_at = clock.now()
        _save(session, sub, clock)
        _event(session, actor, sub, "ended", "The paid-for period is over", clock)
    return len(subs)


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    client_id: int
    client_company: str
    product_id: int
    product_name: str
    website_id: int | None
    website_name: str
    kind: str
    status: str
    quantity: int
    unit_price: Money
    amount: Money  # unit price x quantity per period
    interval_label: str
    mrr: Money | None  # None when the viewer may not see MRR (FIGURE_PERMISSIONS)
    start_date: date
    next_renewal_on: date | None
    ends_on: date | None
    cancel_at_period_end: bool
    pending_quantity: int | None
    pending_unit_price: Money | None
    created_at: datetime


SUBSCRIPTION_SORTS: dict[str, Any] = {
    "next_renewal": col(Subscription.next_renewal_on),
    "created": col(Subscription.created_at),
    "mrr": col(Subscription.mrr_minor),
}

TABS = {
    "active": (col(Subscription.kind) == RECURRING) & col(Subscription.status).in_(RUNNING),
    "one_time": col(Subscription.kind) == ONE_TIME,
    "inactive": (col(Subscription.kind) == RECURRING)
    & col(Subscription.status).in_([S.CANCELED.value, S.ENDED.value]),
}


def list_subscriptions(
    session: Session,
    viewer: CurrentUser,
    *,
    client_id: int | None = None,
    product_id: int | None = None,
    status: str = "",
    tab: str = "",
    search: str = "",
    sort: str = "next_renewal",
    descending: bool = False,
    page: int = 1,
    per_page: int = 25,
) -> Page[SubscriptionRow]:
    """A page of subscriptions with their client, product and website names (joined). MRR is
    None, and not sorted by, for a viewer who may not see it (docs/security.md item 43)."""
    show_mrr = "mrr" in visible_figures(viewer.permissions)
    page, per_page = clamp_page(page, per_page)
    conditions: list[sa.ColumnElement[bool]] = []
    if client_id is not None:
        conditions.append(col(Subscription.client_id) == client_id)
    if product_id is not None:
        conditions.append(col(Subscription.product_id) == product_id)
    if status in {s.value for s in SubscriptionStatus}:
        conditions.append(col(Subscription.status) == status)
    if tab in TABS:
        conditions.append(TABS[tab])
    count = select(func.count()).select_from(Subscription)
    if search.strip():
        pattern = like_pattern(search)
        conditions.append(
            sa.or_(
                col(Client.search_text).like(pattern, escape="\\"),
                sa.func.lower(col(Subscription.description)).like(pattern, escape="\\"),
            )
        )
        count = count.join(Client, col(Client.id) == col(Subscription.client_id))
    total = session.exec(count.where(*conditions)).one()
    if sort not in SUBSCRIPTION_SORTS or (sort == "mrr" and not show_mrr):
        sort = "next_renewal"
    order = SUBSCRIPTION_SORTS[sort]
    primary = order.desc() if descending else order.asc()
    query = (
        select(Subscription, Client.company, Product.name, ClientWebsite.name)
        .join(Client, col(Client.id) == col(Subscription.client_id))
        .join(Product, col(Product.id) == col(Subscription.product_id))
        .outerjoin(ClientWebsite, col(ClientWebsite.id) == col(Subscription.website_id))
        .where(*conditions)
        .order_by(primary.nulls_last(), col(Subscription.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    rows = [
        _sub_row(sub, company, name, site, show_mrr=show_mrr)
        for sub, company, name, site in session.exec(query)
    ]
    return Page(rows=rows, total=total, page=page, per_page=per_page)


def _sub_row(
    sub: Subscription, company: str, product_name: str, site: str | None, *, show_mrr: bool
) -> SubscriptionRow:
    assert sub.id is not None
    interval = interval_of(sub)
    pending_price = (
        Money(sub.pending_unit_price_minor, sub.currency)
        if sub.pending_unit_price_minor is not None
        else None
    )
    return SubscriptionRow(
        id=sub.id,
        client_id=sub.client_id,
        client_company=company,
        product_id=sub.product_id,
        product_name=sub.description or product_name,
        website_id=sub.website_id,
        website_name=site or "",
        kind=sub.kind,
        status=sub.status,
        quantity=sub.quantity,
        unit_price=Money(sub.unit_price_minor, sub.currency),
        amount=Money(sub.unit_price_minor * sub.quantity, sub.currency),
        interval_label=interval.label if interval else "one-time",
        mrr=Money(sub.mrr_minor, sub.currency) if show_mrr else None,
        start_date=sub.start_date,
        next_renewal_on=sub.next_renewal_on,
        ends_on=sub.ends_on,
        cancel_at_period_end=sub.cancel_at_period_end,
        pending_quantity=sub.pending_quantity,
        pending_unit_price=pending_price,
        created_at=sub.created_at,
    )


def subscription_detail(
    session: Session, viewer: CurrentUser, subscription_id: int
) -> tuple[SubscriptionRow, list[SubscriptionEvent]]:
    """One subscription and its history (newest first); MRR only if the viewer may see it."""
    query = (
        select(Subscription, Client.company, Product.name, ClientWebsite.name)
        .join(Client, col(Client.id) == col(Subscription.client_id))
        .join(Product, col(Product.id) == col(Subscription.product_id))
        .outerjoin(ClientWebsite, col(ClientWebsite.id) == col(Subscription.website_id))
        .where(col(Subscription.id) == subscription_id)
    )
    found = session.exec(query).first()
    if found is None:
        raise NotFound("That subscription does not exist.")
    events = session.exec(
        select(SubscriptionEvent)
        .where(col(SubscriptionEvent.subscription_id) == subscription_id)
        .order_by(col(SubscriptionEvent.at).desc(), col(SubscriptionEvent.id).desc())
    ).all()
    show_mrr = "mrr" in visible_figures(viewer.permissions)
    return _sub_row(*found, show_mrr=show_mrr), list(events)


def tab_counts(session: Session, client_id: int) -> dict[str, int]:
    """How many subscriptions the client has under each overview tab (one query)."""
    cases = [
        func.sum(sa.case((condition, 1), else_=0)).label(name) for name, condition in TABS.items()
    ]
    row = session.execute(sa.select(*cases).where(col(Subscription.client_id) == client_id)).one()
    return {name: int(value or 0) for name, value in zip(TABS, row, strict=True)}


def is_renewing(status: str) -> bool:
    return renews(SubscriptionStatus(status))
