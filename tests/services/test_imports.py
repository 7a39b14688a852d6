"""CSV import: a preview validates every row and gives the reason next to it; valid rows are
imported in one transaction; re-importing creates no duplicates; messy files work; a quoted
multi-line address keeps its lines (client overview, invoices, PDFs, export)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from pypdf import PdfReader
from sqlmodel import Session, func, select

from billing_app.db.customers import Client, ClientWebsite
from billing_app.db.invoicing import Invoice
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import ValidationFailed
from billing_app.services.customers import client_queries, clients, imports
from billing_app.services.invoicing import drafts, snapshots
from billing_app.services.invoicing.documents import pdf_of
from billing_app.services.invoicing.drafts import DraftForm, LineForm

from .test_clients import ADMIN, add_client
from .test_invoicing import world

__all__ = ["world"]

MESSY = (
    "\ufeffCompany Name;E-mail;Currency;Website;Notes;Favourite colour\r\n"
    "Acme Bakery;billing@acme.test;EUR;acme.test | Shop <https://shop.acme.test>;"
    '"first line\nsecond; line";blue\r\n'
    "Bad Email Ltd;not-an-email;EUR;;;\r\n"
    ";nameless@x.test;EUR;;;\r\n"
    "Funny Money;funny@x.test;ZZZ;;;\r\n"
    "Acme Twin;BILLING@acme.test;EUR;;;\r\n"
    "Existing Co;existing@x.test;gbp;;;\r\n"
    "Café Crème;cafe@x.test;;;;\r\n"
).encode()


def test_preview_reports_every_bad_row_with_its_reason(session: Session, clock: FixedClock) -> None:
    add_client(session, clock, company="Existing", email="existing@x.test")
    preview = imports.preview(session, ADMIN, MESSY)
    assert preview.ignored_columns == ["Favourite colour"]
    result = {row.line: (row.company, row.error) for row in preview.rows}
    assert result[2] == ("Acme Bakery", "")
    assert "valid email" in result[3][1]
    assert result[4][1] == "Enter the company name."
    assert "ZZZ is not a known ISO 4217 currency" in result[5][1]
    assert result[6][1] == "Same email as row 2."
    assert result[7][1] == "A client with the email existing@x.test already exists."
    assert result[8] == ("Café Crème", "")
    assert (preview.valid, preview.invalid) == (2, 5)
    assert session.exec(select(func.count()).select_from(Client)).one() == 1


def test_import_writes_valid_rows_once_and_reimport_adds_nothing(
    session: Session, clock: FixedClock
) -> None:
    assert imports.import_valid(session, ADMIN, MESSY, clock=clock) == 3
    session.commit()
    acme = session.exec(select(Client).where(Client.email == "billing@acme.test")).one()
    assert acme.notes == "first line\nsecond; line"
    sites = clients.websites_of(session, acme.id or 0)
    assert [(s.name, s.url) for s in sites] == [
        ("acme.test", "https://acme.test"),
        ("Shop", "https://shop.acme.test"),
    ]
    cafe = session.exec(select(Client).where(Client.email == "cafe@x.test")).one()
    assert (cafe.company, cafe.currency) == ("Café Crème", "EUR")
    assert imports.import_valid(session, ADMIN, MESSY, clock=clock) == 0
    session.commit()
    assert session.exec(select(func.count()).select_from(Client)).one() == 3
    assert session.exec(select(func.count()).select_from(ClientWebsite)).one() == 2


def test_comma_separated_latin1_file(session: Session, clock: FixedClock) -> None:
    data = "company,email,city\nBrasserie Élise,elise@x.test,Liège\n".encode("latin-1")
    preview = imports.preview(session, ADMIN, data)
    assert [(r.company, r.error) for r in preview.rows] == [("Brasserie Élise", "")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"foo,bar\n1,2\n", "at least company and email"),
        (b"company,email\n" + b"x" * (6 * 1024 * 1024), "larger than 5 MB"),
    ],
)
def test_unusable_files_are_refused(session: Session, data: bytes, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        imports.preview(session, ADMIN, data)
    assert message in caught.value.message
    assert caught.value.field == "file"


ADDRESSES = (
    "company,email,address,address 2,postal code,city,country\r\n"
    'Atelier Lumière,atelier@x.test,"12 rue des Arts\r\nBâtiment B,  3e étage",'
    '"Cour intérieure\n\nPorte 4",75003,Paris,fr\r\n'
).encode()


def test_a_quoted_multi_line_address_keeps_its_lines(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    assert imports.import_valid(session, ADMIN, ADDRESSES, clock=clock) == 1
    session.commit()
    client = session.exec(select(Client).where(Client.email == "atelier@x.test")).one()
    # Each line cleaned like a one-line field; empty lines dropped; the breaks kept.
    assert client.address_line1 == "12 rue des Arts\nBâtiment B, 3e étage"
    assert client.address_line2 == "Cour intérieure\nPorte 4"
    printed = ["12 rue des Arts", "Bâtiment B, 3e étage", "Cour intérieure", "Porte 4"]
    printed += ["75003 Paris", "FR"]
    assert client_queries.client_overview(session, ADMIN, client.id or 0).address_lines == printed

    # Invoices print the lines as lines (the frozen snapshot, and so the PDF).
    form = DraftForm(client_id=client.id or 0, lines=(LineForm("Website care", "1", "100"),))
    invoice_id = drafts.save_draft(session, world["actor"], form, clock=clock)
    session.commit()
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    snapshot = snapshots.build_snapshot(session, invoice, drafts.recompute_totals(session, invoice))
    assert snapshot["client"]["address"] == printed
    pdf_lines = [
        line.strip()
        for page in PdfReader(io.BytesIO(pdf_of(session, invoice))).pages
        for line in page.extract_text().splitlines()
    ]
    position = pdf_lines.index("12 rue des Arts")
    assert pdf_lines[position : position + len(printed)] == printed

    # Our own export gives the same lines back.
    exported = client_queries.export_csv(session, ADMIN, search="atelier")
    again = imports.preview(session, ADMIN, exported)
    assert again.rows[0].error.startswith("A client with the email")
    row = next(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    assert row["address_line1"] == "12 rue des Arts\nBâtiment B, 3e étage"
