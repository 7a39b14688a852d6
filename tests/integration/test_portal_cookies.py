"""The portal's cookie routes (docs/security.md items 20, 37, 38, 45): a browser-bound portal
ticket becomes a portal cookie of its own (``__Host-`` over https, HttpOnly, SameSite=Lax) and
sends the browser only to a page of the portal; a portal cookie opens no staff route, a staff
ticket no portal session; signing out of the portal leaves a staff session alone; and the
websocket edge keeps the portal cookie out of Reflex as it does the staff one."""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from billing_app.api import cookies, edge, routes
from billing_app.db.customers import Client
from billing_app.db.engine import get_engine
from billing_app.db.portal import ClientMembership, PortalUser
from billing_app.services.access import auth, portal_auth
from billing_app.services.common.clock import system_clock
from billing_app.services.common.tokens import hash_password
from billing_app.settings import Settings
from tests.integration import test_cookies


def run_coroutine(coro: Any) -> Any:
    """Run a coroutine to the end in a thread of its own (with this thread's context vars):
    the browser journeys leave an event loop running in this one (asyncio.run refuses to start
    another)."""
    context = contextvars.copy_context()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(context.run, asyncio.run, coro).result()


# The https site of the staff cookie tests (a migrated database, settings patched in).
https = test_cookies.https
BASE = "https://billing.agency.test"
PASSWORD = "correct horse battery"
EMAIL = "jurgen@cafe.test"
BROWSER = "the-browser"


@pytest.fixture
def site(https: Settings) -> Settings:
    """The https site of tests/integration/test_cookies.py, with a client user and staff
    (its engines are shared, and disposed of by ``https``)."""
    with Session(get_engine(https.resolved_database_url)) as session:
        now = system_clock.now()
        client = Client(company="Acme Oy", email="ap@acme.test", created_at=now, updated_at=now)
        user = PortalUser(
            email=EMAIL, name="Jürgen", password_hash=hash_password(PASSWORD), created_at=now
        )
        session.add_all([client, user])
        session.flush()
        assert client.id is not None and user.id is not None
        session.add(
            ClientMembership(
                portal_user_id=user.id, client_id=client.id, role_key="full", created_at=now
            )
        )
        auth.create_owner(session, name="Olivia", email="o@agency.test", password=PASSWORD)
        session.commit()
    return https


def _ticket(settings: Settings, *, portal: bool, browser: str = BROWSER) -> str:
    with Session(get_engine(settings.resolved_database_url)) as session:
        if portal:
            outcome = portal_auth.sign_in(
                session, email=EMAIL, password=PASSWORD, browser=browser, settings=settings
            )
        else:
            outcome = auth.authenticate(
                session,
                email="o@agency.test",
                password=PASSWORD,
                browser=browser,
                settings=settings,
            )
        session.commit()
    assert outcome.ticket
    return outcome.ticket


def _browser(settings: Settings) -> TestClient:
    client = TestClient(routes.build_api(), base_url=BASE)
    client.cookies.set(cookies.browser_cookie_name(settings), BROWSER)
    return client


def _signed_in(client: TestClient, settings: Settings, *, portal: bool) -> str:
    path = "/api/portal/session" if portal else "/api/auth/handoff"
    ticket = _ticket(settings, portal=portal)
    response = client.get(f"{path}?ticket={ticket}", follow_redirects=False)
    assert response.status_code == 303
    name = cookies.portal_cookie_name(settings) if portal else cookies.session_cookie_name(settings)
    token = client.cookies.get(name)
    assert token
    return token


def test_the_portal_cookie_is_its_own_host_prefixed_http_only_cookie(site: Settings) -> None:
    client = _browser(site)
    ticket = _ticket(site, portal=True)
    response = client.get(
        f"/api/portal/session?ticket={ticket}&next=/portal/invoices?page=2",
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/invoices?page=2"
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith("__Host-billing_portal=")
    for attribute in ("Secure", "HttpOnly", "Path=/", "SameSite=lax"):
        assert attribute.lower() in set_cookie.lower()
    assert "domain" not in set_cookie.lower()
    assert f"max-age={site.portal_session_absolute_hours * 3600}" in set_cookie.lower()
    assert "billing_session" not in set_cookie
    assert response.headers["cache-control"] == "no-store"


def test_a_portal_ticket_from_another_browser_signs_nobody_in(site: Settings) -> None:
    ticket = _ticket(site, portal=True, browser="attacker-browser")
    response = _browser(site).get(f"/api/portal/session?ticket={ticket}", follow_redirects=False)
    assert response.headers["location"] == "/portal/login?expired=1"
    assert "set-cookie" not in response.headers


def test_each_realm_redeems_only_its_own_tickets(site: Settings) -> None:
    client = _browser(site)
    staff_ticket = _ticket(site, portal=False)
    portal_ticket = _ticket(site, portal=True)
    to_portal = client.get(f"/api/portal/session?ticket={staff_ticket}", follow_redirects=False)
    assert to_portal.headers["location"] == "/portal/login?expired=1"
    to_staff = client.get(f"/api/auth/handoff?ticket={portal_ticket}", follow_redirects=False)
    assert to_staff.headers["location"] == "/login?expired=1"
    assert set(client.cookies.keys()) == {cookies.browser_cookie_name(site)}


def test_a_portal_cookie_opens_no_staff_route(site: Settings) -> None:
    client = _browser(site)
    portal_token = _signed_in(client, site, portal=True)
    for path in ("/api/invoices/1/pdf", "/api/brands/1/logo", "/api/catalog/product-image/1"):
        assert client.get(path).status_code == 404, path
    # Not even when sent under the staff cookie's name: it is no staff session.
    forged = _browser(site)
    forged.cookies.set(cookies.session_cookie_name(site), portal_token)
    assert forged.get("/api/brands/1/logo").status_code == 404
    with Session(get_engine(site.resolved_database_url)) as session:
        assert auth.resolve_session(session, portal_token, settings=site) is None
        assert portal_auth.resolve_portal_session(session, portal_token, settings=site)


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("/portal/invoices/5", "/portal/invoices/5"),
        (f"{BASE}/portal/security", f"{BASE}/portal/security"),
        ("/clients", "/portal"),
        ("/", "/portal"),
        ("/portalx", "/portal"),
        ("/portal/../clients", "/portal"),
        ("/portal/%2e%2e/clients", "/portal"),
        ("//evil.test/portal", "/portal"),
        ("https://evil.test/portal", "/portal"),
        ("/\\evil.test/portal", "/portal"),
    ],
)
def test_the_portal_sends_the_browser_only_to_its_own_pages(
    site: Settings, next_url: str, location: str
) -> None:
    ticket = _ticket(site, portal=True)
    response = _browser(site).get(
        "/api/portal/session", params={"ticket": ticket, "next": next_url}, follow_redirects=False
    )
    assert response.headers["location"] == location


def test_signing_out_of_the_portal_leaves_the_staff_session_alone(site: Settings) -> None:
    client = _browser(site)
    staff_token = _signed_in(client, site, portal=False)
    portal_token = _signed_in(client, site, portal=True)
    response = client.get(
        "/api/portal/signed-out?next=/portal/login?signed_out=1", follow_redirects=False
    )
    assert response.headers["location"] == "/portal/login?signed_out=1"
    cleared = response.headers["set-cookie"]
    assert cleared.startswith("__Host-billing_portal=") and "max-age=0" in cleared.lower()
    assert "billing_session" not in cleared
    with Session(get_engine(site.resolved_database_url)) as session:
        assert portal_auth.resolve_portal_session(session, portal_token, settings=site) is None
        assert auth.resolve_session(session, staff_token, settings=site) is not None
    escaped = client.get("/api/portal/signed-out?next=/team", follow_redirects=False)
    assert escaped.headers["location"] == "/portal/login?signed_out=1"


def test_the_frontends_hashed_assets_are_cached_for_a_year_and_nothing_else_is() -> None:
    async def reflex(scope: Any, receive: Any, send: Any) -> None:
        status = 200 if scope["path"] != "/assets/gone.js" else 404
        headers = [(b"content-type", b"text/javascript"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": status, "headers": headers})

    def sent(path: str) -> dict[bytes, bytes]:
        scope = {"type": "http", "method": "GET", "path": path, "headers": []}
        messages: list[Any] = []

        async def nothing() -> Any:
            return {}

        async def keep(message: Any) -> None:
            messages.append(message)

        run_coroutine(edge.Edge(reflex)(scope, nothing, keep))
        (start,) = messages
        return {k: v for k, v in start["headers"] if k == b"cache-control"}

    assert sent("/assets/entry.client-BfeRvdMD.js") == {
        b"cache-control": b"public, max-age=31536000, immutable"
    }
    assert sent("/assets/gone.js") == {b"cache-control": b"no-cache"}  # a 404 is not kept
    assert sent("/portal/login") == {b"cache-control": b"no-cache"}  # pages are asked again


def test_the_edge_keeps_the_portal_cookie_out_of_reflex() -> None:
    seen: list[Any] = []

    async def reflex(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    header = "billing_portal=portal-token; billing_session=staff-token; billing_browser=b"
    scope = {
        "type": "websocket",
        "path": "/_event/",
        "headers": [(b"cookie", header.encode()), (b"origin", BASE.encode())],
    }

    async def nothing() -> Any:
        return {}

    async def ignore(message: Any) -> None:
        return None

    run_coroutine(edge.Edge(reflex)(scope, nothing, ignore))
    (inner,) = seen
    assert all(name != b"cookie" for name, _ in inner["headers"])
    assert "portal-token" not in repr(inner["headers"])
    assert inner[edge.SCOPE_COOKIE] == header


def test_a_staff_preview_opens_from_our_pages_only_and_reaches_the_clients_pdf_read_only(
    site: Settings,
) -> None:
    with Session(get_engine(site.resolved_database_url)) as session:
        client_id = session.exec(select(Client.id).where(col(Client.company) == "Acme Oy")).one()
    preview = cookies.preview_cookie_name(site)

    # Without a staff session: to the staff sign-in, no preview cookie.
    anonymous = _browser(site)
    answer = anonymous.get(f"/api/portal/preview?client={client_id}", follow_redirects=False)
    assert answer.headers["location"] == "/login" and preview not in anonymous.cookies

    staff = _browser(site)
    _signed_in(staff, site, portal=False)
    # A link on another site cannot put the staff member's browser into a preview.
    answer = staff.get(
        f"/api/portal/preview?client={client_id}",
        headers={"Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == f"/clients/{client_id}"
    assert preview not in staff.cookies
    # An unknown client: not found.
    answer = staff.get("/api/portal/preview?client=99999", follow_redirects=False)
    assert answer.status_code == 404 and preview not in staff.cookies

    answer = staff.get(
        f"/api/portal/preview?client={client_id}",
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/portal"
    set_cookie = answer.headers["set-cookie"].lower()
    assert set_cookie.startswith("__host-billing_preview=")
    for attribute in ("secure", "httponly", "path=/", "samesite=lax", "max-age=3600"):
        assert attribute in set_cookie
    # The portal's PDF route answers the preview as the client's user (no such invoice: 404,
    # like for anyone); without the staff session the preview cookie alone is nobody.
    assert staff.get("/api/portal/invoices/1/pdf").status_code == 404
    lone = _browser(site)
    lone.cookies.set(preview, str(client_id))
    assert lone.get("/api/portal/invoices/1/pdf").status_code == 404

    # Leaving clears the cookie and goes back to the client's page.
    answer = staff.get("/api/portal/preview/exit", follow_redirects=False)
    assert answer.headers["location"] == f"/clients/{client_id}"
    assert preview not in staff.cookies
