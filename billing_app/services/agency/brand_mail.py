"""Email a client's people as the client's brand (docs/architecture.md, "White label"): the
brand's colour, sender name, reply-to address, footer and support address, in the client's
language, as invoice emails are sent. Portal invitations and access notices use it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_date
from sqlmodel import Session

from billing_app.db.customers import Client
from billing_app.db.invoicing import Brand
from billing_app.domain.timestamps import local_time
from billing_app.services.agency.branding import default_brand, get_agency
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.outbox import enqueue_email
from billing_app.settings import Settings


def brand_of_client(session: Session, client: Client) -> Brand:
    """The brand a client sees: its own, else the agency's default brand."""
    brand = session.get(Brand, client.brand_id) if client.brand_id is not None else None
    return brand if brand is not None else default_brand(session)


def brand_context(brand: Brand) -> dict[str, str]:
    """What every branded template needs of the brand (adapters/templates/email/base.html)."""
    return {
        "brand_name": brand.name,
        "sender_name": brand.sender_name or brand.name,
        "brand_color": brand.primary_color,
        "footer": brand.email_footer or brand.name,
        "support_email": brand.support_email,
    }


def agency_date(session: Session, moment: datetime, locale: str) -> str:
    """``moment``'s date in the agency's time zone, written out in ``locale``."""
    zone = get_agency(session).time_zone or "UTC"
    return format_date(local_time(moment, zone).date(), "long", locale=locale)


def queue_brand_email(
    session: Session,
    brand: Brand,
    kind: str,
    to_address: str,
    context: dict[str, Any],
    *,
    locale: str,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    secret: tuple[str, int | None] | None = None,
) -> None:
    """Queue message ``kind`` to ``to_address`` from ``brand``, in ``locale``; ``secret``
    names the row whose single-use token is minted at delivery (services/common/outbox.py)."""
    enqueue_email(
        session,
        kind,
        to_address,
        {**brand_context(brand), **context},
        clock=clock,
        settings=settings,
        from_name=brand.sender_name or brand.name,
        reply_to=brand.reply_to,
        secret=secret,
        locale=locale,
    )
