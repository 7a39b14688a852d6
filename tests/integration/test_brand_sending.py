"""A brand sends as itself: its From address, and its own SMTP server (with a password stored
encrypted) when it has one; other brands keep the app's transport. The test email says in plain
words what went wrong. Real SMTP servers (aiosmtpd, with authentication) on 127.0.0.1."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlmodel import Session, col, select

from billing_app.adapters import crypto
from billing_app.db.invoicing import Brand
from billing_app.db.models import AuditEvent, OutboxEmail
from billing_app.domain.permissions import Permission
from billing_app.services.agency import brand_mail, branding
from billing_app.services.common import outbox
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed, ValidationFailed
from billing_app.settings import Settings
from tests.services.test_portal_invitations import NORD, invite, staff_with
from tests.support import CapturingMailer

from ..services.test_clients import ADMIN, add_client

USER, SECRET = "nord-mailer", "correct horse battery staple"

# The test server takes a password without TLS (it only listens on 127.0.0.1).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _authenticate(
    server: object, session: object, envelope: object, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        SECRET.encode(),
    )
    return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 itself


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def brand_server() -> Iterator[tuple[Inbox, int]]:
    """The brand's own SMTP server: it wants a user name and password."""
    inbox, port = Inbox(), _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    yield inbox, port
    controller.stop()


def nord_input(port: int, **changes: str) -> branding.BrandInput:
    values = {
        **NORD.__dict__,
        "mail_from": "billing@nord-hosting.test",
        "smtp_host": "127.0.0.1",
        "smtp_port": str(port),
        "smtp_security": "none",
        "smtp_username": USER,
        "smtp_password": SECRET,
    }
    return branding.BrandInput(**{**values, **changes})


def test_a_brand_with_its_own_server_sends_through_it_and_the_others_do_not(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    settings: Settings,
    brand_server: tuple[Inbox, int],
) -> None:
    inbox, port = brand_server
    # The default brand (the first one) sends through the app's transport.
    studio = {**NORD.__dict__, "name": "Studio Nord", "custom_domain": ""}
    branding.create_brand(session, SYSTEM, branding.BrandInput(**studio), clock=clock)
    brand_id = branding.create_brand(session, SYSTEM, nord_input(port), clock=clock)
    nord = add_client(session, clock)
    branding.assign_client_brand(session, SYSTEM, nord.id or 0, brand_id, clock=clock)
    other = add_client(session, clock, company="Café Under", email="pay@cafe-under.test")
    session.commit()

    # What is stored of the password is ciphertext, for the brand-smtp purpose only.
    stored = session.get(Brand, brand_id)
    assert stored is not None and SECRET not in stored.smtp_password
    assert crypto.decrypt(stored.smtp_password, purpose="brand-smtp") == SECRET

    invite(session, clock, settings, nord.id or 0, "pat@nord-client.test")
    invite(session, clock, settings, other.id or 0, "kim@cafe-under.test")
    app_transport = CapturingMailer()
    report = outbox.deliver_due(engine, app_transport, clock=clock, settings=settings)
    assert report.sent == 2

    (mail,) = inbox.messages
    assert mail["To"] == "pat@nord-client.test"
    assert mail["From"] == "Nord Hosting Billing <billing@nord-hosting.test>"
    assert [m.to_address for m in app_transport.sent] == ["kim@cafe-under.test"]
    assert app_transport.sent[0].from_address == settings.mail_from

    # A wrong password at the brand's server: the message stays queued for a retry, with why.
    branding.update_brand(
        session, SYSTEM, brand_id, nord_input(port, smtp_password="wrong"), clock=clock
    )
    invite(session, clock, settings, nord.id or 0, "sam@nord-client.test")
    report = outbox.deliver_due(engine, app_transport, clock=clock, settings=settings)
    assert (report.sent, report.failed) == (0, 1)
    failed = session.exec(
        select(OutboxEmail).where(col(OutboxEmail.to_address) == "sam@nord-client.test")
    ).one()
    session.refresh(failed)
    assert failed.status == "failed" and "Authentication" in failed.last_error
    assert len(app_transport.sent) == 1  # never quietly sent another way


def test_an_empty_password_keeps_the_saved_one_and_no_server_clears_everything(
    session: Session, clock: FixedClock
) -> None:
    brand_id = branding.create_brand(session, SYSTEM, nord_input(2525), clock=clock)
    saved = session.get(Brand, brand_id)
    assert saved is not None
    token = saved.smtp_password
    branding.update_brand(session, SYSTEM, brand_id, nord_input(2525, smtp_password=""))
    assert saved.smtp_password == token
    branding.update_brand(
        session, SYSTEM, brand_id, nord_input(2525, smtp_host="", smtp_password="")
    )
    assert (saved.smtp_host, saved.smtp_port, saved.smtp_username, saved.smtp_password) == (
        "",
        0,
        "",
        "",
    )
    assert saved.mail_from == "billing@nord-hosting.test"  # the From address stays


def test_sending_settings_are_checked_together(session: Session, clock: FixedClock) -> None:
    bad = nord_input(
        0,
        mail_from="",
        smtp_host="smtp server",
        smtp_port="70000",
        smtp_security="tls1.0",
        smtp_username="a\nb",
    )
    with pytest.raises(ValidationFailed) as caught:
        branding.create_brand(session, SYSTEM, bad, clock=clock)
    assert caught.value.errors == {
        "smtp_host": "Enter the server's host name, like smtp.youragency.com.",
    }
    bad = nord_input(0, mail_from="", smtp_port="70000", smtp_security="tls1.0")
    with pytest.raises(ValidationFailed) as caught:
        branding.create_brand(session, SYSTEM, bad, clock=clock)
    assert caught.value.errors == {
        "mail_from": "Give the From address this server may send from.",
        "smtp_port": "Use a port between 1 and 65535 (usually 587, or 465 for SSL).",
        "smtp_security": "Choose STARTTLS, SSL or none.",
    }


def test_the_test_email_says_where_it_went_or_why_not(
    session: Session, clock: FixedClock, settings: Settings, brand_server: tuple[Inbox, int]
) -> None:
    inbox, port = brand_server
    brand_id = branding.create_brand(session, SYSTEM, nord_input(port), clock=clock)
    session.commit()

    sent = brand_mail.send_test_email(session, ADMIN, brand_id, settings=settings, clock=clock)
    assert sent.delivered
    assert sent.message == f"Test email sent to {ADMIN.email} through 127.0.0.1:{port}."
    (mail,) = inbox.messages
    assert mail["To"] == ADMIN.email and mail["Subject"] == "Test email from Nord Hosting Billing"

    branding.update_brand(session, SYSTEM, brand_id, nord_input(port, smtp_password="wrong"))
    refused = brand_mail.send_test_email(session, ADMIN, brand_id, settings=settings, clock=clock)
    assert not refused.delivered
    assert refused.message == f"127.0.0.1:{port} refused the user name or password."

    closed = _free_port()
    branding.update_brand(session, SYSTEM, brand_id, nord_input(closed))
    down = brand_mail.send_test_email(session, ADMIN, brand_id, settings=settings, clock=clock)
    assert down.message == f"127.0.0.1:{closed} refused the connection (check the port)."

    actions = session.exec(
        select(AuditEvent.action).where(col(AuditEvent.action).startswith("brand.test_email"))
    ).all()
    assert sorted(actions) == [
        "brand.test_email_failed",
        "brand.test_email_failed",
        "brand.test_email_sent",
    ]


def test_only_staff_who_may_edit_brands_send_test_emails(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    brand_id = branding.create_brand(session, SYSTEM, nord_input(2525), clock=clock)
    viewer = staff_with(Permission.SETTINGS_READ)
    with pytest.raises(NotAllowed):
        brand_mail.send_test_email(session, viewer, brand_id, settings=settings)
