"""Staff single sign-on in Chromium against the small OpenID provider of the tests
(tests/oidc_provider.py, on 127.0.0.1 in this process): the owner sets it up in Settings >
Sign-in and "Test" says it works; a member signs in with "Sign in with Acme SSO" through the
provider's page and lands on the dashboard; a stranger gets a page that says why. The page's
handlers driven over the raw websocket refuse anonymous callers and non-owners."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.models import AuditEvent, StaffUser
from billing_app.db.sso import SsoIdentity, SsoSettings
from billing_app.services.access import roles
from billing_app.services.access.identity import CUSTOM, current_user_from
from billing_app.services.common.tokens import hash_password
from billing_app.ui.admin.settings.sign_in import SignInSettingsState
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider

from .axe import assert_accessible
from .conftest import ARTIFACTS, OWNER_EMAIL, OWNER_PASSWORD, AppServer, ensure_owner
from .conftest import session_token as password_session
from .sockets import exchange
from .test_foundation_journeys import at, menu_item, sign_in

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "sso"
MEMBER = "sam.sso@studio-nord.test"
ADMIN = "ada.sso@studio-nord.test"
MANAGER = "rolf.sso@studio-nord.test"
PASSWORD = "single sign-on is the front door"
PATH = "/settings/sign-in"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as p:
        yield p


def add_member(server: AppServer, email: str, role_key: str, custom_id: int | None = None) -> None:
    with Session(server.engine) as session:
        if session.exec(select(StaffUser).where(col(StaffUser.email) == email)).first():
            return
        session.add(
            StaffUser(
                email=email,
                name=email.split("@", maxsplit=1)[0].split(".", maxsplit=1)[0].title(),
                password_hash=hash_password(PASSWORD),
                role_key=role_key,
                custom_role_id=custom_id,
                created_at=datetime.now(UTC),
            )
        )
        session.commit()


def sso_row(server: AppServer) -> tuple[str, str, str, bool] | None:
    with Session(server.engine) as session:
        row = session.get(SsoSettings, 1)
        if row is None:
            return None
        return (row.issuer_url, row.client_id, row.client_secret, row.jit_enabled)


def test_the_owner_sets_up_sso_and_a_member_signs_in_with_it(
    app_server: AppServer, new_page: Any, provider: Provider
) -> None:
    ensure_owner(app_server)
    add_member(app_server, MEMBER, "accountant")
    SHOTS.mkdir(parents=True, exist_ok=True)

    page = new_page()
    sign_in(page, app_server, OWNER_EMAIL, OWNER_PASSWORD)
    page.wait_for_url(at("/"))
    page.click("#nav-settings-sign-in")
    page.wait_for_url(at(PATH))
    page.locator("#sso-status").wait_for()
    assert "Single sign-on is off" in page.inner_text("#sso-status")
    assert page.inner_text("#sso-callback-url") == (f"{app_server.base_url}/api/auth/sso/callback")

    # A wrong field is pointed out and nothing is stored.
    page.fill("#sso-issuer_url", "not a url")
    page.click("#sso-save")
    page.get_by_text("Enter the issuer URL, such as https://accounts.google.com.").wait_for()
    assert page.get_by_text("Paste the client secret.").is_visible()
    assert sso_row(app_server) is None

    page.fill("#sso-issuer_url", provider.issuer)
    page.fill("#sso-client_id", CLIENT_ID)
    page.fill("#sso-client_secret", CLIENT_SECRET)
    page.fill("#sso-button_label", "Acme SSO")
    page.fill("#sso-allowed_domains", "studio-nord.test")
    page.check("#sso-provider_mfa")
    page.click("#sso-save")
    page.get_by_text("Single sign-on is on").wait_for()
    assert "Sign in with Acme SSO" in page.inner_text("#sso-status")
    assert page.input_value("#sso-client_secret") == ""  # never sent back
    assert CLIENT_SECRET not in page.content()
    stored = sso_row(app_server)
    assert stored is not None and stored[0] == provider.issuer
    assert CLIENT_SECRET not in stored[2]  # encrypted at rest

    page.click("#sso-test")
    page.locator("#sso-test-result").wait_for()
    assert page.inner_text("#sso-test-result").startswith("The provider answered")
    page.wait_for_timeout(800)  # the toast has faded in (axe measures it half-transparent)
    assert_accessible(page, "settings > sign-in, configured")
    page.screenshot(path=str(SHOTS / "settings-sign-in.png"), full_page=True)
    menu_item(page, "#sign-out")
    page.wait_for_url(at("/login", "signed_out=1"))

    # A member: "Sign in with Acme SSO" -> the provider's page -> back, signed in.
    member = new_page()
    member.goto(app_server.base_url + "/login")
    button = member.locator("#sso-sign-in")
    button.wait_for()
    assert "Sign in with Acme SSO" in button.inner_text()
    assert_accessible(member, "sign-in page with single sign-on")
    member.screenshot(path=str(SHOTS / "sign-in-page.png"), full_page=True)
    button.click()
    member.wait_for_url(f"{provider.issuer}/authorize?**")
    member.fill("#login", MEMBER)
    member.click("#acme-continue")
    member.wait_for_url(at("/"))
    member.locator("#dashboard-welcome").wait_for()
    assert "(Accountant)" in member.inner_text("#dashboard-welcome")
    cookies = {c["name"]: c for c in member.context.cookies()}
    assert cookies["billing_session"]["httpOnly"] is True
    with Session(app_server.engine) as session:
        linked = session.exec(select(SsoIdentity)).all()
        assert [i.subject for i in linked] == [f"sub-{MEMBER}"]
        signed = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action) == "sso.login")
            .order_by(col(AuditEvent.id).desc())
        ).first()
        assert signed is not None and signed.actor_label == MEMBER
    menu_item(member, "#sign-out")
    member.wait_for_url(at("/login", "signed_out=1"))
    member.goto(app_server.base_url + "/invoices")
    member.wait_for_url(at("/login"))

    # Someone the provider knows who is not a member of the team.
    stranger = new_page()
    stranger.goto(app_server.base_url + "/login")
    stranger.click("#sso-sign-in")
    stranger.wait_for_url(f"{provider.issuer}/authorize?**")
    stranger.fill("#login", "nobody@studio-nord.test")
    stranger.click("#acme-continue")
    stranger.wait_for_url(at("/login/sso-error", "reason=not_member"))
    stranger.get_by_text("This account is not a member of the team.").wait_for()
    assert "Traceback" not in stranger.content()
    assert "billing_session" not in {c["name"] for c in stranger.context.cookies()}
    assert_accessible(stranger, "single sign-on error page")
    stranger.screenshot(path=str(SHOTS / "sso-error.png"), full_page=True)
    stranger.click("#sso-back")
    stranger.wait_for_url(at("/login"))

    # Cancelled at the provider: the same page, another sentence.
    stranger.click("#sso-sign-in")
    stranger.wait_for_url(f"{provider.issuer}/authorize?**")
    stranger.click("#acme-cancel")
    stranger.wait_for_url(at("/login/sso-error", "reason=cancelled"))
    stranger.get_by_text("The sign-in was cancelled at the provider.").wait_for()


# Raw websocket: the page's handlers as an attacker would send them.


@pytest.fixture(scope="module")
def callers(app_server: AppServer) -> dict[str, str | None]:
    """Cookies of an admin (no roles.manage) and of a custom role holding roles.manage but
    not the owner (the settings are the owner's alone)."""
    ensure_owner(app_server)
    add_member(app_server, ADMIN, "admin")
    with Session(app_server.engine, expire_on_commit=False) as session:
        owner_row = session.exec(
            select(StaffUser).where(col(StaffUser.role_key) == "owner")
        ).first()
        assert owner_row is not None
        owner = current_user_from(session, owner_row)
        role_id = roles.create_role(
            session,
            owner,
            name=f"Role keeper {uuid.uuid4().hex[:6]}",
            description="",
            permissions=["roles.manage"],
        )
        session.commit()
    add_member(app_server, MANAGER, CUSTOM, role_id)
    return {
        "anonymous": None,
        "admin": f"billing_session={password_session(app_server, ADMIN, PASSWORD)}",
        "role keeper": f"billing_session={password_session(app_server, MANAGER, PASSWORD)}",
    }


ATTACKS: list[tuple[str, dict[str, Any]]] = [
    ("load", {}),
    (
        "save",
        {
            "form": {
                "issuer_url": "https://evil.example",
                "client_id": "attacker",
                "client_secret": "attacker-secret-0000",
                "button_label": "Evil SSO",
                "allowed_domains": "evil.example",
                "jit_enabled": "on",
                "jit_role_key": "admin",
            }
        },
    ),
    ("test", {}),
    ("remove", {}),
]


def _events(updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for u in updates for e in u.get("events") or []]


def _delta(updates: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for u in updates:
        for key, value in (
            (u.get("delta") or {}).get(SignInSettingsState.get_full_name(), {}).items()
        ):
            merged[key.removesuffix("_rx_state_")] = value
    return merged


@pytest.mark.parametrize("who", ["anonymous", "admin", "role keeper"])
@pytest.mark.parametrize(("handler", "payload"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_sign_in_settings_refuse_anyone_but_the_owner(
    app_server: AppServer,
    provider: Provider,
    callers: dict[str, str | None],
    who: str,
    handler: str,
    payload: dict[str, Any],
) -> None:
    before = sso_row(app_server)
    updates = exchange(
        app_server,
        token=str(uuid.uuid4()),
        cookie=callers[who],
        events=[(f"{SignInSettingsState.get_full_name()}.{handler}", payload, PATH)],
        quiet=0.6,
    )
    events, values = _events(updates), _delta(updates)
    if who == "anonymous":
        assert any(
            e["name"] == "_redirect" and e["payload"]["path"].startswith("/login") for e in events
        ), f"{handler}: {events}"
    elif handler == "load":
        assert values.get("status") == "denied", values
    else:
        assert (
            any("not allowed" in json.dumps(e).lower() for e in events)
            or values.get("status") == "denied"
        ), f"{who} {handler}: {events} {values}"
    # Nothing of the settings is sent, and nothing changes.
    for secret in ("values", "callback_url", "secret_hint", "test_message"):
        assert not values.get(secret), f"{who} {handler} got {secret}: {values.get(secret)}"
    assert sso_row(app_server) == before, f"{who} changed the settings with {handler}"
