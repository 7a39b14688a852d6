"""CSV import: a preview validates every row and gives the reason next to it; valid rows are
imported in one transaction; re-importing creates no duplicates; messy files work."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from billing_app.db.customers import Client, ClientWebsite
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import ValidationFailed
from billing_app.services.customers import clients, imports

from .test_clients import ADMIN, add_client

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
    preview = imports.preview(session, MESSY)
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
    preview = imports.preview(session, data)
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
        imports.preview(session, data)
    assert message in caught.value.message
    assert caught.value.field == "file"
