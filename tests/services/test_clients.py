"""Clients: one-step creation with websites, validation per field, edit, archive, and the list
searched, filtered, sorted and paginated in SQL; CSV export."""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Client, ClientWebsite
from billing_app.db.engine import make_engine
from billing_app.db.models import AuditEvent
from billing_app.domain.permissions import ALL_PERMISSIONS, Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.catalog import products as catalog
from billing_app.services.catalog import subscription_queries, subscriptions
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed
from billing_app.services.common.listing import ListRequest
from billing_app.services.customers import client_queries, clients, imports

ADMIN = CurrentUser(
    id=1,
    name="Ada Admin",
    email="ada@agency.test",
    role_key="admin",
    role_label="Admin",
    permissions=frozenset(ALL_PERMISSIONS),
)


def client_input(**overrides: object) -> clients.ClientInput:
    values: dict[str, object] = {
        "company": "Acme Bakery",
        "email": "billing@acme.test",
        "contact_name": "Amélie Martin",
        "currency": "EUR",
        "city": "Lyon",
        "country": "fr",
    }
    values.update(overrides)
    return clients.ClientInput(**values)  # type: ignore[arg-type]


def add_client(session: Session, clock: FixedClock, **overrides: object) -> Client:
    client = clients.create_client(session, ADMIN, client_input(**overrides), clock=clock)
    session.commit()
    return client


def add_product(
    session: Session,
    clock: FixedClock,
    *,
    name: str = "Managed hosting",
    price: str = "25.00",
    currency: str = "EUR",
    billing_type: str = "recurring",
    unit: str = "month",
    count: str = "1",
) -> int:
    product = catalog.create_product(
        session,
        ADMIN,
        catalog.ProductInput(
            name=name,
            price=price,
            currency=currency,
            billing_type=billing_type,
            interval_unit=unit,
            interval_count=count,
        ),
        clock=clock,
    )
    session.commit()
    assert product.id is not None
    return product.id


def test_a_client_is_added_in_one_step_with_its_websites(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(
        session,
        clock,
        email=" Billing@ACME.test ",
        websites=[
            clients.WebsiteInput(name="Shop", url="shop.acme.test"),
            clients.WebsiteInput(name="", url="https://www.acme.test/"),
        ],
    )
    assert client.id is not None
    overview = client_queries.client_overview(session, ADMIN, client.id)
    assert overview.client.email == "billing@acme.test"
    assert overview.client.country == "FR"
    assert [(w.name, w.url) for w in overview.websites] == [
        ("Shop", "https://shop.acme.test"),
        ("www.acme.test", "https://www.acme.test/"),
    ]
    assert overview.mrr.amount_minor == 0
    assert overview.mrr.currency == "EUR"
    assert session.exec(
        select(AuditEvent.action).where(col(AuditEvent.target) == f"client:{client.id}")
    ).all() == ["client.created"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"company": "  "}, "company", "Enter the company name."),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"currency": "EURO"}, "currency", "currency"),
        ({"currency": "XYZ"}, "currency", "not a known ISO 4217"),
        ({"country": "France"}, "country", "two-letter"),
        ({"locale": "klingon"}, "locale", "not a known language"),
        (
            {"websites": [clients.WebsiteInput(name="Blog", url="not a url")]},
            "websites",
            "not a website address",
        ),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    session: Session, clock: FixedClock, overrides: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        clients.create_client(session, ADMIN, client_input(**overrides), clock=clock)
    assert caught.value.field == field
    assert message in caught.value.message
    session.rollback()
    assert session.exec(select(func.count()).select_from(Client)).one() == 0


def test_two_clients_cannot_share_an_email(session: Session, clock: FixedClock) -> None:
    add_client(session, clock)
    with pytest.raises(ValidationFailed) as caught:
        clients.create_client(
            session, ADMIN, client_input(company="Other", email="BILLING@acme.test"), clock=clock
        )
    assert caught.value.field == "email"


def test_edit_keeps_renames_adds_and_removes_websites(session: Session, clock: FixedClock) -> None:
    client = add_client(
        session,
        clock,
        websites=[
            clients.WebsiteInput(name="Shop", url="shop.acme.test"),
            clients.WebsiteInput(name="Blog", url="blog.acme.test"),
        ],
    )
    assert client.id is not None
    shop, _blog = clients.websites_of(session, client.id)
    clients.update_client(
        session,
        ADMIN,
        client.id,
        client_input(
            company="Acme Bakery SAS",
            websites=[
                clients.WebsiteInput(id=shop.id, name="Online shop", url="shop.acme.test"),
                clients.WebsiteInput(name="Docs", url="docs.acme.test"),
            ],
        ),
        clock=clock,
    )
    session.commit()
    sites = clients.websites_of(session, client.id)
    assert (sites[0].id, sites[0].name) == (shop.id, "Online shop")
    assert [s.name for s in sites] == ["Online shop", "Docs"]
    page = client_queries.list_clients(session, ADMIN, ListRequest(search="docs.acme"))
    assert [r.company for r in page.rows] == ["Acme Bakery SAS"]


def test_a_website_or_currency_in_use_cannot_be_removed_or_changed(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock, websites=[clients.WebsiteInput(name="Shop", url="a.test")])
    assert client.id is not None
    site = clients.websites_of(session, client.id)[0]
    product_id = add_product(session, clock)
    subscriptions.attach(
        session,
        ADMIN,
        subscriptions.AttachInput(
            client_id=client.id,
            product_id=product_id,
            website_id=site.id,
            start_date=date(2026, 3, 14),
        ),
        clock=clock,
    )
    session.commit()
    with pytest.raises(ValidationFailed) as caught:
        clients.update_client(session, ADMIN, client.id, client_input(websites=[]), clock=clock)
    assert caught.value.field == "websites"
    session.rollback()
    with pytest.raises(ValidationFailed) as caught:
        clients.update_client(
            session,
            ADMIN,
            client.id,
            client_input(
                currency="USD",
                websites=[clients.WebsiteInput(id=site.id, name="Shop", url="a.test")],
            ),
            clock=clock,
        )
    assert caught.value.field == "currency"


def test_archive_needs_no_running_subscription_and_keeps_the_client(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    assert client.id is not None
    product_id = add_product(session, clock)
    sub = subscriptions.attach(
        session,
        ADMIN,
        subscriptions.AttachInput(
            client_id=client.id, product_id=product_id, start_date=date(2026, 3, 1)
        ),
        clock=clock,
    )
    session.commit()
    assert sub.id is not None
    with pytest.raises(Conflict):
        clients.archive_client(session, ADMIN, client.id, clock=clock)
    session.rollback()
    subscriptions.cancel_now(session, ADMIN, sub.id, clock=clock)
    clients.archive_client(session, ADMIN, client.id, clock=clock)
    session.commit()
    assert clients.get_client(session, client.id).status == "archived"
    assert client_queries.list_clients(session, ADMIN, ListRequest()).total == 0
    assert (
        client_queries.list_clients(
            session, ADMIN, ListRequest(filters={"status": "archived"})
        ).total
        == 1
    )
    clients.restore_client(session, ADMIN, client.id, clock=clock)
    session.commit()
    assert client_queries.list_clients(session, ADMIN, ListRequest()).total == 1


def test_unknown_client_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        client_queries.client_overview(session, ADMIN, 424242)


def test_list_searches_filters_sorts_and_paginates(session: Session, clock: FixedClock) -> None:
    names = ["Zeta Studio", "alpha Design", "Beta 100% Labs", "Gamma_Cafe", "Delta Hosting"]
    for i, name in enumerate(names):
        add_client(
            session,
            clock,
            company=name,
            email=f"c{i}@example.test",
            status="inactive" if i == 4 else "active",
            websites=[clients.WebsiteInput(name="site", url=f"site{i}.example.test")],
        )
        clock.advance(days=1)
    by_name = client_queries.list_clients(session, ADMIN, ListRequest(sort="name"))
    assert [r.company for r in by_name.rows] == [
        "alpha Design",
        "Beta 100% Labs",
        "Delta Hosting",
        "Gamma_Cafe",
        "Zeta Studio",
    ]
    first = client_queries.list_clients(
        session, ADMIN, ListRequest(sort="created", descending=True, per_page=2)
    )
    newest = client_queries.list_clients(
        session,
        ADMIN,
        ListRequest(sort="created", descending=True, per_page=2, after=first.last_key),
    )
    assert (newest.total, newest.pages) == (5, 3)
    assert [r.company for r in newest.rows] == ["Beta 100% Labs", "alpha Design"]
    assert [
        r.company
        for r in client_queries.list_clients(
            session, ADMIN, ListRequest(filters={"status": "inactive"})
        ).rows
    ] == ["Delta Hosting"]
    # LIKE wildcards are literal; search covers company, email and website
    assert [
        r.company
        for r in client_queries.list_clients(session, ADMIN, ListRequest(search="100%")).rows
    ] == ["Beta 100% Labs"]
    assert [
        r.company
        for r in client_queries.list_clients(session, ADMIN, ListRequest(search="a_c")).rows
    ] == ["Gamma_Cafe"]
    assert [
        r.company
        for r in client_queries.list_clients(session, ADMIN, ListRequest(search="C3@EXAMPLE")).rows
    ] == ["Gamma_Cafe"]
    assert [
        r.company
        for r in client_queries.list_clients(
            session, ADMIN, ListRequest(search="site0.example")
        ).rows
    ] == ["Zeta Studio"]


def test_list_sorts_by_mrr_from_subscriptions(session: Session, clock: FixedClock) -> None:
    hosting = add_product(session, clock)
    care = add_product(session, clock, name="Site care", price="120.00", unit="year")
    small = add_client(session, clock, company="Small", email="s@x.test")
    big = add_client(session, clock, company="Big", email="b@x.test")
    add_client(session, clock, company="None", email="n@x.test")
    for client_id, product_id, qty in ((small.id, care, 1), (big.id, hosting, 2)):
        assert client_id is not None
        subscriptions.attach(
            session,
            ADMIN,
            subscriptions.AttachInput(
                client_id=client_id,
                product_id=product_id,
                quantity=qty,
                start_date=date(2026, 3, 1),
            ),
            clock=clock,
        )
    session.commit()
    page = client_queries.list_clients(session, ADMIN, ListRequest(sort="mrr", descending=True))
    assert [(r.company, r.mrr.amount_minor) for r in page.rows] == [
        ("Big", 5000),
        ("Small", 1000),
        ("None", 0),
    ]


def test_csv_export_lists_the_filtered_clients(session: Session, clock: FixedClock) -> None:
    add_client(
        session,
        clock,
        company='Quote "and", comma',
        websites=[clients.WebsiteInput(name="Shop", url="shop.acme.test")],
    )
    add_client(session, clock, company="Hidden", email="h@x.test", status="inactive")
    text = client_queries.export_csv(session, ADMIN, status="active").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["company"] == 'Quote "and", comma'
    assert rows[0]["websites"] == "Shop <https://shop.acme.test>"
    assert rows[0]["mrr"] == "0.00"
    assert session.exec(select(func.count()).select_from(ClientWebsite)).one() == 1


FORMULAS = ['=HYPERLINK("http://evil","x")', "+1", "-2+3", "@SUM(A1)"]


def _export_rows(
    session: Session, viewer: CurrentUser = ADMIN, **options: object
) -> list[dict[str, str]]:
    data = client_queries.export_csv(session, viewer, status="", **options)  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_export_neutralises_formulas(session: Session, clock: FixedClock) -> None:
    """docs/security.md item 39: a cell starting with = + - @ tab or CR is a formula in Excel."""
    for i, company in enumerate(FORMULAS):
        add_client(session, clock, company=company, email=f"f{i}@x.test", phone="+33 1 23 45")
    # Tabs and carriage returns cannot be typed into a name; data from elsewhere may hold them.
    now = clock.now()
    for i, company in enumerate(["\tx", "\rx"]):
        session.add(Client(company=company, email=f"w{i}@x.test", created_at=now, updated_at=now))
    session.commit()
    by_email = {row["email"]: row for row in _export_rows(session)}
    for i, company in enumerate(FORMULAS):
        assert by_email[f"f{i}@x.test"]["company"] == "'" + company
        assert by_email[f"f{i}@x.test"]["phone"] == "'+33 1 23 45"
    assert by_email["w0@x.test"]["company"] == "'\tx"
    assert by_email["w1@x.test"]["company"] == "'\rx"
    # Figures are numbers, written plainly and never quoted (a negative amount stays one).
    assert {row["mrr"] for row in by_email.values()} == {"0.00"}


def test_csv_export_is_utf8_with_a_bom_and_negative_amounts_stay_numbers(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock, company="Café Ünder", contact_name="Jürgen Çelik")
    client.outstanding_minor = -1250
    session.add(client)
    session.commit()
    data = client_queries.export_csv(session, ADMIN)
    assert data.startswith(b"\xef\xbb\xbfcompany,")
    [row] = _export_rows(session)
    assert (row["company"], row["contact_name"]) == ("Café Ünder", "Jürgen Çelik")
    assert row["outstanding"] == "-12.50"


def test_the_export_imports_back_unchanged(
    session: Session, clock: FixedClock, sqlite_template: Path, tmp_path: Path
) -> None:
    """Our own export (BOM, quoted formula-like cells) is a valid import file elsewhere."""
    add_client(
        session,
        clock,
        company="Café Ünder GmbH",
        contact_name="Jürgen Çelik",
        email="j@cafe.test",
        phone="+49 221 123456",
        city="Köln",
        websites=[clients.WebsiteInput(name="Shop", url="shop.cafe.test")],
    )
    add_client(session, clock, company='=HYPERLINK("http://evil","x")', email="evil@x.test")
    data = client_queries.export_csv(session, ADMIN, status="")

    def details(s: Session) -> list[tuple[str, ...]]:
        found = s.exec(select(Client).order_by(col(Client.email))).all()
        return [
            (
                c.company,
                c.contact_name,
                c.email,
                c.phone,
                c.city,
                c.country,
                c.currency,
                "; ".join(f"{w.name} <{w.url}>" for w in clients.websites_of(s, c.id or 0)),
            )
            for c in found
        ]

    path = tmp_path / "elsewhere.db"
    shutil.copyfile(sqlite_template, path)
    elsewhere = make_engine(f"sqlite:///{path}")
    try:
        with Session(elsewhere) as other:
            assert imports.import_valid(other, ADMIN, data, clock=clock) == 2
            other.commit()
            assert details(other) == details(session)
    finally:
        elsewhere.dispose()


CLIENTS_ONLY = CurrentUser(
    id=2,
    name="Cleo Clients",
    email="cleo@agency.test",
    role_key="custom",
    role_label="Clients only",
    permissions=frozenset({Permission.CLIENTS_READ, Permission.SUBSCRIPTIONS_READ}),
)


def _with(*extra: Permission) -> CurrentUser:
    return replace(CLIENTS_ONLY, permissions=CLIENTS_ONLY.permissions | set(extra))


def _three_clients_with_mrr(session: Session, clock: FixedClock) -> None:
    hosting = add_product(session, clock)
    care = add_product(session, clock, name="Site care", price="120.00", unit="year")
    small = add_client(session, clock, company="Small", email="s@x.test")
    big = add_client(session, clock, company="Big", email="b@x.test")
    add_client(session, clock, company="None", email="n@x.test")
    big.net_invoiced_minor = big.outstanding_minor = 9900
    session.add(big)
    for client_id, product_id, qty in ((small.id, care, 1), (big.id, hosting, 2)):
        assert client_id is not None
        subscriptions.attach(
            session,
            ADMIN,
            subscriptions.AttachInput(
                client_id=client_id,
                product_id=product_id,
                quantity=qty,
                start_date=date(2026, 3, 1),
            ),
            clock=clock,
        )
    session.commit()


def test_money_figures_need_their_permission(session: Session, clock: FixedClock) -> None:
    """docs/security.md item 43: clients.read alone shows no MRR, net invoiced or outstanding, in
    the list, the overview, the export or the subscriptions; MRR needs reports.view, the
    invoice figures invoices.read."""
    _three_clients_with_mrr(session, clock)
    big = session.exec(select(Client).where(col(Client.company) == "Big")).one()
    assert big.id is not None

    def figures(viewer: CurrentUser) -> set[str]:
        row = next(
            r
            for r in client_queries.list_clients(session, viewer, ListRequest()).rows
            if r.id == big.id
        )
        overview = client_queries.client_overview(session, viewer, big.id or 0)
        names = {n for n in ("mrr", "net_invoiced", "outstanding") if getattr(row, n) is not None}
        assert names == {
            n for n in ("mrr", "net_invoiced", "outstanding") if getattr(overview, n) is not None
        }
        exported = set(_export_rows(session, viewer)[0]) & {"mrr", "net_invoiced", "outstanding"}
        assert exported == names
        subs = subscription_queries.list_subscriptions(
            session, viewer, ListRequest(filters={"client": str(big.id)})
        ).rows
        detail, _ = subscription_queries.subscription_detail(session, viewer, subs[0].id)
        assert {s.mrr is not None for s in subs} == {detail.mrr is not None} == {"mrr" in names}
        return names

    assert figures(CLIENTS_ONLY) == set()
    assert figures(_with(Permission.REPORTS_VIEW)) == {"mrr"}
    assert figures(_with(Permission.INVOICES_READ)) == {"net_invoiced", "outstanding"}
    assert figures(_with(Permission.REPORTS_VIEW, Permission.INVOICES_READ)) == {
        "mrr",
        "net_invoiced",
        "outstanding",
    }
    row = next(
        r for r in client_queries.list_clients(session, ADMIN, ListRequest()).rows if r.id == big.id
    )
    assert row.mrr is not None and row.mrr.amount_minor == 5000
    assert row.outstanding is not None and row.outstanding.amount_minor == 9900


@pytest.mark.parametrize("sort", ["mrr", "net_invoiced", "outstanding"])
def test_sorting_by_a_hidden_figure_is_ignored(
    session: Session, clock: FixedClock, sort: str
) -> None:
    """Sorting by a figure one may not see would leak its order: the list sorts by name."""
    _three_clients_with_mrr(session, clock)

    def order(viewer: CurrentUser, key: str) -> list[str]:
        page = client_queries.list_clients(session, viewer, ListRequest(sort=key, descending=True))
        exported = _export_rows(session, viewer, sort=key, descending=True)
        assert [row["company"] for row in exported] == [r.company for r in page.rows]
        return [r.company for r in page.rows]

    by_name = ["Small", "None", "Big"]
    assert order(CLIENTS_ONLY, sort) == by_name
    assert order(ADMIN, sort) != by_name
    subs_sorted = subscription_queries.list_subscriptions(
        session, CLIENTS_ONLY, ListRequest(sort="mrr")
    )
    renewals = subscription_queries.list_subscriptions(
        session, CLIENTS_ONLY, ListRequest(sort="next_renewal")
    )
    assert [s.id for s in subs_sorted.rows] == [s.id for s in renewals.rows]
