"""Finding clients: the list (search, status, sort by money figures the viewer may see, pages, all
in SQL), the CSV export, the overview, choices for forms, and a client's payments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from billing_app.db.customers import Client, ClientWebsite
from billing_app.domain.money import Money
from billing_app.domain.permissions import FIGURE_PERMISSIONS, Permission, visible_figures
from billing_app.services.access.identity import CurrentUser
from billing_app.services.catalog.recurring_revenue import client_arr
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.csv_export import Cell, write_csv
from billing_app.services.common.listing import ListRequest, Page, keyset_page, like_pattern
from billing_app.services.customers.clients import (
    STATUSES,
    address_lines_of,
    get_client,
    websites_of,
)


@dataclass(frozen=True)
class ClientRow:
    id: int
    company: str
    contact_name: str
    email: str
    status: str
    currency: str
    locale: str
    mrr: Money | None  # None when the viewer may not see it (FIGURE_PERMISSIONS)
    net_invoiced: Money | None
    outstanding: Money | None
    active_subscriptions: int
    created_at: datetime


CLIENT_SORTS: dict[str, Any] = {
    "name": sa.func.lower(col(Client.company)),
    "created": col(Client.created_at),
    "mrr": col(Client.mrr_minor),
    "net_invoiced": col(Client.net_invoiced_minor),
    "outstanding": col(Client.outstanding_minor),
}


def _client_conditions(search: str, status: str) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if status in STATUSES:
        conditions.append(col(Client.status) == status)
    elif status == "current":
        conditions.append(col(Client.status) != "archived")
    if search.strip():
        conditions.append(col(Client.search_text).like(like_pattern(search), escape="\\"))
    return conditions


def _sort_keys(sort: str, figures: frozenset[str]) -> list[Any]:
    # Sorting by a figure the viewer may not see would leak its order: sort by name instead.
    if sort not in CLIENT_SORTS or (sort in FIGURE_PERMISSIONS and sort not in figures):
        sort = "name"
    return [CLIENT_SORTS[sort], col(Client.id)]


def _client_query(
    search: str, status: str, sort: str, descending: bool, figures: frozenset[str]
) -> SelectOfScalar[Client]:
    keys = _sort_keys(sort, figures)
    return (
        select(Client)
        .where(*_client_conditions(search, status))
        .order_by(*[k.desc() if descending else k.asc() for k in keys])
    )


def _figure(name: str, amount_minor: int, currency: str, figures: frozenset[str]) -> Money | None:
    return Money(amount_minor, currency) if name in figures else None


def _client_row(client: Client, figures: frozenset[str]) -> ClientRow:
    assert client.id is not None
    return ClientRow(
        id=client.id,
        company=client.company,
        contact_name=client.contact_name,
        email=client.email,
        status=client.status,
        currency=client.currency,
        locale=client.locale,
        mrr=_figure("mrr", client.mrr_minor, client.currency, figures),
        net_invoiced=_figure("net_invoiced", client.net_invoiced_minor, client.currency, figures),
        outstanding=_figure("outstanding", client.outstanding_minor, client.currency, figures),
        active_subscriptions=client.active_subscriptions,
        created_at=client.created_at,
    )


def list_clients(session: Session, viewer: CurrentUser, request: ListRequest) -> Page[ClientRow]:
    """A page of clients: searched (company, contact, email, websites), filtered by status
    (filter "status": "active", "inactive", "archived", "current" = not archived, "all"),
    sorted and paged by keyset in SQL - two queries whatever the size. Figures the viewer may
    not see are None and are not sorted by."""
    require(viewer, Permission.CLIENTS_READ)
    figures = visible_figures(viewer.permissions)
    status = request.filter("status", "current")
    conditions = _client_conditions(request.term, status)
    page = keyset_page(
        session,
        sa.select(Client).where(*conditions),
        sa.select(func.count()).select_from(Client).where(*conditions),
        _sort_keys(request.sort, figures),
        request,
    )
    return page.map(lambda c: _client_row(c, figures))


EXPORT_COLUMNS = (
    "company",
    "contact_name",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "postal_code",
    "region",
    "country",
    "currency",
    "locale",
    "tax_id",
    "status",
    "websites",
    "mrr",
    "net_invoiced",
    "outstanding",
    "created",
)


def export_csv(
    session: Session,
    viewer: CurrentUser,
    *,
    search: str = "",
    status: str = "current",
    sort: str = "name",
    descending: bool = False,
) -> bytes:
    """The whole filtered list as a CSV file (the import format plus the figures the viewer
    may see), in two queries, through the safe writer of services/common/csv_export.py."""
    require(viewer, Permission.CLIENTS_READ)
    figures = visible_figures(viewer.permissions)
    clients = session.exec(_client_query(search, status, sort, descending, figures)).all()
    sites: dict[int, list[str]] = {}
    ids = [c.id for c in clients]
    if ids:
        for site in session.exec(
            select(ClientWebsite)
            .where(col(ClientWebsite.client_id).in_(ids))
            .order_by(col(ClientWebsite.id))
        ).all():
            sites.setdefault(site.client_id, []).append(f"{site.name} <{site.url}>")
    columns = [c for c in EXPORT_COLUMNS if c not in FIGURE_PERMISSIONS or c in figures]
    rows: list[list[Cell]] = []
    for c in clients:
        assert c.id is not None
        values: dict[str, Cell] = {
            "company": c.company,
            "contact_name": c.contact_name,
            "email": c.email,
            "phone": c.phone,
            "address_line1": c.address_line1,
            "address_line2": c.address_line2,
            "city": c.city,
            "postal_code": c.postal_code,
            "region": c.region,
            "country": c.country,
            "currency": c.currency,
            "locale": c.locale,
            "tax_id": c.tax_id,
            "status": c.status,
            "websites": "; ".join(sites.get(c.id, [])),
            "mrr": Money(c.mrr_minor, c.currency).to_decimal(),
            "net_invoiced": Money(c.net_invoiced_minor, c.currency).to_decimal(),
            "outstanding": Money(c.outstanding_minor, c.currency).to_decimal(),
            "created": c.created_at.date().isoformat(),
        }
        rows.append([values[name] for name in columns])
    return write_csv(columns, rows)


@dataclass(frozen=True)
class ClientOverview:
    client: Client
    websites: list[ClientWebsite]
    mrr: Money | None  # None when the viewer may not see it (FIGURE_PERMISSIONS)
    active_subscriptions: int
    net_invoiced: Money | None
    outstanding: Money | None
    # Annual run rate by domain/mrr.py arr_total (not mrr x 12); shown with MRR (reports.view).
    arr: Money | None = None

    @property
    def address_lines(self) -> list[str]:
        """The billing address, one entry per printed line (see ``address_lines_of``)."""
        return address_lines_of(self.client)


def client_overview(session: Session, viewer: CurrentUser, client_id: int) -> ClientOverview:
    """The client, its websites and the figures the viewer may see (subscriptions:
    services/catalog/subscriptions.py)."""
    require(viewer, Permission.CLIENTS_READ)
    client = get_client(session, client_id)
    figures = visible_figures(viewer.permissions)
    return ClientOverview(
        client=client,
        websites=websites_of(session, client_id),
        mrr=_figure("mrr", client.mrr_minor, client.currency, figures),
        active_subscriptions=client.active_subscriptions,
        net_invoiced=_figure("net_invoiced", client.net_invoiced_minor, client.currency, figures),
        outstanding=_figure("outstanding", client.outstanding_minor, client.currency, figures),
        arr=client_arr(session, client) if "mrr" in figures else None,
    )


def client_choices(session: Session, search: str = "", limit: int = 50) -> list[tuple[int, str]]:
    """(id, "Company <email>") of non-archived clients matching ``search``, for the pickers of
    use cases that checked their actor (not checked here)."""
    query = select(Client.id, Client.company, Client.email).where(
        *_client_conditions(search, "current")
    )
    rows = session.exec(query.order_by(sa.func.lower(col(Client.company))).limit(limit)).all()
    return [(cid, f"{company} <{email}>") for cid, company, email in rows if cid is not None]


def today(clock: Clock = system_clock) -> date:
    return clock.now().date()


@dataclass(frozen=True)
class ClientPaymentRow:
    id: int
    invoice_id: int
    invoice_number: str
    kind: str  # payment | refund
    method: str
    amount: Money
    received_on: date
    reference: str


def client_payments(
    session: Session, viewer: Acting, client_id: int, limit: int = 10
) -> list[ClientPaymentRow]:
    """The client's most recent payments and refunds, across its invoices (one query). They
    are shown with the client's invoices, to those who may read invoices."""
    require(viewer, Permission.INVOICES_READ)
    from billing_app.db.invoicing import Invoice, InvoicePayment

    rows = session.exec(
        select(InvoicePayment, Invoice.number)
        .join(Invoice, col(Invoice.id) == col(InvoicePayment.invoice_id))
        .where(col(Invoice.client_id) == client_id)
        .order_by(col(InvoicePayment.received_on).desc(), col(InvoicePayment.id).desc())
        .limit(limit)
    ).all()
    return [
        ClientPaymentRow(
            id=p.id or 0,
            invoice_id=p.invoice_id,
            invoice_number=number or "Draft",
            kind=p.kind,
            method=p.method,
            amount=Money(p.amount_minor, p.currency),
            received_on=p.received_on,
            reference=p.reference,
        )
        for p, number in rows
    ]
