"""The client portal in Chromium: staff invite a client's person, the branded email arrives, they
accept with their email pre-filled, land in the portal under the agency's brand, see the sent
invoice and download its PDF, ask to cancel a service; staff approve and the client sees it.
Another client's user sees none of it. Every portal page at desktop and phone width, checked by
axe-core and photographed."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from billing_app.db.invoicing import Invoice
from billing_app.services.agency import branding
from billing_app.services.agency.branding import default_brand
from billing_app.services.catalog import subscriptions
from billing_app.services.invoicing import drafts, sending
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, AppServer, link_in
from tests.e2e.test_invoice_journey import _catalog, _staff, app_storage

pytestmark = pytest.mark.e2e
__all__ = ["app_storage"]

RUN = uuid.uuid4().hex[:6]
SHOTS = ARTIFACTS / "portal"
PASSWORD = "Fjord-Lantern-42"
PHONE = {"width": 375, "height": 812}


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _signed_in(new_page: Any, server: AppServer, token: str) -> Any:
    page = new_page()
    page.context.add_cookies([{"name": "billing_session", "value": token, "url": server.base_url}])
    return page


def _world(server: AppServer, actor: Any, tag: str) -> dict[str, Any]:
    """A client with a running subscription and a sent invoice; the default brand's bank
    details."""
    world = _catalog(server, actor, tag)
    with Session(server.engine, expire_on_commit=False) as session:
        brand = default_brand(session)
        brand.bank_account_holder = "Studio Nord Oy"
        brand.bank_iban = "FI21 1234 5600 0007 85"
        brand.bank_bic = "NDEAFIHH"
        session.add(brand)
        sub = subscriptions.attach(
            session,
            actor,
            subscriptions.AttachInput(
                client_id=world["client"].id,
                product_id=world["care"].id,
                start_date=date.today(),
            ),
        )
        invoice_id = drafts.save_draft(
            session,
            actor,
            drafts.DraftForm(
                client_id=world["client"].id,
                lines=(drafts.LineForm(f"Site care {tag}", "1", "49.50"),),
            ),
        )
        sent = sending.send_invoice(session, actor, invoice_id)
        session.commit()
    return {**world, "subscription": sub.id, "invoice": invoice_id, "number": sent.number}


def _accept(new_page: Any, server: AppServer, email: str, name: str) -> Any:
    mail = server.mailbox.wait_for(email, "invitation")
    link = link_in(mail, "/portal/accept-invite")
    page = new_page()
    page.goto(link)
    field = page.locator("#accept-email")
    expect(field).to_have_value(email)
    assert field.get_attribute("readonly") is not None
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("#accept-submit")
    page.wait_for_url(re.compile(r"/portal/?$"))
    return page


@pytest.mark.usefixtures("app_storage")
def test_an_invited_client_sees_its_invoice_and_asks_to_cancel(
    app_server: AppServer, new_page: Any
) -> None:
    token, actor = _staff(app_server, "portal-admin", "admin")
    world = _world(app_server, actor, "portal")
    staff = _signed_in(new_page, app_server, token)
    client_id = world["client"].id
    email = f"jurgen-{RUN}@cafe-under.test"

    # Staff invite the client's person from the client's Users tab.
    staff.goto(f"{app_server.base_url}/clients/{client_id}")
    staff.click("#client-tab-users")
    staff.click("#client-invite")
    staff.fill("#client-invite-email", email)
    staff.fill("#client-invite-name", "Jürgen Çelik")
    staff.click("#client-invite-submit")
    staff.get_by_text(email).first.wait_for()

    # The branded email arrives; the person accepts with the email pre-filled.
    client = _accept(new_page, app_server, email, "Jürgen Çelik")
    expect(client.locator("#portal-due")).to_contain_text("49.50")
    assert "Client Billing" not in client.title()
    assert "Client Billing" not in client.content()
    assert_accessible(client, "portal overview")
    _shot(client, "overview-desktop")

    # The invoice as sent, what is due, the bank details, and its PDF.
    client.click("#portal-nav-invoices")
    client.locator("#portal-invoices").get_by_text(world["number"]).click()
    client.wait_for_url(re.compile(r"/portal/invoices/\d+"))
    expect(client.locator("#portal-invoice-due")).to_contain_text("49.50")
    expect(client.locator("#portal-bank-details")).to_contain_text("FI21 1234 5600 0007 85")
    assert_accessible(client, "portal invoice")
    _shot(client, "invoice-desktop")
    href = client.locator("#portal-invoice-pdf").get_attribute("href") or ""
    pdf = client.request.get(href if href.startswith("http") else app_server.base_url + href)
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    # Ask to cancel the service.
    client.click("#portal-nav-services")
    client.click(f"#ask-cancel-{world['subscription']}")
    client.fill("#cancel-reason", "Moving the shop to another host")
    client.click("#cancel-submit")
    client.get_by_text("Cancellation requested").first.wait_for()
    expect(client.locator("#cancel-submit")).to_have_count(0)
    client.wait_for_timeout(800)  # the toast has faded in (axe measures it half-transparent)
    assert_accessible(client, "portal services")
    _shot(client, "services-desktop")

    # Staff see the request and approve it at the end of the period.
    staff.goto(f"{app_server.base_url}/subscriptions")
    staff.locator("#cancellation-requests").get_by_text("Moving the shop").wait_for()
    with Session(app_server.engine) as session:
        from billing_app.db.portal import CancellationRequest

        request_id = session.exec(
            select(CancellationRequest.id).where(
                col(CancellationRequest.subscription_id) == world["subscription"]
            )
        ).one()
    staff.click(f"#answer-cancellation-{request_id}")
    staff.click("#decide-submit")
    staff.get_by_text("Cancellation approved.").wait_for()

    client.reload()
    client.get_by_text("Cancellation approved").first.wait_for()
    client.get_by_text(re.compile(r"Ends \d")).first.wait_for()

    # Account and security pages, and every page on a phone.
    for path, name in (
        ("/portal/account", "account"),
        ("/portal/security", "security"),
        ("/portal/users", "users"),
    ):
        client.goto(app_server.base_url + path)
        client.locator("h1").wait_for()
        assert_accessible(client, f"portal {name}")
        _shot(client, f"{name}-desktop")
    client.set_viewport_size(PHONE)
    for path, name in (
        ("/portal", "overview"),
        ("/portal/invoices", "invoices"),
        (f"/portal/invoices/{world['invoice']}", "invoice"),
        ("/portal/services", "services"),
        ("/portal/account", "account"),
        ("/portal/security", "security"),
    ):
        client.goto(app_server.base_url + path)
        client.locator("h1").wait_for()
        client.wait_for_timeout(300)
        assert_accessible(client, f"portal {name} (phone)")
        _shot(client, f"{name}-phone")

    # Signing out leaves the portal; its pages then ask to sign in.
    client.click("#portal-user-menu")
    client.click("#portal-sign-out")
    client.wait_for_url(re.compile(r"/portal/login"))
    client.locator("#portal-brand").wait_for()
    assert_accessible(client, "portal sign-in (phone)")
    _shot(client, "login-phone")
    client.goto(app_server.base_url + "/portal/invoices")
    client.wait_for_url(re.compile(r"/portal/login\?next="))


@pytest.mark.usefixtures("app_storage")
def test_another_clients_user_sees_nothing_of_the_first(
    app_server: AppServer, new_page: Any
) -> None:
    token, actor = _staff(app_server, "portal-admin2", "admin")
    first = _world(app_server, actor, "first")
    second = _world(app_server, actor, "second")
    staff = _signed_in(new_page, app_server, token)
    email = f"other-{RUN}@second.test"
    staff.goto(f"{app_server.base_url}/clients/{second['client'].id}")
    staff.click("#client-tab-users")
    staff.click("#client-invite")
    staff.fill("#client-invite-email", email)
    staff.click("#client-invite-submit")
    staff.get_by_text(email).first.wait_for()
    other = _accept(new_page, app_server, email, "Olga Other")

    other.goto(f"{app_server.base_url}/portal/invoices/{first['invoice']}")
    other.locator("#portal-invoice-missing").wait_for()
    assert first["number"] not in other.content()
    pdf = other.request.get(f"{app_server.base_url}/api/portal/invoices/{first['invoice']}/pdf")
    assert pdf.status == 404
    other.goto(f"{app_server.base_url}/portal/invoices")
    other.locator("#portal-invoices").get_by_text(second["number"]).wait_for()
    assert first["number"] not in other.inner_text("#portal-invoices")

    # A staff cookie opens no portal page, and the portal cookie no staff page.
    staff.goto(f"{app_server.base_url}/portal/invoices")
    staff.wait_for_url(re.compile(r"/portal/login"))
    other.goto(f"{app_server.base_url}/invoices")
    other.wait_for_url(re.compile(r"/login"))
    with Session(app_server.engine) as session:
        assert session.get(Invoice, first["invoice"]) is not None


def test_a_brands_custom_domain_shows_its_brand_on_the_sign_in_page(
    app_server: AppServer, browser: Any
) -> None:
    """The domain is added while the app runs; Chromium maps it to this machine. The page's
    look arrives over the websocket, so seeing the brand also proves the socket accepted the
    new origin without a restart."""
    _, actor = _staff(app_server, "portal-brands", "admin")
    domain = f"billing-{RUN}.nord-hosting.test"
    with Session(app_server.engine) as session:
        branding.create_brand(
            session,
            actor,
            branding.BrandInput(
                name=f"Nord Hosting {RUN}",
                primary_color="#0f766e",
                accent_color="#f59e0b",
                sender_name="Nord Hosting",
                reply_to="",
                support_email=f"help-{RUN}@nord-hosting.test",
                support_url="",
                email_footer="Nord Hosting Oy",
                custom_domain=domain,
            ),
        )
        session.commit()
    port = urlsplit(app_server.base_url).port
    mapped = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {domain} 127.0.0.1"],
    )
    try:
        page = mapped.new_context(viewport=PHONE).new_page()
        page.goto(f"http://{domain}:{port}/portal/login")
        expect(page.locator("#portal-brand")).to_contain_text(f"Nord Hosting {RUN}")
        expect(page.locator("#portal-support-email")).to_have_text(f"help-{RUN}@nord-hosting.test")
        expect(page).to_have_title(re.compile(f"Nord Hosting {RUN}"))
        assert "Client Billing" not in page.content()
        assert_accessible(page, "portal sign-in on a brand domain (phone)")
        _shot(page, "login-brand-domain-phone")
    finally:
        mapped.close()
