"""Periods held after downtime (beyond the agency's catch-up limit): staff see them with what
each would bill, and bill or skip each one, once (docs/architecture.md, "Renewals")."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col

from billing_app.db.customers import Client, RenewalHold, Subscription
from billing_app.domain.money import Money
from billing_app.domain.periods import Period
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.billing.renewal_plans import Item
from billing_app.services.billing.renewals import Upcoming, bill_group, upcoming_in
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound


@dataclass(frozen=True)
class HeldPeriod:
    id: int
    client_id: int
    client: str
    subscription: str
    period: Period
    amount: Money  # before taxes, at the subscription's price now


def held_periods(session: Session, actor: Acting, *, limit: int = 200) -> list[HeldPeriod]:
    """The periods waiting for a decision, oldest first."""
    require(actor, Permission.SUBSCRIPTIONS_READ)
    rows = session.execute(
        sa.select(RenewalHold, Subscription, col(Client.company))
        .join(Subscription, col(Subscription.id) == col(RenewalHold.subscription_id))
        .join(Client, col(Client.id) == col(Subscription.client_id))
        .where(col(RenewalHold.state) == "held")
        .order_by(col(RenewalHold.period_start), col(RenewalHold.id))
        .limit(limit)
    ).all()
    return [
        HeldPeriod(
            id=hold.id or 0,
            client_id=sub.client_id,
            client=company,
            subscription=sub.description,
            period=Period(hold.period_start, hold.period_end),
            amount=Money(sub.quantity * sub.unit_price_minor, sub.currency),
        )
        for hold, sub, company in rows
    ]


@dataclass(frozen=True)
class RenewalsOverview:
    upcoming: Upcoming
    held: list[HeldPeriod]


def renewals_overview(
    session: Session, actor: Acting, *, clock: Clock = system_clock
) -> RenewalsOverview:
    """The next 30 days of renewals per currency, and the periods waiting for staff."""
    require(actor, Permission.SUBSCRIPTIONS_READ)
    require(actor, Permission.INVOICES_READ)  # amounts about to be invoiced
    today = today_at_agency(session, clock=clock)
    return RenewalsOverview(upcoming_in(session, today), held_periods(session, actor))


def _hold(session: Session, hold_id: int) -> RenewalHold:
    hold = session.get(RenewalHold, hold_id) if 0 < hold_id < 2**63 else None
    if hold is None:
        msg = "That held period does not exist."
        raise NotFound(msg)
    if hold.state != "held":
        msg = f"That period was {hold.state} already."
        raise Conflict(msg)
    return hold


def bill_held(
    session: Session, actor: CurrentUser, hold_id: int, *, clock: Clock = system_clock
) -> str:
    """Invoice a held period now (dated today, its service period printed); its number."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
    require(actor, Permission.INVOICES_SEND)
    hold = _hold(session, hold_id)
    sub = session.get(Subscription, hold.subscription_id)
    assert sub is not None and hold.id is not None
    period = Period(hold.period_start, hold.period_end)
    item = Item(sub.id or 0, period, hold.period_start, None, hold_id=hold.id)
    today = today_at_agency(session, clock=clock)
    number = bill_group(session, (sub.client_id, sub.currency, period.start), [item], today, clock)
    if number is None:
        msg = "That period was billed or skipped meanwhile."
        raise Conflict(msg)
    hold.decided_by = actor.email
    session.add(hold)
    audit.record(
        session,
        "renewal.held_billed",
        actor.actor(),
        target=number,
        details=_label(sub, period),
        clock=clock,
    )
    return number


def skip_held(
    session: Session, actor: CurrentUser, hold_id: int, *, clock: Clock = system_clock
) -> None:
    """Never bill a held period (service given, or not owed)."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
    hold = _hold(session, hold_id)
    skipped = session.execute(
        sa.update(RenewalHold)
        .where(col(RenewalHold.id) == hold.id)
        .where(col(RenewalHold.state) == "held")
        .values(state="skipped", decided_at=clock.now(), decided_by=actor.email)
    )
    if getattr(skipped, "rowcount", 0) != 1:
        msg = "That period was billed or skipped meanwhile."
        raise Conflict(msg)
    sub = session.get(Subscription, hold.subscription_id)
    assert sub is not None
    period = Period(hold.period_start, hold.period_end)
    audit.record(
        session,
        "renewal.held_skipped",
        actor.actor(),
        target=sub.description,
        details=_label(sub, period),
        clock=clock,
    )


def _label(sub: Subscription, period: Period) -> str:
    return f"subscription {sub.id}: {period.start.isoformat()} - {period.last_day.isoformat()}"
