"""CSV import of clients: preview every row with its problems, then import the valid rows in one
transaction. Re-importing the same file creates nothing new (rows match existing clients on
email and are reported as duplicates).

Real-world files work: UTF-8 with or without BOM (Latin-1 as a fallback), ',' ';' or tab
separators (sniffed), quoted fields with newlines, extra columns (ignored), headers in any case
and common synonyms ("Company name", "E-mail", "Website" ...). Our own export imports unchanged:
the quote it puts before formula-like cells ("'+33 1 23 45 67 89") is taken off again.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.domain.permissions import Permission
from billing_app.services.access.client_roles import default_client_role
from billing_app.services.access.portal_invitations import invite_client_user
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.csv_export import unneutralise
from billing_app.services.common.errors import ServiceError, ValidationFailed
from billing_app.services.customers.clients import (
    CleanClient,
    ClientInput,
    WebsiteInput,
    insert_clean_client,
    validate_client,
)
from billing_app.settings import Settings

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000

# header (normalised: lower case, letters and digits only) -> ClientInput field
HEADERS = {
    "company": "company",
    "companyname": "company",
    "client": "company",
    "clientname": "company",
    "organisation": "company",
    "organization": "company",
    "name": "company",
    "contact": "contact_name",
    "contactname": "contact_name",
    "fullname": "contact_name",
    "email": "email",
    "emailaddress": "email",
    "mail": "email",
    "phone": "phone",
    "phonenumber": "phone",
    "telephone": "phone",
    "tel": "phone",
    "address": "address_line1",
    "address1": "address_line1",
    "addressline1": "address_line1",
    "street": "address_line1",
    "address2": "address_line2",
    "addressline2": "address_line2",
    "city": "city",
    "town": "city",
    "postalcode": "postal_code",
    "postcode": "postal_code",
    "zip": "postal_code",
    "zipcode": "postal_code",
    "region": "region",
    "state": "region",
    "country": "country",
    "currency": "currency",
    "locale": "locale",
    "language": "locale",
    "taxid": "tax_id",
    "vat": "tax_id",
    "vatnumber": "tax_id",
    "notes": "notes",
    "note": "notes",
    "website": "websites",
    "websites": "websites",
    "url": "websites",
    "site": "websites",
}


@dataclass(frozen=True)
class PreviewRow:
    line: int  # row number in the file (the header is row 1)
    company: str
    email: str
    currency: str
    websites: str
    error: str  # "" when the row is valid
    clean: CleanClient | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class Preview:
    rows: list[PreviewRow]
    ignored_columns: list[str]

    @property
    def valid(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def invalid(self) -> int:
        return len(self.rows) - self.valid


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ValidationFailed("The file is larger than 5 MB.", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda s: counts[s])

    class Dialect(csv.excel):
        delimiter = best if counts[best] else ","

    return Dialect


def _norm(header: str) -> str:
    return "".join(ch for ch in header.lower() if ch.isalnum())


def _websites(raw: str) -> list[WebsiteInput]:
    """'a.com; Shop <https://b.com>' -> websites (separated by ';', '|', ',' or new lines)."""
    sites = []
    for chunk in raw.replace("|", ";").replace("\n", ";").replace(",", ";").split(";"):
        item = chunk.strip()
        if not item:
            continue
        if "<" in item and item.endswith(">"):
            name, url = item[:-1].split("<", 1)
            sites.append(WebsiteInput(name=name.strip(), url=url.strip()))
        else:
            sites.append(WebsiteInput(name="", url=item))
    return sites


def preview(session: Session, actor: Acting, data: bytes) -> Preview:
    """Read and validate every row; nothing is written. Only who may import sees the rows
    checked against the clients already stored."""
    require(actor, Permission.CLIENTS_WRITE)
    text = _decode(data)
    if not text.strip():
        raise ValidationFailed("The file is empty.", field="file")
    reader = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ValidationFailed("This is not a CSV file.", field="file") from exc
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    for index, name in enumerate(header):
        target = HEADERS.get(_norm(name))
        if target and target not in mapping.values():
            mapping[index] = target
        elif name.strip():
            ignored.append(name.strip())
    if "company" not in mapping.values() or "email" not in mapping.values():
        raise ValidationFailed(
            "The first row must name the columns, with at least company and email.",
            field="file",
        )
    parsed: list[tuple[int, dict[str, str]]] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(parsed) >= MAX_ROWS:
                raise ValidationFailed(f"Import at most {MAX_ROWS:,} rows at a time.", field="file")
            values = {target: "" for target in mapping.values()}
            for index, target in mapping.items():
                if index < len(record):
                    values[target] = unneutralise(record[index])
            parsed.append((reader.line_num, values))
    except csv.Error as exc:
        raise ValidationFailed(f"The file could not be read: {exc}.", field="file") from exc
    emails = {v.get("email", "").strip().lower() for _, v in parsed}
    existing = set(
        session.exec(select(Client.email).where(col(Client.email).in_(list(emails)))).all()
    )
    rows: list[PreviewRow] = []
    seen: dict[str, int] = {}
    for number, (_, values) in enumerate(parsed, start=2):
        websites_raw = values.pop("websites", "")
        try:
            data_in = ClientInput(
                **{k: v for k, v in values.items()},
                websites=_websites(websites_raw),
            )
            if not data_in.currency.strip():
                data_in.currency = "EUR"
            if not data_in.locale.strip():
                data_in.locale = "en"
            clean = validate_client(data_in)
            error = ""
            if clean.email in existing:
                error = f"A client with the email {clean.email} already exists."
            elif clean.email in seen:
                error = f"Same email as row {seen[clean.email]}."
            seen.setdefault(clean.email, number)
        except ServiceError as exc:
            clean, error = None, exc.message
        rows.append(
            PreviewRow(
                line=number,
                company=" ".join(values.get("company", "").split())[:200],
                email=values.get("email", "").strip()[:320],
                currency=values.get("currency", "").strip().upper()[:8] or "EUR",
                websites=websites_raw.strip()[:300],
                error=error,
                clean=clean if not error else None,
            )
        )
    return Preview(rows=rows, ignored_columns=ignored)


def import_valid(
    session: Session,
    actor: Acting,
    data: bytes,
    *,
    invite: bool = False,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> int:
    """Validate the file again and insert its valid rows (the caller commits them all at once).
    With ``invite`` (clients.users), each new client's contact email is invited to the portal
    with the default client role, in the same transaction. Returns how many clients were
    created."""
    require(actor, Permission.CLIENTS_WRITE)
    if invite:
        require(actor, Permission.CLIENTS_USERS)
    result = preview(session, actor, data)
    role = default_client_role(session)
    created = 0
    for row in result.rows:
        if row.clean is not None:
            client = insert_clean_client(session, actor, row.clean, clock=clock)
            created += 1
            if invite:
                assert client.id is not None
                invite_client_user(
                    session,
                    actor,
                    client.id,
                    email=row.clean.email,
                    name=row.clean.contact_name,
                    role=role,
                    clock=clock,
                    settings=settings,
                )
    return created
