"""The cookie routes (docs/security.md items 20, 38): over https the session and browser
cookies take the ``__Host-`` prefix (Secure, path /, no Domain), HttpOnly and SameSite=Lax; a
ticket is exchanged for a session only by the browser that asked for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from billing_app.api import cookies, portal_preview, routes
from billing_app.db import engine as engine_module
from billing_app.db.engine import dispose_engines, make_engine
from billing_app.services.access import auth
from billing_app.settings import Settings
from tests.conftest import run_migrations

BASE = "https://billing.agency.test"
PASSWORD = "correct horse battery"


@pytest.fixture
def https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    settings = Settings(base_url=BASE, data_dir=tmp_path / "data")
    settings.data_dir.mkdir()
    run_migrations(settings.resolved_database_url)
    for module in (routes, cookies, engine_module, portal_preview):
        monkeypatch.setattr(module, "get_settings", lambda: settings)
    yield settings
    dispose_engines()


def _ticket(settings: Settings, browser: str) -> str:
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        if auth.setup_required(session):
            auth.create_owner(session, name="Olivia", email="o@agency.test", password=PASSWORD)
            session.commit()
        outcome = auth.authenticate(
            session, email="o@agency.test", password=PASSWORD, browser=browser, settings=settings
        )
        session.commit()
    engine.dispose()
    assert outcome.ticket
    return outcome.ticket


def test_https_cookies_are_host_prefixed_secure_and_http_only(https: Settings) -> None:
    client = TestClient(routes.build_api(), base_url=BASE)
    first = client.get("/api/auth/browser?next=/login", follow_redirects=False)
    assert first.status_code == 303
    browser_cookie = first.headers["set-cookie"]
    assert browser_cookie.startswith("__Host-billing_browser=")
    for attribute in ("Secure", "HttpOnly", "Path=/", "SameSite=lax"):
        assert attribute.lower() in browser_cookie.lower()
    assert "domain" not in browser_cookie.lower()
    browser = client.cookies.get("__Host-billing_browser")
    assert browser

    handoff = client.get(
        f"/api/auth/handoff?ticket={_ticket(https, browser)}&next=/", follow_redirects=False
    )
    assert handoff.status_code == 303 and handoff.headers["location"] == "/"
    session_cookie = handoff.headers["set-cookie"]
    assert session_cookie.startswith("__Host-billing_session=")
    for attribute in ("Secure", "HttpOnly", "Path=/", "SameSite=lax"):
        assert attribute.lower() in session_cookie.lower()
    assert "domain" not in session_cookie.lower()


def test_a_ticket_from_another_browser_signs_nobody_in(https: Settings) -> None:
    ticket = _ticket(https, "attacker-browser")
    victim = TestClient(routes.build_api(), base_url=BASE)
    victim.cookies.set("__Host-billing_browser", "victim-browser")
    response = victim.get(f"/api/auth/handoff?ticket={ticket}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?expired=1"
    assert "set-cookie" not in response.headers
