"""The websocket is opened only from the app's own URL or a brand's custom domain, read at run
time: a domain added on the Brands page is accepted without a restart; any other origin is
refused (docs/security.md item 26)."""

from __future__ import annotations

from typing import Any

import pytest

from billing_app.api import origins
from billing_app.settings import Settings, get_settings


@pytest.fixture
def domains(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    known: set[str] = set()
    monkeypatch.setattr(origins, "custom_domains", lambda _session: frozenset(known))
    monkeypatch.setattr(origins, "REFRESH_SECONDS", 0.0)
    monkeypatch.setattr(origins, "session_scope", _no_database)
    return known


class _no_database:
    def __enter__(self) -> Any:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_public_url_is_allowed_and_a_foreign_origin_is_not(
    settings: Settings, domains: set[str]
) -> None:
    base = get_settings().public_base_url
    assert origins.origin_allowed(base)
    assert not origins.origin_allowed("https://evil.example")
    assert not origins.origin_allowed(None)
    assert not origins.origin_allowed("")


def test_a_brand_domain_added_at_run_time_is_allowed_at_once(
    settings: Settings, domains: set[str]
) -> None:
    assert not origins.origin_allowed("https://billing.nord-hosting.test")
    domains.add("billing.nord-hosting.test")
    assert origins.origin_allowed("https://billing.nord-hosting.test")
    assert origins.origin_allowed("https://BILLING.nord-hosting.test:443")
    # Not another port, not a look-alike, not a subdomain.
    assert not origins.origin_allowed("https://billing.nord-hosting.test:8443")
    assert not origins.origin_allowed("https://billing.nord-hosting.test.evil.example")
    assert not origins.origin_allowed("https://x.billing.nord-hosting.test")
    domains.clear()
    assert not origins.origin_allowed("https://billing.nord-hosting.test")


def test_the_apps_socket_server_checks_origins_with_this_function() -> None:
    from billing_app.billing_app import app

    assert app.sio is not None
    assert app.sio.eio.cors_allowed_origins is origins.origin_allowed
