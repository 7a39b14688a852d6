"""Products and services as a client user sees them in the portal, and cancellation requests:
the client asks (with an optional reason), the agency approves (now or at the end of the
period) or declines with a message, and the client sees where the request stands.

Portal reads and writes are scoped by the client the session looks at (``require_client``):
another client's subscription is the same NotFound as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from billing_app.db.customers import ClientWebsite, Product, Subscription
from billing_app.db.invoicing import AgencySettings, Invoice, InvoiceLine
from billing_app.db.portal import CancellationRequest
from billing_app.domain.billing import RECURRING
from billing_app.domain.lifecycle import (
    CancellationStatus,
    CancellationTiming,
    InvoiceStatus,
    SubscriptionStatus,
    is_running,
)
from billing_app.domain.money import Money
from billing_app.domain.permissions import ClientPermission, Permission
from billing_app.services.access.portal_identity import NOT_FOUND, ClientUser, require_client
from billing_app.services.catalog import portal_changes, subscriptions
from billing_app.services.catalog.recurring_revenue import RUNNING, interval_of
from billing_app.services.catalog.subscription_queries import TABS
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed
from billing_app.services.common.listing import ListRequest, Page, keyset_page
from billing_app.services.common.outbox import enqueue_email
from billing_app.settings import get_settings

MAX_REASON = 2000
# The portal's tabs: a service that ends at the end of its period still runs until then.
_ENDING = (col(Subscription.status) == SubscriptionStatus.CANCELED.value) & col(
    Subscription.cancel_at_period_end
)
PORTAL_TABS: dict[str, Any] = {
    "active": (col(Subscription.kind) == RECURRING)
    & (col(Subscription.status).in_(RUNNING) | _ENDING),
    "one_time": TABS["one_time"],
    "inactive": (col(Subscription.kind) == RECURRING)
    & col(Subscription.status).in_(
        [SubscriptionStatus.CANCELED.value, SubscriptionStatus.ENDED.value]
    )
    & ~_ENDING,
}
# Invoices whose lines count as billed: sent and not voided.
_BILLED = (
    InvoiceStatus.OPEN.value,
    InvoiceStatus.PARTIALLY_PAID.value,
    InvoiceStatus.PAID.value,
    InvoiceStatus.PARTIALLY_REFUNDED.value,
    InvoiceStatus.REFUNDED.value,
)


@dataclass(frozen=True)
class PortalService:
    id: int
    name: str
    website: str
    kind: str
    status: str
    quantity: int
    amount: Money  # per period (unit price x quantity)
    interval_label: str  # "month", "3 months", "one-time"
    start_date: date
    next_renewal_on: date | None
    ends_on: date | None
    cancel_at_period_end: bool
    billed_to_date: Money
    request_status: str  # the latest cancellation request's status, "" when none
    request_message: str  # the agency's answer to it
    can_request_cancellation: bool
    can_change: bool = False  # quantity or plan, where the product allows it
    can_keep: bool = False  # set to end at the period's end: the client may keep it


def _own_subscription(session: Session, client_id: int, subscription_id: int) -> Subscription:
    sub = session.get(Subscription, subscription_id) if 0 < subscription_id < 2**63 else None
    if sub is None or sub.client_id != client_id:
        raise NotFound(NOT_FOUND)
    return sub


def _billed_to_date(session: Session, subs: list[Subscription]) -> dict[int, int]:
    """What was invoiced for each subscription: the lines of its product on the client's sent,
    not voided invoices in its currency (for its website, when both name one), taxes included.
    One grouped query for the whole page."""
    ids = [s.id for s in subs if s.id is not None]
    if not ids:
        return {}
    rows = session.exec(
        select(Subscription.id, func.sum(col(InvoiceLine.net_minor) + col(InvoiceLine.tax_minor)))
        .join(
            Invoice,
            sa.and_(
                col(Invoice.client_id) == col(Subscription.client_id),
                col(Invoice.currency) == col(Subscription.currency),
                col(Invoice.status).in_(_BILLED),
                sa.or_(
                    col(Subscription.website_id).is_(None),
                    col(Invoice.website_id).is_(None),
                    col(Invoice.website_id) == col(Subscription.website_id),
                ),
            ),
        )
        .join(
            InvoiceLine,
            sa.and_(
                col(InvoiceLine.invoice_id) == col(Invoice.id),
                col(InvoiceLine.product_id) == col(Subscription.product_id),
            ),
        )
        .where(col(Subscription.id).in_(ids))
        .group_by(col(Subscription.id))
    ).all()
    return {sub_id: int(amount or 0) for sub_id, amount in rows if sub_id is not None}


def _latest_requests(session: Session, ids: list[int]) -> dict[int, CancellationRequest]:
    if not ids:
        return {}
    rows = session.exec(
        select(CancellationRequest)
        .where(col(CancellationRequest.subscription_id).in_(ids))
        .order_by(col(CancellationRequest.requested_at), col(CancellationRequest.id))
    ).all()
    return {r.subscription_id: r for r in rows}  # the latest wins


def _may_request(sub: Subscription, latest: CancellationRequest | None) -> bool:
    pending = latest is not None and latest.status == CancellationStatus.PENDING
    return (
        sub.kind == RECURRING
        and is_running(SubscriptionStatus(sub.status))
        and not sub.cancel_at_period_end
        and not pending
    )


def list_client_services(
    session: Session, actor: ClientUser, request: ListRequest
) -> Page[PortalService]:
    """A page of the client's products and services in a tab (filter "tab": active, one_time,
    inactive), newest first, with what each has billed and its cancellation request."""
    client_id = require_client(actor, ClientPermission.SUBSCRIPTIONS_VIEW)
    tab = request.filter("tab", "active")
    conditions: list[Any] = [
        col(Subscription.client_id) == client_id,
        PORTAL_TABS.get(tab, PORTAL_TABS["active"]),
    ]
    page = keyset_page(
        session,
        sa.select(Subscription, col(Product.name), col(ClientWebsite.name))
        .join(Product, col(Product.id) == col(Subscription.product_id))
        .outerjoin(ClientWebsite, col(ClientWebsite.id) == col(Subscription.website_id))
        .where(*conditions),
        sa.select(func.count()).select_from(Subscription).where(*conditions),
        [col(Subscription.created_at), col(Subscription.id)],
        ListRequest(
            filters=request.filters,
            descending=True,
            per_page=request.per_page,
            after=request.after,
            before=request.before,
            last=request.last,
        ),
    )
    subs = [row[0] for row in page.rows]
    billed = _billed_to_date(session, subs)
    latest = _latest_requests(session, [s.id for s in subs if s.id is not None])
    changer = actor.may(ClientPermission.SUBSCRIPTIONS_CHANGE)

    def present(row: tuple[Subscription, str, str | None]) -> PortalService:
        sub, product_name, website = row
        assert sub.id is not None
        interval = interval_of(sub)
        request_row = latest.get(sub.id)
        return PortalService(
            id=sub.id,
            name=sub.description or product_name,
            website=website or "",
            kind=sub.kind,
            status=sub.status,
            quantity=sub.quantity,
            amount=Money(sub.unit_price_minor * sub.quantity, sub.currency),
            interval_label=interval.label if interval else "one-time",
            start_date=sub.start_date,
            next_renewal_on=sub.next_renewal_on,
            ends_on=sub.ends_on,
            cancel_at_period_end=sub.cancel_at_period_end,
            billed_to_date=Money(billed.get(sub.id, 0), sub.currency),
            request_status=request_row.status if request_row else "",
            request_message=request_row.message if request_row else "",
            can_request_cancellation=actor.may(ClientPermission.CANCELLATION_REQUEST)
            and _may_request(sub, request_row),
            can_change=changer and portal_changes.may_change(session, sub),
            can_keep=changer and sub.cancel_at_period_end and sub.status == "canceled",
        )

    return page.map(present)


@cache
def _renewals() -> sa.Select[*tuple[Any, ...]]:
    """The client's subscriptions with a next renewal, soonest first; built once (the overview
    runs it on every visit)."""
    return (
        sa.select(Subscription, col(Product.name), col(ClientWebsite.name))
        .join(Product, col(Product.id) == col(Subscription.product_id))
        .outerjoin(ClientWebsite, col(ClientWebsite.id) == col(Subscription.website_id))
        .where(col(Subscription.client_id) == sa.bindparam("client_id", type_=sa.Integer()))
        .where(col(Subscription.next_renewal_on).is_not(None))
        .order_by(col(Subscription.next_renewal_on), col(Subscription.id))
        .limit(sa.bindparam("limit", type_=sa.Integer()))
    )


@dataclass(frozen=True)
class Renewal:
    name: str
    website: str
    on: date
    amount: Money


def next_renewals(session: Session, actor: ClientUser, limit: int = 3) -> list[Renewal]:
    """The client's next renewals, soonest first (the portal's overview)."""
    client_id = require_client(actor, ClientPermission.SUBSCRIPTIONS_VIEW)
    rows = session.execute(
        _renewals(), {"client_id": client_id, "limit": max(1, min(limit, 50))}
    ).all()
    return [
        Renewal(
            name=sub.description or product,
            website=website or "",
            on=sub.next_renewal_on,
            amount=Money(sub.unit_price_minor * sub.quantity, sub.currency),
        )
        for sub, product, website in rows
        if sub.next_renewal_on is not None
    ]


def request_cancellation(
    session: Session,
    actor: ClientUser,
    subscription_id: int,
    reason: str,
    *,
    clock: Clock = system_clock,
) -> int:
    """Ask the agency to cancel one of the client's running subscriptions; one pending
    request per subscription. The agency sees it on the client and the subscription."""
    client_id = require_client(actor, ClientPermission.CANCELLATION_REQUEST)
    sub = _own_subscription(session, client_id, subscription_id)
    text = reason.strip()
    if len(text) > MAX_REASON:
        msg = f"Use at most {MAX_REASON} characters."
        raise ValidationFailed(msg, field="reason")
    latest = _latest_requests(session, [subscription_id]).get(subscription_id)
    if latest is not None and latest.status == CancellationStatus.PENDING:
        msg = "You already asked to cancel this service. The agency will answer soon."
        raise Conflict(msg)
    if not _may_request(sub, latest):
        msg = "This service is not running, or already ends at the end of its period."
        raise Conflict(msg)
    row = CancellationRequest(
        subscription_id=subscription_id,
        client_id=client_id,
        requested_by_id=actor.id,
        requested_by=actor.email,
        reason=text,
        requested_at=clock.now(),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # another tab asked at the same moment
        msg = "You already asked to cancel this service. The agency will answer soon."
        raise Conflict(msg) from exc
    subscriptions.record_event(
        session, actor, sub, "cancellation_requested", text or "No reason given", clock
    )
    _notify_agency(session, actor, sub, text, clock)
    assert row.id is not None
    return row.id


def _notify_agency(
    session: Session, actor: ClientUser, sub: Subscription, reason: str, clock: Clock
) -> None:
    """Email the agency's address (Settings) that a client asks to cancel (staff also see it
    above the subscriptions list)."""
    agency = session.get(AgencySettings, 1)
    if agency is None or not agency.email:
        return
    enqueue_email(
        session,
        "cancellation_requested",
        agency.email,
        {
            "requested_by": actor.email,
            "service": sub.description,
            "client": actor.membership.client_name,
            "reason": reason or "No reason given.",
            "link": f"{get_settings().public_base_url}/subscriptions",
        },
        clock=clock,
    )


def withdraw_cancellation(
    session: Session, actor: ClientUser, subscription_id: int, *, clock: Clock = system_clock
) -> None:
    """Take back a pending request before the agency answers."""
    client_id = require_client(actor, ClientPermission.CANCELLATION_REQUEST)
    sub = _own_subscription(session, client_id, subscription_id)
    latest = _latest_requests(session, [subscription_id]).get(subscription_id)
    if latest is None or latest.status != CancellationStatus.PENDING:
        msg = "There is no pending request to withdraw."
        raise Conflict(msg)
    latest.status = CancellationStatus.WITHDRAWN
    latest.decided_at = clock.now()
    session.add(latest)
    subscriptions.record_event(
        session, actor, sub, "cancellation_withdrawn_by_client", "Request withdrawn", clock
    )


# --------------------------------------------------------------------------- staff


@dataclass(frozen=True)
class PendingCancellation:
    id: int
    subscription_id: int
    client_id: int
    service: str
    requested_by: str
    reason: str
    requested_at: str  # ISO timestamp


def pending_cancellations(
    session: Session, viewer: Acting, *, client_id: int | None = None
) -> list[PendingCancellation]:
    """Requests waiting for an answer (of one client, or all), oldest first."""
    require(viewer, Permission.SUBSCRIPTIONS_READ)
    query = (
        select(CancellationRequest, Subscription.description)
        .join(Subscription, col(Subscription.id) == col(CancellationRequest.subscription_id))
        .where(col(CancellationRequest.status) == CancellationStatus.PENDING)
        .order_by(col(CancellationRequest.requested_at), col(CancellationRequest.id))
    )
    if client_id is not None:
        query = query.where(col(CancellationRequest.client_id) == client_id)
    return [
        PendingCancellation(
            id=r.id or 0,
            subscription_id=r.subscription_id,
            client_id=r.client_id,
            service=description,
            requested_by=r.requested_by,
            reason=r.reason,
            requested_at=r.requested_at.isoformat(),
        )
        for r, description in session.exec(query).all()
    ]


def decide_cancellation(
    session: Session,
    actor: Acting,
    request_id: int,
    *,
    approve: bool,
    timing: str = CancellationTiming.PERIOD_END,
    message: str = "",
    clock: Clock = system_clock,
) -> None:
    """Answer a pending request: approve (cancel now or at the end of the period) or decline
    with a message the client reads in the portal."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
    row = session.get(CancellationRequest, request_id) if 0 < request_id < 2**63 else None
    if row is None:
        msg = "That request does not exist."
        raise NotFound(msg)
    if row.status != CancellationStatus.PENDING:
        msg = "This request was already answered or withdrawn."
        raise Conflict(msg)
    text = message.strip()
    if len(text) > MAX_REASON:
        msg = f"Use at most {MAX_REASON} characters."
        raise ValidationFailed(msg, field="message")
    if approve:
        if timing == CancellationTiming.NOW:
            subscriptions.cancel_now(session, actor, row.subscription_id, clock=clock)
        elif timing == CancellationTiming.PERIOD_END:
            subscriptions.cancel_at_period_end(session, actor, row.subscription_id, clock=clock)
        else:
            msg = "Choose when the cancellation takes effect."
            raise ValidationFailed(msg, field="timing")
        row.decision = timing
    elif not text:
        msg = "Tell the client why the request is declined."
        raise ValidationFailed(msg, field="message")
    row.status = CancellationStatus.APPROVED if approve else CancellationStatus.DECLINED
    row.message = text
    row.decided_at = clock.now()
    row.decided_by = actor.actor().label
    session.add(row)
    audit.record(
        session,
        f"cancellation.{row.status}",
        actor.actor(),
        target=f"subscription:{row.subscription_id}",
        details=text,
        clock=clock,
    )
