"""Fields that end up in email headers hold a single line (docs/security.md item 47), and a
value stored before that rule never stops a message from being delivered."""

from __future__ import annotations

import dataclasses
import email
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters.mailer import FileMailer, OutgoingEmail, build_message
from billing_app.db.models import OutboxEmail
from billing_app.services.agency import branding
from billing_app.services.common import outbox
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import ValidationFailed
from billing_app.settings import Settings

from .test_invoicing import draft, send, world

__all__ = ["world"]

BRAND = branding.BrandInput(
    name="Nord Hosting",
    primary_color="#0f766e",
    accent_color="#f59e0b",
    sender_name="Nord Hosting Billing",
    reply_to="help@nord-hosting.test",
    support_email="support@nord-hosting.test",
    support_url="",
    email_footer="Nord Hosting\nMannerheimintie 1, Helsinki",  # a body: lines are fine
    custom_domain="",
)
CONTROLS = ["\n", "\r", "\r\n", "\x00", "\t", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("control", CONTROLS, ids=repr)
@pytest.mark.parametrize("field", ["name", "sender_name", "reply_to", "support_email"])
def test_brand_fields_used_in_headers_refuse_control_characters(
    session: Session, world: dict[str, Any], field: str, control: str
) -> None:
    value = getattr(BRAND, field)
    local, at, domain = value.partition("@")
    bad = f"{local}{control}Bcc: victim@evil.test{at}{domain}"
    with pytest.raises(ValidationFailed, match="Use a single line without control") as caught:
        branding.create_brand(session, world["actor"], dataclasses.replace(BRAND, **{field: bad}))
    assert caught.value.field == field


def test_a_brand_on_a_single_line_is_saved_with_its_multi_line_footer(
    session: Session, world: dict[str, Any]
) -> None:
    brand_id = branding.create_brand(session, world["actor"], BRAND)
    brand = branding.get_brand(session, brand_id)
    assert brand.sender_name == "Nord Hosting Billing"
    assert brand.email_footer == "Nord Hosting\nMannerheimintie 1, Helsinki"


@pytest.mark.parametrize(
    ("field", "bad"),
    [("legal_name", "Studio Nord\nOy"), ("email", "billing@studio-nord.test\u2028x")],
)
def test_agency_fields_used_in_headers_refuse_control_characters(
    session: Session, world: dict[str, Any], field: str, bad: str
) -> None:
    agency = branding.get_agency(session)
    data = branding.AgencyInput(
        legal_name=agency.legal_name,
        address="Mannerheimintie 1\n00100 Helsinki",
        tax_id=agency.tax_id,
        email=agency.email,
        default_currency="EUR",
        locale="en",
        time_zone="Europe/Helsinki",
        payment_terms_days="14",
        number_format="INV-{YYYY}-{SEQ:5}",
        number_reset="yearly",
    )
    with pytest.raises(ValidationFailed, match="single line") as caught:
        branding.update_agency(session, world["actor"], dataclasses.replace(data, **{field: bad}))
    assert caught.value.field == field


def test_the_mailer_puts_stored_multi_line_values_on_one_line() -> None:
    msg = build_message(
        OutgoingEmail(
            id=7,
            to_address="billing@cafe-under.test\n",
            subject="Invoice INV-1 from Nord\r\nBcc: victim@evil.test",
            text="Hello",
            html="<p>Hello</p>",
            from_name="Nord\nBcc: victim@evil.test",
            from_address="billing@agency.test",
            reply_to="help@nord.test\u2028",
        )
    )
    parsed = email.message_from_bytes(bytes(msg))
    assert parsed["Subject"] == "Invoice INV-1 from Nord Bcc: victim@evil.test"
    assert parsed["From"] == '"Nord Bcc: victim@evil.test" <billing@agency.test>'
    assert parsed["To"] == "billing@cafe-under.test"
    assert parsed["Reply-To"] == "help@nord.test"
    assert parsed["Bcc"] is None


def test_invoice_emails_of_a_brand_stored_with_a_line_break_are_delivered(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    settings: Settings,
    world: dict[str, Any],
    tmp_path: Path,
) -> None:
    brand = branding.default_brand(session, clock=clock)
    brand.sender_name = "Studio Nord\nBilling"  # saved before the rule existed
    session.add(brand)
    session.commit()
    send(session, world, draft(session, world, clock), clock)
    # Invoice emails are queued at the real time (not the test clock): deliver them now.
    report = outbox.deliver_due(engine, FileMailer(tmp_path), settings=settings)
    assert (report.sent, report.failed) == (1, 0)
    session.expire_all()
    row = session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == "invoice_sent")).one()
    assert row.status == "sent"
    saved = email.message_from_bytes(Path(row.file_path).read_bytes())
    assert saved["From"] == "Studio Nord Billing <billing@agency.test>"
    assert saved["Subject"].startswith("Invoice INV-2026-00001 from Studio Nord Billing")
