"""What a billing run bills (docs/architecture.md, "Renewals"): every subscription whose first
unbilled period has started, planned with domain/renewals.py (the oldest first, up to the
agency's catch-up limit, the rest held for staff, a runaway refused), grouped into invoices: all
of a client's periods that start on the same day, in the same currency, one invoice."""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from babel.dates import format_date
from sqlmodel import Session, col

from billing_app.db.customers import RenewalHold, Subscription
from billing_app.domain.billing import ONE_TIME
from billing_app.domain.lifecycle import SubscriptionStatus
from billing_app.domain.periods import Period
from billing_app.domain.renewals import RenewalPlan, due_periods
from billing_app.services.catalog.recurring_revenue import anchor_of, interval_of
from billing_app.services.common.actors import SystemActor

RENEWALS = SystemActor(label="Renewals")
S = SubscriptionStatus
# Subscriptions a run looks at: those that may still have a period to bill.
BILLABLE = (S.ACTIVE.value, S.PAST_DUE.value, S.TRIALING.value, S.CANCELED.value)

GroupKey = tuple[int, str, date]  # client, currency, first day of the periods


@dataclass(frozen=True)
class Item:
    """One line to bill: a subscription's period (None for a one-time purchase)."""

    subscription_id: int
    period: Period | None
    expected: date  # the subscription's next_billing_on when planned
    moves_to: date | None  # its next_billing_on once this is billed
    held: tuple[Period, ...] = ()  # periods to hold with this one (the first billed)
    hold_id: int | None = None  # a held period staff chose to bill (the subscription stays)


@dataclass(frozen=True)
class Plans:
    """What a run does: its invoices (client, currency, period start -> items), the runaways
    it refuses, how many periods it holds, the subscriptions with nothing more to bill."""

    groups: dict[GroupKey, list[Item]]
    runaways: list[int]
    held: int
    finished: list[int]


def plan_renewals(session: Session, subs: list[Subscription], today: date, cap: int) -> Plans:
    ids = [s.id for s in subs]
    held_before: dict[int, set[date]] = defaultdict(set)
    if ids:
        rows = session.execute(
            sa.select(col(RenewalHold.subscription_id), col(RenewalHold.period_start)).where(
                col(RenewalHold.subscription_id).in_(ids)
            )
        ).all()
        for sub_id, start in rows:
            held_before[sub_id].add(start)
    groups: dict[GroupKey, list[Item]] = defaultdict(list)
    runaways: list[int] = []
    finished: list[int] = []
    held = 0
    for sub in subs:
        assert sub.id is not None and sub.next_billing_on is not None
        if sub.kind == ONE_TIME:
            key = (sub.client_id, sub.currency, sub.next_billing_on)
            groups[key].append(Item(sub.id, None, sub.next_billing_on, None))
            continue
        interval = interval_of(sub)
        assert interval is not None
        plan: RenewalPlan = due_periods(
            anchor_of(sub),
            interval,
            sub.next_billing_on,
            today,
            cap=cap,
            ends_on=sub.ends_on if sub.cancel_at_period_end else None,
            held_before=frozenset(held_before[sub.id]),
        )
        if plan.runaway:
            runaways.append(sub.id)
            continue
        if not plan.bill and plan.next_billing_on is None:
            finished.append(sub.id)  # canceled at the end of a period already billed
            continue
        held += len(plan.held)
        expected = sub.next_billing_on
        for number, billed in enumerate(plan.bill):
            last = number == len(plan.bill) - 1
            moves_to = plan.next_billing_on if last else billed.end
            item = Item(sub.id, billed, expected, moves_to, plan.held if number == 0 else ())
            groups[(sub.client_id, sub.currency, billed.start)].append(item)
            expected = billed.end
    return Plans(groups, runaways, held, finished)


@functools.lru_cache(maxsize=4096)
def line_description(text: str, site: str | None, billed: Period | None, locale: str) -> str:
    """A renewal line's text: the subscription's description, its website, the service period
    in the client's language."""
    if site is not None:
        text += f" · {site}"
    if billed is not None:
        start = format_date(billed.start, "medium", locale=locale)
        end = format_date(billed.last_day, "medium", locale=locale)
        text += f" · {start} – {end}"
    return text
