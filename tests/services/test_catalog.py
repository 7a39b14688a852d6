"""Catalog: tax rates, products (one-time or every N units), duplicate, rename/reprice without
touching subscriptions unless asked, archive instead of delete once used; private images."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from billing_app.adapters import storage
from billing_app.db.customers import Product
from billing_app.domain.tax import TaxRate
from billing_app.services.catalog import product_queries, subscriptions, tax_rates
from billing_app.services.catalog import products as catalog
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, ValidationFailed
from billing_app.services.common.listing import ListRequest
from billing_app.settings import Settings

from .test_clients import ADMIN, add_client, add_product

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_tax_rates_are_exact_and_validated(session: Session, clock: FixedClock) -> None:
    vat = tax_rates.create_tax_rate(session, ADMIN, name=" VAT ", percent="20", clock=clock)
    qst = tax_rates.create_tax_rate(
        session, ADMIN, name="QST", percent="9,975 %", inclusive=True, clock=clock
    )
    session.commit()
    assert tax_rates.tax_rate_of(vat) == TaxRate("VAT", Decimal("20"))
    assert tax_rates.tax_rate_of(qst).label == "QST 9.975% incl."
    for percent, message in (
        ("120", "between 0 and 100"),
        ("abc", "as a number"),
        ("1.23456", "4 decimals"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            tax_rates.create_tax_rate(session, ADMIN, name="X", percent=percent, clock=clock)
        assert caught.value.field == "percent"
        assert message in caught.value.message
    with pytest.raises(ValidationFailed) as caught:
        tax_rates.create_tax_rate(session, ADMIN, name="", percent="5", clock=clock)
    assert caught.value.field == "name"
    tax_rates.set_tax_rate_archived(session, ADMIN, vat.id or 0, True, clock=clock)
    session.commit()
    assert [r.name for r in tax_rates.list_tax_rates(session)] == ["QST"]


def test_product_with_interval_price_and_tax_rates(session: Session, clock: FixedClock) -> None:
    vat = tax_rates.create_tax_rate(session, ADMIN, name="VAT", percent="20", clock=clock)
    product = catalog.create_product(
        session,
        ADMIN,
        catalog.ProductInput(
            name="Site care",
            price="1 234,50",
            currency="eur",
            interval_unit="week",
            interval_count="4",
            tax_rate_ids=[vat.id or 0],
            locale="fr",
        ),
        clock=clock,
    )
    session.commit()
    row = product_queries.product_row(session, ADMIN, product.id or 0)
    assert (row.price.amount_minor, row.price.currency) == (123450, "EUR")
    assert row.billing_label == "every 4 weeks"
    assert [r.label for r in row.tax_rates] == ["VAT 20%"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"price": "12.345"}, "price"),
        ({"price": "-1"}, "price"),
        ({"currency": "EURO"}, "currency"),
        ({"interval_count": "0"}, "interval_count"),
        ({"interval_count": "1001"}, "interval_count"),
        ({"interval_unit": "fortnight"}, "interval_unit"),
        ({"billing_type": "sometimes"}, "billing_type"),
        ({"tax_rate_ids": [987]}, "tax_rate_ids"),
    ],
)
def test_bad_product_input_names_the_field(
    session: Session, clock: FixedClock, changes: dict[str, object], field: str
) -> None:
    data = catalog.ProductInput(name="Hosting", price="25", currency="EUR")
    for key, value in changes.items():
        setattr(data, key, value)
    with pytest.raises(ValidationFailed) as caught:
        catalog.create_product(session, ADMIN, data, clock=clock)
    assert caught.value.field == field
    session.rollback()
    assert session.exec(select(Product)).all() == []


def test_duplicate_then_rename_the_copy(session: Session, clock: FixedClock) -> None:
    vat = tax_rates.create_tax_rate(session, ADMIN, name="VAT", percent="20", clock=clock)
    original = catalog.create_product(
        session,
        ADMIN,
        catalog.ProductInput(
            name="Managed hosting", price="25", currency="EUR", tax_rate_ids=[vat.id or 0]
        ),
        clock=clock,
    )
    copy = catalog.duplicate_product(session, ADMIN, original.id or 0, clock=clock)
    session.commit()
    row = product_queries.product_row(session, ADMIN, copy.id or 0)
    assert (row.name, row.price.amount_minor, row.billing_label) == (
        "Copy of Managed hosting",
        2500,
        "monthly",
    )
    assert row.tax_rate_ids == (vat.id,)
    catalog.update_product(
        session,
        ADMIN,
        copy.id or 0,
        catalog.ProductInput(name="Premium hosting", price="49", currency="EUR"),
        clock=clock,
    )
    session.commit()
    names = [
        r.name for r in product_queries.list_products(session, ADMIN, ListRequest(sort="name")).rows
    ]
    assert names == ["Managed hosting", "Premium hosting"]


def test_reprice_keeps_subscription_prices_unless_asked(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = subscriptions.attach(
        session,
        ADMIN,
        subscriptions.AttachInput(
            client_id=client.id or 0, product_id=hosting, start_date=date(2026, 3, 1)
        ),
        clock=clock,
    )
    session.commit()
    catalog.update_product(
        session,
        ADMIN,
        hosting,
        catalog.ProductInput(name="Hosting", price="30", currency="EUR"),
        clock=clock,
    )
    session.commit()
    sub = subscriptions.get_subscription(session, sub.id or 0)
    assert (sub.unit_price_minor, sub.pending_unit_price_minor) == (2500, None)
    catalog.update_product(
        session,
        ADMIN,
        hosting,
        catalog.ProductInput(name="Hosting", price="35", currency="EUR"),
        update_subscriptions=True,
        clock=clock,
    )
    session.commit()
    sub = subscriptions.get_subscription(session, sub.id or 0)
    assert (sub.unit_price_minor, sub.pending_unit_price_minor) == (2500, 3500)
    with pytest.raises(ValidationFailed) as caught:
        catalog.update_product(
            session,
            ADMIN,
            hosting,
            catalog.ProductInput(name="Hosting", price="35", currency="EUR", interval_unit="year"),
            clock=clock,
        )
    assert caught.value.field == "billing_type"


def test_a_used_product_is_archived_never_deleted(session: Session, clock: FixedClock) -> None:
    unused = add_product(session, clock, name="Unused")
    used = add_product(session, clock, name="Used")
    client = add_client(session, clock)
    subscriptions.attach(
        session,
        ADMIN,
        subscriptions.AttachInput(
            client_id=client.id or 0, product_id=used, start_date=date(2026, 3, 1)
        ),
        clock=clock,
    )
    session.commit()
    catalog.delete_product(session, ADMIN, unused, clock=clock)
    session.commit()
    with pytest.raises(Conflict):
        catalog.delete_product(session, ADMIN, used, clock=clock)
    session.rollback()
    catalog.set_product_archived(session, ADMIN, used, True, clock=clock)
    session.commit()
    assert product_queries.list_products(session, ADMIN, ListRequest()).total == 0
    archived = product_queries.list_products(
        session, ADMIN, ListRequest(filters={"status": "archived"})
    ).rows
    assert [(r.name, r.subscriptions) for r in archived] == [("Used", 1)]
    with pytest.raises(ValidationFailed):
        subscriptions.attach(
            session,
            ADMIN,
            subscriptions.AttachInput(
                client_id=client.id or 0, product_id=used, start_date=date(2026, 3, 1)
            ),
            clock=clock,
        )


def test_images_are_stored_privately_and_checked(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "get_settings", lambda: settings)
    key = storage.save_image(PNG)
    path = storage.path_of(key)
    assert path is not None and path.read_bytes() == PNG
    assert Path(settings.data_dir / "private" / "product-images") in path.parents
    assert storage.save_image(PNG) == key
    with pytest.raises(storage.StorageError):
        storage.save_image(b"<svg onload=alert(1)>")
    assert storage.path_of("../../billing.db") is None
    assert storage.path_of("0" * 64 + ".png") is None


@pytest.mark.parametrize("text", ["1e1", "NaN", "Infinity", "1_0", "٣", str(10**23)])
def test_percentages_and_intervals_are_read_in_plain_notation_only(
    session: Session, clock: FixedClock, text: str
) -> None:
    """docs/security.md item 34: no exponents, NaN, Infinity, underscores, non-ASCII digits or
    oversized numbers."""
    with pytest.raises(ValidationFailed, match="as a number") as caught:
        tax_rates.create_tax_rate(session, ADMIN, name="X", percent=text, clock=clock)
    assert caught.value.field == "percent"
    with pytest.raises(ValidationFailed, match="how many days") as caught:
        catalog.create_product(
            session,
            ADMIN,
            catalog.ProductInput(name="Care", price="10", currency="EUR", interval_count=text),
            clock=clock,
        )
    assert caught.value.field == "interval_count"


def test_a_tax_rate_id_out_of_range_is_refused(session: Session, clock: FixedClock) -> None:
    with pytest.raises(ValidationFailed, match="Choose tax rates from the list"):
        catalog.create_product(
            session,
            ADMIN,
            catalog.ProductInput(name="Care", price="10", currency="EUR", tax_rate_ids=[10**23]),
            clock=clock,
        )
