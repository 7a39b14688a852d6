"""Email a client's people as the client's brand (docs/architecture.md, "White label"): the
brand's colour, sender name, reply-to address, footer and support address, in the client's
language, as invoice emails are sent. Portal invitations and access notices use it."""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.dates import format_date
from sqlmodel import Session

from billing_app.adapters.email_templates import render_email
from billing_app.adapters.mailer import FileMailer, Mailer, OutgoingEmail, SmtpConfig, SmtpMailer
from billing_app.db.customers import Client
from billing_app.db.invoicing import Brand
from billing_app.domain.permissions import Permission
from billing_app.domain.timestamps import local_time
from billing_app.i18n import DEFAULT_LOCALE
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import default_brand, get_agency, get_brand
from billing_app.services.agency.portal_brand import email_logo_url
from billing_app.services.common import audit
from billing_app.services.common.actors import require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.outbox import brand_smtp_config, enqueue_email
from billing_app.settings import Settings, get_settings


@dataclass(frozen=True)
class TestEmail:
    """How a test email went: ``message`` says where it went, or why it did not."""

    delivered: bool
    message: str


def brand_of_client(session: Session, client: Client) -> Brand:
    """The brand a client sees: its own, else the agency's default brand."""
    brand = session.get(Brand, client.brand_id) if client.brand_id is not None else None
    return brand if brand is not None else default_brand(session)


def brand_context(brand: Brand, settings: Settings | None = None) -> dict[str, str]:
    """What every branded template needs of the brand (adapters/templates/email/base.html)."""
    return {
        "brand_name": brand.name,
        "logo_url": email_logo_url(brand, brand.logo_key, settings),
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
        {**brand_context(brand, settings), **context},
        clock=clock,
        settings=settings,
        from_name=brand.sender_name or brand.name,
        from_address=brand.mail_from,
        brand_id=brand.id,
        reply_to=brand.reply_to,
        secret=secret,
        locale=locale,
    )


def _delivery_problem(exc: Exception, route: str) -> str:
    """What went wrong sending a test email, in words an agency owner can act on."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{route} refused the user name or password."
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"{route} does not let this brand send from its From address."
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"{route} refused the recipient address."
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{route} does not offer STARTTLS: choose SSL or none."
    if isinstance(exc, ssl.SSLError):
        return f"The secure connection to {route} failed ({exc.reason or 'TLS error'})."
    if isinstance(exc, socket.gaierror):
        return f"{route}: no such server (check the host name)."
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"{route} did not answer in time (check the host, the port and the firewall)."
    if isinstance(exc, ConnectionRefusedError):
        return f"{route} refused the connection (check the port)."
    if isinstance(exc, OSError | smtplib.SMTPException):
        return f"{route} could not take the email ({type(exc).__name__}: {exc})."
    raise exc


def send_test_email(
    session: Session,
    actor: CurrentUser,
    brand_id: int,
    *,
    settings: Settings | None = None,
    clock: Clock = system_clock,
) -> TestEmail:
    """Send a test email as the brand to the staff member who asks, now (not through the
    outbox: they wait for the answer), through the brand's own SMTP server when it has one.
    Either way it is audited, and the answer says where it went or why it did not."""
    require(actor, Permission.BRANDING_WRITE)
    settings = settings or get_settings()
    brand = get_brand(session, brand_id)
    config = brand_smtp_config(brand, settings)
    if config is None and settings.smtp_host:
        config = SmtpConfig.from_settings(settings)
    mailer: Mailer
    if config is not None:
        route = f"{config.host}:{config.port}"
        mailer, via = SmtpMailer(config), f"through {route}"
    else:
        route = via = "to the outbox folder (no SMTP server is configured)"
        mailer = FileMailer(settings.outbox_dir)
    rendered = render_email(
        "brand_test",
        {
            **brand_context(brand, settings),
            "name": actor.name,
            "route": via,
        },
        locale=DEFAULT_LOCALE,
    )
    message = OutgoingEmail(
        id=0,
        to_address=actor.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        from_name=brand.sender_name or brand.name,
        from_address=brand.mail_from or settings.mail_from,
        reply_to=brand.reply_to,
    )
    try:
        mailer.send(message)
    except Exception as exc:  # noqa: BLE001 - every failure is told in plain words
        problem = _delivery_problem(exc, route)
        audit.record(
            session,
            "brand.test_email_failed",
            actor.actor(),
            target=brand.name,
            details=problem,
            clock=clock,
        )
        return TestEmail(delivered=False, message=problem)
    audit.record(
        session,
        "brand.test_email_sent",
        actor.actor(),
        target=brand.name,
        details=via,
        clock=clock,
    )
    return TestEmail(delivered=True, message=f"Test email sent to {actor.email} {via}.")
