"""The staff "Past due" view (docs/architecture.md, "Dunning"): every invoice dunning is working
on - a failed automatic charge being retried or waiting for the client, its subscriptions past
due - and every overdue invoice still owed, with what dunning did and does next. Searched,
filtered, sorted and paged in SQL (the list contract), over indexed columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func

from billing_app.db.customers import Client
from billing_app.db.dunning import DunningState
from billing_app.db.invoicing import Invoice
from billing_app.domain.money import Money
from billing_app.domain.permissions import Permission
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.billing.dunning_outlook import Outlook, outlooks
from billing_app.services.billing.dunning_state import dunning_settings
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.listing import (
    ListRequest,
    Page,
    keyset_page,
    like_pattern,
    sort_choice,
)
from billing_app.services.invoicing.settlement import (
    is_collectible_sql,
    outstanding_minor,
    outstanding_sql,
)

LAST_DAY = date(9999, 12, 31)
SORTS = ("overdue", "amount", "client", "next_retry")
STAGES = ("all", "retrying", "past_due", "overdue")


@dataclass(frozen=True)
class PastDueRow:
    invoice_id: int
    number: str
    client_id: int
    client: str
    due: Money  # what is still owed
    due_date: date
    days_overdue: int  # 0 when not yet due (a failed charge of an invoice due later)
    outlook: Outlook


def _keys(sort: str) -> list[Any]:
    if sort == "amount":
        return [outstanding_sql(), col(Invoice.id)]
    if sort == "client":
        return [func.lower(col(Client.company)), col(Invoice.id)]
    if sort == "next_retry":
        return [func.coalesce(col(DunningState.next_retry_on), LAST_DAY), col(Invoice.id)]
    return [col(Invoice.due_date), col(Invoice.id)]


def list_past_due(
    session: Session, viewer: Acting, request: ListRequest, *, clock: Clock = system_clock
) -> Page[PastDueRow]:
    """A page of the invoices in dunning or overdue, by the filter "stage" (all, retrying,
    past_due, overdue: no automatic charge), searched by client or invoice number; sorted by
    "overdue" (the oldest due date first), "amount" (still due), "client" or "next_retry"."""
    require(viewer, Permission.INVOICES_READ)
    today = today_at_agency(session, clock=clock)
    in_dunning = col(DunningState.invoice_id).is_not(None)
    conditions: list[sa.ColumnElement[bool]] = [
        is_collectible_sql(),
        outstanding_sql() > 0,
        sa.or_(in_dunning, col(Invoice.due_date) < today),
    ]
    stage = request.filter("stage", "all")
    if stage == "retrying":
        conditions += [in_dunning, col(DunningState.stopped) == ""]
    elif stage == "past_due":
        conditions.append(col(DunningState.past_due_since).is_not(None))
    elif stage == "overdue":
        conditions.append(~in_dunning)
    if request.term:
        pattern = like_pattern(request.term)
        conditions.append(
            sa.or_(
                col(Client.search_text).like(pattern, escape="\\"),
                func.lower(func.coalesce(col(Invoice.number), "")).like(pattern, escape="\\"),
            )
        )

    def joined(select: Any) -> Any:
        return (
            select.join(Client, col(Client.id) == col(Invoice.client_id))
            .outerjoin(DunningState, col(DunningState.invoice_id) == col(Invoice.id))
            .where(*conditions)
        )

    query = joined(sa.select(Invoice, DunningState, col(Client.company)).select_from(Invoice))
    count = joined(sa.select(func.count()).select_from(Invoice))
    sort = sort_choice(request, dict.fromkeys(SORTS), "overdue")
    page = keyset_page(session, query, count, _keys(sort), request)
    rows = [(invoice, state) for invoice, state, _ in page.rows]
    seen = outlooks(session, rows, today, dunning_settings(session, clock))
    return page.map(
        lambda row: PastDueRow(
            invoice_id=row[0].id,
            number=row[0].number or "",
            client_id=row[0].client_id,
            client=row[2],
            due=Money(outstanding_minor(row[0]), row[0].currency),
            due_date=row[0].due_date,
            days_overdue=max((today - row[0].due_date).days, 0),
            outlook=seen[row[0].id],
        )
    )
