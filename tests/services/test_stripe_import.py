"""Import clients from Stripe, against localstripe: the account's customers are previewed with
the CSV import's rules (a customer without an email is refused with the reason), imported with
their address, currency and default card, linked to the existing client with the same email,
shown as a conflict when that client has another Stripe customer; importing again adds
nothing. Only who may write clients may import."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from sqlmodel import Session, col, select

from billing_app.db.card_payments import SavedCard, StripeCustomer
from billing_app.db.customers import Client
from billing_app.domain.permissions import BuiltinRole
from billing_app.services.card_payments import stripe_import
from billing_app.services.card_payments.stripe_import import CONFLICT, DONE, INVALID, LINK, NEW
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed

from .test_invoice_card_payments import shop
from .test_invoice_notices import as_role, audit_of
from .test_invoicing import world

__all__ = ["shop", "world"]


def sdk(w: dict[str, Any]) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_x", base_addresses={"api": w["settings"].stripe_api_base})


def customer(w: dict[str, Any], **params: Any) -> str:
    card = params.pop("card", False)
    made = sdk(w).v1.customers.create(params=params)
    if card:
        sdk(w).v1.payment_methods.attach("pm_card_visa", params={"customer": made.id})
        pms = sdk(w).v1.payment_methods.list(params={"customer": made.id, "type": "card"})
        sdk(w).v1.customers.update(
            made.id, params={"invoice_settings": {"default_payment_method": pms.data[0].id}}
        )
    return str(made.id)


def outcomes(page: stripe_import.ImportPage) -> dict[str, str]:
    return {row.customer_id: row.outcome for row in page.rows}


def test_customers_are_previewed_imported_linked_and_never_imported_twice(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    bakery = customer(
        shop,
        name="Nord Bakery Oy",
        email="books@nordbakery.test",
        address={"line1": "Leipäkatu 3", "city": "Turku", "postal_code": "20100", "country": "FI"},
        card=True,
    )
    cafe = customer(shop, name="Café Ünder", email="Billing@Cafe-Under.test")  # an existing client
    nameless = customer(shop, name="No Email Ltd")
    owner = shop["actor"]

    page = stripe_import.preview_stripe_customers(session, owner, settings=shop["settings"])
    assert outcomes(page) == {bakery: NEW, cafe: LINK, nameless: INVALID}
    invalid = next(r for r in page.rows if r.customer_id == nameless)
    assert "email" in invalid.message.lower()
    assert session.exec(select(StripeCustomer)).all() == []  # a preview writes nothing

    result = stripe_import.import_stripe_customers(
        session, owner, clock=clock, settings=shop["settings"]
    )
    session.commit()
    assert (result.created, result.linked, result.cards) == (1, 1, 1)
    new = session.exec(select(Client).where(col(Client.email) == "books@nordbakery.test")).one()
    assert (new.company, new.address_line1, new.city, new.postal_code, new.country) == (
        "Nord Bakery Oy",
        "Leipäkatu 3",
        "Turku",
        "20100",
        "FI",
    )
    assert new.currency == "EUR"  # Stripe has none yet: the agency's
    links = dict(session.exec(select(StripeCustomer.customer_id, StripeCustomer.client_id)).all())
    assert links == {bakery: new.id, cafe: shop["client"].id}
    [card] = session.exec(select(SavedCard)).all()
    assert (card.client_id, card.last4, card.is_default) == (new.id, "4242", True)
    assert [a.details for a in audit_of(session, "clients.imported_from_stripe")] == [
        "1 created, 1 linked, 1 cards"
    ]

    again = stripe_import.preview_stripe_customers(session, owner, settings=shop["settings"])
    assert outcomes(again) == {bakery: DONE, cafe: DONE, nameless: INVALID}
    second = stripe_import.import_stripe_customers(
        session, owner, clock=clock, settings=shop["settings"]
    )
    assert (second.created, second.linked, second.cards) == (0, 0, 0)
    assert session.exec(select(Client).where(col(Client.email) == new.email)).all() == [new]


def test_an_email_whose_client_has_another_stripe_customer_is_a_conflict(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    first = customer(shop, name="Café Ünder", email="billing@cafe-under.test")
    stripe_import.import_stripe_customers(
        session, shop["actor"], clock=clock, settings=shop["settings"]
    )
    session.commit()
    second = customer(shop, name="Café Ünder (old account)", email="billing@cafe-under.test")
    page = stripe_import.preview_stripe_customers(session, shop["actor"], settings=shop["settings"])
    assert outcomes(page) == {first: DONE, second: CONFLICT}
    conflict = next(r for r in page.rows if r.customer_id == second)
    assert "linked to another Stripe customer" in conflict.message


def test_only_who_may_write_clients_and_configure_payments_imports(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    customer(shop, name="Someone", email="someone@else.test")
    viewer = as_role(shop, BuiltinRole.VIEWER)
    with pytest.raises(NotAllowed):
        stripe_import.preview_stripe_customers(session, viewer, settings=shop["settings"])
    with pytest.raises(NotAllowed):
        stripe_import.import_stripe_customers(
            session, viewer, clock=clock, settings=shop["settings"]
        )
    accountant = as_role(shop, BuiltinRole.ACCOUNTANT)  # writes clients, not payment settings
    assert stripe_import.preview_stripe_customers(session, accountant, settings=shop["settings"])
    with pytest.raises(NotAllowed):
        stripe_import.import_stripe_customers(
            session, accountant, clock=clock, settings=shop["settings"]
        )
    assert session.exec(select(StripeCustomer)).all() == []
