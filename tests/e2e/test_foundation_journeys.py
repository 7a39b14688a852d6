"""Journeys of the foundation, as a person clicks them, in one app started for this module:
first-run owner setup, sign in and out, a wrong password, inviting an accountant who accepts from
the delivered email and is refused the Team page, and an expired invitation."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlmodel import Session, col, select

from billing_app.db.models import Invitation, StaffUser
from billing_app.services.access import team
from billing_app.services.access.identity import current_user_from
from billing_app.services.common.clock import system_clock

from .axe import assert_accessible
from .conftest import OWNER_EMAIL, OWNER_PASSWORD, AppServer, emailed_link, link_in

pytestmark = pytest.mark.e2e

ACCOUNTANT_EMAIL = "alex@studio-nord.test"
ACCOUNTANT_PASSWORD = "ledger balanced every friday"


def at(path: str, query: str = "") -> re.Pattern[str]:
    """A URL pattern for a page; the static server may add a trailing slash."""
    q = re.escape(query) if query else ".*"
    return re.compile(rf"^http://[^/]+{re.escape(path.rstrip('/'))}/?(\?{q})?$")


def sign_in(page: Any, server: AppServer, email: str, password: str) -> None:
    page.goto(server.base_url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#login-submit")


def menu_item(page: Any, item: str) -> None:
    """Open the user menu and choose ``item`` ("#sign-out"). A page that re-renders while the
    menu opens may close it again: open it once more, up to three times."""
    for attempt in range(3):
        page.click("#user-menu")
        try:
            page.click(item, timeout=5_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


def test_first_run_setup_then_sign_out_and_in(app_server: AppServer, new_page: Any) -> None:
    page = new_page()
    page.goto(app_server.base_url + "/")
    page.wait_for_url(at("/setup"))
    page.get_by_text("Create the owner account").wait_for()
    assert_accessible(page, "the first-run page")  # tests/e2e/axe.py

    page.fill("#name", "Olivia Nord")
    page.fill("#email", OWNER_EMAIL)
    page.fill("#password", "password1")
    page.fill("#confirm", "password1")
    page.click("#setup-submit")
    page.locator("#password-error").wait_for()
    assert "too common" in page.inner_text("#password-error")

    page.fill("#password", OWNER_PASSWORD)
    page.fill("#confirm", OWNER_PASSWORD)
    page.click("#setup-submit")
    page.wait_for_url(at("/"))
    page.locator("#dashboard-welcome").wait_for()
    assert "Olivia Nord (Owner)" in page.inner_text("#dashboard-welcome")

    # The session cookie is HttpOnly: page scripts cannot read it.
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["billing_session"]["httpOnly"] is True
    assert "billing_session" not in page.evaluate("document.cookie")

    menu_item(page, "#sign-out")
    page.wait_for_url(at("/login", "signed_out=1"))
    assert "You are signed out." in page.inner_text("#login-notice")

    # Setup is gone for good once an account exists.
    page.goto(app_server.base_url + "/setup")
    page.wait_for_url(at("/login"))

    sign_in(page, app_server, OWNER_EMAIL, "not my password")
    page.locator("#form-error").wait_for()
    assert page.inner_text("#form-error") == "Email or password is incorrect."

    sign_in(page, app_server, OWNER_EMAIL, OWNER_PASSWORD)
    page.wait_for_url(at("/"))
    page.locator("#dashboard-welcome").wait_for()


def test_invite_an_accountant_who_accepts_from_the_email(
    app_server: AppServer, new_page: Any
) -> None:
    owner = new_page()
    sign_in(owner, app_server, OWNER_EMAIL, OWNER_PASSWORD)
    owner.wait_for_url(at("/"))
    owner.click("#nav-team")
    owner.wait_for_url(at("/team"))
    owner.click("#invite-open")
    owner.fill("#email", ACCOUNTANT_EMAIL)
    owner.click("#invite-role")
    owner.get_by_role("option", name="Accountant").click()
    owner.click("#invite-submit")
    owner.locator("#invitations").get_by_text(ACCOUNTANT_EMAIL).wait_for()

    mail = app_server.mailbox.wait_for(ACCOUNTANT_EMAIL, "invited to join Studio Nord")
    assert mail["From"] == "Studio Nord <billing@studio-nord.test>"
    link = link_in(mail, "/accept-invite")
    assert link.startswith(app_server.base_url + "/accept-invite?token=")

    guest = new_page()
    guest.goto(link)
    email_field = guest.locator("#email")
    email_field.wait_for()
    assert email_field.input_value() == ACCOUNTANT_EMAIL
    assert email_field.get_attribute("readonly") is not None
    guest.get_by_text("You're invited as Accountant.").wait_for()
    guest.fill("#name", "Alex Lindqvist")
    guest.fill("#password", ACCOUNTANT_PASSWORD)
    guest.fill("#confirm", ACCOUNTANT_PASSWORD)
    guest.click("#accept-submit")
    guest.wait_for_url(at("/"))
    guest.locator("#dashboard-welcome").wait_for()
    assert "Alex Lindqvist (Accountant)" in guest.inner_text("#dashboard-welcome")

    # The Team page is not offered, and by URL it shows "Not allowed" without its data.
    assert guest.locator("#nav-team").count() == 0
    guest.goto(app_server.base_url + "/team")
    guest.locator("#not-allowed").wait_for()
    assert OWNER_EMAIL not in guest.content()
    assert guest.locator("#members").count() == 0

    # The invitation link cannot be used twice.
    again = new_page()
    again.goto(link)
    again.locator("#token-invalid").wait_for()
    assert "already accepted" in again.inner_text("#token-invalid")

    menu_item(guest, "#sign-out")
    guest.wait_for_url(at("/login", "signed_out=1"))
    # After sign-out, protected pages send you to sign in.
    guest.goto(app_server.base_url + "/emails")
    guest.wait_for_url(at("/login", "next=/emails"))

    # The owner sees the new member, and the audit log recorded all of it.
    owner.reload()
    owner.locator("#members").get_by_text(ACCOUNTANT_EMAIL).wait_for()
    owner.click("#nav-audit")
    owner.wait_for_url(at("/audit"))
    owner.locator("#audit").get_by_text("team.invitation_accepted").first.wait_for()
    audit_text = owner.inner_text("#audit")
    for action in ("team.invited", "login.succeeded", "permission.denied"):
        assert action in audit_text
    # The wrong password at the start may be pages back (other journeys share the app): the
    # action filter finds it.
    owner.get_by_role("combobox", name="Action").click()
    owner.get_by_role("option", name="login.failed", exact=True).click()
    owner.locator("#audit").get_by_text("login.failed").first.wait_for()
    assert "login.succeeded" not in owner.inner_text("#audit")


def test_an_expired_invitation_says_so(app_server: AppServer, new_page: Any) -> None:
    with Session(app_server.engine) as session:
        owner = session.exec(select(StaffUser).where(col(StaffUser.email) == OWNER_EMAIL)).one()
        team.invite(
            session,
            current_user_from(session, owner),
            email="late@studio-nord.test",
            role="viewer",
            settings=app_server.settings,
        )
        session.commit()
    link = emailed_link(app_server, "late@studio-nord.test", "/accept-invite")
    with Session(app_server.engine) as session:
        # Eight days later, unused.
        invitation = session.exec(
            select(Invitation).where(col(Invitation.email) == "late@studio-nord.test")
        ).one()
        invitation.expires_at = system_clock.now() - timedelta(days=1)
        session.add(invitation)
        session.commit()
    page = new_page()
    page.goto(link)
    page.locator("#token-invalid").wait_for()
    assert "This invitation has expired" in page.inner_text("#token-invalid")
    assert page.locator("#accept-submit").count() == 0
