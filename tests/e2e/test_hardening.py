"""Attacks on the running app that once succeeded, kept as regression tests (docs/security.md
items 21, 34-38, 44): a tab's state after sign-out, expiry, deactivation and demotion, secrets
shown once, cookies in state, login CSRF, uploads with a leaked tab token, credentials in the
logs, and one search freezing everyone."""

from __future__ import annotations

import asyncio
import io
import json
import re
import struct
import time
import urllib.request
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest
import reflex as rx
import socketio
from sqlmodel import Session, col, select

from billing_app.db.invoicing import Brand
from billing_app.db.models import AuthSession, StaffUser
from billing_app.services.access import account, auth
from billing_app.services.access.identity import current_user_from
from billing_app.services.agency.branding import default_brand
from billing_app.services.common.tokens import hash_password, token_digest
from billing_app.settings import PROJECT_ROOT
from billing_app.ui.admin.account.account import AccountState
from billing_app.ui.admin.audit.audit_log import AuditState
from billing_app.ui.admin.emails.emails import EmailsState
from billing_app.ui.admin.invoices.list import InvoicesState
from billing_app.ui.admin.settings.brands import BrandsState
from billing_app.ui.admin.team.team import TeamState
from tests.integration.test_handler_guards import FRAMEWORK_HANDLERS, our_states

from .conftest import OWNER_EMAIL, OWNER_PASSWORD, AppServer, ensure_owner, session_token
from .sockets import NAMESPACE, exchange, run_async
from .test_foundation_journeys import at, menu_item, sign_in

pytestmark = pytest.mark.e2e

PASSWORD = "attack surface reduced"
RUN = uuid.uuid4().hex[:6]
HYDRATE = f"{rx.State.get_full_name()}.hydrate_and_load"


def handler(state: type, name: str) -> str:
    return f"{state.get_full_name()}.{name}"  # type: ignore[attr-defined]


def make_staff(server: AppServer, key: str, role: str) -> tuple[str, str]:
    """A staff member of ``role`` made directly: (email, session cookie header)."""
    email = f"{key}-{RUN}@studio-nord.test"
    with Session(server.engine) as session:
        if session.exec(select(StaffUser).where(col(StaffUser.email) == email)).first() is None:
            session.add(
                StaffUser(
                    email=email,
                    name=f"{key.capitalize()} {RUN}",
                    password_hash=hash_password(PASSWORD),
                    role_key=role,
                    created_at=datetime.now(UTC),
                )
            )
            session.commit()
    return email, f"billing_session={session_token(server, email, PASSWORD)}"


def data_pages() -> list[tuple[str, dict[str, Any], str]]:
    """Pages whose states hold other people's data: the team, the audit log, the emails."""
    return [
        (handler(TeamState, "load"), {}, "/team"),
        (handler(AuditState, "load"), {}, "/audit"),
        (handler(EmailsState, "load"), {}, "/emails"),
    ]


def every_handler() -> list[tuple[str, dict[str, Any], str]]:
    """Every registered handler of our states, called with no arguments."""
    events = []
    for state in our_states():
        for name in sorted(state.event_handlers):
            if name not in FRAMEWORK_HANDLERS:
                events.append((handler(state, name), {}, "/"))
    return events


def other_staff_emails(updates: list[dict[str, Any]], own_email: str) -> set[str]:
    found = set(re.findall(r"[\w.+-]+@studio-nord\.test", json.dumps(updates)))
    return found - {own_email}


@pytest.mark.parametrize("ending", ["signed_out", "expired", "deactivated", "demoted"])
def test_nothing_of_the_previous_user_remains_in_the_tab(
    app_server: AppServer, ending: str
) -> None:
    """An admin's tab loads the team, the audit log and the emails. Then the session ends
    (or the role shrinks). Whoever drives that tab next — a cookieless socket reusing its
    token, or the stale cookie — gets nothing of what it held: not at hydration, not from
    any handler."""
    ensure_owner(app_server)
    make_staff(app_server, "colleague", "viewer")
    email, cookie = make_staff(app_server, f"ada-{ending}", "admin")
    tab = str(uuid.uuid4())
    before = exchange(app_server, token=tab, cookie=cookie, events=data_pages())
    secrets = other_staff_emails(before, email)
    assert len(secrets) >= 2, "the admin's pages showed other people's addresses"
    token = cookie.split("=", 1)[1]

    next_cookie: str | None = cookie
    with Session(app_server.engine) as session:
        user = session.exec(select(StaffUser).where(col(StaffUser.email) == email)).one()
        row = session.exec(
            select(AuthSession).where(col(AuthSession.token_hash) == token_digest(token))
        ).one()
        if ending == "expired":
            row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
            session.add(row)
        elif ending == "deactivated":
            user.is_active = False
            session.add(user)
        elif ending == "demoted":
            user.role_key = "viewer"
            session.add(user)
        session.commit()
    if ending == "signed_out":
        from billing_app.ui.admin.shell import ShellState

        exchange(
            app_server,
            token=tab,
            cookie=cookie,
            events=[(handler(ShellState, "sign_out"), {}, "/")],
        )
        next_cookie = None
        secrets.add(email)
    elif ending in ("expired", "deactivated"):
        secrets.add(email)

    after = exchange(
        app_server,
        token=tab,
        cookie=next_cookie,
        events=[(HYDRATE, {}, "/"), *every_handler(), (HYDRATE, {}, "/")],
    )
    leaked = {s for s in secrets if s in json.dumps(after)}
    assert not leaked, f"{ending}: the tab still gave out {leaked}"


def test_signing_out_in_the_browser_leaves_nothing_for_a_socket_reusing_the_tab(
    app_server: AppServer, new_page: Any
) -> None:
    """Through the UI in Chromium: sign in, open the team page, sign out; then a cookieless
    socket takes over the tab's token and asks for everything."""
    ensure_owner(app_server)
    make_staff(app_server, "colleague", "viewer")
    email, _ = make_staff(app_server, "bea", "admin")
    page = new_page()
    sign_in(page, app_server, email, PASSWORD)
    page.wait_for_url(at("/"))
    page.goto(app_server.base_url + "/team")
    page.locator("#members").get_by_text(f"colleague-{RUN}@studio-nord.test").wait_for()
    menu_item(page, "#sign-out")
    page.wait_for_url(at("/login", "signed_out=1"))
    tab = page.evaluate("window.sessionStorage.getItem('token')")
    assert tab
    page.close()
    after = exchange(app_server, token=tab, cookie=None, events=[(HYDRATE, {}, "/"), *data_pages()])
    dump = json.dumps(after)
    assert f"colleague-{RUN}@studio-nord.test" not in dump
    assert email not in dump


def test_recovery_codes_and_the_totp_key_never_stay_in_state(app_server: AppServer) -> None:
    email, cookie = make_staff(app_server, "cody", "admin")
    tab = str(uuid.uuid4())
    with Session(app_server.engine) as session:
        user = session.exec(select(StaffUser).where(col(StaffUser.email) == email)).one()
        setup = account.begin_totp_setup(session, current_user_from(session, user))
        session.commit()
        account.confirm_totp(
            session,
            current_user_from(session, user),
            code=pyotp.TOTP(setup.secret).now(),
            current_password=PASSWORD,
        )
        session.commit()
    shown = exchange(
        app_server,
        token=tab,
        cookie=cookie,
        events=[
            (handler(AccountState, "load"), {}, "/account"),
            (
                handler(AccountState, "renew_codes"),
                {"form": {"current_password": PASSWORD}},
                "/account",
            ),
        ],
    )
    codes = set(re.findall(r"\b[0-9a-f]{5}-[0-9a-f]{5}\b", json.dumps(shown)))
    assert len(codes) == 10, "the page was sent the new codes once"
    again = exchange(app_server, token=tab, cookie=cookie, events=[(HYDRATE, {}, "/account")])
    dump = json.dumps(again)
    assert not any(code in dump for code in codes)
    assert setup.secret not in dump


def test_no_cookie_reaches_a_tab_state_or_a_state_file(app_server: AppServer) -> None:
    """The websocket handshake's cookie never enters the state (which Reflex sends back in
    full at hydration), and no state is written under .states/."""
    started = time.time()
    _, cookie = make_staff(app_server, "dora", "admin")
    token = cookie.split("=", 1)[1]
    tab = str(uuid.uuid4())
    updates = exchange(
        app_server, token=tab, cookie=cookie, events=[*data_pages(), (HYDRATE, {}, "/team")]
    )
    dump = json.dumps(updates)
    assert "user-agent" in dump, "hydration sends the state's copy of the handshake headers"
    assert token not in dump
    states = PROJECT_ROOT / ".states"
    fresh = [p for p in states.glob("*") if p.stat().st_mtime >= started] if states.exists() else []
    assert fresh == []


def test_a_ticket_only_signs_in_the_browser_that_asked_for_it(
    app_server: AppServer, new_page: Any
) -> None:
    """Login CSRF: a page makes the victim's browser open the attacker's hand-off URL."""
    email, _ = make_staff(app_server, "eve", "viewer")
    with Session(app_server.engine) as session:
        outcome = auth.authenticate(
            session, email=email, password=PASSWORD, browser="attacker-browser"
        )
        session.commit()
    assert outcome.ticket
    victim = new_page()
    victim.goto(f"{app_server.base_url}/api/auth/handoff?ticket={outcome.ticket}")
    victim.wait_for_url(at("/login", "expired=1"))
    names = {c["name"] for c in victim.context.cookies()}
    assert "billing_session" not in names
    assert "billing_browser" in names  # every page we serve gives the browser its cookie

    attacker = new_page()
    attacker.context.add_cookies(
        [{"name": "billing_browser", "value": "attacker-browser", "url": app_server.base_url}]
    )
    with Session(app_server.engine) as session:
        outcome = auth.authenticate(
            session, email=email, password=PASSWORD, browser="attacker-browser"
        )
        session.commit()
    attacker.goto(f"{app_server.base_url}/api/auth/handoff?ticket={outcome.ticket}")
    attacker.wait_for_url(at("/"))
    assert "billing_session" in {c["name"] for c in attacker.context.cookies()}


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_an_upload_is_authorised_by_its_own_request(app_server: AppServer) -> None:
    """A leaked tab token is not enough to upload as that tab's user: a cookieless upload, or
    one with a Viewer's cookie, changes nothing, even while the owner's tab is open."""
    _, owner_cookie = make_staff(app_server, "fay", "owner")
    _, viewer_cookie = make_staff(app_server, "gus", "viewer")
    with Session(app_server.engine) as session:
        brand = default_brand(session)
        session.commit()
        assert brand.id is not None
        brand_id, logo_before = brand.id, brand.logo_key
    tab = str(uuid.uuid4())

    async def attack() -> list[int]:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            f"{app_server.base_url}?token={tab}",
            socketio_path="/_event",
            transports=["websocket"],
            headers={"Origin": app_server.base_url, "Cookie": owner_cookie},
            namespaces=[NAMESPACE],
        )
        for name, payload in (
            (handler(BrandsState, "load"), {}),
            (handler(BrandsState, "select"), {"brand_id": str(brand_id)}),
        ):
            await client.emit(
                "event",
                {"name": name, "payload": payload, "router_data": {"pathname": "/brands"}},
                namespace=NAMESPACE,
            )
        await asyncio.sleep(2)
        statuses = []
        async with httpx.AsyncClient(base_url=app_server.base_url) as http:
            for cookie in (None, viewer_cookie):
                headers = {
                    "reflex-client-token": tab,
                    "reflex-event-handler": handler(BrandsState, "upload_logo"),
                }
                if cookie:
                    headers["Cookie"] = cookie
                response = await http.post(
                    "/_upload",
                    headers=headers,
                    files={"files": ("logo.png", io.BytesIO(_png()), "image/png")},
                    timeout=30,
                )
                statuses.append(response.status_code)
        await client.disconnect()
        return statuses

    statuses = run_async(attack())
    assert all(s < 500 for s in statuses), statuses
    with Session(app_server.engine) as session:
        brand = session.get(Brand, brand_id)
        assert brand is not None
        assert brand.logo_key == logo_before


def test_an_unknown_handler_logs_no_cookie_and_no_password(app_server: AppServer) -> None:
    """What a stale tab sends after a deploy: an event for a handler that no longer exists."""
    _, cookie = make_staff(app_server, "hal", "admin")
    token = cookie.split("=", 1)[1]
    secret_password = f"hunter2-{uuid.uuid4().hex}"
    exchange(
        app_server,
        token=str(uuid.uuid4()),
        cookie=cookie,
        events=[
            (
                f"{TeamState.get_full_name()}.no_such_handler",
                {"form": {"email": "a@b.test", "password": secret_password}},
                "/team",
            )
        ],
    )
    time.sleep(1)
    log = app_server.log_path.read_text(errors="replace")
    assert "no_such_handler" in log, "the stale event was logged"
    assert secret_password not in log
    assert token not in log


def test_one_search_does_not_freeze_everyone(app_server: AppServer) -> None:
    """A search for a number with a huge exponent answers at once, and /healthz keeps
    answering meanwhile."""
    _, cookie = make_staff(app_server, "ivy", "admin")
    latencies: list[float] = []
    stop = False

    def probe() -> None:
        while not stop:
            t0 = time.monotonic()
            with urllib.request.urlopen(app_server.base_url + "/healthz", timeout=30) as resp:
                assert resp.status == 200
            latencies.append(time.monotonic() - t0)
            time.sleep(0.05)

    with ThreadPoolExecutor(1) as pool:
        prober = pool.submit(probe)
        t0 = time.monotonic()
        updates = exchange(
            app_server,
            token=str(uuid.uuid4()),
            cookie=cookie,
            events=[
                (handler(InvoicesState, "load"), {}, "/invoices"),
                (handler(InvoicesState, "set_search"), {"value": "1e999990"}, "/invoices"),
                (handler(InvoicesState, "set_search"), {"value": "9" * 5000}, "/invoices"),
            ],
        )
        elapsed = time.monotonic() - t0
        stop = True
        prober.result()
    assert updates
    assert elapsed < 15, f"the searches took {elapsed:.1f}s"
    assert max(latencies) < 2, f"/healthz waited {max(latencies):.1f}s"


def test_a_sign_in_sent_before_the_app_starts_is_held_and_never_put_in_the_url(
    app_server: AppServer, new_page: Any
) -> None:
    """Pages paint before their script starts. Someone who signs in at once, before the app
    has taken the form over, is signed in once it has; the browser never sends the form its
    own way (a GET of the page with the password in the address, kept in history and logs)."""
    ensure_owner(app_server)
    page = new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    held: list[Any] = []
    manifest = re.compile(r"/assets/manifest-[^/]*\.js$")
    # The app waits for this (Playwright needs a Python function, not list.append).
    page.route(manifest, lambda route: held.append(route))  # noqa: PLW0108
    page.goto(app_server.base_url + "/login")
    page.fill("#email", OWNER_EMAIL)
    page.fill("#password", OWNER_PASSWORD)
    page.click("#login-submit")
    page.wait_for_timeout(500)  # the browser's own sending would have left by now
    assert page.url == app_server.base_url + "/login"
    assert not [url for url in requested if "password" in url]
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the app asked for its modules"
    for route in held:
        route.continue_()
    page.unroute(manifest)
    page.wait_for_url(re.compile(r"/dashboard|/$"))
    assert not [url for url in requested if "password" in url]
    assert len([url for url in requested if "/api/auth/handoff?" in url]) == 1  # signed in once
