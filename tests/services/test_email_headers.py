"""Fields that end up in email headers hold a single line (docs/security.md item 47), and a
value stored before that rule never stops a message from being delivered. Every message has a
Date (UTC), and its Subject arrives exactly as written, whatever its characters."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters.mailer import FileMailer, OutgoingEmail, build_message
from billing_app.db.invoicing import Invoice
from billing_app.db.models import OutboxEmail
from billing_app.services.agency import branding
from billing_app.services.common import outbox
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import ValidationFailed
from billing_app.services.invoicing.documents import queue_reminder_email
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


SUBJECTS = [
    "Studio Lumière — Facturation",
    # Folded by Python's default policy at "Lumière —": the space was lost on the way.
    "Reminder: invoice INV-2026-00042 from Studio Lumière — Facturation & Hébergement",
    "Reçu pour la facture INV-2026-00042 de Studio Lumière — Facturation · 東京 · Ελλάδα "
    "— et une très longue fin de ligne pour l'exemple",
    "Invoice INV-2026-00042 from Nord Studio Billing, with a long subject that has to be folded",
    "Invoice INV-2026-00042 from " + "x" * 90 + " and more",
    "Invoice  with  two  spaces",
]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_subject_arrives_exactly_as_written(subject: str) -> None:
    msg = build_message(
        OutgoingEmail(
            id=1,
            to_address="billing@cafe-under.test",
            subject=subject,
            text="Hello",
            html="<p>Hello</p>",
            from_name="Studio Lumière",
            from_address="billing@agency.test",
        )
    )
    data = bytes(msg)
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["Subject"] == subject
    header = data.split(b"\n\n", 1)[0]
    assert header.isascii()
    for line in header.splitlines():
        assert len(line) <= 78 or b"x" * 90 in line, line


def test_every_message_has_a_date_in_utc() -> None:
    helsinki = datetime(2026, 3, 14, 11, 30, tzinfo=ZoneInfo("Europe/Helsinki"))
    message = OutgoingEmail(
        1, "a@cafe-under.test", "Hi", "Hello", "<p>Hello</p>", "Nord", "b@n.test"
    )
    parsed = email.message_from_bytes(
        bytes(build_message(message, now=helsinki)), policy=email.policy.default
    )
    assert parsed["Date"] == "Sat, 14 Mar 2026 09:30:00 +0000"
    before = datetime.now(UTC).replace(microsecond=0)
    stamped = email.message_from_bytes(bytes(build_message(message)), policy=email.policy.default)
    assert before <= stamped["Date"].datetime <= datetime.now(UTC)
    assert stamped["Date"].datetime.utcoffset() == timedelta(0)


def test_a_reminder_from_a_sender_with_accents_keeps_its_subject(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    settings: Settings,
    world: dict[str, Any],
    tmp_path: Path,
) -> None:
    brand = branding.default_brand(session, clock=clock)
    brand.sender_name = "Studio Lumière — Facturation & Hébergement"
    session.add(brand)
    session.commit()
    invoice_id = draft(session, world, clock)
    number = send(session, world, invoice_id, clock)
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    queue_reminder_email(session, invoice, today=date(2026, 4, 2))
    session.commit()
    report = outbox.deliver_due(engine, FileMailer(tmp_path), settings=settings)
    assert (report.sent, report.failed) == (2, 0)
    session.expire_all()
    row = session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == "payment_reminder")).one()
    saved = email.message_from_bytes(Path(row.file_path).read_bytes(), policy=email.policy.default)
    expected = f"Reminder: invoice {number} from Studio Lumière — Facturation & Hébergement"
    assert row.subject == expected
    assert saved["Subject"] == expected
    assert saved["From"].addresses[0].addr_spec == "billing@agency.test"
    assert saved["Date"].datetime.utcoffset() == timedelta(0)
