"""A staff member turns on two-factor authentication from "My account", then signs in with a
code from their authenticator app."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlmodel import Session, col, select

from billing_app.db.models import StaffUser
from billing_app.services.access import team
from billing_app.services.access.identity import current_user_from
from billing_app.settings import Settings

from .axe import assert_accessible
from .conftest import ARTIFACTS, AppServer, emailed_link, ensure_owner
from .test_foundation_journeys import at, menu_item, sign_in

pytestmark = pytest.mark.e2e

EMAIL = "mika@studio-nord.test"
PASSWORD = "two factors are better than one"
SHOTS = ARTIFACTS / "account"


@pytest.fixture(scope="module")
def member(app_server: AppServer) -> str:
    """An admin who joined through an invitation (made with the services)."""
    settings = Settings(base_url=app_server.base_url)
    ensure_owner(app_server)
    with Session(app_server.engine) as session:
        owner = session.exec(select(StaffUser).where(col(StaffUser.role_key) == "owner")).first()
        assert owner is not None
        team.invite(
            session, current_user_from(session, owner), email=EMAIL, role="admin", settings=settings
        )
        session.commit()
        link = emailed_link(app_server, EMAIL, "/accept-invite")
        team.accept_invitation(
            session, token=link.split("token=")[1], name="Mika Virtanen", password=PASSWORD
        )
        session.commit()
    return EMAIL


def test_turn_on_two_factor_and_sign_in_with_a_code(
    app_server: AppServer, new_page: Any, member: str
) -> None:
    page = new_page()
    sign_in(page, app_server, member, PASSWORD)
    page.wait_for_url(at("/"))
    menu_item(page, "#my-account")
    page.wait_for_url(at("/account"))
    assert page.inner_text("#two-factor-status") == "Off"
    page.click("#start-two-factor")
    page.locator("#totp-qr").wait_for()
    secret = page.inner_text("#totp-secret").strip()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "account-2fa-setup.png"), full_page=True)
    page.fill("#code", pyotp.TOTP(secret).now())
    page.fill("#confirm-two-factor-password", PASSWORD)
    page.click("#confirm-two-factor")
    page.locator("#recovery-codes").wait_for()
    codes = re.findall(r"[0-9a-f]{5}-[0-9a-f]{5}", page.inner_text("#recovery-codes"))
    assert len(codes) == 10
    assert page.inner_text("#two-factor-status") == "On"
    assert page.inner_text("#recovery-left") == "10 recovery codes left"
    with page.expect_download() as download:
        page.click("#download-recovery-codes")
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert re.findall(r"[0-9a-f]{5}-[0-9a-f]{5}", saved) == codes and member in saved
    page.wait_for_timeout(800)  # the toast has faded in (axe measures it half-transparent)
    assert_accessible(page, "my account, two-factor on")
    page.screenshot(path=str(SHOTS / "account-2fa-on.png"), full_page=True)

    menu_item(page, "#sign-out")
    page.wait_for_url(at("/login", "signed_out=1"))

    sign_in(page, app_server, member, PASSWORD)
    page.locator("#code-submit").wait_for()
    page.fill("#code", "000000")
    page.click("#code-submit")
    page.locator("#code-error").wait_for()
    assert "not right" in page.inner_text("#code-error")
    # The code of the next 30-second window (the one just used to turn 2FA on is spent).
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
    page.click("#code-submit")
    page.wait_for_url(at("/"))
    page.locator("#dashboard-welcome").wait_for()
    assert "Mika Virtanen" in page.inner_text("#dashboard-welcome")
