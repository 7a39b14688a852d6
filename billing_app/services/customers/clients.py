"""Clients and their websites: add, edit, archive, list (search, filter, sort, paginate in SQL),
overview and CSV export.

A client is never deleted (it has, or will have, history): it is archived. Its figures are
stored and indexed so 50,000 clients sort in SQL: ``mrr_minor`` is maintained by
services/catalog/subscriptions.py; ``net_invoiced_minor`` and ``outstanding_minor`` by invoicing.
The list, overview and export show each figure only to a viewer whose role may see it
(domain.permissions.FIGURE_PERMISSIONS, docs/security.md item 43): otherwise it is None, its CSV
column is left out, and sorting by it is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from babel import Locale, UnknownLocaleError
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from billing_app.db.customers import Client, ClientWebsite, Subscription
from billing_app.domain.errors import DomainError
from billing_app.domain.money import Money, normalize_currency
from billing_app.domain.permissions import FIGURE_PERMISSIONS, visible_figures
from billing_app.services.access.identity import CurrentUser, normalize_email
from billing_app.services.catalog.subscriptions import client_arr
from billing_app.services.common import audit
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.csv_export import Cell, write_csv
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed
from billing_app.services.common.listing import Page, clamp_page, like_pattern

STATUSES = ("active", "inactive", "archived")
EDITABLE_STATUSES = ("active", "inactive")


@dataclass
class WebsiteInput:
    name: str
    url: str
    id: int | None = None


@dataclass
class ClientInput:
    """What the client form (or a CSV row) gives."""

    company: str
    email: str
    contact_name: str = ""
    phone: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    postal_code: str = ""
    region: str = ""
    country: str = ""
    currency: str = "EUR"
    locale: str = "en"
    tax_id: str = ""
    notes: str = ""
    status: str = "active"
    websites: list[WebsiteInput] = field(default_factory=list)


@dataclass(frozen=True)
class CleanClient:
    company: str
    email: str
    contact_name: str
    phone: str
    address_line1: str
    address_line2: str
    city: str
    postal_code: str
    region: str
    country: str
    currency: str
    locale: str
    tax_id: str
    notes: str
    status: str
    websites: tuple[WebsiteInput, ...]


def _line(value: str, label: str, limit: int, name: str) -> str:
    cleaned = " ".join(str(value or "").split())
    if len(cleaned) > limit:
        raise ValidationFailed(f"{label}: use at most {limit} characters.", field=name)
    return cleaned


def _lines(value: str, label: str, limit: int, name: str) -> str:
    """A field that may span lines (a billing address pasted from a letter, or a quoted
    multi-line CSV cell): each line is cleaned like a one-line field, empty lines are dropped,
    and the lines are kept, joined by "\n"."""
    kept = [" ".join(part.split()) for part in str(value or "").splitlines()]
    cleaned = "\n".join(part for part in kept if part)
    if len(cleaned) > limit:
        raise ValidationFailed(f"{label}: use at most {limit} characters.", field=name)
    return cleaned


def address_lines_of(client: Client) -> list[str]:
    """The client's billing address as printed, one entry per line (address fields may hold
    several lines): street lines, postal code and city, region, country."""
    city_line = " ".join(p for p in (client.postal_code, client.city) if p)
    lines = [
        *client.address_line1.splitlines(),
        *client.address_line2.splitlines(),
        city_line,
        client.region,
        client.country,
    ]
    return [line for line in lines if line.strip()]


def clean_url(raw: str, field_name: str = "websites") -> str:
    """A website address with a scheme: 'example.com' becomes 'https://example.com'."""
    url = raw.strip()
    if not url:
        raise ValidationFailed("Enter the website's address.", field=field_name)
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or "." not in host or " " in url:
        raise ValidationFailed(
            f"{raw.strip()!r} is not a website address (such as https://example.com).",
            field=field_name,
        )
    if len(url) > 500:
        raise ValidationFailed("Website addresses have at most 500 characters.", field=field_name)
    return url


def clean_locale(raw: str) -> str:
    value = (raw or "en").strip().replace("-", "_") or "en"
    try:
        Locale.parse(value)
    except (UnknownLocaleError, ValueError):
        raise ValidationFailed(
            f"{raw!r} is not a known language (use a code such as en, fr or de_CH).",
            field="locale",
        ) from None
    return value


def validate_client(data: ClientInput) -> CleanClient:
    """Check and normalise a client's details; raises ValidationFailed naming the field."""
    company = _line(data.company, "Company", 200, "company")
    if not company:
        raise ValidationFailed("Enter the company name.", field="company")
    email = normalize_email(data.email or "", field="email")
    try:
        currency = normalize_currency(data.currency or "")
    except DomainError as exc:
        raise ValidationFailed(str(exc), field="currency") from exc
    country = (data.country or "").strip().upper()
    if country and (len(country) != 2 or not country.isalpha()):
        raise ValidationFailed(
            "Use the two-letter country code, such as FR or US.", field="country"
        )
    status = data.status or "active"
    if status not in EDITABLE_STATUSES:
        raise ValidationFailed("Choose active or inactive.", field="status")
    websites: list[WebsiteInput] = []
    seen: set[str] = set()
    for site in data.websites:
        if not site.name.strip() and not site.url.strip():
            continue
        url = clean_url(site.url)
        name = _line(site.name, "Website name", 200, "websites") or (urlsplit(url).hostname or url)
        if url.lower() in seen:
            raise ValidationFailed(f"{url} is listed twice.", field="websites")
        seen.add(url.lower())
        websites.append(WebsiteInput(name=name, url=url, id=site.id))
    return CleanClient(
        company=company,
        email=email,
        contact_name=_line(data.contact_name, "Contact name", 200, "contact_name"),
        phone=_line(data.phone, "Phone", 50, "phone"),
        address_line1=_lines(data.address_line1, "Address", 200, "address_line1"),
        address_line2=_lines(data.address_line2, "Address", 200, "address_line2"),
        city=_line(data.city, "City", 120, "city"),
        postal_code=_line(data.postal_code, "Postal code", 30, "postal_code"),
        region=_line(data.region, "Region", 120, "region"),
        country=country,
        currency=currency,
        locale=clean_locale(data.locale),
        tax_id=_line(data.tax_id, "Tax ID", 64, "tax_id"),
        notes=(data.notes or "").strip()[:5000],
        status=status,
        websites=tuple(websites),
    )


def search_text_of(company: str, contact: str, email: str, sites: Sequence[tuple[str, str]]) -> str:
    parts = [company, contact, email]
    for name, url in sites:
        parts += [name, url.split("://", 1)[-1]]
    return " ".join(p.lower() for p in parts if p)[:2000]


def _email_taken(session: Session, email: str, except_id: int | None = None) -> bool:
    query = select(Client.id).where(col(Client.email) == email)
    if except_id is not None:
        query = query.where(col(Client.id) != except_id)
    return session.exec(query).first() is not None


def _apply(client: Client, clean: CleanClient) -> None:
    client.company = clean.company
    client.email = clean.email
    client.contact_name = clean.contact_name
    client.phone = clean.phone
    client.address_line1 = clean.address_line1
    client.address_line2 = clean.address_line2
    client.city = clean.city
    client.postal_code = clean.postal_code
    client.region = clean.region
    client.country = clean.country
    client.currency = clean.currency
    client.locale = clean.locale
    client.tax_id = clean.tax_id
    client.notes = clean.notes
    client.search_text = search_text_of(
        clean.company, clean.contact_name, clean.email, [(w.name, w.url) for w in clean.websites]
    )


def create_client(
    session: Session, actor: CurrentUser, data: ClientInput, *, clock: Clock = system_clock
) -> Client:
    """Add a client and its websites in one step."""
    clean = validate_client(data)
    if _email_taken(session, clean.email):
        raise ValidationFailed(f"A client with the email {clean.email} exists.", field="email")
    return insert_clean_client(session, actor, clean, clock=clock)


def insert_clean_client(
    session: Session, actor: CurrentUser, clean: CleanClient, *, clock: Clock = system_clock
) -> Client:
    now = clock.now()
    client = Client(status=clean.status, created_at=now, updated_at=now, company="", email="")
    _apply(client, clean)
    session.add(client)
    session.flush()
    assert client.id is not None
    for site in clean.websites:
        session.add(
            ClientWebsite(client_id=client.id, name=site.name, url=site.url, created_at=now)
        )
    audit.record(
        session,
        "client.created",
        actor.actor(),
        target=f"client:{client.id}",
        details=f"{clean.company} <{clean.email}>",
        clock=clock,
    )
    return client


def get_client(session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("That client does not exist.")
    return client


def websites_of(session: Session, client_id: int) -> list[ClientWebsite]:
    return list(
        session.exec(
            select(ClientWebsite)
            .where(col(ClientWebsite.client_id) == client_id)
            .order_by(col(ClientWebsite.id))
        ).all()
    )


def update_client(
    session: Session,
    actor: CurrentUser,
    client_id: int,
    data: ClientInput,
    *,
    clock: Clock = system_clock,
) -> Client:
    """Edit a client; websites are matched by id (kept, renamed), added, or removed when no
    subscription uses them. The currency cannot change once subscriptions exist."""
    client = get_client(session, client_id)
    if client.status == "archived":
        data.status = "inactive"
    clean = validate_client(data)
    if _email_taken(session, clean.email, except_id=client_id):
        raise ValidationFailed(f"A client with the email {clean.email} exists.", field="email")
    if clean.currency != client.currency:
        used = session.exec(
            select(func.count())
            .select_from(Subscription)
            .where(col(Subscription.client_id) == client_id)
        ).one()
        if used:
            raise ValidationFailed(
                f"This client has subscriptions in {client.currency}: its currency cannot change.",
                field="currency",
            )
    existing = {w.id: w for w in websites_of(session, client_id)}
    keep_ids = {w.id for w in clean.websites if w.id is not None}
    unknown = keep_ids - set(existing)
    if unknown:
        raise ValidationFailed("A website in the form no longer exists.", field="websites")
    removed = [w for wid, w in existing.items() if wid not in keep_ids]
    if removed:
        used_sites = session.exec(
            select(ClientWebsite.name)
            .join(Subscription, col(Subscription.website_id) == col(ClientWebsite.id))
            .where(col(ClientWebsite.id).in_([w.id for w in removed]))
        ).first()
        if used_sites:
            raise ValidationFailed(
                f"The website {used_sites} has subscriptions: it cannot be removed.",
                field="websites",
            )
    now = clock.now()
    for old in removed:
        session.delete(old)
    for site in clean.websites:
        if site.id is None:
            session.add(
                ClientWebsite(client_id=client_id, name=site.name, url=site.url, created_at=now)
            )
        else:
            row = existing[site.id]
            row.name, row.url = site.name, site.url
            session.add(row)
    if client.status != "archived":
        client.status = clean.status
    _apply(client, clean)
    client.updated_at = now
    session.add(client)
    audit.record(
        session,
        "client.updated",
        actor.actor(),
        target=f"client:{client_id}",
        details=f"{clean.company} <{clean.email}>",
        clock=clock,
    )
    return client


def archive_client(
    session: Session, actor: CurrentUser, client_id: int, *, clock: Clock = system_clock
) -> Client:
    """Archive a client (kept with its history). Running subscriptions must be canceled first."""
    client = get_client(session, client_id)
    if client.status == "archived":
        return client
    running = session.exec(
        select(func.count())
        .select_from(Subscription)
        .where(
            col(Subscription.client_id) == client_id,
            col(Subscription.status).in_(["trialing", "active", "past_due", "paused"]),
            col(Subscription.kind) == "recurring",
        )
    ).one()
    if running:
        raise Conflict(
            f"{client.company} has {running} running subscription(s): cancel them first."
        )
    now = clock.now()
    client.status = "archived"
    client.archived_at = now
    client.updated_at = now
    session.add(client)
    audit.record(
        session, "client.archived", actor.actor(), target=f"client:{client_id}", clock=clock
    )
    return client


def restore_client(
    session: Session, actor: CurrentUser, client_id: int, *, clock: Clock = system_clock
) -> Client:
    client = get_client(session, client_id)
    if client.status != "archived":
        return client
    client.status = "active"
    client.archived_at = None
    client.updated_at = clock.now()
    session.add(client)
    audit.record(
        session, "client.restored", actor.actor(), target=f"client:{client_id}", clock=clock
    )
    return client


# --------------------------------------------------------------------------- listing


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


def _client_query(
    search: str, status: str, sort: str, descending: bool, figures: frozenset[str]
) -> SelectOfScalar[Client]:
    # Sorting by a figure the viewer may not see would leak its order: sort by name instead.
    if sort not in CLIENT_SORTS or (sort in FIGURE_PERMISSIONS and sort not in figures):
        sort = "name"
    order = CLIENT_SORTS[sort]
    id_order = col(Client.id).desc() if descending else col(Client.id).asc()
    return (
        select(Client)
        .where(*_client_conditions(search, status))
        .order_by(order.desc() if descending else order.asc(), id_order)
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


def list_clients(
    session: Session,
    viewer: CurrentUser,
    *,
    search: str = "",
    status: str = "current",
    sort: str = "name",
    descending: bool = False,
    page: int = 1,
    per_page: int = 25,
) -> Page[ClientRow]:
    """A page of clients: searched (company, contact, email, websites), filtered by status
    ("active", "inactive", "archived", "current" = not archived, "" = all), sorted and
    paginated in SQL - two queries whatever the size. Figures the viewer may not see are None
    and are not sorted by."""
    figures = visible_figures(viewer.permissions)
    page, per_page = clamp_page(page, per_page)
    total = session.exec(
        select(func.count()).select_from(Client).where(*_client_conditions(search, status))
    ).one()
    clients = session.exec(
        _client_query(search, status, sort, descending, figures)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    rows = [_client_row(c, figures) for c in clients]
    return Page(rows=rows, total=total, page=page, per_page=per_page)


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


# --------------------------------------------------------------------------- overview


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
    """(id, "Company <email>") of non-archived clients matching ``search``, for pickers."""
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


def client_payments(session: Session, client_id: int, limit: int = 10) -> list[ClientPaymentRow]:
    """The client's most recent payments and refunds, across its invoices (one query)."""
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
