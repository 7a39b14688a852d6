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

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from billing_app.db.customers import (
    Client,
    ClientWebsite,
    Product,
    Subscription,
    SubscriptionEvent,
)
from billing_app.domain.billing import ONE_TIME, RECURRING
from billing_app.domain.errors import DomainError
from billing_app.domain.lifecycle import SubscriptionStatus, transition
from billing_app.domain.money import Money, format_money, parse_money
from billing_app.domain.numbers import parse_whole_number
from billing_app.domain.periods import Interval, next_renewal
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.catalog.recurring_revenue import (
    RUNNING,
    anchor_of,
    interval_of,
    refresh_client,
    subscription_mrr_minor,
)
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, FieldChecks, NotFound, ValidationFailed

S = SubscriptionStatus


MAX_TRIAL_DAYS = 365


MAX_QUANTITY = 1_000_000


def record_event(
    session: Session,
    actor: Acting,
    sub: Subscription,
    action: str,
    details: str,
    clock: Clock,
) -> None:
    """A subscription's history entry and its audit entry (also for a change asked for
    elsewhere, such as a client's cancellation request in the portal)."""
    assert sub.id is not None
    who = actor.actor()
    label = (actor.name or actor.email) if isinstance(actor, CurrentUser) else who.label
    session.add(
        SubscriptionEvent(
            subscription_id=sub.id,
            at=clock.now(),
            actor_id=who.user_id,
            actor_label=label,
            action=action,
            details=details[:1000],
        )
    )
    audit.record(
        session,
        f"subscription.{action}",
        who,
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
    start_date: date | None  # None: the form's date could not be read
    quantity: str | int = 1
    price_override: str = ""  # typed in the client's currency and locale; "" = product price
    website_id: int | None = None
    trial_days: str | int = 0


def _parse_trial_days(text: str | int) -> int:
    trial_days = parse_whole_number(str(text or 0).strip() or "0", max_digits=18)
    if trial_days is None:
        raise ValidationFailed("Enter a number of days.", field="trial_days")
    if not 0 <= trial_days <= MAX_TRIAL_DAYS:
        raise ValidationFailed(f"A trial lasts 0 to {MAX_TRIAL_DAYS} days.", field="trial_days")
    return trial_days


def attach(
    session: Session, actor: Acting, data: AttachInput, *, clock: Clock = system_clock
) -> Subscription:
    """Attach a product to a client (optionally to one of its websites). Every field's problem
    is reported at once, and nothing is written if there is one."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
    client = session.get(Client, data.client_id)
    if client is None:
        raise NotFound("That client does not exist.")
    checks = FieldChecks()
    if client.status == "archived":
        checks.add("client_id", "This client is archived: restore it first.")
    product = session.get(Product, data.product_id) if data.product_id else None
    if product is None:
        checks.add("product_id", "Choose a product.")
    elif product.archived:
        checks.add("product_id", f"{product.name} is archived.")
    if data.website_id is not None:
        site = session.get(ClientWebsite, data.website_id)
        if site is None or site.client_id != client.id:
            checks.add("website_id", "Choose one of this client's websites.")
    quantity = checks.value("quantity", 1, _parse_quantity, data.quantity)
    price_minor = 0
    if data.price_override.strip():
        price_minor = checks.value(
            "price", 0, _parse_price, data.price_override, client.currency, client.locale
        )
    elif product is not None and product.currency != client.currency:
        checks.add(
            "price",
            f"{product.name} is priced in {product.currency} but {client.company} is billed in "
            f"{client.currency}: enter a price in {client.currency}.",
        )
    elif product is not None:
        price_minor = product.price_minor
    if data.start_date is None:
        checks.add("start_date", "Choose the start date.")
    trial_days = checks.value("trial_days", 0, _parse_trial_days, data.trial_days)
    if product is not None and product.billing_type == ONE_TIME and trial_days:
        checks.add("trial_days", "One-time purchases have no trial.")
    checks.raise_if_failed()
    assert product is not None and data.start_date is not None
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
        sub.kind = ONE_TIME
        sub.interval_unit, sub.interval_count = "", 1
        sub.status, sub.next_renewal_on, sub.next_billing_on = S.ACTIVE.value, None, data.start_date
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
        sub.next_billing_on = anchor_of(sub)  # renewals bill from the first billing day
    sub.mrr_minor = subscription_mrr_minor(sub)
    session.add(sub)
    session.flush()
    label = "one-time purchase" if sub.kind == ONE_TIME else (interval_of(sub) or "").__str__()
    site_text = f" on website {data.website_id}" if data.website_id else ""
    record_event(
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
    session: Session, actor: Acting, subscription_id: int, *, clock: Clock = system_clock
) -> Subscription:
    """Stop now: canceled and ended in one operation; nothing more is billed."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
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
    sub.next_renewal_on = sub.next_billing_on = None
    sub.cancel_at_period_end = False
    sub.pending_quantity = sub.pending_unit_price_minor = None
    _save(session, sub, clock)
    record_event(session, actor, sub, "canceled_now", "Canceled immediately", clock)
    return sub


def cancel_at_period_end(
    session: Session, actor: Acting, subscription_id: int, *, clock: Clock = system_clock
) -> Subscription:
    """No further renewals; service runs until the end of the current period."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
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
    record_event(
        session,
        actor,
        sub,
        "cancel_at_period_end",
        f"Cancels at the end of the period, on {sub.ends_on.isoformat()}",
        clock,
    )
    return sub


def resume_cancellation(
    session: Session, actor: Acting, subscription_id: int, *, clock: Clock = system_clock
) -> Subscription:
    """Withdraw a cancel-at-period-end before the period is over."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
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
    record_event(session, actor, sub, "cancellation_withdrawn", "Will renew again", clock)
    return sub


def pause(
    session: Session, actor: Acting, subscription_id: int, *, clock: Clock = system_clock
) -> Subscription:
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
    sub = get_subscription(session, subscription_id)
    _recurring(sub)
    _move(sub, S.PAUSED)
    sub.paused_at = clock.now()
    sub.next_renewal_on = None
    _save(session, sub, clock)
    record_event(session, actor, sub, "paused", "Paused: no renewals until resumed", clock)
    return sub


def unpause(
    session: Session, actor: Acting, subscription_id: int, *, clock: Clock = system_clock
) -> Subscription:
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
    sub = get_subscription(session, subscription_id)
    interval = _recurring(sub)
    if sub.status != S.PAUSED.value:
        raise Conflict("This subscription is not paused.")
    _move(sub, S.ACTIVE)
    sub.paused_at = None
    sub.next_renewal_on = next_renewal(anchor_of(sub), interval, clock.now().date())
    sub.next_billing_on = sub.next_renewal_on  # the paused periods are not billed
    _save(session, sub, clock)
    record_event(
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
    actor: Acting,
    subscription_id: int,
    *,
    quantity: str | int,
    price: str,
    clock: Clock = system_clock,
) -> Subscription:
    """Change the quantity and/or unit price from the next period on (pending until then)."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
    sub = get_subscription(session, subscription_id)
    _recurring(sub)
    if sub.status not in RUNNING:
        raise Conflict("Only a running subscription can be changed.")
    client = session.get(Client, sub.client_id)
    assert client is not None
    checks = FieldChecks()
    new_quantity = checks.value("quantity", sub.quantity, _parse_quantity, quantity)
    new_price = sub.unit_price_minor
    if price.strip():
        new_price = checks.value(
            "price", new_price, _parse_price, price, sub.currency, client.locale
        )
    checks.raise_if_failed()
    if new_quantity == sub.quantity and new_price == sub.unit_price_minor:
        if sub.pending_quantity is None and sub.pending_unit_price_minor is None:
            raise ValidationFailed("Nothing changed.", field="quantity")
        sub.pending_quantity = sub.pending_unit_price_minor = None
        _save(session, sub, clock)
        record_event(session, actor, sub, "change_withdrawn", "Pending change withdrawn", clock)
        return sub
    sub.pending_quantity = new_quantity
    sub.pending_unit_price_minor = new_price
    _save(session, sub, clock)
    when = sub.next_renewal_on.isoformat() if sub.next_renewal_on else "the next period"
    record_event(
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
    session: Session, actor: Acting, subscription_id: int, *, clock: Clock = system_clock
) -> Subscription:
    """Make a scheduled quantity/price change effective (the renewal job calls this when the
    new period starts, before invoicing it)."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
    sub = get_subscription(session, subscription_id)
    if sub.pending_quantity is None and sub.pending_unit_price_minor is None:
        return sub
    if sub.pending_quantity is not None:
        sub.quantity = sub.pending_quantity
    if sub.pending_unit_price_minor is not None:
        sub.unit_price_minor = sub.pending_unit_price_minor
    sub.pending_quantity = sub.pending_unit_price_minor = None
    _save(session, sub, clock)
    record_event(
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
    actor: Acting,
    product_id: int,
    price_minor: int,
    *,
    clock: Clock = system_clock,
) -> int:
    """Schedule the product's new price on its running subscriptions in the product's currency
    (effective next period). Returns how many were updated. Part of update_product, which
    checked its actor."""
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
    updated = 0
    for sub in subs:
        assert sub.id is not None
        if sub.unit_price_minor == price_minor:
            continue
        updated += 1
        sub.pending_quantity = sub.pending_quantity or sub.quantity
        sub.pending_unit_price_minor = price_minor
        sub.updated_at = clock.now()
        session.add(sub)
        record_event(
            session,
            actor,
            sub,
            "change_scheduled",
            f"Product repriced: unit price {_money_text(sub.unit_price_minor, sub.currency)} -> "
            f"{_money_text(price_minor, sub.currency)} from the next period",
            clock,
        )
    return updated


def end_due_cancellations(session: Session, actor: Acting, *, clock: Clock = system_clock) -> int:
    """canceled -> ended for every cancel-at-period-end whose period is over (scheduler)."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
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
        record_event(session, actor, sub, "ended", "The paid-for period is over", clock)
    return len(subs)
