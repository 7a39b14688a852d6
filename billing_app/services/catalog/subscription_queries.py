"""Finding subscriptions: the list (filters, search, sort, pages in SQL), one subscription with
its history, the counts of a client's tabs, and the choices of the attach form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.customers import (
    RENEWAL_FIRST,
    RENEWAL_LAST,
    Client,
    ClientWebsite,
    Product,
    Subscription,
    SubscriptionEvent,
)
from billing_app.domain.billing import ONE_TIME, RECURRING
from billing_app.domain.lifecycle import SubscriptionStatus
from billing_app.domain.lifecycle import SubscriptionStatus as S
from billing_app.domain.money import Money
from billing_app.domain.numbers import parse_id
from billing_app.domain.permissions import Permission, visible_figures
from billing_app.services.access.identity import CurrentUser
from billing_app.services.catalog.product_queries import ProductRow, product_choices
from billing_app.services.catalog.recurring_revenue import RUNNING, interval_of
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.errors import NotFound
from billing_app.services.common.listing import (
    ListRequest,
    Page,
    keyset_page,
    like_pattern,
    sort_choice,
)
from billing_app.services.customers.clients import get_client, websites_of


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


def _sort_keys(sort: str, descending: bool) -> list[Any]:
    """The keyset of a sort; subscriptions without a renewal date come last either way (the
    expressions of the indexes in db/customers.py)."""
    if sort != "next_renewal":
        return [SUBSCRIPTION_SORTS[sort], col(Subscription.id)]
    renewal = sa.literal_column(RENEWAL_LAST if descending else RENEWAL_FIRST, type_=sa.Date)
    return [renewal, col(Subscription.id)]


def _optional_id(text: str) -> int | None:
    return parse_id(text) if text not in ("", "all") else None


def list_subscriptions(
    session: Session, viewer: CurrentUser, request: ListRequest
) -> Page[SubscriptionRow]:
    """A page of subscriptions with their client, product and website names (joined), by the
    filters "client", "product" (ids), "status" and "tab" (active, one_time, inactive). MRR is
    None, and not sorted by, for a viewer who may not see it (docs/security.md item 43)."""
    require(viewer, Permission.SUBSCRIPTIONS_READ)
    show_mrr = "mrr" in visible_figures(viewer.permissions)
    conditions: list[sa.ColumnElement[bool]] = []
    client_filter = request.filter("client")
    if client_filter:
        client_id = _optional_id(client_filter)
        conditions.append(col(Subscription.client_id) == (client_id or 0))
    product_filter = request.filter("product")
    if product_filter and product_filter != "all":
        conditions.append(col(Subscription.product_id) == (_optional_id(product_filter) or 0))
    status = request.filter("status")
    if status in {s.value for s in SubscriptionStatus}:
        conditions.append(col(Subscription.status) == status)
    tab = request.filter("tab")
    if tab in TABS:
        conditions.append(TABS[tab])
    count = select(func.count()).select_from(Subscription)
    if request.term:
        pattern = like_pattern(request.term)
        conditions.append(
            sa.or_(
                col(Client.search_text).like(pattern, escape="\\"),
                sa.func.lower(col(Subscription.description)).like(pattern, escape="\\"),
            )
        )
        count = count.join(Client, col(Client.id) == col(Subscription.client_id))
    sort = sort_choice(request, SUBSCRIPTION_SORTS, "next_renewal")
    if sort == "mrr" and not show_mrr:
        sort = "next_renewal"
    query = (
        sa.select(Subscription, col(Client.company), col(Product.name), col(ClientWebsite.name))
        .join(Client, col(Client.id) == col(Subscription.client_id))
        .join(Product, col(Product.id) == col(Subscription.product_id))
        .outerjoin(ClientWebsite, col(ClientWebsite.id) == col(Subscription.website_id))
        .where(*conditions)
    )
    page = keyset_page(
        session, query, count.where(*conditions), _sort_keys(sort, request.descending), request
    )
    return page.map(lambda row: _sub_row(row[0], row[1], row[2], row[3], show_mrr=show_mrr))


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
    require(viewer, Permission.SUBSCRIPTIONS_READ)
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


def tab_counts(session: Session, viewer: Acting, client_id: int) -> dict[str, int]:
    """How many subscriptions the client has under each overview tab (one query)."""
    require(viewer, Permission.SUBSCRIPTIONS_READ)
    cases = [
        func.sum(sa.case((condition, 1), else_=0)).label(name) for name, condition in TABS.items()
    ]
    row = session.execute(sa.select(*cases).where(col(Subscription.client_id) == client_id)).one()
    return {name: int(value or 0) for name, value in zip(TABS, row, strict=True)}


@dataclass(frozen=True)
class AttachOptions:
    """What the attach form offers for a client: its currency, its websites, the products."""

    currency: str
    websites: list[ClientWebsite]
    products: list[ProductRow]


def attach_options(session: Session, actor: Acting, client_id: int) -> AttachOptions:
    """The choices of the form that attaches a product to the client (services/catalog/
    subscriptions.py ``attach``): asked by whoever may attach one."""
    require(actor, Permission.SUBSCRIPTIONS_WRITE)
    client = get_client(session, client_id)
    return AttachOptions(
        currency=client.currency,
        websites=websites_of(session, client_id),
        products=product_choices(session),
    )
