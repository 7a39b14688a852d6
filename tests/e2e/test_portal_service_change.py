"""A client changes a service themselves, in Chromium: staff let clients change the quantity of a
product (its self-service settings, with a clear message for bounds the wrong way round); the
client opens the portal's products and services, changes the quantity, sees what they pay now
and the new price per period, confirms, and finds the invoice among theirs; a service set to end
is kept with "Keep my subscription". Desktop and phone screenshots; axe-core on the dialogs."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from billing_app.db.customers import Subscription
from billing_app.db.invoicing import Invoice
from billing_app.services.billing.renewals import billing_run
from billing_app.services.catalog import subscriptions

from .axe import assert_accessible
from .conftest import ARTIFACTS, AppServer
from .test_invoice_journey import _catalog, _staff, app_storage
from .test_portal_security import _client_user, _portal_sign_in, _signed_in

pytestmark = pytest.mark.e2e
__all__ = ["app_storage"]

SHOTS = ARTIFACTS / "portal-service-change"
PHONE = {"width": 375, "height": 812}


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _world(server: AppServer, actor: Any) -> dict[str, Any]:
    """A client with Site care (€49.50 + 20 % VAT a month) billed today, and hosting set to end
    at the end of its period."""
    world = _catalog(server, actor, "self-change")
    with Session(server.engine, expire_on_commit=False) as session:
        ids = []
        for product in (world["care"], world["hosting"]):
            sub = subscriptions.attach(
                session,
                actor,
                subscriptions.AttachInput(
                    client_id=world["client"].id, product_id=product.id, start_date=date.today()
                ),
            )
            ids.append(sub.id)
        session.commit()
    billing_run(server.engine, today=date.today())
    with Session(server.engine) as session:
        subscriptions.cancel_at_period_end(session, actor, ids[1])
        session.commit()
    return {**world, "sub": ids[0], "ending": ids[1]}


def _no_sideways_scroll(page: Any, selector: str) -> None:
    wide = page.evaluate(
        """(sel) => {
            const doc = document.documentElement;
            const box = document.querySelector(sel);
            return [doc.scrollWidth - doc.clientWidth, box ? box.scrollWidth - box.clientWidth : 0];
        }""",
        selector,
    )
    assert wide == [0, 0], f"sideways scroll at {selector}: {wide}"


@pytest.mark.usefixtures("app_storage")
def test_staff_allow_quantity_changes_and_the_client_changes_and_keeps_services(
    app_server: AppServer, new_page: Any
) -> None:
    token, actor = _staff(app_server, "self-change", "admin")
    world = _world(app_server, actor)
    care, hosting = world["care"], world["hosting"]

    # Staff: the product's self-service settings, from the catalog.
    staff = new_page()
    staff.context.add_cookies(
        [{"name": "billing_session", "value": token, "url": app_server.base_url}]
    )
    staff.goto(f"{app_server.base_url}/products")
    staff.get_by_label("Search products and services").fill(care.name)
    staff.click(f"#products-self-service-{care.id}")
    dialog = staff.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Client self-service: {care.name}")
    expect(staff.locator("#self-service-quantity_min")).to_be_disabled()
    staff.click("#self-service-quantity")
    staff.fill("#self-service-quantity_min", "2")
    staff.fill("#self-service-quantity_max", "1")
    staff.click(f"#self-service-plan-{hosting.id}")
    staff.click("#self-service-save")
    expect(staff.locator("#quantity_max-error")).to_have_text(
        "The maximum cannot be below the minimum."
    )
    expect(staff.locator(f"#self-service-plan-{hosting.id}")).to_be_checked()
    staff.fill("#self-service-quantity_min", "1")
    staff.fill("#self-service-quantity_max", "10")
    assert_accessible(staff, "product self-service dialog")
    _shot(staff, "self-service-desktop")
    staff.click("#self-service-save")
    staff.get_by_text("Client self-service saved.").wait_for()
    expect(dialog).to_have_count(0)

    # The client changes the quantity: the preview, then the invoice.
    email = _client_user(app_server, world["client"].id, "self-change", actor)
    client = new_page()
    _portal_sign_in(client, app_server, email)
    _signed_in(client)
    client.goto(app_server.base_url + "/portal/services")
    client.click(f"#change-{world['sub']}")
    expect(client.locator("#change-quantity")).to_have_value("1")
    client.fill("#change-quantity", "11")
    expect(client.locator("#quantity-error")).to_have_text("Choose a quantity from 1 to 10.")
    expect(client.locator("#change-confirm")).to_be_disabled()
    client.fill("#change-quantity", "3")
    # Two more for the whole period just billed: 2 x €49.50 + 20 % VAT.
    expect(client.locator("#change-now")).to_have_text("Pay now: €118.80 (taxes included)")
    expect(client.locator("#change-next")).to_contain_text("€178.20 per period (taxes included)")
    client.wait_for_timeout(300)
    assert_accessible(client, "portal change dialog")
    _shot(client, "change-desktop")
    client.click("#change-confirm")
    client.get_by_text(re.compile(r"Your service was changed: invoice \S+ is ready\.")).wait_for()
    with Session(app_server.engine) as session:
        sub = session.get(Subscription, world["sub"])
        assert sub is not None and sub.quantity == 3
        invoice = session.exec(
            select(Invoice)
            .where(col(Invoice.client_id) == world["client"].id)
            .where(col(Invoice.total_minor) == 11880)
        ).one()
    client.click("#portal-nav-invoices")
    expect(client.locator("#portal-invoices")).to_contain_text(invoice.number or "?")

    # Keep the service set to end.
    client.click("#portal-nav-services")
    client.click(f"#keep-{world['ending']}")
    client.get_by_text("Your service will renew.").wait_for()
    expect(client.locator(f"#keep-{world['ending']}")).to_have_count(0)
    with Session(app_server.engine) as session:
        kept = session.get(Subscription, world["ending"])
        assert kept is not None and not kept.cancel_at_period_end

    # On a phone: the dialog fits, nothing scrolls sideways.
    client.set_viewport_size(PHONE)
    client.goto(app_server.base_url + "/portal/services")
    client.click(f"#change-{world['sub']}")
    client.fill("#change-quantity", "2")
    expect(client.locator("#change-now")).to_contain_text("Credited now")
    client.wait_for_timeout(300)
    _no_sideways_scroll(client, "[role=dialog]")
    assert_accessible(client, "portal change dialog (phone)")
    _shot(client, "change-phone")
    client.keyboard.press("Escape")
    client.wait_for_timeout(300)
    _no_sideways_scroll(client, "#portal-services")
    _shot(client, "services-phone")
