"""How the portal looks: the brand of the page's host, else of the signed-in client, else the
default brand (docs/architecture.md, "White label"). For looks only, never for access: a
non-browser client can send any host.

What is returned is what a client may see of a brand (name, logo, colours as a theme, support
contacts, footer, bank details, portal address) and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import Brand
from billing_app.domain.bank import BankDetails
from billing_app.domain.colors import accent_scale
from billing_app.services.agency import agency_cache
from billing_app.services.agency.branding import default_brand
from billing_app.settings import Settings, get_settings

PORTAL_PATH = "/portal"


@dataclass(frozen=True)
class BrandLook:
    """A brand as its clients see it in the portal."""

    brand_id: int
    name: str
    logo_key: str
    primary_color: str
    theme: dict[str, str]
    support_email: str
    support_url: str
    footer: str
    bank: BankDetails
    portal_url: str  # the portal's address under this brand (its custom domain when set)


# The element a page branded by its host marks to take the host brand's colours from
# ``theme_css`` (served at one address for every brand, so a prerendered page can link it).
HOST_THEME_CLASS = "portal-host-theme"
_THEME_KEY = re.compile(r"^--accent-[a-z0-9-]+$")
_THEME_VALUE = re.compile(r"^[#a-zA-Z0-9(),.% -]+$")


def theme_css(look: BrandLook) -> str:
    """The brand's accent scale as a CSS rule for ``HOST_THEME_CLASS`` (only accent variables,
    only colour-shaped values: nothing else can reach the page)."""
    pairs = [
        f"{key}:{value}"
        for key, value in sorted(look.theme.items())
        if _THEME_KEY.match(key) and _THEME_VALUE.match(value)
    ]
    return f".{HOST_THEME_CLASS}{{{';'.join(pairs)}}}\n"


def host_of(netloc: str) -> str:
    """The host name of a ``host[:port]`` netloc, lower-cased, without a trailing dot."""
    host = netloc.strip().lower()
    if host.startswith("["):  # an IPv6 literal never names a brand
        return ""
    return host.split(":", 1)[0].rstrip(".")


def portal_base_url(brand: Brand, settings: Settings | None = None) -> str:
    """Where this brand's clients open the portal: https on its custom domain, else the app's
    public base URL."""
    if brand.custom_domain:
        return f"https://{brand.custom_domain}{PORTAL_PATH}"
    return f"{(settings or get_settings()).public_base_url}{PORTAL_PATH}"


def email_logo_url(brand: Brand | None, logo_key: str, settings: Settings | None = None) -> str:
    """The address emails show the logo from (the portal's public logo route, on the brand's
    own domain when it has one), or "" for none: email programs do not show SVG, so an SVG
    logo leaves the brand's name in the header instead."""
    if not logo_key.lower().endswith((".png", ".jpg", ".jpeg")):
        return ""
    if brand is not None:
        origin = portal_base_url(brand, settings).removesuffix(PORTAL_PATH)
    else:
        origin = (settings or get_settings()).public_base_url
    return f"{origin}/api/portal/logo/{logo_key}"


def _look(brand: Brand, settings: Settings | None) -> BrandLook:
    assert brand.id is not None
    return BrandLook(
        brand_id=brand.id,
        name=brand.name,
        logo_key=brand.logo_key,
        primary_color=brand.primary_color,
        theme=accent_scale(brand.primary_color),
        support_email=brand.support_email,
        support_url=brand.support_url,
        footer=brand.email_footer,
        bank=BankDetails(
            account_holder=brand.bank_account_holder,
            iban=brand.bank_iban,
            bic=brand.bank_bic,
            details=brand.bank_details,
        ),
        portal_url=portal_base_url(brand, settings),
    )


def brand_of_host(session: Session, netloc: str) -> Brand | None:
    """The brand whose custom domain is this host, if any."""
    host = host_of(netloc)
    if not host:
        return None
    return session.exec(select(Brand).where(func.lower(col(Brand.custom_domain)) == host)).first()


# Every signed-in portal event asks: built once.
_CLIENT_BRAND = sa.select(col(Client.brand_id)).where(
    col(Client.id) == sa.bindparam("client_id", type_=sa.Integer())
)


def portal_look(
    session: Session,
    *,
    netloc: str = "",
    client_id: int | None = None,
    settings: Settings | None = None,
) -> BrandLook:
    """The look of a portal page: the host's brand, else the client's, else the default."""
    kept = agency_cache.snapshot(session)
    if kept is not None:
        host = host_of(netloc)
        brand_id = kept.by_host.get(host) if host else None
        if brand_id is None and client_id is not None:
            brand_id = session.execute(_CLIENT_BRAND, {"client_id": client_id}).scalar()
        brand_id = brand_id if brand_id in kept.brands else kept.default_brand_id
        if brand_id is not None:
            return _look(kept.brands[brand_id], settings)
    brand = brand_of_host(session, netloc)
    if brand is None and client_id is not None:
        client = session.get(Client, client_id)
        if client is not None and client.brand_id is not None:
            brand = session.get(Brand, client.brand_id)
    if brand is None:
        brand = default_brand(session)
    return _look(brand, settings)


def custom_domains(session: Session) -> frozenset[str]:
    """Every brand's custom domain (lower case): the portal is served on each of them."""
    kept = agency_cache.snapshot(session)
    if kept is not None:
        return frozenset(kept.by_host)
    rows = session.exec(select(Brand.custom_domain).where(col(Brand.custom_domain).is_not(None)))
    return frozenset(d.lower() for d in rows.all() if d)
