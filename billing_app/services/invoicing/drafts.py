"""Draft invoices: the editor's lines read with bounds, live totals (domain/invoice_math.py), saving
and deleting drafts. Everything is validated before anything is written."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.customers import Client, ClientWebsite, Product, ProductTaxRate, TaxRateRow
from billing_app.db.invoicing import (
    Invoice,
    InvoiceEvent,
    InvoiceLine,
)
from billing_app.domain.errors import DomainError, NegativeTotal
from billing_app.domain.invoice_math import (
    AmountDiscount,
    InvoiceLineInput,
    InvoiceTotals,
    PercentDiscount,
    compute_invoice,
    compute_line,
)
from billing_app.domain.lifecycle import InvoiceStatus
from billing_app.domain.money import (
    Money,
    format_money,
    parse_money,
)
from billing_app.domain.numbers import parse_plain_decimal
from billing_app.domain.permissions import Permission
from billing_app.domain.tax import TaxRate
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import agency_today, default_brand, get_agency
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, FieldChecks, NotFound, ValidationFailed
from billing_app.services.invoicing.limits import (
    MAX_DESCRIPTION,
    MAX_LINES,
    MAX_MESSAGE,
    MAX_TYPED_DIGITS,
    bounded_text,
)
from billing_app.services.invoicing.queries import get_invoice
from billing_app.services.invoicing.timeline import add_event


def negative_total_message(total: Money, locale: str) -> str:
    """What to do about a negative total, with what the app offers today."""
    return (
        f"An invoice total cannot be negative ({format_money(total, locale)}). Reduce or remove "
        "the negative lines. To give money back on a sent invoice, record a refund on it, or "
        "void it and issue a corrected one."
    )


@dataclass(frozen=True)
class LineForm:
    """One line as typed in the editor."""

    description: str
    quantity: str = "1"
    unit_price: str = "0"
    discount: str = ""  # "10%" or an amount such as "5.00"; "" for none
    tax_rate_ids: tuple[int, ...] = ()
    product_id: int | None = None


@dataclass(frozen=True)
class DraftForm:
    client_id: int
    lines: tuple[LineForm, ...]
    website_id: int | None = None
    issue_date: date | None = None
    due_date: date | None = None
    message: str = ""


def _client(session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        msg = "Choose a client."
        raise ValidationFailed(msg, field="client_id")
    return client


def _tax_rates(session: Session, ids: Sequence[int]) -> dict[int, TaxRateRow]:
    if not ids:
        return {}
    rows = session.exec(select(TaxRateRow).where(col(TaxRateRow.id).in_(list(ids)))).all()
    return {r.id: r for r in rows if r.id is not None}


def domain_rate(row: TaxRateRow) -> TaxRate:
    return TaxRate(row.name, Decimal(row.rate_ppm) / Decimal(10_000), row.inclusive)


def tax_json(row: TaxRateRow) -> dict[str, object]:
    """A line's tax as an invoice line stores it."""
    return {"id": row.id, "name": row.name, "rate_ppm": row.rate_ppm, "inclusive": row.inclusive}


def _decimal(text: str, field: str, what: str) -> Decimal:
    """A quantity or percentage as typed ("" is 0). The bounds are wide so that the domain
    still explains moderately wrong values ("too large", "at most 4 decimals")."""
    value = parse_plain_decimal(
        text or "0", max_integer_digits=MAX_TYPED_DIGITS, max_fraction_digits=MAX_TYPED_DIGITS
    )
    if value is None:
        msg = f"Enter the {what} as a number such as 1 or 2.5."
        raise ValidationFailed(msg, field=field)
    return value


LINE_FIELDS = ("description", "quantity", "unit_price", "discount", "taxes")
"""The fields of an editor line a problem can be reported on (``lines.<i>.<field>``)."""


@dataclass(frozen=True)
class _PreparedLine:
    domain: InvoiceLineInput
    form: LineForm
    discount_kind: str
    discount_value: str
    taxes: list[dict[str, Any]]


def _prepare_line(
    checks: FieldChecks, client: Client, index: int, line: LineForm, rates: dict[int, TaxRateRow]
) -> _PreparedLine | None:
    """One line read field by field; each field's problem is kept under ``lines.<i>.<field>``.
    None when the line has a problem (the form is refused before anything is written)."""
    prefix = f"lines.{index}"
    description = checks.value(
        f"{prefix}.description",
        "",
        bounded_text,
        line.description,
        MAX_DESCRIPTION,
        f"{prefix}.description",
    )
    if not description and not checks.failed(f"{prefix}.description"):
        checks.add(f"{prefix}.description", "Describe the line.")
    quantity = checks.value(
        f"{prefix}.quantity", Decimal(0), _decimal, line.quantity, f"{prefix}.quantity", "quantity"
    )
    unit_price = checks.value(
        f"{prefix}.unit_price",
        Money.zero(client.currency),
        parse_money,
        line.unit_price or "0",
        client.currency,
        client.locale,
    )
    discount: PercentDiscount | AmountDiscount | None = None
    kind, value = "", ""
    discount_text = line.discount.strip()
    with checks.check(f"{prefix}.discount"):
        if discount_text.endswith("%"):
            percent = _decimal(discount_text[:-1], f"{prefix}.discount", "discount")
            discount, kind, value = PercentDiscount(percent), "percent", str(percent)
        elif discount_text:
            amount = parse_money(discount_text, client.currency, client.locale)
            discount, kind, value = AmountDiscount(amount), "amount", str(amount.amount_minor)
    tax_rows = [rates[i] for i in line.tax_rate_ids if i in rates]
    if len(tax_rows) != len(line.tax_rate_ids):
        checks.add(f"{prefix}.taxes", "That tax rate no longer exists.")
    if checks.failed(*(f"{prefix}.{name}" for name in LINE_FIELDS)):
        return None
    try:  # the line's own rules (e.g. at most 4 decimals, a discount above the amount)
        domain_line = InvoiceLineInput(
            description, quantity, unit_price, discount, tuple(domain_rate(r) for r in tax_rows)
        )
        compute_line(domain_line)
    except DomainError as exc:
        checks.add(f"{prefix}.{exc.field}" if exc.field else prefix, exc.message)
        return None
    return _PreparedLine(
        domain=domain_line,
        form=line,
        discount_kind=kind,
        discount_value=value,
        taxes=[tax_json(r) for r in tax_rows],
    )


def _prepare_lines(
    session: Session, client: Client, lines: Sequence[LineForm]
) -> list[_PreparedLine]:
    """Every line read; one ValidationFailed naming every field of every line with a problem."""
    if not lines:
        msg = "Add at least one line."
        raise ValidationFailed(msg, field="lines")
    if len(lines) > MAX_LINES:
        msg = f"An invoice has at most {MAX_LINES} lines."
        raise ValidationFailed(msg, field="lines")
    rates = _tax_rates(session, [i for line in lines for i in line.tax_rate_ids])
    checks = FieldChecks()
    prepared = [
        _prepare_line(checks, client, index, line, rates) for index, line in enumerate(lines)
    ]
    checks.raise_if_failed()
    return [p for p in prepared if p is not None]


def _compute(lines: Sequence[InvoiceLineInput], currency: str, locale: str) -> InvoiceTotals:
    try:
        return compute_invoice(lines, currency)
    except NegativeTotal:
        total = sum((compute_line(line).total for line in lines), Money.zero(currency))
        raise ValidationFailed(negative_total_message(total, locale), field="lines") from None
    except DomainError as exc:
        raise ValidationFailed(exc.message, field="lines") from exc


def _totals(prepared: Sequence[_PreparedLine], currency: str, locale: str) -> InvoiceTotals:
    return _compute([p.domain for p in prepared], currency, locale)


def preview_totals(
    session: Session, actor: CurrentUser, client_id: int, lines: Sequence[LineForm]
) -> InvoiceTotals:
    """Totals for the editor, computed exactly as they will be saved. Writes nothing."""
    require(actor, Permission.INVOICES_WRITE)
    client = _client(session, client_id)
    return _totals(_prepare_lines(session, client, lines), client.currency, client.locale)


def line_defaults_from_product(session: Session, actor: Acting, product_id: int) -> LineForm:
    """A line pre-filled from a catalog product: description, price, default taxes."""
    require(actor, Permission.INVOICES_WRITE)
    product = session.get(Product, product_id)
    if product is None:
        msg = "That product does not exist."
        raise NotFound(msg)
    tax_ids = tuple(
        session.exec(
            select(ProductTaxRate.tax_rate_id)
            .where(col(ProductTaxRate.product_id) == product_id)
            .order_by(col(ProductTaxRate.position))
        ).all()
    )
    price = Money(product.price_minor, product.currency).to_decimal()
    return LineForm(
        description=product.name,
        quantity="1",
        unit_price=format(price, "f"),
        tax_rate_ids=tax_ids,
        product_id=product.id,
    )


def _write_lines(
    session: Session, invoice: Invoice, prepared: Sequence[_PreparedLine], totals: InvoiceTotals
) -> None:
    session.execute(sa.delete(InvoiceLine).where(col(InvoiceLine.invoice_id) == invoice.id))
    assert invoice.id is not None
    for position, (line, result) in enumerate(zip(prepared, totals.lines, strict=True)):
        session.add(
            InvoiceLine(
                invoice_id=invoice.id,
                position=position,
                product_id=line.form.product_id,
                description=line.domain.description,
                quantity=format(line.domain.quantity.normalize(), "f"),
                unit_price_minor=line.domain.unit_price.amount_minor,
                discount_kind=line.discount_kind,
                discount_value=line.discount_value,
                taxes=json.dumps(line.taxes),
                amount_minor=result.amount_minor,
                net_minor=result.net_minor,
                tax_minor=result.tax_total_minor,
            )
        )
    invoice.subtotal_minor = totals.subtotal.amount_minor
    invoice.discount_minor = totals.discount_total.amount_minor
    invoice.tax_minor = totals.tax_total.amount_minor
    invoice.total_minor = totals.total.amount_minor


def save_draft(
    session: Session,
    actor: CurrentUser,
    form: DraftForm,
    *,
    invoice_id: int | None = None,
    clock: Clock = system_clock,
) -> int:
    """Create or update a draft; everything is validated before anything is written."""
    require(actor, Permission.INVOICES_WRITE)
    checks = FieldChecks()
    client = checks.value("client_id", None, _client, session, form.client_id)
    if client is not None and client.status == "archived":
        checks.add("client_id", "This client is archived. Restore it before invoicing it.")
    if form.website_id is not None:
        website = session.get(ClientWebsite, form.website_id)
        if website is None or client is None or website.client_id != client.id:
            checks.add("website_id", "Choose one of this client's websites.")
    agency = get_agency(session, clock=clock)
    issue = form.issue_date or agency_today(agency, clock)
    due = form.due_date or issue + timedelta(days=agency.payment_terms_days)
    if due < issue:
        checks.add("due_date", "The due date cannot be before the issue date.")
    message = checks.value("message", "", bounded_text, form.message, MAX_MESSAGE, "message")
    prepared: list[_PreparedLine] = []
    if client is not None:  # the lines are read in the client's currency and locale
        prepared = checks.value(None, [], _prepare_lines, session, client, form.lines)
    checks.raise_if_failed()
    assert client is not None
    totals = _totals(prepared, client.currency, client.locale)
    now = clock.now()
    if invoice_id is None:
        brand_id = client.brand_id or default_brand(session, clock=clock).id
        assert brand_id is not None
        invoice = Invoice(
            client_id=client.id or 0,
            brand_id=brand_id,
            currency=client.currency,
            locale=client.locale,
            issue_date=issue,
            due_date=due,
            created_by_id=actor.id,
            created_at=now,
            updated_at=now,
        )
    else:
        invoice = get_invoice(session, invoice_id)
        if invoice.status != InvoiceStatus.DRAFT:
            msg = "A sent invoice cannot be edited. Void it or record a refund instead."
            raise Conflict(msg)
        if invoice.client_id != client.id:
            invoice.currency, invoice.locale = client.currency, client.locale
        invoice.client_id = client.id or 0
    invoice.website_id = form.website_id
    invoice.issue_date, invoice.due_date = issue, due
    invoice.message = message
    invoice.updated_at = now
    session.add(invoice)
    session.flush()
    _write_lines(session, invoice, prepared, totals)
    session.add(invoice)
    assert invoice.id is not None
    if invoice_id is None:
        add_event(
            session, invoice.id, "created", actor.email, "Draft created", clock, internal=True
        )
    return invoice.id


def delete_draft(
    session: Session, actor: CurrentUser, invoice_id: int, *, clock: Clock = system_clock
) -> None:
    """Delete a draft with its lines (a sent invoice is voided, never deleted)."""
    require(actor, Permission.INVOICES_WRITE)
    invoice = get_invoice(session, invoice_id)
    if invoice.status != InvoiceStatus.DRAFT:
        msg = "Only drafts can be deleted. Void a sent invoice instead."
        raise Conflict(msg)
    session.execute(sa.delete(InvoiceLine).where(col(InvoiceLine.invoice_id) == invoice_id))
    session.execute(sa.delete(InvoiceEvent).where(col(InvoiceEvent.invoice_id) == invoice_id))
    session.delete(invoice)
    audit.record(
        session, "invoice.draft_deleted", actor.actor(), target=f"draft {invoice_id}", clock=clock
    )


def recompute_totals(session: Session, invoice: Invoice) -> InvoiceTotals:
    """The totals of a draft from its stored lines (as saved, taxes included)."""
    lines = session.exec(
        select(InvoiceLine)
        .where(col(InvoiceLine.invoice_id) == invoice.id)
        .order_by(col(InvoiceLine.position))
    ).all()
    domain_lines = []
    for line in lines:
        discount: PercentDiscount | AmountDiscount | None = None
        if line.discount_kind == "percent":
            discount = PercentDiscount(Decimal(line.discount_value))
        elif line.discount_kind == "amount":
            discount = AmountDiscount(Money(int(line.discount_value), invoice.currency))
        rates = tuple(
            TaxRate(t["name"], Decimal(t["rate_ppm"]) / Decimal(10_000), bool(t["inclusive"]))
            for t in json.loads(line.taxes)
        )
        domain_lines.append(
            InvoiceLineInput(
                line.description,
                Decimal(line.quantity),
                Money(line.unit_price_minor, invoice.currency),
                discount,
                rates,
            )
        )
    if not domain_lines:
        msg = "Add at least one line."
        raise ValidationFailed(msg, field="lines")
    return _compute(domain_lines, invoice.currency, invoice.locale)
