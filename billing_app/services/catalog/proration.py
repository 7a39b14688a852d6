"""Changing a subscription's quantity, price or plan, prorated now or from the next period
(docs/architecture.md, "Prorated changes"). Staff use it from the subscription's change dialog;
clients through services/catalog/portal_changes.py, which checks what they may change.

A quote says what a change costs before it is confirmed (the dialog's live preview): for the
rest of the current period (today, the agency's date, to the period's end) the prorated
difference (domain/proration.py), priced as one line with the product's taxes; and the new
amount per period from the next renewal. Confirming takes the quote's ``token`` and what the
subscription was when quoted: under the subscription's lock, a token seen before returns the
first outcome (a double submit changes it once), and a subscription changed meanwhile is refused.
Prorated now, the subscription changes at once (its MRR movement written by the ledger's
listener) and the money follows (services/catalog/proration_money.py); from the next period,
the change is pending until the renewal that starts it. Every change is a SubscriptionChange
row, a subscription timeline event and an audit entry.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from babel.dates import format_date
from sqlmodel import Session, col, select

from billing_app.db.customers import (
    Client,
    ClientWebsite,
    Product,
    Subscription,
    SubscriptionChange,
)
from billing_app.domain.billing import RECURRING
from billing_app.domain.lifecycle import SubscriptionStatus
from billing_app.domain.money import Money, format_money
from billing_app.domain.periods import Period, period_at
from billing_app.domain.permissions import Permission
from billing_app.domain.proration import period_amount, prorate_now
from billing_app.i18n import N_
from billing_app.services.agency.branding import get_agency, today_at_agency
from billing_app.services.catalog.proration_money import (
    charge_invoice,
    credit_change,
    priced,
    product_rates,
)
from billing_app.services.catalog.recurring_revenue import (
    RUNNING,
    anchor_of,
    interval_of,
    refresh_client,
    subscription_mrr_minor,
)
from billing_app.services.catalog.subscriptions import (
    MAX_QUANTITY,
    get_subscription,
    record_event,
)
from billing_app.services.catalog.subscriptions import _parse_price as parse_price
from billing_app.services.catalog.subscriptions import _parse_quantity as parse_quantity
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, FieldChecks, NotFound, ValidationFailed

PRORATE = "prorate"
NEXT_PERIOD = "next_period"
TIMINGS = (PRORATE, NEXT_PERIOD)
CHANGED_MEANWHILE = N_(
    "This subscription changed meanwhile: check the new preview and confirm again."
)


@dataclass(frozen=True)
class Plan:
    """What a subscription is (or becomes): its product, quantity and unit price."""

    product_id: int
    quantity: int
    unit_price_minor: int


def plan_of(sub: Subscription) -> Plan:
    return Plan(sub.product_id, sub.quantity, sub.unit_price_minor)


@dataclass(frozen=True)
class Quote:
    """What a change costs (minor units, in ``currency``; ``*_total`` taxes included)."""

    subscription_id: int
    currency: str
    timing: str
    old: Plan
    new: Plan
    old_name: str
    new_name: str
    period: Period | None  # the current period, None when nothing is billed yet (a trial)
    change_on: date  # the day the change takes effect
    days_left: int
    charge_net: int  # before taxes: the prorated difference (domain/proration.py)
    charge_total: int  # paid now (an upgrade prorated now)
    credit_total: int  # given back now (a downgrade prorated now)
    next_total: int  # per period from the next renewal
    next_renewal_on: date | None
    description: str  # the invoice line or credit reason
    token: str  # confirm with it: a double submit changes the subscription once


@dataclass(frozen=True)
class Outcome:
    """What a confirmed change did."""

    timing: str
    amount_minor: int  # charged (> 0) or credited (< 0), taxes included
    currency: str
    invoice_id: int | None = None
    invoice_number: str = ""
    charge_pending: bool = False  # charge the invoice to the default card after the commit
    credit_note_number: str = ""
    to_balance: bool = False  # the credit went to the client's credit balance
    repeated: bool = False  # this token's change was made before


def current_period(sub: Subscription, today: date) -> Period | None:
    """The period ``today`` falls in; None before the first billing day (a trial)."""
    interval = interval_of(sub)
    if interval is None or sub.status == SubscriptionStatus.TRIALING.value:
        return None
    anchor = anchor_of(sub)
    if today < anchor:
        return None
    return period_at(anchor, interval, today)[1]


def _product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id) if 0 < product_id < 2**63 else None
    if product is None:
        raise NotFound(N_("That plan does not exist."))
    return product


def check_plan(session: Session, sub: Subscription, new: Plan) -> Product:
    """The new plan's product, once checked against the subscription (same currency and
    interval, not archived, a quantity in range)."""
    if sub.kind != RECURRING:
        raise Conflict(N_("A one-time purchase cannot be changed."))
    if sub.status not in RUNNING:
        raise Conflict(N_("Only a running subscription can be changed."))
    if not 1 <= new.quantity <= MAX_QUANTITY:
        msg = f"The quantity is a whole number from 1 to {MAX_QUANTITY:,}."
        raise ValidationFailed(msg, field="quantity")
    if new.unit_price_minor < 0:
        raise ValidationFailed("A price cannot be negative.", field="price")
    product = _product(session, new.product_id)
    if new.product_id != sub.product_id:
        same = (product.currency, product.interval_unit, product.interval_count) == (
            sub.currency,
            sub.interval_unit,
            sub.interval_count,
        )
        if product.archived or product.billing_type != RECURRING or not same:
            raise ValidationFailed(N_("This plan cannot replace the subscription."), field="plan")
    if new == plan_of(sub):
        raise ValidationFailed(N_("Nothing changed."), field="quantity")
    return product


def _describe(
    session: Session, sub: Subscription, old_name: str, new_name: str, new: Plan, locale: str
) -> str:
    """The change as the invoice line or credit note reads it."""
    what = new_name if new.product_id != sub.product_id else old_name
    if sub.website_id is not None:
        site = session.get(ClientWebsite, sub.website_id)
        what += f" · {site.name}" if site is not None else ""
    parts = []
    if new.product_id != sub.product_id:
        parts.append(f"{old_name} → {new_name}")
    if new.quantity != sub.quantity:
        parts.append(f"quantity {sub.quantity} → {new.quantity}")
    if new.unit_price_minor != sub.unit_price_minor:
        old_price = format_money(Money(sub.unit_price_minor, sub.currency), locale)
        new_price = format_money(Money(new.unit_price_minor, sub.currency), locale)
        parts.append(f"unit price {old_price} → {new_price}")
    return f"{what} · {', '.join(parts)}"


def quote(
    session: Session,
    sub: Subscription,
    new: Plan,
    timing: str,
    *,
    clock: Clock = system_clock,
    token: str = "",
) -> Quote:
    """What changing ``sub`` to ``new`` costs (see the module); checks the change."""
    if timing not in TIMINGS:
        raise ValidationFailed("Choose when the change takes effect.", field="timing")
    product = check_plan(session, sub, new)
    client = session.get(Client, sub.client_id)
    assert client is not None and sub.id is not None
    today = today_at_agency(session, clock=clock)
    old_name = sub.description or _product(session, sub.product_id).name
    description = _describe(session, sub, old_name, product.name, new, client.locale)
    period = current_period(sub, today) if timing == PRORATE else None
    charge = charge_net = credit = days_left = 0
    if period is not None:
        if sub.next_billing_on is not None and sub.next_billing_on <= period.start:
            msg = N_("Today's renewal is not invoiced yet: try again in a few minutes.")
            raise Conflict(msg)
        old_amount = period_amount(sub.quantity, sub.unit_price_minor)
        result = prorate_now(
            old_amount, period_amount(new.quantity, new.unit_price_minor), period, today
        )
        days_left = result.days_left
        start = format_date(today, "medium", locale=client.locale)
        end = format_date(period.last_day, "medium", locale=client.locale)
        description += f" · {start} – {end}"
        charge_net = result.charge
        if result.charge:
            rates = product_rates(session, new.product_id)
            charge = priced(description, result.charge, sub.currency, rates).total_minor
        elif result.credit:
            rates = product_rates(session, sub.product_id)
            credit = priced(description, result.credit, sub.currency, rates).total_minor
    next_line = priced(
        product.name,
        new.unit_price_minor,
        sub.currency,
        product_rates(session, new.product_id),
        new.quantity,
    )
    return Quote(
        subscription_id=sub.id,
        currency=sub.currency,
        timing=timing,
        old=plan_of(sub),
        new=new,
        old_name=old_name,
        new_name=product.name,
        period=period,
        change_on=today if timing == PRORATE else (sub.next_renewal_on or today),
        days_left=days_left,
        charge_net=charge_net,
        charge_total=charge,
        credit_total=credit,
        next_total=next_line.total_minor,
        next_renewal_on=sub.next_renewal_on,
        description=description,
        token=token or secrets.token_urlsafe(24),
    )


def _locked(session: Session, subscription_id: int) -> Subscription:
    """The subscription, locked for the rest of the transaction (a write: on SQLite it also
    takes the write lock now)."""
    session.execute(
        sa.update(Subscription)
        .where(col(Subscription.id) == subscription_id)
        .values(id=col(Subscription.id))
    )
    sub = get_subscription(session, subscription_id)
    session.refresh(sub)
    return sub


def made_before(session: Session, subscription_id: int, token: str) -> Outcome | None:
    """The outcome of the change confirmed with ``token`` before (None: not made yet)."""
    row = session.exec(
        select(SubscriptionChange)
        .where(col(SubscriptionChange.subscription_id) == subscription_id)
        .where(col(SubscriptionChange.token) == token.strip()[:64])
    ).first()
    if row is None:
        return None
    sub = session.get(Subscription, subscription_id)
    currency = sub.currency if sub is not None else ""
    return Outcome(row.timing, row.amount_minor, currency, invoice_id=row.invoice_id, repeated=True)


def apply_change(
    session: Session,
    actor: Acting,
    subscription_id: int,
    expected: Plan,
    new: Plan,
    *,
    timing: str,
    token: str,
    by_client: bool,
    clock: Clock = system_clock,
) -> Outcome:
    """Make the change quoted with ``token`` (the caller checked who may). ``expected`` is the
    subscription as it was quoted."""
    token = token.strip()[:64]
    if not token:
        raise ValidationFailed(N_("Preview the change first."), field="timing")
    sub = _locked(session, subscription_id)
    seen = made_before(session, subscription_id, token)
    if seen is not None:
        return seen
    if plan_of(sub) != expected:
        raise Conflict(CHANGED_MEANWHILE)
    q = quote(session, sub, new, timing, clock=clock, token=token)
    who = actor.actor()
    label = who.label if by_client else (getattr(actor, "email", "") or who.label)
    row = SubscriptionChange(
        subscription_id=subscription_id,
        token=token,
        timing=timing,
        by_client=by_client,
        actor_label=label[:320],
        old_product_id=sub.product_id,
        new_product_id=new.product_id,
        old_quantity=sub.quantity,
        new_quantity=new.quantity,
        old_unit_price_minor=sub.unit_price_minor,
        new_unit_price_minor=new.unit_price_minor,
        change_on=q.change_on,
        period_end=q.period.end if q.period else None,
        amount_minor=q.charge_total - q.credit_total,
        created_at=clock.now(),
    )
    if timing == NEXT_PERIOD:
        sub.pending_quantity = new.quantity
        sub.pending_unit_price_minor = new.unit_price_minor
        sub.pending_product_id = new.product_id if new.product_id != sub.product_id else None
        _save(session, sub, clock)
        session.add(row)
        when = sub.next_renewal_on.isoformat() if sub.next_renewal_on else "the next period"
        record_event(
            session, actor, sub, "change_scheduled", f"From {when}: {q.description}", clock
        )
        return Outcome(timing, 0, sub.currency)
    old_product_id, period = sub.product_id, q.period
    switch_plan(session, sub, new, q.new_name)
    _save(session, sub, clock)
    outcome = Outcome(timing, 0, sub.currency)
    if q.charge_total and period is not None:
        charged = charge_invoice(
            session,
            sub.client_id,
            new.product_id,
            sub.website_id,
            q.description,
            q.charge_net,
            q.change_on,
            label,
            who,
            clock,
        )
        row.invoice_id, row.amount_minor = charged.invoice_id, charged.total_minor
        outcome = Outcome(
            timing,
            charged.total_minor,
            sub.currency,
            invoice_id=charged.invoice_id,
            invoice_number=charged.number,
            charge_pending=charged.charge_pending,
        )
    elif q.credit_total and period is not None:
        credited = credit_change(
            session,
            subscription_id,
            sub.client_id,
            sub.currency,
            period.start,
            old_product_id,
            q.credit_total,
            f"Prorated change: {q.description}",
            label,
            who,
            clock,
        )
        row.credit_note_id = credited.credit_note_id
        outcome = Outcome(
            timing,
            -credited.total_minor,
            sub.currency,
            credit_note_number=credited.number,
            to_balance=credited.credit_note_id is None,
        )
    session.add(row)
    record_event(session, actor, sub, "changed_prorated", _event_text(q, outcome), clock)
    return outcome


def _event_text(q: Quote, outcome: Outcome) -> str:
    money = format_money(Money(abs(outcome.amount_minor), q.currency), "en")
    if outcome.invoice_number:
        return f"Now: {q.description}; invoice {outcome.invoice_number} for {money}"
    if outcome.credit_note_number:
        return f"Now: {q.description}; credit note {outcome.credit_note_number} for {money}"
    if outcome.to_balance:
        return f"Now: {q.description}; {money} added to the client's credit balance"
    return f"Now: {q.description}; nothing to pay for the rest of the period"


def switch_plan(session: Session, sub: Subscription, new: Plan, name: str) -> None:
    """The subscription becomes ``new`` at once (nothing pending any more)."""
    sub.product_id, sub.quantity, sub.unit_price_minor = (
        new.product_id,
        new.quantity,
        new.unit_price_minor,
    )
    if name:
        sub.description = name
    sub.pending_quantity = sub.pending_unit_price_minor = sub.pending_product_id = None


def apply_pending_plan(session: Session, sub: Subscription) -> None:
    """A plan switch scheduled for the next period takes effect (the renewal engine calls this
    when the period starts, before invoicing it)."""
    if sub.pending_product_id is None:
        return
    product = session.get(Product, sub.pending_product_id)
    sub.product_id = sub.pending_product_id
    if product is not None:
        sub.description = product.name
    sub.pending_product_id = None


def _save(session: Session, sub: Subscription, clock: Clock) -> None:
    sub.mrr_minor = subscription_mrr_minor(sub)
    sub.updated_at = clock.now()
    session.add(sub)
    session.flush()
    refresh_client(session, sub.client_id)


# --------------------------------------------------------------------------- staff


def staff_quote(
    session: Session,
    actor: Acting,
    subscription_id: int,
    new: Plan,
    timing: str,
    *,
    clock: Clock = system_clock,
) -> Quote:
    """The change dialog's live preview."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
    return quote(session, get_subscription(session, subscription_id), new, timing, clock=clock)


def staff_change(
    session: Session,
    actor: Acting,
    subscription_id: int,
    expected: Plan,
    new: Plan,
    *,
    timing: str,
    token: str,
    clock: Clock = system_clock,
) -> Outcome:
    """Staff confirm a change previewed in the dialog."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
    return apply_change(
        session,
        actor,
        subscription_id,
        expected,
        new,
        timing=timing,
        token=token,
        by_client=False,
        clock=clock,
    )


def staff_plan(
    session: Session, actor: Acting, subscription_id: int, quantity: str, price: str
) -> Plan:
    """The plan staff typed in the change dialog (the price in the client's locale; "" keeps
    the current one)."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
    sub = get_subscription(session, subscription_id)
    client = session.get(Client, sub.client_id)
    assert client is not None
    checks = FieldChecks()
    number = checks.value("quantity", sub.quantity, parse_quantity, quantity)
    unit = sub.unit_price_minor
    if price.strip():
        unit = checks.value("price", unit, parse_price, price, sub.currency, client.locale)
    checks.raise_if_failed()
    return Plan(sub.product_id, number, unit)


def client_changes_prorate(session: Session, *, clock: Clock = system_clock) -> bool:
    """Whether the agency prorates clients' own changes now (else from the next period)."""
    return get_agency(session, clock=clock).client_changes_prorate
