"""The Stripe events page (Settings > Payments > Events): every event Stripe sent, its handling
state, deliveries, attempts and last error; and a replay, for an event that failed (once its
cause is fixed) or one a handler added since should now act on. The payload stays server-side:
staff see its type and ids, never card data (Stripe sends none)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func

from billing_app.db.card_payments import StripeEvent
from billing_app.domain.permissions import Permission
from billing_app.services.card_payments.events import WAKE_STRIPE_EVENTS
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound
from billing_app.services.common.listing import ListRequest, Page, keyset_page, like_pattern
from billing_app.services.common.transactions import wake

# The page's tabs: what needs a person first.
STATE_FILTERS: dict[str, tuple[str, ...]] = {
    "problems": ("failed", "dead"),
    "waiting": ("pending", "handling"),
    "handled": ("handled",),
    "ignored": ("ignored",),
}


@dataclass(frozen=True)
class EventRow:
    id: int
    event_id: str
    type: str
    object_id: str
    livemode: bool
    received_at: datetime
    state: str
    deliveries: int
    attempts: int
    last_error: str


def list_stripe_events(session: Session, viewer: Acting, request: ListRequest) -> Page[EventRow]:
    """A page of the events, newest first; filter "state" (a tab of STATE_FILTERS, else all),
    search by type, event id or object id."""
    require(viewer, Permission.PAYMENTS_CONFIGURE)
    conditions: list[Any] = []
    states = STATE_FILTERS.get(request.filter("state"))
    if states:
        conditions.append(col(StripeEvent.state).in_(states))
    if request.term:
        like = like_pattern(request.term)
        conditions.append(
            sa.or_(
                func.lower(col(StripeEvent.type)).like(like, escape="\\"),
                func.lower(col(StripeEvent.event_id)).like(like, escape="\\"),
                func.lower(col(StripeEvent.object_id)).like(like, escape="\\"),
            )
        )
    columns = (
        col(StripeEvent.id),
        col(StripeEvent.event_id),
        col(StripeEvent.type),
        col(StripeEvent.object_id),
        col(StripeEvent.livemode),
        col(StripeEvent.received_at),
        col(StripeEvent.state),
        col(StripeEvent.deliveries),
        col(StripeEvent.attempts),
        col(StripeEvent.last_error),
    )
    page = keyset_page(
        session,
        sa.select(*columns).where(*conditions),
        sa.select(func.count()).select_from(StripeEvent).where(*conditions),
        [col(StripeEvent.id)],
        replace(request, descending=True),
    )
    return page.map(lambda r: EventRow(*r[: len(columns)]))


def problem_count(session: Session, viewer: Acting) -> int:
    """Events that failed or gave up (the tab's badge)."""
    require(viewer, Permission.PAYMENTS_CONFIGURE)
    return int(
        session.execute(
            sa.select(func.count())
            .select_from(StripeEvent)
            .where(col(StripeEvent.state).in_(STATE_FILTERS["problems"]))
        ).scalar_one()
    )


def replay_event(
    session: Session, viewer: Acting, row_id: int, *, clock: Clock = system_clock
) -> None:
    """Handle the event again from the start (its handlers are idempotent: what was already
    recorded is not recorded twice)."""
    require(viewer, Permission.PAYMENTS_CONFIGURE)
    row = session.get(StripeEvent, row_id) if 0 < row_id < 2**63 else None
    if row is None:
        msg = "That event does not exist."
        raise NotFound(msg)
    if row.state == "handling" and row.next_attempt_at and row.next_attempt_at > clock.now():
        msg = "This event is being handled right now. Try again in a minute."
        raise Conflict(msg)
    row.state, row.attempts, row.last_error = "pending", 0, ""
    row.next_attempt_at, row.handled_at = clock.now(), None
    session.add(row)
    audit.record(
        session,
        "stripe.event_replayed",
        viewer.actor(),
        target=f"{row.type} {row.event_id}",
        clock=clock,
    )
    wake(session, WAKE_STRIPE_EVENTS)
