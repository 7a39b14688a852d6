"""Who the account emails of a realm come from (reset links, "your password was changed",
security notices): staff get the app's sender in English; client users get the brand of their
client (its sender name, colour, footer and reply-to), in their client's language, with links
to the portal on the brand's custom domain when it has one (docs/architecture.md, "White
label")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from billing_app.db.customers import Client
from billing_app.db.invoicing import Brand
from billing_app.i18n import DEFAULT_LOCALE
from billing_app.services.access.portal_identity import memberships_of
from billing_app.services.access.realms import Realm
from billing_app.services.agency.brand_mail import brand_of_client, queue_brand_email
from billing_app.services.agency.branding import default_brand
from billing_app.services.agency.portal_brand import portal_base_url
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.outbox import enqueue_email
from billing_app.settings import Settings, get_settings


@dataclass(frozen=True)
class Sender:
    """The identity and language of a realm's email to one user."""

    # Links in the email start here: the public base URL, or the brand's portal address.
    links_base: str
    locale: str = DEFAULT_LOCALE
    # The brand a client user's email comes from (None: the app's own sender, for staff).
    brand: Brand | None = None

    @property
    def brand_id(self) -> int | None:
        return self.brand.id if self.brand else None


def email_kind(realm: Realm, kind: str) -> str:
    """The template of ``kind`` in this realm ("password_reset" -> "portal_password_reset")."""
    return f"portal_{kind}" if realm.for_clients else kind


def sender_of(
    session: Session,
    realm: Realm,
    user_id: int,
    *,
    brand_id: int | None = None,
    client_id: int | None = None,
    settings: Settings | None = None,
) -> Sender:
    """The sender of an email to ``user_id``. For a client user: the brand ``brand_id`` (the
    brand of the page a reset was asked on), else the brand of ``client_id`` (the client their
    session looks at) or of their first client, else the default brand; the language of that
    client."""
    settings = settings or get_settings()
    if not realm.for_clients:
        return Sender(links_base=settings.public_base_url)
    memberships = memberships_of(session, user_id)
    chosen = next((m for m in memberships if m.client_id == client_id), None)
    chosen = chosen or (memberships[0] if memberships else None)
    client = session.get(Client, chosen.client_id) if chosen else None
    brand = session.get(Brand, brand_id) if brand_id is not None else None
    if brand is None:
        brand = brand_of_client(session, client) if client else default_brand(session)
    return Sender(
        links_base=portal_base_url(brand, settings),
        locale=(client.locale if client else "") or DEFAULT_LOCALE,
        brand=brand,
    )


def send(
    session: Session,
    realm: Realm,
    kind: str,
    to_address: str,
    context: dict[str, Any],
    *,
    sender: Sender,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    secret: tuple[str, int | None] | None = None,
) -> None:
    """Queue this realm's ``kind`` email (``email_kind``) from ``sender``."""
    if sender.brand is not None:
        queue_brand_email(
            session,
            sender.brand,
            email_kind(realm, kind),
            to_address,
            context,
            locale=sender.locale,
            clock=clock,
            settings=settings,
            secret=secret,
        )
        return
    enqueue_email(
        session,
        email_kind(realm, kind),
        to_address,
        context,
        clock=clock,
        settings=settings,
        secret=secret,
        locale=sender.locale,
    )
