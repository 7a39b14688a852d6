"""Drafts (services/invoicing/drafts.py) as the person typing an invoice relies on them: the
totals shown while typing are the totals saved and sent, dates default from the agency's
payment terms and cannot run backwards, an invoice is in its client's currency and language,
lines come from the catalog with their taxes, every bad value is refused on its field before
anything is written, and only a role that may write invoices edits or deletes drafts."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.customers import Client, ClientWebsite, Product, ProductTaxRate, TaxRateRow
from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoiceLine
from billing_app.domain.permissions import BuiltinRole, Permission
from billing_app.services.agency import branding
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from billing_app.services.invoicing import drafts
from billing_app.services.invoicing import timeline as invoice_timeline
from billing_app.services.invoicing.drafts import DraftForm, LineForm
from billing_app.services.invoicing.views import draft_view

from .test_invoice_notices import as_role, audit_of
from .test_invoicing import draft, send, three_lines, world

__all__ = ["world"]


def save(
    session: Session,
    w: dict[str, Any],
    clock: FixedClock,
    invoice_id: int | None = None,
    **form: Any,
) -> int:
    """Save a draft (a new one, or ``invoice_id``) from the editor's form; its id."""
    form.setdefault("client_id", w["client"].id)
    form.setdefault("lines", (LineForm("Care", "1", "10"),))
    saved = drafts.save_draft(
        session, w["actor"], DraftForm(**form), invoice_id=invoice_id, clock=clock
    )
    session.commit()
    return saved


def refused_on(
    session: Session, w: dict[str, Any], clock: FixedClock, field: str, **kw: Any
) -> str:
    """Save a draft that must be refused on ``field``: its message; nothing was written."""
    before = len(session.exec(select(Invoice)).all())
    with pytest.raises(ValidationFailed) as caught:
        save(session, w, clock, **kw)
    session.rollback()
    assert caught.value.field == field
    assert len(session.exec(select(Invoice)).all()) == before
    return caught.value.message


def invoice_of(session: Session, invoice_id: int) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    session.refresh(invoice)
    return invoice


def other_client(session: Session, clock: FixedClock, **kw: Any) -> Client:
    now = clock.now()
    values: dict[str, Any] = {
        "company": "Brooklyn Bagels LLC",
        "email": "ap@bagels.test",
        "currency": "USD",
        "locale": "en_US",
        "created_at": now,
        "updated_at": now,
    }
    values.update(kw)
    client = Client(**values)
    session.add(client)
    session.commit()
    return client


# --------------------------------------------------------------------------- totals


def test_the_totals_shown_while_typing_are_the_totals_saved_and_sent(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    lines = (
        *three_lines(session, world),
        LineForm("Fixed discount", "3", "20", "5.50", (world["vat"].id,)),
        LineForm("Blank quantity and price", "", ""),
    )
    preview = drafts.preview_totals(session, world["actor"], world["client"].id, lines)
    assert session.exec(select(Invoice)).all() == []  # a preview writes nothing
    # 424.00 + 60.00 gross; discounts 9.90 + 5.50; VAT 20 % of 468.60 = 93.72.
    assert (preview.subtotal.amount_minor, preview.discount_total.amount_minor) == (48400, 1540)
    assert (preview.tax_total.amount_minor, preview.total.amount_minor) == (9372, 56232)
    invoice_id = save(session, world, clock, lines=lines)
    invoice = invoice_of(session, invoice_id)
    saved = (invoice.subtotal_minor, invoice.discount_minor, invoice.tax_minor, invoice.total_minor)
    assert saved == (48400, 1540, 9372, 56232)
    send(session, world, invoice_id, clock)
    invoice = invoice_of(session, invoice_id)
    sent = (invoice.subtotal_minor, invoice.discount_minor, invoice.tax_minor, invoice.total_minor)
    assert sent == saved
    stored = session.exec(
        select(InvoiceLine)
        .where(col(InvoiceLine.invoice_id) == invoice_id)
        .order_by(col(InvoiceLine.position))
    ).all()
    assert [ln.position for ln in stored] == [0, 1, 2, 3, 4]
    assert [(ln.amount_minor, ln.net_minor, ln.tax_minor) for ln in stored] == [
        (2500, 2500, 500),
        (9900, 8910, 1782),
        (30000, 30000, 6000),
        (6000, 5450, 1090),
        (0, 0, 0),
    ]


def test_a_draft_reads_back_as_typed_and_sends_the_same_discounts(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    vat = world["vat"].id
    lines = (
        LineForm("Percent", "1.5", "100", "12.5%", (vat,)),
        LineForm("Amount", "2", "10", " 3.25 ", ()),
    )
    invoice_id = save(session, world, clock, lines=lines)
    view = draft_view(session, world["actor"], invoice_id)
    assert [(ln.quantity, ln.unit_price, ln.discount, ln.tax_rate_ids) for ln in view.lines] == [
        ("1.5", "100.00", "12.5%", (vat,)),
        ("2", "10.00", "3.25", ()),
    ]
    total = invoice_of(session, invoice_id).total_minor
    # 150.00 less 12.5 % = 131.25, VAT 26.25; 20.00 less 3.25 = 16.75.
    assert total == 13125 + 2625 + 1675
    send(session, world, invoice_id, clock)
    assert invoice_of(session, invoice_id).total_minor == total


def test_an_inclusive_tax_is_kept_inside_the_price_when_sent(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    now = clock.now()
    included = TaxRateRow(
        name="MwSt", rate_ppm=190_000, inclusive=True, created_at=now, updated_at=now
    )
    session.add(included)
    session.commit()
    assert included.id is not None
    lines = (LineForm("Gross", "1", "119", "", (included.id,)),)
    preview = drafts.preview_totals(session, world["actor"], world["client"].id, lines)
    assert (preview.tax_total.amount_minor, preview.total.amount_minor) == (1900, 11900)
    invoice_id = save(session, world, clock, lines=lines)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.tax_minor, invoice.total_minor) == (1900, 11900)
    send(session, world, invoice_id, clock)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.tax_minor, invoice.total_minor) == (1900, 11900)


def test_a_negative_line_is_fine_while_the_total_is_not_negative(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    lines = (LineForm("Hosting", "1", "100"), LineForm("Credit", "-1", "30"))
    invoice_id = save(session, world, clock, lines=lines)
    assert invoice_of(session, invoice_id).total_minor == 7000
    lines = (LineForm("Hosting", "1", "10"), LineForm("Credit", "-1", "10.01"))
    message = refused_on(session, world, clock, "lines", lines=lines)
    assert message == (
        "An invoice total cannot be negative (-€0.01). Reduce or remove the negative lines. "
        "To give money back on a sent invoice, record a refund on it, or void it and issue a "
        "corrected one."
    )


def test_a_total_too_large_to_store_is_refused_on_the_lines(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    """Each line fits (50 million billion euros), their sum does not: explained, not a crash."""
    huge = LineForm("Everything", "1", "50000000000000000")
    assert drafts.preview_totals(session, world["actor"], world["client"].id, (huge,))
    message = refused_on(session, world, clock, "lines", lines=(huge, huge))
    assert message == "The amount is too large."
    # One line too large on its own is refused on that line.
    twice = LineForm("Everything twice", "2", "50000000000000000")
    message = refused_on(session, world, clock, "lines.1", lines=(huge, twice))
    assert message == "The line amount is too large."


def test_quantities_read_back_as_typed(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    lines = (
        LineForm("Ten", "10", "1"),
        LineForm("Hundred", "100.00", "1"),
        LineForm("Half", "0.50", "1"),
    )
    invoice_id = save(session, world, clock, lines=lines)
    view = draft_view(session, world["actor"], invoice_id)
    assert [ln.quantity for ln in view.lines] == ["10", "100", "0.5"]
    assert invoice_of(session, invoice_id).total_minor == 11050


# --------------------------------------------------------------------------- dates


def test_the_due_date_follows_the_payment_terms_from_the_issue_date(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice = invoice_of(session, save(session, world, clock, issue_date=date(2026, 4, 20)))
    assert (invoice.issue_date, invoice.due_date) == (date(2026, 4, 20), date(2026, 5, 4))
    # Late in the evening UTC it is already tomorrow in Helsinki: the issue date is the agency's.
    clock.at = clock.at.replace(hour=22, minute=30)
    invoice = invoice_of(session, save(session, world, clock))
    assert (invoice.issue_date, invoice.due_date) == (date(2026, 3, 15), date(2026, 3, 29))
    invoice = invoice_of(session, save(session, world, clock, due_date=date(2026, 3, 20)))
    assert (invoice.issue_date, invoice.due_date) == (date(2026, 3, 15), date(2026, 3, 20))


def test_an_invoice_may_be_due_the_day_it_is_issued_but_not_before(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    day = date(2026, 3, 20)
    invoice_id = save(session, world, clock, issue_date=day, due_date=day)
    assert invoice_of(session, invoice_id).due_date == day
    message = refused_on(
        session, world, clock, "due_date", issue_date=day, due_date=date(2026, 3, 19)
    )
    assert message == "The due date cannot be before the issue date."
    # Also when the issue date is today by default.
    refused_on(session, world, clock, "due_date", due_date=date(2026, 3, 13))


# --------------------------------------------------------------------------- the client


def test_an_invoice_is_in_its_clients_currency_and_language(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = save(session, world, clock)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.currency, invoice.locale) == ("EUR", "en")
    american = other_client(session, clock)
    created = invoice_of(session, save(session, world, clock, client_id=american.id))
    assert (created.currency, created.locale) == ("USD", "en_US")
    save(session, world, clock, invoice_id=invoice_id, client_id=american.id)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.client_id, invoice.currency, invoice.locale) == (american.id, "USD", "en_US")
    assert invoice.total_minor == 1000
    # Saving again for the same client keeps them.
    save(session, world, clock, invoice_id=invoice_id, client_id=american.id)
    assert invoice_of(session, invoice_id).currency == "USD"


def test_an_invoice_for_a_client_in_yen_has_no_cents(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    tokyo = other_client(session, clock, company="Tokyo KK", currency="JPY", locale="ja")
    lines = (LineForm("Hosting", "3", "1200", "100"),)
    invoice_id = save(session, world, clock, client_id=tokyo.id, lines=lines)
    assert invoice_of(session, invoice_id).total_minor == 3500
    message = refused_on(
        session,
        world,
        clock,
        "lines.0.unit_price",
        client_id=tokyo.id,
        lines=(LineForm("x", "1", "1.5"),),
    )
    assert message


def test_a_new_draft_carries_its_clients_brand_or_the_default_one(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    default_id = branding.default_brand(session, clock=clock).id
    assert invoice_of(session, save(session, world, clock)).brand_id == default_id
    american = other_client(session, clock)
    second = branding.create_brand(
        session,
        world["actor"],
        branding.BrandInput(
            name="Nord Hosting",
            primary_color="#0f766e",
            accent_color="#f59e0b",
            sender_name="",
            reply_to="",
            support_email="",
            support_url="",
            email_footer="",
            custom_domain="",
        ),
        clock=clock,
    )
    branding.assign_client_brand(session, world["actor"], american.id, second, clock=clock)
    session.commit()
    assert (
        invoice_of(session, save(session, world, clock, client_id=american.id)).brand_id == second
    )


def test_an_archived_or_unknown_client_is_not_invoiced(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    archived = other_client(session, clock, status="archived")
    message = refused_on(session, world, clock, "client_id", client_id=archived.id)
    assert message == "This client is archived. Restore it before invoicing it."
    message = refused_on(session, world, clock, "client_id", client_id=archived.id + 999)
    assert message == "Choose a client."
    with pytest.raises(ValidationFailed) as caught:
        drafts.preview_totals(
            session, world["actor"], archived.id + 999, (LineForm("x", "1", "1"),)
        )
    assert caught.value.errors == {"client_id": "Choose a client."}


def test_only_one_of_the_clients_own_websites_can_be_named(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    american = other_client(session, clock)
    theirs = ClientWebsite(
        client_id=american.id, name="Bagels", url="https://bagels.test", created_at=clock.now()
    )
    session.add(theirs)
    session.commit()
    message = refused_on(session, world, clock, "website_id", website_id=theirs.id)
    assert message == "Choose one of this client's websites."
    refused_on(session, world, clock, "website_id", website_id=(theirs.id or 0) + 999)
    invoice_id = save(session, world, clock, website_id=world["site"].id)
    assert invoice_of(session, invoice_id).website_id == world["site"].id
    save(session, world, clock, invoice_id=invoice_id)  # the editor cleared the website
    assert invoice_of(session, invoice_id).website_id is None


# --------------------------------------------------------------------------- lines


def test_a_catalog_line_brings_the_products_name_price_and_taxes_in_order(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    now = clock.now()
    local = TaxRateRow(name="City tax", rate_ppm=15_000, created_at=now, updated_at=now)
    product = Product(
        name="Yearly domain",
        price_minor=1999,
        currency="EUR",
        billing_type="recurring",
        created_at=now,
        updated_at=now,
    )
    session.add_all([local, product])
    session.flush()
    assert product.id is not None and local.id is not None
    # The rate added later is listed first: the product's order, not the rates' age.
    session.add(ProductTaxRate(product_id=product.id, tax_rate_id=world["vat"].id, position=1))
    session.add(ProductTaxRate(product_id=product.id, tax_rate_id=local.id, position=0))
    session.commit()
    line = drafts.line_defaults_from_product(session, world["actor"], product.id)
    assert line == LineForm(
        description="Yearly domain",
        quantity="1",
        unit_price="19.99",
        tax_rate_ids=(local.id, world["vat"].id),
        product_id=product.id,
    )
    invoice_id = save(session, world, clock, lines=(line,))
    (stored,) = session.exec(select(InvoiceLine).where(col(InvoiceLine.invoice_id) == invoice_id))
    assert stored.product_id == product.id
    with pytest.raises(NotFound, match=r"^That product does not exist\.$"):
        drafts.line_defaults_from_product(session, world["actor"], product.id + 999)


def test_a_tax_rate_deleted_while_typing_is_named_on_its_line(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    lines = (LineForm("Fine", "1", "1"), LineForm("Taxed", "1", "10", "", (world["vat"].id + 999,)))
    message = refused_on(session, world, clock, "lines.1.taxes", lines=lines)
    assert message == "That tax rate no longer exists."


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        (LineForm("  ", "1", "10"), "lines.0.description", "Describe the line."),
        (LineForm("Thing", "1", "ten"), "lines.0.unit_price", None),
        (LineForm("Thing", "1", "10", "abc%"), "lines.0.discount", None),
        (LineForm("Thing", "1", "10", "ten"), "lines.0.discount", None),
        (LineForm("Thing", "lots", "10"), "lines.0.quantity", None),
    ],
)
def test_a_bad_value_is_refused_on_its_own_field(
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],
    line: LineForm,
    field: str,
    message: str | None,
) -> None:
    text = refused_on(session, world, clock, field, lines=(line,))
    if message is not None:
        assert text == message
    with pytest.raises(ValidationFailed) as caught:
        drafts.preview_totals(session, world["actor"], world["client"].id, (line,))
    assert caught.value.field == field


def test_an_invoice_has_one_to_five_hundred_lines(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    message = refused_on(session, world, clock, "lines", lines=())
    assert message == "Add at least one line."
    many = tuple(LineForm(f"Item {n}", "1", "1") for n in range(501))
    message = refused_on(session, world, clock, "lines", lines=many)
    assert message == "An invoice has at most 500 lines."
    totals = drafts.preview_totals(session, world["actor"], world["client"].id, many[:500])
    assert totals.total.amount_minor == 50000


# --------------------------------------------------------------------------- editing and deleting


def test_a_new_draft_is_on_the_internal_timeline_and_an_edit_adds_nothing(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = save(session, world, clock, message="  Thanks!  ")
    assert invoice_of(session, invoice_id).message == "Thanks!"
    clock.at = clock.at.replace(hour=12)
    save(session, world, clock, invoice_id=invoice_id, lines=(LineForm("More", "2", "10"),))
    entries = invoice_timeline.timeline(session, invoice_id)
    assert [(e.kind, e.message, e.internal) for e in entries] == [
        ("created", "Draft created", True)
    ]
    invoice = invoice_of(session, invoice_id)
    assert invoice.total_minor == 2000
    assert invoice.created_by_id == world["actor"].id  # who drafted it is kept
    assert invoice.updated_at.replace(tzinfo=None) == clock.now().replace(tzinfo=None)
    assert invoice.created_at.replace(tzinfo=None) != clock.now().replace(tzinfo=None)


def test_deleting_a_draft_removes_it_and_is_audited(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    keep = draft(session, world, clock)
    invoice_id = draft(session, world, clock)
    drafts.delete_draft(session, world["actor"], invoice_id, clock=clock)
    session.commit()
    assert session.get(Invoice, invoice_id) is None
    left = session.exec(select(InvoiceLine.invoice_id).distinct()).all()
    assert list(left) == [keep]
    assert {e.invoice_id for e in session.exec(select(InvoiceEvent))} == {keep}
    (logged,) = audit_of(session, "invoice.draft_deleted")
    assert (logged.target, logged.actor_label) == (f"draft {invoice_id}", world["actor"].email)
    assert logged.at == clock.now()
    with pytest.raises(NotFound):
        drafts.delete_draft(session, world["actor"], invoice_id, clock=clock)


def test_a_sent_invoice_is_neither_edited_nor_deleted(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    send(session, world, invoice_id, clock)
    with pytest.raises(Conflict) as caught:
        save(session, world, clock, invoice_id=invoice_id)
    assert caught.value.message == (
        "A sent invoice cannot be edited. Void it or record a refund instead."
    )
    session.rollback()
    with pytest.raises(Conflict) as caught:
        drafts.delete_draft(session, world["actor"], invoice_id, clock=clock)
    assert caught.value.message == "Only drafts can be deleted. Void a sent invoice instead."
    session.rollback()
    assert invoice_of(session, invoice_id).total_minor == 49692


def test_drafts_need_the_permission_to_write_invoices(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    owner = as_role(world, BuiltinRole.OWNER)
    reader = dataclasses.replace(owner, permissions=owner.permissions - {Permission.INVOICES_WRITE})
    form = DraftForm(client_id=world["client"].id, lines=(LineForm("x", "1", "1"),))
    for attempt in (
        lambda: drafts.save_draft(session, reader, form, clock=clock),
        lambda: drafts.save_draft(session, reader, form, invoice_id=invoice_id, clock=clock),
        lambda: drafts.delete_draft(session, reader, invoice_id, clock=clock),
        lambda: drafts.preview_totals(session, reader, world["client"].id, form.lines),
        lambda: drafts.line_defaults_from_product(session, reader, world["product"].id),
    ):
        with pytest.raises(NotAllowed):
            attempt()
        session.rollback()
    assert [i.id for i in session.exec(select(Invoice))] == [invoice_id]
    assert invoice_of(session, invoice_id).total_minor == 49692
    accountant = as_role(world, BuiltinRole.ACCOUNTANT)
    drafts.delete_draft(session, accountant, invoice_id, clock=clock)
    session.commit()
    assert session.exec(select(Invoice)).all() == []


def test_every_field_of_every_line_is_refused_at_once(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    lines = (
        LineForm("  ", "lots", "10"),
        LineForm("Fine", "1", "10"),
        LineForm("Thing", "1", "ten", "abc%", (world["vat"].id + 999,)),
    )
    before = len(session.exec(select(Invoice)).all())
    with pytest.raises(ValidationFailed) as caught:
        save(session, world, clock, lines=lines, message="x" * 100_000)
    session.rollback()
    assert set(caught.value.errors) == {
        "lines.0.description",
        "lines.0.quantity",
        "lines.2.unit_price",
        "lines.2.discount",
        "lines.2.taxes",
        "message",
    }
    assert caught.value.errors["lines.0.description"] == "Describe the line."
    assert caught.value.errors["lines.2.taxes"] == "That tax rate no longer exists."
    assert len(session.exec(select(Invoice)).all()) == before


def test_a_rule_of_the_whole_line_is_reported_on_its_field(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    lines = (LineForm("Fine", "1", "10"), LineForm("Too much off", "1", "10", "25"))
    message = refused_on(session, world, clock, "lines.1.discount", lines=lines)
    assert "discount" in message.lower()
