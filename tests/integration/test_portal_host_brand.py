"""/api/portal/brand-logo and /api/portal/brand.css: the one address every prerendered sign-in
page shows its logo from, and the one it takes its colours from.
The answer is the logo of the brand whose custom domain the request's host is, else the default
brand's; a brand without a logo gets a transparent pixel (never another brand's logo, never a
broken image); the browser revalidates it (the brand may change its logo)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from httpx import Response
from PIL import Image
from sqlmodel import Session
from starlette.testclient import TestClient

from billing_app.adapters import storage
from billing_app.api import routes
from billing_app.db.engine import get_engine
from billing_app.services.agency import agency_cache, branding
from billing_app.services.common.actors import SYSTEM
from billing_app.settings import Settings
from tests.integration import test_cookies

https = test_cookies.https
ORIGIN = "https://billing.agency.test"


def _png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 40), colour).save(out, "PNG")
    return out.getvalue()


def _brand(name: str, domain: str, colour: str = "#0f766e") -> branding.BrandInput:
    return branding.BrandInput(
        name=name,
        primary_color=colour,
        accent_color="#f59e0b",
        sender_name=name,
        reply_to="",
        support_email="",
        support_url="",
        email_footer="",
        custom_domain=domain,
    )


@pytest.fixture
def brands(https: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bytes]]:
    """A default brand with a red logo, a brand on billing.northwind.test with a blue one,
    and a brand on pay.plain.test without a logo."""
    monkeypatch.setattr(storage, "get_settings", lambda: https)
    red, blue = _png("#dc2626"), _png("#2563eb")
    with Session(get_engine(https.resolved_database_url)) as session:
        default_id = branding.create_brand(session, SYSTEM, _brand("Agency", ""))
        northwind_id = branding.create_brand(
            session, SYSTEM, _brand("Northwind", "billing.northwind.test")
        )
        branding.create_brand(session, SYSTEM, _brand("Plain", "pay.plain.test"))
        branding.upload_logo(session, SYSTEM, default_id, red)
        branding.upload_logo(session, SYSTEM, northwind_id, blue)
        session.commit()
    agency_cache.forget()
    yield {"default": red, "northwind": blue}
    agency_cache.forget()


def _get(host: str, **headers: str) -> Response:
    client = TestClient(routes.build_api(), base_url=f"https://{host}")
    response: Response = client.get("/api/portal/brand-logo", headers=headers)
    return response


def _colour(body: bytes) -> tuple[int, ...]:
    pixel = Image.open(io.BytesIO(body)).convert("RGBA").getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return pixel


def test_each_host_gets_its_brands_logo_and_others_the_default(brands: dict[str, bytes]) -> None:
    northwind = _get("billing.northwind.test")
    assert northwind.status_code == 200
    assert _colour(northwind.content)[:3] == (37, 99, 235)
    base = _get("billing.agency.test")
    assert _colour(base.content)[:3] == (220, 38, 38)
    unknown = _get("somewhere.else.test")
    assert _colour(unknown.content)[:3] == (220, 38, 38)


def test_a_brand_without_a_logo_gets_a_transparent_pixel_not_the_default_logo(
    brands: dict[str, bytes],
) -> None:
    plain = _get("pay.plain.test")
    assert plain.status_code == 200
    assert plain.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(plain.content))
    assert image.size == (1, 1)
    assert _colour(plain.content)[3] == 0


def test_the_logo_is_revalidated_and_a_new_logo_shows_at_once(
    brands: dict[str, bytes], https: Settings
) -> None:
    first = _get("billing.northwind.test")
    assert first.headers["cache-control"] == "no-cache"
    assert first.headers["x-content-type-options"] == "nosniff"
    etag = first.headers["etag"]
    again = _get("billing.northwind.test", **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    with Session(get_engine(https.resolved_database_url)) as session:
        northwind = next(b for b in branding.list_brands(session) if b.name == "Northwind")
        assert northwind.id is not None
        branding.upload_logo(session, SYSTEM, northwind.id, _png("#16a34a"))
        session.commit()
    agency_cache.forget()
    changed = _get("billing.northwind.test", **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert _colour(changed.content)[:3] == (22, 163, 74)
    assert changed.headers["etag"] != etag


def _theme(host: str, **headers: str) -> Response:
    client = TestClient(routes.build_api(), base_url=f"https://{host}")
    response: Response = client.get("/api/portal/brand.css", headers=headers)
    return response


def test_the_host_brands_colours_come_as_a_stylesheet_for_the_first_paint(
    brands: dict[str, bytes], https: Settings
) -> None:
    """/api/portal/brand.css: the accent scale of the host's brand (step 9 is its exact
    colour), else the default brand's, for the element the sign-in pages mark."""
    with Session(get_engine(https.resolved_database_url)) as session:
        northwind = next(b for b in branding.list_brands(session) if b.name == "Northwind")
        assert northwind.id is not None
        branding.update_brand(
            session, SYSTEM, northwind.id, _brand("Northwind", "billing.northwind.test", "#7c3aed")
        )
        session.commit()
    agency_cache.forget()
    sheet = _theme("billing.northwind.test")
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("text/css")
    assert sheet.headers["cache-control"] == "no-cache"
    css = sheet.text
    assert css.startswith(".portal-host-theme{") and css.rstrip().endswith("}")
    assert "--accent-9:#7c3aed" in css and "--accent-contrast:" in css
    declarations = css.rstrip().removeprefix(".portal-host-theme{").removesuffix("}").split(";")
    assert all(d.startswith("--accent-") for d in declarations)
    assert "--accent-9:#0f766e" in _theme("billing.agency.test").text  # the default brand's
    again = _theme("billing.northwind.test", **{"If-None-Match": sheet.headers["etag"]})
    assert again.status_code == 304
