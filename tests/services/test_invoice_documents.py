"""Invoice PDFs: the downloaded PDF shows where the invoice stands now (paid, partially paid
with what is still due, void, refunded) while the original stays available byte for byte as it
was emailed; the brand's sample PDF is totalled by the invoice math and numbered in the
agency's format, so every figure on it adds up."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image as PILImage
from pypdf import PdfReader
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from billing_app.adapters import documents as stored_documents
from billing_app.api import portal_files, routes
from billing_app.db.engine import session_scope
from billing_app.db.invoicing import Invoice
from billing_app.db.models import OutboxEmail
from billing_app.domain.numbering import NumberFormat, SequenceReset
from billing_app.services.agency import branding
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import FixedClock
from billing_app.services.invoicing import documents as invoice_documents
from billing_app.services.invoicing import payments
from billing_app.services.invoicing import samples as invoice_samples
from billing_app.services.invoicing.payments import PaymentForm
from billing_app.settings import Settings, get_settings

from .test_invoicing import draft, send, world
from .test_portal_invitations import join_portal

__all__ = ["world"]

TODAY = date(2026, 3, 14)


def lines_of(pdf: bytes) -> list[str]:
    return [
        line.strip()
        for page in PdfReader(io.BytesIO(pdf)).pages
        for line in page.extract_text().splitlines()
    ]


def amount(text: str) -> Decimal:
    """'-€1,234.50' -> Decimal('-1234.50')."""
    return Decimal(re.sub(r"[^\d.-]", "", text))


def row(lines: list[str], label: str) -> str:
    """The amount printed at the end of the totals row that starts with ``label``."""
    (found,) = [line for line in lines if line.startswith(label)]
    return found.rsplit(" ", 1)[1]


def stamp(lines: list[str]) -> str:
    stamps = {"DUE", "PAID", "PARTIALLY PAID", "VOID", "REFUNDED", "PARTIALLY REFUNDED", "DRAFT"}
    (found,) = [line for line in lines if line in stamps]
    return found


def record(session: Session, w: dict[str, Any], invoice_id: int, kind: str, text: str) -> None:
    recorder = payments.record_payment if kind == "payment" else payments.record_refund
    recorder(session, w["actor"], invoice_id, PaymentForm(text, "bank_transfer", TODAY))
    session.commit()


def current(session: Session, invoice_id: int) -> bytes:
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    session.refresh(invoice)
    return invoice_documents.pdf_of(session, invoice)


def test_the_pdf_shows_where_the_invoice_stands_and_the_original_stays_as_sent(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    send(session, world, invoice_id, clock)
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    emailed = stored_documents.read_document(invoice.pdf_key)
    assert emailed is not None
    mail = session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == "invoice_sent")).one()
    assert mail.attachment_key == invoice.pdf_key
    # Nothing happened yet: the current PDF is the one that was sent.
    assert current(session, invoice_id) == emailed
    assert stamp(lines_of(emailed)) == "DUE"

    record(session, world, invoice_id, "payment", "100")
    partly = current(session, invoice_id)
    lines = lines_of(partly)
    assert stamp(lines) == "PARTIALLY PAID"
    assert row(lines, "Total") == "€496.92"
    assert row(lines, "Amount paid") == "-€100.00"
    assert row(lines, "Amount due") == "€396.92"
    assert current(session, invoice_id) == partly  # deterministic

    record(session, world, invoice_id, "payment", "396.92")
    lines = lines_of(current(session, invoice_id))
    assert stamp(lines) == "PAID"
    assert (row(lines, "Amount paid"), row(lines, "Amount due")) == ("-€496.92", "€0.00")

    record(session, world, invoice_id, "refund", "96.92")
    lines = lines_of(current(session, invoice_id))
    assert stamp(lines) == "PARTIALLY REFUNDED"
    assert row(lines, "Amount refunded") == "€96.92"
    assert row(lines, "Amount due") == "€0.00"  # a refund does not reopen what is due

    record(session, world, invoice_id, "refund", "400")
    assert stamp(lines_of(current(session, invoice_id))) == "REFUNDED"

    # Whatever happened since, the original is the emailed file, byte for byte.
    session.refresh(invoice)
    assert invoice_documents.pdf_of(session, invoice, original=True) == emailed
    assert stored_documents.read_document(invoice.pdf_key) == emailed

    voided_id = draft(session, world, clock)
    send(session, world, voided_id, clock)
    payments.void_invoice(session, world["actor"], voided_id, "Sent twice", clock=clock)
    session.commit()
    lines = lines_of(current(session, voided_id))
    assert stamp(lines) == "VOID"
    assert row(lines, "Amount due") == "€0.00"


def test_the_pdf_tells_where_to_transfer_while_something_is_due(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    brand = branding.default_brand(session, clock=clock)
    assert brand.id is not None
    values = {
        name: getattr(brand, name) or ""
        for name in (
            "name",
            "primary_color",
            "accent_color",
            "sender_name",
            "reply_to",
            "support_email",
            "support_url",
            "email_footer",
            "custom_domain",
        )
    }
    bank = {
        "bank_account_holder": "Studio Nord SARL",
        "bank_iban": "fr76 3000 6000 0112 3456 7890 189",
        "bank_bic": "agrifrpp",
        "bank_details": "Crédit Agricole, Paris",
    }
    branding.update_brand(
        session, world["actor"], brand.id, branding.BrandInput(**values, **bank), clock=clock
    )
    session.commit()
    invoice_id = draft(session, world, clock)
    send(session, world, invoice_id, clock)
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None and invoice.number
    lines = lines_of(current(session, invoice_id))
    start = lines.index("PAY BY BANK TRANSFER")
    assert lines[start + 1 : start + 6] == [
        "Account holder: Studio Nord SARL",
        "IBAN: FR76 3000 6000 0112 3456 7890 189",
        "BIC: AGRIFRPP",
        "Crédit Agricole, Paris",
        f"Reference: {invoice.number}",
    ]

    # Details changed after sending: the invoice keeps those it was sent with.
    branding.update_brand(
        session,
        world["actor"],
        brand.id,
        branding.BrandInput(**values, **{**bank, "bank_iban": "DE89370400440532013000"}),
        clock=clock,
    )
    session.commit()
    assert "IBAN: FR76 3000 6000 0112 3456 7890 189" in lines_of(current(session, invoice_id))

    # Paid in full: nothing left to transfer, no bank details.
    record(session, world, invoice_id, "payment", "496.92")
    assert "PAY BY BANK TRANSFER" not in lines_of(current(session, invoice_id))


def _png() -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (120, 40), (15, 118, 110)).save(out, format="PNG")
    return out.getvalue()


def _invoice_email(session: Session, invoice_id: int) -> OutboxEmail:
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    return session.exec(
        select(OutboxEmail)
        .where(col(OutboxEmail.kind) == "invoice_sent")
        .where(col(OutboxEmail.subject).contains(invoice.number or "?"))
    ).one()


def test_invoice_emails_link_to_the_portal_once_the_client_has_users_and_show_the_logo(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = get_settings().public_base_url
    first = draft(session, world, clock)
    send(session, world, first, clock)
    mail = _invoice_email(session, first)
    # Nobody of this client can sign in to the portal yet: no link to a sign-in page.
    assert "/portal/invoices/" not in mail.body_text + mail.body_html
    assert "<img" not in mail.body_html  # no logo: the sender's name heads the email

    join_portal(session, clock, settings, world["client"].id, "pat@cafe-under.test")
    brand = branding.default_brand(session, clock=clock)
    assert brand.id is not None
    branding.upload_logo(session, world["actor"], brand.id, _png(), clock=clock)
    session.commit()
    second = draft(session, world, clock)
    send(session, world, second, clock)
    mail = _invoice_email(session, second)
    link = f"{base}/portal/invoices/{second}"
    assert f"View the invoice online: {link}" in mail.body_text
    assert f'<a href="{link}"' in mail.body_html and "View invoice" in mail.body_html
    logo = f"{base}/api/portal/logo/{brand.logo_key}"
    assert f'<img src="{logo}" alt="{brand.sender_name or brand.name}"' in mail.body_html

    # The logo's address answers with the image, for anyone (it is public by design).
    @contextmanager
    def this_database() -> Iterator[Session]:
        with session_scope(engine) as scoped:
            yield scoped

    monkeypatch.setattr(portal_files, "session_scope", this_database)
    answer = TestClient(routes.build_api()).get(logo.removeprefix(base))
    assert answer.status_code == 200 and answer.content == _png()


def test_the_pdf_route_gives_the_current_pdf_and_the_original_on_request(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    invoice_id = draft(session, world, clock)
    send(session, world, invoice_id, clock)
    record(session, world, invoice_id, "payment", "496.92")
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    emailed = stored_documents.read_document(invoice.pdf_key)

    @contextmanager
    def this_database() -> Iterator[Session]:
        with session_scope(engine) as scoped:
            yield scoped

    monkeypatch.setattr(routes, "session_scope", this_database)
    monkeypatch.setattr(routes, "_staff", lambda _session, _request: world["actor"])
    client = TestClient(routes.build_api())

    now = client.get(f"/api/invoices/{invoice_id}/pdf")
    assert now.status_code == 200 and now.headers["content-type"] == "application/pdf"
    assert stamp(lines_of(now.content)) == "PAID"
    original = client.get(f"/api/invoices/{invoice_id}/pdf?original=1&download=1")
    assert original.status_code == 200 and original.content == emailed
    assert original.headers["content-disposition"].startswith("attachment;")
    assert client.get(f"/api/invoices/{invoice_id + 99}/pdf").status_code == 404


def test_the_brand_sample_adds_up_and_is_numbered_in_the_agency_format(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    agency = branding.get_agency(session)
    branding.update_agency(
        session,
        world["actor"],
        branding.AgencyInput(
            legal_name=agency.legal_name,
            address=agency.address,
            tax_id=agency.tax_id,
            email=agency.email,
            default_currency="EUR",
            locale="en",
            time_zone=agency.time_zone,
            payment_terms_days="30",
            number_format="F{YY}{MM}-{SEQ:3}",
            number_reset="monthly",
        ),
        clock=clock,
    )
    session.commit()
    brand = branding.default_brand(session, clock=clock)
    assert brand.id is not None
    lines = lines_of(invoice_samples.sample_pdf(session, SYSTEM, brand.id))

    subtotal = amount(row(lines, "Subtotal"))
    discount = amount(row(lines, "Discount"))  # printed negative
    (tax_line,) = [line for line in lines if line.startswith("VAT 20% on ")]
    taxable, tax = (amount(part) for part in tax_line.removeprefix("VAT 20% on ").split(" "))
    total = amount(row(lines, "Total"))
    assert discount < 0
    assert subtotal + discount + tax == total
    assert taxable == subtotal + discount  # the tax is on the discounted amount
    assert tax == (taxable * Decimal("0.20")).quantize(Decimal("0.01"))
    line_amounts = [
        amount(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith(("Managed", "Site care"))
    ]
    assert sum(line_amounts) == subtotal + discount
    assert amount(row(lines, "Amount due")) == total
    expected_number = NumberFormat("F{YY}{MM}-{SEQ:3}", SequenceReset.MONTHLY).format(
        42, date(2026, 3, 1)
    )
    assert expected_number == "F2603-042"
    assert f"Invoice no. {expected_number}" in lines
    assert "Payment due within 30 days, by March 31, 2026." in lines
