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
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Client, ClientWebsite, Subscription
from billing_app.domain.money import normalize_currency
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import normalize_email
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, FieldChecks, NotFound, ValidationFailed

STATUSES = ("active", "inactive", "archived")


EDITABLE_STATUSES = ("active", "inactive")


MAX_NOTES = 5000


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


def _clean_websites(sites: Sequence[WebsiteInput]) -> tuple[WebsiteInput, ...]:
    """The websites of the form, rows left empty dropped; the first problem is raised."""
    websites: list[WebsiteInput] = []
    seen: set[str] = set()
    for site in sites:
        if not site.name.strip() and not site.url.strip():
            continue
        url = clean_url(site.url)
        name = _line(site.name, "Website name", 200, "websites") or (urlsplit(url).hostname or url)
        if url.lower() in seen:
            raise ValidationFailed(f"{url} is listed twice.", field="websites")
        seen.add(url.lower())
        websites.append(WebsiteInput(name=name, url=url, id=site.id))
    return tuple(websites)


def _clean_country(raw: str) -> str:
    country = (raw or "").strip().upper()
    if country and (len(country) != 2 or not country.isalpha()):
        raise ValidationFailed(
            "Use the two-letter country code, such as FR or US.", field="country"
        )
    return country


def check_client(data: ClientInput, checks: FieldChecks) -> CleanClient:
    """Check and normalise every field of a client's details, keeping each field's problem in
    ``checks`` (the caller raises them together); the result is only meaningful when no check
    failed."""
    company = checks.value("company", "", _line, data.company, "Company", 200, "company")
    if not company:
        checks.add("company", "Enter the company name.")
    email = checks.value("email", "", normalize_email, data.email or "", field="email")
    currency = checks.value("currency", "", normalize_currency, data.currency or "")
    country = checks.value("country", "", _clean_country, data.country)
    status = data.status or "active"
    if status not in EDITABLE_STATUSES:
        checks.add("status", "Choose active or inactive.")
    websites = checks.value("websites", (), _clean_websites, data.websites)
    text = {
        name: checks.value(name, "", clean, value, label, limit, name)
        for name, clean, value, label, limit in (
            ("contact_name", _line, data.contact_name, "Contact name", 200),
            ("phone", _line, data.phone, "Phone", 50),
            ("address_line1", _lines, data.address_line1, "Address", 200),
            ("address_line2", _lines, data.address_line2, "Address", 200),
            ("city", _line, data.city, "City", 120),
            ("postal_code", _line, data.postal_code, "Postal code", 30),
            ("region", _line, data.region, "Region", 120),
        )
    }
    locale = checks.value("locale", "en", clean_locale, data.locale)
    tax_id = checks.value("tax_id", "", _line, data.tax_id, "Tax ID", 64, "tax_id")
    notes = (data.notes or "").strip()
    if len(notes) > MAX_NOTES:
        checks.add("notes", f"Internal notes: use at most {MAX_NOTES:,} characters.")
    return CleanClient(
        company=company,
        email=email,
        contact_name=text["contact_name"],
        phone=text["phone"],
        address_line1=text["address_line1"],
        address_line2=text["address_line2"],
        city=text["city"],
        postal_code=text["postal_code"],
        region=text["region"],
        country=country,
        currency=currency,
        locale=locale,
        tax_id=tax_id,
        notes=notes,
        status=status,
        websites=websites,
    )


def validate_client(data: ClientInput) -> CleanClient:
    """Check and normalise a client's details; raises one ValidationFailed naming every field
    with a problem (its message and field are the first one)."""
    checks = FieldChecks()
    clean = check_client(data, checks)
    checks.raise_if_failed()
    return clean


def search_text_of(company: str, contact: str, email: str, sites: Sequence[tuple[str, str]]) -> str:
    parts = [company, contact, email]
    for name, url in sites:
        parts += [name, url.split("://", 1)[-1]]
    return " ".join(p.lower() for p in parts if p)[:2000]


def email_taken(session: Session, email: str, except_id: int | None = None) -> bool:
    query = select(Client.id).where(col(Client.email) == email)
    if except_id is not None:
        query = query.where(col(Client.id) != except_id)
    return session.exec(query).first() is not None


def apply_details(client: Client, clean: CleanClient) -> None:
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
    session: Session, actor: Acting, data: ClientInput, *, clock: Clock = system_clock
) -> Client:
    """Add a client and its websites in one step; nothing is written if any field is wrong."""
    require(actor, Permission.CLIENTS_WRITE)
    checks = FieldChecks()
    clean = check_client(data, checks)
    if not checks.failed("email") and email_taken(session, clean.email):
        checks.add("email", f"A client with the email {clean.email} exists.")
    checks.raise_if_failed()
    return insert_clean_client(session, actor, clean, clock=clock)


def insert_clean_client(
    session: Session, actor: Acting, clean: CleanClient, *, clock: Clock = system_clock
) -> Client:
    """Write a checked client (create_client and the CSV import, which checked the actor)."""
    now = clock.now()
    client = Client(status=clean.status, created_at=now, updated_at=now, company="", email="")
    apply_details(client, clean)
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
    """The client, for use cases that checked their actor (not checked here)."""
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("That client does not exist.")
    return client


def websites_of(session: Session, client_id: int) -> list[ClientWebsite]:
    """The client's websites, for use cases that checked their actor (not checked here)."""
    return list(
        session.exec(
            select(ClientWebsite)
            .where(col(ClientWebsite.client_id) == client_id)
            .order_by(col(ClientWebsite.id))
        ).all()
    )


def _check_website_changes(
    session: Session, unknown: set[int], removed: Sequence[ClientWebsite]
) -> None:
    """Refuse websites of the form that no longer exist, and removing a website that has
    subscriptions."""
    if unknown:
        raise ValidationFailed("A website in the form no longer exists.", field="websites")
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


def update_client(
    session: Session,
    actor: Acting,
    client_id: int,
    data: ClientInput,
    *,
    clock: Clock = system_clock,
) -> Client:
    """Edit a client; websites are matched by id (kept, renamed), added, or removed when no
    subscription uses them. The currency cannot change once subscriptions exist. Nothing is
    written if any field is wrong."""
    require(actor, Permission.CLIENTS_WRITE)
    client = get_client(session, client_id)
    if client.status == "archived":
        data.status = "inactive"
    checks = FieldChecks()
    clean = check_client(data, checks)
    if not checks.failed("email") and email_taken(session, clean.email, except_id=client_id):
        checks.add("email", f"A client with the email {clean.email} exists.")
    if not checks.failed("currency") and clean.currency != client.currency:
        used = session.exec(
            select(func.count())
            .select_from(Subscription)
            .where(col(Subscription.client_id) == client_id)
        ).one()
        if used:
            checks.add(
                "currency",
                f"This client has subscriptions in {client.currency}: its currency cannot change.",
            )
    existing = {w.id: w for w in websites_of(session, client_id)}
    keep_ids = {w.id for w in clean.websites if w.id is not None}
    removed = [w for wid, w in existing.items() if wid not in keep_ids]
    if not checks.failed("websites"):
        with checks.check("websites"):
            _check_website_changes(session, keep_ids - set(existing), removed)
    checks.raise_if_failed()
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
    apply_details(client, clean)
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
    session: Session, actor: Acting, client_id: int, *, clock: Clock = system_clock
) -> Client:
    """Archive a client (kept with its history). Running subscriptions must be canceled first."""
    require(actor, Permission.CLIENTS_WRITE)
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
    session: Session, actor: Acting, client_id: int, *, clock: Clock = system_clock
) -> Client:
    require(actor, Permission.CLIENTS_WRITE)
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
