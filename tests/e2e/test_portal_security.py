"""The portal's Security page in Chromium: a client user turns on two-factor sign-in with an
authenticator app, keeps the ten recovery codes, then signs in with a code from the app and with
a recovery code (which works once); the page at desktop and phone width, checked by axe-core and
photographed. And signing out in the browser leaves nothing of the user's portal for a socket
that reuses the tab (docs/security.md items 13, 15, 36, 45)."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from sqlmodel import Session

from billing_app.services.access import portal_accept, portal_invitations
from billing_app.services.customers import clients
from billing_app.ui.portal.invoice import PortalInvoiceState
from billing_app.ui.portal.invoices import PortalInvoicesState
from billing_app.ui.portal.security import PortalSecurityState
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import ARTIFACTS, AppServer, emailed_link, ensure_owner

from .sockets import exchange
from .test_hardening import HYDRATE, every_handler, handler
from .test_invoice_journey import _staff, app_storage
from .test_portal_sockets import _client_with_invoice

pytestmark = pytest.mark.e2e
__all__ = ["app_storage"]

RUN = uuid.uuid4().hex[:6]
PASSWORD = "Harbour-Kettle-93"
SHOTS = ARTIFACTS / "portal"
PHONE = {"width": 375, "height": 812}
CODE = re.compile(r"[0-9a-f]{5}-[0-9a-f]{5}")


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _client_user(server: AppServer, client_id: int, tag: str, actor: Any) -> str:
    """A person of the client, invited by staff and accepted from the emailed link."""
    email = f"{tag}-{RUN}@harbour-cafe.test"
    with Session(server.engine) as session:
        portal_invitations.invite_client_user(
            session,
            actor,
            client_id,
            email=email,
            name=f"{tag.capitalize()} Harbour",
            role="full",
            settings=server.settings,
        )
        session.commit()
    link = emailed_link(server, email, "/portal/accept-invite")
    with Session(server.engine) as session:
        portal_accept.accept_portal_invitation(
            session, link.split("token=")[1], name=f"{tag.capitalize()} Harbour", password=PASSWORD
        )
        session.commit()
    return email


def _portal_sign_in(page: Any, server: AppServer, email: str) -> None:
    """Sign in once the page's load has run: a sign-in sent before it would be undone by it
    (back to an empty password step). After signing out, on the page they land on (its notice
    comes with its load); else on a new page, whose brand comes with its load."""
    if "/portal/login" not in page.url:
        page.goto(server.base_url + "/portal/login")
        page.locator("#portal-brand").wait_for()
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#portal-login-submit")


def _with_code(page: Any, code: str) -> None:
    page.locator("#portal-code-submit").wait_for()
    page.fill("#code", code)
    page.click("#portal-code-submit")


def _signed_in(page: Any) -> None:
    page.wait_for_url(re.compile(r"/portal/?$"))
    page.locator("#portal-user-menu").wait_for()


def _sign_out(page: Any) -> None:
    """Choose "Sign out" in the user menu (opened again if a re-render closed it)."""
    for attempt in range(3):
        page.click("#portal-user-menu")
        try:
            page.click("#portal-sign-out", timeout=5_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"/portal/login/?\?signed_out=1"))
    expect(page.locator("#portal-login-notice")).to_have_text("You are signed out.")


def _security(page: Any, server: AppServer) -> None:
    page.goto(server.base_url + "/portal/security")
    page.locator("#portal-2fa-status").wait_for()


def test_a_client_user_turns_on_two_factor_and_signs_in_with_a_code_or_a_recovery_code(
    app_server: AppServer, new_page: Any
) -> None:
    ensure_owner(app_server)
    _, actor = _staff(app_server, "portal-2fa", "admin")
    with Session(app_server.engine) as session:
        client = clients.create_client(
            session,
            actor,
            clients.ClientInput(company=f"Harbour Café {RUN}", email=f"office-{RUN}@harbour.test"),
        )
        session.commit()
        assert client.id is not None
        client_id = client.id
    email = _client_user(app_server, client_id, "hanna", actor)

    page = new_page()
    _portal_sign_in(page, app_server, email)
    _signed_in(page)
    page.click("#portal-nav-security")
    page.wait_for_url(re.compile(r"/portal/security"))
    expect(page.locator("#portal-2fa-status")).to_have_text("Off")

    # Set up: the key as the authenticator app reads it from the QR code.
    page.click("#portal-start-2fa")
    page.locator("#portal-totp-qr").wait_for()
    secret = page.inner_text("#portal-totp-secret").strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert_accessible(page, "portal security, two-factor setup")
    _shot(page, "security-2fa-setup-desktop")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert_accessible(page, "portal security, two-factor setup (phone)")
    _shot(page, "security-2fa-setup-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    # A wrong code is refused, then the app's code and the password turn it on.
    page.fill("#portal-2fa-code", "000000")
    page.fill("#portal-2fa-password", PASSWORD)
    page.click("#portal-confirm-2fa")
    page.locator("#code-error").wait_for()
    page.fill("#portal-2fa-code", pyotp.TOTP(secret).now())
    page.fill("#portal-2fa-password", PASSWORD)
    page.click("#portal-confirm-2fa")
    page.locator("#portal-recovery-codes").wait_for()
    codes = CODE.findall(page.inner_text("#portal-recovery-codes"))
    assert len(codes) == 10 and len(set(codes)) == 10
    expect(page.locator("#portal-2fa-status")).to_have_text("On")
    expect(page.locator("#portal-recovery-left")).to_have_text("10 recovery codes left")
    expect(page.locator("#portal-print-codes")).to_be_visible()
    with page.expect_download() as download:
        page.click("#portal-download-codes")
    assert download.value.suggested_filename == "recovery-codes.txt"
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert CODE.findall(saved) == codes and email in saved
    expect(page.locator("#portal-recovery-codes-callout-for")).to_be_hidden()
    # Printing prints the codes alone, and whose they are.
    page.emulate_media(media="print")
    expect(page.locator("#portal-recovery-codes")).to_be_visible()
    expect(page.locator("#portal-change-password")).to_be_hidden()
    expect(page.locator("#portal-print-codes")).to_be_hidden()
    expect(page.locator("#portal-recovery-codes-callout-for")).to_contain_text(email)
    _shot(page, "security-2fa-codes-print")
    page.emulate_media(media="screen")
    assert page.locator("#portal-totp-secret").count() == 0

    page.wait_for_timeout(800)  # the toast has faded in (axe measures it half-transparent)
    assert_accessible(page, "portal security, two-factor on")
    _shot(page, "security-2fa-on-desktop")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert_accessible(page, "portal security, two-factor on (phone)")
    _shot(page, "security-2fa-on-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    # A wrong password in one form is told under that form's field only.
    page.fill("#portal-renew-codes-password", "not my password")
    page.click("#portal-renew-codes")
    page.locator("#current_password-error").wait_for()
    expect(page.locator("#current_password-error")).to_have_count(1)
    expect(page.locator("form:has(#portal-renew-codes) #current_password-error")).to_have_count(1)

    # Shown once: the codes are gone when the page loads again.
    page.reload()
    expect(page.locator("#portal-2fa-status")).to_have_text("On")
    expect(page.locator("#portal-recovery-codes")).to_have_count(0)

    # Password, then the authenticator's code (of the next 30-second window: the one that
    # turned two-factor on is spent).
    _sign_out(page)
    _portal_sign_in(page, app_server, email)
    _with_code(page, pyotp.TOTP(secret).at(time.time() + 30))
    _signed_in(page)

    # Password, then a recovery code: it works once.
    _sign_out(page)
    _portal_sign_in(page, app_server, email)
    _with_code(page, codes[0])
    _signed_in(page)
    _security(page, app_server)
    expect(page.locator("#portal-recovery-left")).to_have_text("9 recovery codes left")

    _sign_out(page)
    _portal_sign_in(page, app_server, email)
    _with_code(page, codes[0])
    page.locator("#code-error").wait_for()
    assert "not right" in page.inner_text("#code-error")
    assert "/portal/login" in page.url
    _with_code(page, codes[1].upper())
    _signed_in(page)
    _security(page, app_server)
    expect(page.locator("#portal-recovery-left")).to_have_text("8 recovery codes left")


@pytest.mark.usefixtures("app_storage")
def test_signing_out_of_the_portal_in_the_browser_leaves_nothing_for_a_socket_reusing_the_tab(
    app_server: AppServer, new_page: Any
) -> None:
    """Through the UI in Chromium: sign in, open the invoices and the Security page, sign out;
    then a cookieless socket takes over the tab's token and asks for everything."""
    _, actor = _staff(app_server, "portal-wipe", "admin")
    world = _client_with_invoice(app_server, actor, f"wipe{RUN}")
    email = _client_user(app_server, world["client"], "wilma", actor)

    page = new_page()
    _portal_sign_in(page, app_server, email)
    _signed_in(page)
    page.click("#portal-nav-invoices")
    page.locator("#portal-invoices").get_by_text(world["number"]).wait_for()
    _security(page, app_server)
    _sign_out(page)
    tab = page.evaluate("window.sessionStorage.getItem('token')")
    assert tab
    page.close()

    invoice_path = f"/portal/invoices/{world['invoice']}?invoice_id={world['invoice']}"
    after = exchange(
        app_server,
        token=tab,
        cookie=None,
        events=[
            (HYDRATE, {}, "/portal"),
            (handler(PortalInvoicesState, "load"), {}, "/portal/invoices"),
            (handler(PortalInvoiceState, "load"), {}, invoice_path),
            (handler(PortalSecurityState, "load"), {}, "/portal/security"),
            *every_handler(),
            (HYDRATE, {}, "/portal/security"),
        ],
    )
    dump = json.dumps(after)
    assert world["number"] not in dump
    assert f"Secret work wipe{RUN}" not in dump
    assert email not in dump
    assert "Wilma Harbour" not in dump
