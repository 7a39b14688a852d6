"""The portal wears the brand of the page's host, else the client's brand, else the default
one; its theme is the brand's exact colour, and its address is the brand's custom domain."""

from __future__ import annotations

import dataclasses

from sqlmodel import Session

from billing_app.services.agency import branding
from billing_app.services.agency.portal_brand import host_of, portal_look
from billing_app.services.common.clock import FixedClock
from billing_app.settings import Settings

from .test_clients import ADMIN, add_client
from .test_email_headers import BRAND


def _brand(session: Session, clock: FixedClock, **changes: str) -> int:
    brand_id = branding.create_brand(
        session, ADMIN, dataclasses.replace(BRAND, **changes), clock=clock
    )
    session.commit()
    return brand_id


def test_the_host_of_a_netloc_is_its_lower_cased_name_without_port() -> None:
    assert host_of("Billing.Nord-Hosting.test:443") == "billing.nord-hosting.test"
    assert host_of("billing.nord-hosting.test.") == "billing.nord-hosting.test"
    assert host_of("[::1]:3000") == ""
    assert host_of("") == ""


def test_a_custom_domain_shows_its_brand_whoever_the_client_is(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    nord = _brand(session, clock, custom_domain="billing.nord-hosting.test")
    other = _brand(session, clock, name="Sud Studio", primary_color="#b91c1c")
    client = add_client(session, clock)
    branding.assign_client_brand(session, ADMIN, client.id or 0, other, clock=clock)
    session.commit()
    look = portal_look(
        session, netloc="BILLING.nord-hosting.test:8443", client_id=client.id, settings=settings
    )
    assert (look.brand_id, look.name) == (nord, "Nord Hosting")
    assert look.theme["--accent-9"] == "#0f766e"
    assert look.portal_url == "https://billing.nord-hosting.test/portal"


def test_on_the_base_url_the_client_sees_its_own_brand(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    sud = _brand(session, clock, name="Sud Studio", primary_color="#b91c1c")
    client = add_client(session, clock)
    branding.assign_client_brand(session, ADMIN, client.id or 0, sud, clock=clock)
    session.commit()
    look = portal_look(session, netloc="127.0.0.1:3000", client_id=client.id, settings=settings)
    assert look.name == "Sud Studio"
    assert look.theme["--accent-9"] == "#b91c1c"
    assert look.portal_url == f"{settings.public_base_url}/portal"
    assert not look.bank.given


def test_with_no_host_brand_and_no_client_the_default_brand_shows(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    first = _brand(session, clock)
    _brand(session, clock, name="Sud Studio")
    branding.make_default(session, ADMIN, first, clock=clock)
    session.commit()
    look = portal_look(session, netloc="unknown.example.test", settings=settings)
    assert look.brand_id == first


def test_custom_domains_lists_every_brands_domain(session: Session, clock: FixedClock) -> None:
    from billing_app.services.agency.portal_brand import custom_domains

    assert custom_domains(session) == frozenset()
    _brand(session, clock, custom_domain="billing.nord-hosting.test")
    _brand(session, clock, name="No domain")
    assert custom_domains(session) == frozenset({"billing.nord-hosting.test"})
