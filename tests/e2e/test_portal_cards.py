"""A client saves cards in the portal with Stripe's card form (localstripe's fake Stripe.js):
a card is saved and becomes the default, a 3-D Secure card asks for authentication first, a
declined card says so and saves nothing, another card is made the default, one is removed
after a confirmation. The card numbers go from the form to "Stripe" only."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from billing_app.db.card_payments import SavedCard
from billing_app.db.models import StaffUser
from billing_app.services.access.identity import current_user_from
from billing_app.services.card_payments import stripe_settings
from billing_app.settings import Settings
from billing_app.ui.portal.payment_methods import PortalCardsState

from .axe import assert_accessible
from .conftest import ARTIFACTS, OWNER_EMAIL, AppServer, ensure_owner
from .sockets import exchange
from .test_hardening import HYDRATE, handler
from .test_portal_security import _client_user, _portal_sign_in, _signed_in
from .test_portal_sockets import _client_with_invoice, _portal_cookie

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "portal"
PHONE = {"width": 375, "height": 812}


def _connect_stripe(server: AppServer) -> Any:
    """Stripe connected as the owner would on Settings > Payments (encrypted with the app's
    key, in the app's data folder); the owner, to act as staff."""
    ensure_owner(server)
    app_settings = Settings(base_url=server.base_url, data_dir=server.data_dir)
    with Session(server.engine, expire_on_commit=False) as session:
        owner = session.exec(select(StaffUser).where(col(StaffUser.email) == OWNER_EMAIL)).one()
        actor = current_user_from(session, owner)
        stripe_settings.save_stripe_keys(
            session,
            actor,
            stripe_settings.StripeKeysForm(
                publishable_key="pk_test_portalCards01",
                secret_key="sk_test_portalCards01",
                webhook_secret="whsec_portalCards01",
            ),
            settings=app_settings,
        )
        session.commit()
    return actor


def _type_card(page: Any, number: str) -> None:
    form = page.locator("#portal-card-element")
    form.locator("input[placeholder=number]").wait_for()
    form.locator("input[placeholder=number]").fill(number)
    form.locator("input[placeholder=exp_month]").fill("12")
    form.locator("input[placeholder=exp_year]").fill("31")
    form.locator("input[placeholder=cvc]").fill("123")
    form.locator("input[placeholder=postal_code]").fill("75001")


def _cards_of(server: AppServer, client_id: int) -> list[tuple[str, bool]]:
    with Session(server.engine) as session:
        rows = session.exec(
            select(SavedCard)
            .where(col(SavedCard.client_id) == client_id)
            .where(col(SavedCard.removed_at).is_(None))
            .order_by(col(SavedCard.id))
        ).all()
        return [(row.last4, row.is_default) for row in rows]


def test_a_client_saves_cards_chooses_the_default_and_removes_one(
    app_server: AppServer, new_page: Any
) -> None:
    actor = _connect_stripe(app_server)
    client_id = _client_with_invoice(app_server, actor, "cards")["client"]
    email = _client_user(app_server, client_id, "cards", actor)
    page = new_page()
    _portal_sign_in(page, app_server, email)
    _signed_in(page)
    page.goto(app_server.base_url + "/portal/account")
    page.locator("#portal-no-cards").wait_for()

    page.click("#portal-add-card")
    _type_card(page, "4242424242424242")
    page.click("#portal-card-save")
    expect(page.get_by_text("Visa •••• 4242")).to_be_visible()
    assert _cards_of(app_server, client_id) == [("4242", True)]

    # A card whose bank asks for 3-D Secure: Stripe's dialog first.
    page.click("#portal-add-card")
    _type_card(page, "4000002500003155")
    page.click("#portal-card-save")
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_text("Visa •••• 3155")).to_be_visible()
    assert _cards_of(app_server, client_id) == [("4242", True), ("3155", False)]

    # A declined card: said in Stripe's words, nothing saved, the form still there.
    page.click("#portal-add-card")
    _type_card(page, "4000000000000002")
    page.click("#portal-card-save")
    expect(page.locator("#portal-card-error")).to_have_text("Your card was declined.")
    assert len(_cards_of(app_server, client_id)) == 2
    page.get_by_role("button", name="Cancel").click()

    page.locator('[data-card="3155"]').get_by_role("button", name="Make default").click()
    page.get_by_text("Default card changed.").wait_for()
    assert _cards_of(app_server, client_id) == [("4242", False), ("3155", True)]

    # The toasts (bottom right) fade out before the row's buttons under them are clicked
    # (they stay while the pointer rests on them).
    page.mouse.move(10, 10)
    expect(page.locator("[data-sonner-toast]")).to_have_count(0, timeout=15_000)
    page.locator('[data-card="4242"]').get_by_role("button", name="Remove").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Visa •••• 4242 will no longer pay your invoices.")
    dialog.get_by_role("button", name="Remove").click()
    page.get_by_text("Card removed.").wait_for()
    expect(page.get_by_text("Visa •••• 4242")).to_have_count(0)
    assert _cards_of(app_server, client_id) == [("3155", True)]
    assert "4242424242424242" not in app_server.log_path.read_text(errors="replace")

    page.wait_for_timeout(800)  # the toasts have faded in (axe measures them half-transparent)
    assert_accessible(page, "portal account with saved cards")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "portal-cards.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.goto(app_server.base_url + "/portal/account")
    expect(page.get_by_text(re.compile(r"Visa •••• 3155"))).to_be_visible()
    assert_accessible(page, "portal account with saved cards, phone")
    page.screenshot(path=str(SHOTS / "portal-cards-phone.png"), full_page=True)


def test_another_clients_user_cannot_touch_these_cards_over_the_websocket(
    app_server: AppServer,
) -> None:
    """With the card ids of another client, sent straight over the websocket: "not found",
    and the cards stay as they were (at Stripe too: nothing is detached)."""
    actor = _connect_stripe(app_server)
    mine = _client_with_invoice(app_server, actor, "cards-mine")["client"]
    theirs = _client_with_invoice(app_server, actor, "cards-theirs")["client"]
    app_settings = Settings(base_url=app_server.base_url, data_dir=app_server.data_dir)
    with Session(app_server.engine) as session:
        assert stripe_settings.stripe_config(session, settings=app_settings) is not None
        session.add(
            SavedCard(
                client_id=mine,
                payment_method_id=f"pm_not_theirs_{mine}",
                brand="visa",
                last4="4242",
                exp_month=12,
                exp_year=2031,
                is_default=True,
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
        card_id = session.exec(select(SavedCard.id).where(col(SavedCard.client_id) == mine)).one()
    cookie = _portal_cookie(app_server, theirs, "cards-intruder")
    updates = exchange(
        app_server,
        token=str(uuid.uuid4()),
        cookie=cookie,
        events=[
            (HYDRATE, {}, "/portal/account"),
            (
                handler(PortalCardsState, "make_default"),
                {"card_id": str(card_id)},
                "/portal/account",
            ),
            (handler(PortalCardsState, "remove"), {"card_id": str(card_id)}, "/portal/account"),
            (
                handler(PortalCardsState, "card_confirmed"),
                {"answer": {"ok": True}},
                "/portal/account",
            ),
        ],
    )
    said = json.dumps(updates)
    assert "not found" in said.lower()
    assert "4242" not in said
    assert _cards_of(app_server, mine) == [("4242", True)]
    assert _cards_of(app_server, theirs) == []
