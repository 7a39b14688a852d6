"""Invoices against a real database: drafts, exact totals, sending (numbers, snapshot, PDF,
email), offline payments, refunds, voids, overdue, the list, and concurrent numbering."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlmodel import Session, col, select

from billing_app.adapters import documents
from billing_app.db.customers import Client, ClientWebsite, Product, ProductTaxRate, TaxRateRow
from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoiceLine
from billing_app.db.models import OutboxEmail, StaffUser
from billing_app.services.access.identity import CurrentUser, current_user_from
from billing_app.services.agency import branding
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed
from billing_app.services.common.listing import ListRequest
from billing_app.services.customers.clients import search_text_of
from billing_app.services.invoicing import drafts, payments, sending
from billing_app.services.invoicing import queries as invoice_queries
from billing_app.services.invoicing import timeline as invoice_timeline
from billing_app.services.invoicing import views as invoice_views
from billing_app.services.invoicing.documents import pdf_of
from billing_app.services.invoicing.drafts import DraftForm, LineForm
from billing_app.services.invoicing.payments import PaymentForm
from billing_app.ui.format import to_int
from tests.services.test_clients import ADMIN

from .test_auth import make_owner


@pytest.fixture
def world(session: Session, clock: FixedClock) -> dict[str, Any]:
    """An owner, agency settings, a client with a website, a 20 % VAT rate and a product."""
    owner_id = make_owner(session, clock)
    user = session.get(StaffUser, owner_id)
    assert user is not None
    actor = current_user_from(session, user)
    branding.update_agency(
        session,
        actor,
        branding.AgencyInput(
            legal_name="Studio Nord Oy",
            address="Mannerheimintie 1\n00100 Helsinki",
            tax_id="FI12345678",
            email="billing@studio-nord.test",
            default_currency="EUR",
            locale="en",
            time_zone="Europe/Helsinki",
            payment_terms_days="14",
            number_format="INV-{YYYY}-{SEQ:5}",
            number_reset="yearly",
        ),
        clock=clock,
    )
    now = clock.now()
    client = Client(
        company="Café Ünder GmbH",
        contact_name="Jürgen Çelik",
        email="billing@cafe-under.test",
        # What the client service stores for searching (lower-cased by Python).
        search_text=search_text_of(
            "Café Ünder GmbH",
            "Jürgen Çelik",
            "billing@cafe-under.test",
            [("Shop", "https://shop.cafe-under.test")],
        ),
        currency="EUR",
        locale="en",
        city="Köln",
        country="DE",
        created_at=now,
        updated_at=now,
    )
    session.add(client)
    session.flush()
    assert client.id is not None
    site = ClientWebsite(
        client_id=client.id, name="Shop", url="https://shop.cafe-under.test", created_at=now
    )
    vat = TaxRateRow(name="VAT", rate_ppm=200_000, inclusive=False, created_at=now, updated_at=now)
    product = Product(
        name="Managed hosting",
        price_minor=2500,
        currency="EUR",
        billing_type="recurring",
        created_at=now,
        updated_at=now,
    )
    session.add_all([site, vat, product])
    session.flush()
    assert vat.id is not None and product.id is not None
    session.add(ProductTaxRate(product_id=product.id, tax_rate_id=vat.id, position=0))
    session.commit()
    return {"actor": actor, "client": client, "site": site, "vat": vat, "product": product}


def three_lines(session: Session, w: dict[str, Any]) -> tuple[LineForm, ...]:
    hosting = drafts.line_defaults_from_product(session, w["actor"], w["product"].id)
    vat = (w["vat"].id,)
    return (
        hosting,
        LineForm("Site care — monthly", "2", "49.50", "10%", vat),
        LineForm("Logo refresh (free text)", "1", "300", "", vat),
    )


def draft(session: Session, w: dict[str, Any], clock: FixedClock, **kw: Any) -> int:
    form = DraftForm(client_id=w["client"].id, lines=three_lines(session, w), **kw)
    invoice_id = drafts.save_draft(session, w["actor"], form, clock=clock)
    session.commit()
    return invoice_id


def send(session: Session, w: dict[str, Any], invoice_id: int, clock: FixedClock) -> str:
    sent = sending.send_invoice(
        session,
        w["actor"],
        invoice_id,
        clock=clock,
    )
    session.commit()
    return sent.number


def test_a_draft_is_totalled_exactly_and_stays_editable(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    # 25.00 + 2 x 49.50 less 10 % (89.10) + 300.00 = 414.10 net; VAT 20 % = 82.82
    assert (invoice.subtotal_minor, invoice.discount_minor) == (42400, 990)
    assert (invoice.tax_minor, invoice.total_minor) == (8282, 49692)
    assert invoice.status == "draft" and invoice.number is None
    # Dates default from the agency: today in Helsinki, due after the payment terms.
    assert invoice.issue_date == date(2026, 3, 14)
    assert invoice.due_date == date(2026, 3, 28)

    drafts.save_draft(
        session,
        world["actor"],
        DraftForm(client_id=world["client"].id, lines=(LineForm("One thing", "1", "10"),)),
        invoice_id=invoice_id,
        clock=clock,
    )
    session.commit()
    session.refresh(invoice)
    assert invoice.total_minor == 1000
    assert (
        len(
            session.exec(select(InvoiceLine).where(col(InvoiceLine.invoice_id) == invoice_id)).all()
        )
        == 1
    )


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        (LineForm("", "1", "10"), "lines.1.description", "Describe the line"),
        (LineForm("Thing", "two", "10"), "lines.1.quantity", "number"),
        (LineForm("Thing", "1.23456", "10"), "lines.1.quantity", "4 decimals"),
        (LineForm("Thing", "1", "10.999"), "lines.1.unit_price", "2 decimals"),
        (LineForm("Thing", "1", "10", "150%"), "lines.1.discount", "between 0 and 100"),
        (LineForm("Thing", "1", "10", "11.00"), "lines.1.discount", "larger than the line"),
    ],
)
def test_bad_lines_get_a_clear_message_and_nothing_is_written(
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],
    line: LineForm,
    field: str,
    message: str,
) -> None:
    form = DraftForm(client_id=world["client"].id, lines=(LineForm("Fine", "1", "5"), line))
    with pytest.raises(ValidationFailed, match=message) as exc:
        drafts.save_draft(session, world["actor"], form, clock=clock)
    assert exc.value.field == field
    session.rollback()
    assert session.exec(select(Invoice)).all() == []


def test_sending_numbers_freezes_renders_and_emails(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(
        session, world, clock, website_id=world["site"].id, message="Thanks for choosing us!"
    )
    number = send(session, world, invoice_id, clock)
    assert number == "INV-2026-00001"
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None and invoice.status == "open"
    snap = json.loads(invoice.snapshot)
    assert snap["client"]["company"] == "Café Ünder GmbH"
    assert snap["client"]["website"] == "Shop (https://shop.cafe-under.test)"
    assert snap["total_minor"] == 49692
    assert [t["name"] for t in snap["taxes"]] == ["VAT"]
    assert [line["taxes"] for line in snap["lines"]] == [["VAT 20%"]] * 3

    # The frozen invoice ignores later changes to the client.
    client = session.get(Client, world["client"].id)
    assert client is not None
    client.company = "Renamed AG"
    session.add(client)
    session.commit()
    stored = pdf_of(session, invoice)
    assert stored == documents.read_document(invoice.pdf_key)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(stored)).pages)
    assert "INV-2026-00001" in text and "Café Ünder GmbH" in text and "Renamed" not in text
    assert "€496.92" in text

    # Figures on the client follow.
    assert (client.net_invoiced_minor, client.outstanding_minor) == (49692, 49692)

    mail = session.exec(select(OutboxEmail)).one()
    assert mail.to_address == "billing@cafe-under.test"
    assert mail.subject == "Invoice INV-2026-00001 from Studio Nord Oy"
    assert "€496.92" in mail.body_text and "Thanks for choosing us!" in mail.body_text
    assert (mail.attachment_key, mail.attachment_name) == (invoice.pdf_key, "INV-2026-00001.pdf")

    kinds = [e.kind for e in invoice_timeline.timeline(session, invoice_id)]
    assert kinds == ["created", "sent", "emailed"]

    with pytest.raises(Conflict, match="already sent"):
        sending.send_invoice(
            session,
            world["actor"],
            invoice_id,
            clock=clock,
        )
    with pytest.raises(Conflict, match="cannot be edited"):
        drafts.save_draft(
            session,
            world["actor"],
            DraftForm(client_id=world["client"].id, lines=(LineForm("x", "1", "1"),)),
            invoice_id=invoice_id,
            clock=clock,
        )
    with pytest.raises(Conflict, match="Only drafts"):
        drafts.delete_draft(session, world["actor"], invoice_id, clock=clock)


def test_a_failed_send_leaves_the_draft_and_no_gap(
    session: Session, clock: FixedClock, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = draft(session, world, clock)

    def broken(_: dict[str, Any]) -> bytes:
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(sending, "render_snapshot", broken)
    with pytest.raises(RuntimeError):
        sending.send_invoice(session, world["actor"], first, clock=clock)
    monkeypatch.undo()
    session.rollback()
    invoice = session.get(Invoice, first)
    assert invoice is not None and invoice.status == "draft" and invoice.number is None
    assert send(session, world, first, clock) == "INV-2026-00001"
    second = draft(session, world, clock)
    assert send(session, world, second, clock) == "INV-2026-00002"


def test_payments_refunds_and_void(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    send(session, world, invoice_id, clock)
    actor: CurrentUser = world["actor"]
    today = date(2026, 3, 14)  # the clock's day: payments are never dated in the future
    with pytest.raises(ValidationFailed, match=r"more than the €496\.92 due"):
        payments.record_payment(
            session, actor, invoice_id, PaymentForm("500", "bank_transfer", today), clock=clock
        )
    session.rollback()
    payments.record_payment(
        session,
        actor,
        invoice_id,
        PaymentForm("200.00", "bank_transfer", today, "TRX-1"),
        clock=clock,
    )
    session.commit()
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    assert (invoice.status, invoice.paid_minor) == ("partially_paid", 20000)
    payments.record_payment(
        session,
        actor,
        invoice_id,
        PaymentForm("296.92", "bank_transfer", today, "TRX-2"),
        clock=clock,
    )
    session.commit()
    session.refresh(invoice)
    assert (invoice.status, invoice.paid_minor) == ("paid", 49692)
    client = session.get(Client, world["client"].id)
    assert client is not None and client.outstanding_minor == 0

    with pytest.raises(Conflict, match="Refund them before voiding"):
        payments.void_invoice(session, actor, invoice_id, "mistake", clock=clock)
    session.rollback()
    with pytest.raises(ValidationFailed, match=r"at most €496\.92"):
        payments.record_refund(
            session, actor, invoice_id, PaymentForm("496.93", "bank_transfer", today), clock=clock
        )
    session.rollback()
    payments.record_refund(
        session, actor, invoice_id, PaymentForm("96.92", "bank_transfer", today), clock=clock
    )
    session.commit()
    session.refresh(invoice)
    assert invoice.status == "partially_refunded"
    session.refresh(client)
    assert client.net_invoiced_minor == 49692 - 9692
    messages = [e.message for e in invoice_timeline.timeline(session, invoice_id)]
    assert "€200.00 received by bank transfer (ref. TRX-1)" in messages
    assert "€96.92 refunded by bank transfer" in messages


def test_void_an_open_invoice_with_a_reason(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    send(session, world, invoice_id, clock)
    with pytest.raises(ValidationFailed, match="Say why"):
        payments.void_invoice(session, world["actor"], invoice_id, "  ", clock=clock)
    payments.void_invoice(session, world["actor"], invoice_id, "Sent twice", clock=clock)
    session.commit()
    invoice = session.get(Invoice, invoice_id)
    client = session.get(Client, world["client"].id)
    assert invoice is not None and client is not None
    assert (invoice.status, invoice.void_reason) == ("void", "Sent twice")
    listed = invoice_queries.list_invoices(session, ADMIN, ListRequest(), clock=clock)
    assert listed.totals_by_currency == {"EUR": (49692, 0)}
    assert listed.rows[0].due.amount_minor == 0
    assert (client.net_invoiced_minor, client.outstanding_minor) == (0, 0)
    with pytest.raises(Conflict):
        payments.record_payment(
            session,
            world["actor"],
            invoice_id,
            PaymentForm("1", "cash", date(2026, 3, 20)),
            clock=clock,
        )


def test_overdue_uses_the_agency_time_zone_and_the_list_filters_in_sql(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    first = draft(session, world, clock)
    number = send(session, world, first, clock)
    draft(session, world, clock)  # stays a draft
    # Due 2026-03-28. At 22:30 UTC on the 28th it is already the 29th in Helsinki.
    clock.at = clock.at.replace(month=3, day=28, hour=21, minute=30)
    assert (
        invoice_queries.list_invoices(
            session, ADMIN, ListRequest(filters={"status": "overdue"}), clock=clock
        ).total
        == 0
    )
    clock.at = clock.at.replace(hour=22, minute=30)
    overdue = invoice_queries.list_invoices(
        session, ADMIN, ListRequest(filters={"status": "overdue"}), clock=clock
    )
    assert [r.number for r in overdue.rows] == [number]
    assert overdue.rows[0].status == "overdue"
    assert overdue.totals_by_currency == {"EUR": (49692, 49692)}
    everything = invoice_queries.list_invoices(session, ADMIN, ListRequest(), clock=clock)
    assert everything.total == 2
    assert [
        r.number
        for r in invoice_queries.list_invoices(
            session, ADMIN, ListRequest(search="00001"), clock=clock
        ).rows
    ] == [number]
    assert (
        invoice_queries.list_invoices(session, ADMIN, ListRequest(search="café"), clock=clock).total
        == 2
    )
    assert (
        invoice_queries.list_invoices(
            session, ADMIN, ListRequest(search="496.92"), clock=clock
        ).total
        == 2
    )
    assert (
        invoice_queries.list_invoices(
            session, ADMIN, ListRequest(filters={"status": "draft"}), clock=clock
        ).total
        == 1
    )


def test_drafts_can_be_deleted_with_their_lines(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    pdf = pdf_of(session, session.get(Invoice, invoice_id))  # type: ignore[arg-type]
    assert "DRAFT" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    drafts.delete_draft(session, world["actor"], invoice_id, clock=clock)
    session.commit()
    assert session.exec(select(Invoice)).all() == []
    assert session.exec(select(InvoiceLine)).all() == []
    assert session.exec(select(InvoiceEvent)).all() == []


def test_twenty_concurrent_sends_get_twenty_consecutive_numbers(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    ids = [draft(session, world, clock) for _ in range(20)]
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []
    numbers: list[str] = []
    lock = threading.Lock()

    def worker(invoice_id: int) -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                barrier.wait(timeout=30)
                sent = sending.send_invoice(
                    s,
                    world["actor"],
                    invoice_id,
                    clock=clock,
                )
                s.commit()
            with lock:
                numbers.append(sent.number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(numbers) == [f"INV-2026-{n:05d}" for n in range(1, 21)]
    assert len(session.exec(select(OutboxEmail)).all()) == 20


def test_a_client_of_another_brand_is_invoiced_and_emailed_as_that_brand(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    actor = world["actor"]
    default_id = branding.default_brand(session, clock=clock).id
    second = branding.create_brand(
        session,
        actor,
        branding.BrandInput(
            name="Nord Hosting",
            primary_color="#0f766e",
            accent_color="#f59e0b",
            sender_name="Nord Hosting Billing",
            reply_to="help@nord-hosting.test",
            support_email="",
            support_url="",
            email_footer="Nord Hosting",
            custom_domain="",
        ),
        clock=clock,
    )
    branding.assign_client_brand(session, actor, world["client"].id, second, clock=clock)
    session.commit()
    invoice_id = draft(session, world, clock)
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None and invoice.brand_id == second != default_id
    send(session, world, invoice_id, clock)
    mail = session.exec(select(OutboxEmail)).one()
    assert (mail.from_name, mail.reply_to) == ("Nord Hosting Billing", "help@nord-hosting.test")
    assert json.loads(invoice.snapshot)["brand"]["name"] == "Nord Hosting"


def test_each_brand_numbers_its_own_invoices(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    first = draft(session, world, clock)
    assert send(session, world, first, clock) == "INV-2026-00001"
    other = branding.create_brand(
        session,
        world["actor"],
        branding.BrandInput(
            name="Second brand",
            primary_color="#111111",
            accent_color="#222222",
            sender_name="",
            reply_to="",
            support_email="",
            support_url="",
            email_footer="",
            custom_domain="",
        ),
        clock=clock,
    )
    branding.assign_client_brand(session, world["actor"], world["client"].id, other, clock=clock)
    session.commit()
    second = draft(session, world, clock)
    assert send(session, world, second, clock) == "INV-2026-00001"
    third = draft(session, world, clock)
    assert send(session, world, third, clock) == "INV-2026-00002"


HOSTILE_NUMBERS = ("1e5", "NaN", "Infinity", "-Infinity", "1_0", "٣", str(10**23))


@pytest.mark.parametrize("text", HOSTILE_NUMBERS)
def test_quantities_and_discounts_are_read_in_plain_notation_only(
    session: Session, world: dict[str, Any], text: str
) -> None:
    """docs/security.md item 34: no exponents, NaN, Infinity or oversized numbers."""
    client_id = world["client"].id
    with pytest.raises(ValidationFailed, match=r"Enter the quantity as a number") as caught:
        drafts.preview_totals(session, ADMIN, client_id, (LineForm("Thing", text, "10"),))
    assert caught.value.field == "lines.0.quantity"
    with pytest.raises(ValidationFailed, match=r"Enter the discount as a number") as caught:
        drafts.preview_totals(
            session, ADMIN, client_id, (LineForm("Thing", "1", "10", f"{text}%"),)
        )
    assert caught.value.field == "lines.0.discount"
    with pytest.raises(ValidationFailed) as caught:
        drafts.preview_totals(session, ADMIN, client_id, (LineForm("Thing", "1", text),))
    assert caught.value.field == "lines.0.unit_price"


def test_searching_a_huge_number_answers_at_once_with_no_amount_match(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    """docs/security.md item 34: "1e999990" once built a million-digit integer (32 s frozen)."""
    draft(session, world, clock)
    for term in ("1e999990", "1e-999990", "9" * 100_000, "NaN", "Infinity", str(10**23)):
        started = time.perf_counter()
        page = invoice_queries.list_invoices(session, ADMIN, ListRequest(search=term), clock=clock)
        assert time.perf_counter() - started < 0.5, term
        assert page.total == 0, term
    # An amount beyond 64-bit minor units matches nothing instead of overflowing the query.
    assert (
        invoice_queries.list_invoices(
            session, ADMIN, ListRequest(search="99999999999999999.99"), clock=clock
        ).rows
        == []
    )
    assert (
        invoice_queries.list_invoices(
            session, ADMIN, ListRequest(search="496.92"), clock=clock
        ).total
        == 1
    )


def test_an_id_out_of_range_is_not_found(session: Session, world: dict[str, Any]) -> None:
    """/invoices/100000000000000000000000 gave a 500: ids from the page are parsed by
    ui.format.to_int (domain.numbers.parse_id), so an id out of range reaches no query."""
    huge = to_int("100000000000000000000000")
    with pytest.raises(NotFound):
        invoice_views.invoice_detail(session, ADMIN, huge)
    with pytest.raises(NotFound):
        invoice_views.draft_view(session, ADMIN, huge)
