"""Invoices: drafts, live totals, sending (finalizing), the timeline, and the invoice list.

Totals are always computed by domain/invoice_math.py. Sending (DESIGN.md decision 5) allocates
the next number of the brand's sequence inside the transaction (an atomic UPDATE: concurrent
sends get distinct consecutive numbers, and a rolled-back send leaves no gap), freezes a JSON
snapshot of everything the client sees, renders the PDF once into private storage, and queues
the branded email with the PDF attached. A sent invoice is never edited again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Client, ClientWebsite, Product, ProductTaxRate, TaxRateRow
from billing_app.db.invoicing import (
    AgencySettings,
    Brand,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceSequence,
)
from billing_app.domain.errors import DomainError, NegativeTotal
from billing_app.domain.invoice_math import (
    AmountDiscount,
    InvoiceLineInput,
    InvoiceTotals,
    LineResult,
    PercentDiscount,
    compute_invoice,
    compute_line,
)
from billing_app.domain.lifecycle import InvoiceStatus, is_collectible, transition
from billing_app.domain.money import (
    MAX_AMOUNT_MINOR,
    Money,
    currency_exponent,
    format_money,
    parse_money,
)
from billing_app.domain.numbering import NumberFormat, SequenceReset
from billing_app.domain.numbers import parse_plain_decimal
from billing_app.domain.tax import TaxRate
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import default_brand, get_agency
from billing_app.services.common import audit
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed
from billing_app.services.common.listing import like_pattern
from billing_app.services.customers.clients import address_lines_of
from billing_app.services.invoicing.settlement import (
    COLLECTIBLE_STATUSES,
    is_collectible_sql,
    outstanding_minor,
    outstanding_sql,
)

MAX_LINES = 500
MAX_TYPED_DIGITS = 18  # digits read before and after the separator of a typed number
MAX_DESCRIPTION = 2_000  # characters of a line description
MAX_MESSAGE = 5_000  # characters of the message to the client, and of an internal note
# Kept for callers not yet moved to services/invoicing/settlement.py (is_collectible).
OPEN_STATUSES = COLLECTIBLE_STATUSES


def bounded_text(value: str, limit: int, field: str) -> str:
    """``value`` stripped, refused (never cut) when longer than ``limit`` characters
    (docs/security.md item 32: bad input gets a clear message and writes nothing)."""
    text = value.strip()
    if len(text) > limit:
        msg = f"Use at most {limit:,} characters."
        raise ValidationFailed(msg, field=field)
    return text


def negative_total_message(total: Money, locale: str) -> str:
    """What to do about a negative total, with what the app offers today."""
    return (
        f"An invoice total cannot be negative ({format_money(total, locale)}). Reduce or remove "
        "the negative lines. To give money back on a sent invoice, record a refund on it, or "
        "void it and issue a corrected one."
    )


# --------------------------------------------------------------------------- input


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


def agency_today(agency: AgencySettings, clock: Clock) -> date:
    """Today's date in the agency's time zone (billing dates are agency dates)."""
    return clock.now().astimezone(ZoneInfo(agency.time_zone or "UTC")).date()


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


def _domain_rate(row: TaxRateRow) -> TaxRate:
    return TaxRate(row.name, Decimal(row.rate_ppm) / Decimal(10_000), row.inclusive)


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


@dataclass(frozen=True)
class _PreparedLine:
    domain: InvoiceLineInput
    form: LineForm
    discount_kind: str
    discount_value: str
    taxes: list[dict[str, Any]]


def _prepare_lines(
    session: Session, client: Client, lines: Sequence[LineForm]
) -> list[_PreparedLine]:
    if not lines:
        msg = "Add at least one line."
        raise ValidationFailed(msg, field="lines")
    if len(lines) > MAX_LINES:
        msg = f"An invoice has at most {MAX_LINES} lines."
        raise ValidationFailed(msg, field="lines")
    rates = _tax_rates(session, [i for line in lines for i in line.tax_rate_ids])
    prepared = []
    for index, line in enumerate(lines):
        prefix = f"lines.{index}"
        description = bounded_text(line.description, MAX_DESCRIPTION, f"{prefix}.description")
        if not description:
            msg = "Describe the line."
            raise ValidationFailed(msg, field=f"{prefix}.description")
        quantity = _decimal(line.quantity, f"{prefix}.quantity", "quantity")
        try:
            unit_price = parse_money(line.unit_price or "0", client.currency, client.locale)
        except DomainError as exc:
            raise ValidationFailed(exc.message, field=f"{prefix}.unit_price") from exc
        discount_text = line.discount.strip()
        discount: PercentDiscount | AmountDiscount | None = None
        kind, value = "", ""
        try:
            if discount_text.endswith("%"):
                percent = _decimal(discount_text[:-1], f"{prefix}.discount", "discount")
                discount, kind, value = PercentDiscount(percent), "percent", str(percent)
            elif discount_text:
                amount = parse_money(discount_text, client.currency, client.locale)
                discount = AmountDiscount(amount)
                kind, value = "amount", str(amount.amount_minor)
            tax_rows = []
            for rate_id in line.tax_rate_ids:
                row = rates.get(rate_id)
                if row is None:
                    msg = "That tax rate no longer exists."
                    raise ValidationFailed(msg, field=f"{prefix}.taxes")
                tax_rows.append(row)
            domain_line = InvoiceLineInput(
                description,
                quantity,
                unit_price,
                discount,
                tuple(_domain_rate(r) for r in tax_rows),
            )
            compute_line(domain_line)  # per-line errors (e.g. a discount above the amount)
        except DomainError as exc:
            raise ValidationFailed(exc.message, field=f"{prefix}.{exc.field or 'amount'}") from exc
        prepared.append(
            _PreparedLine(
                domain=domain_line,
                form=line,
                discount_kind=kind,
                discount_value=value,
                taxes=[
                    {"id": r.id, "name": r.name, "rate_ppm": r.rate_ppm, "inclusive": r.inclusive}
                    for r in tax_rows
                ],
            )
        )
    return prepared


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


def preview_totals(session: Session, client_id: int, lines: Sequence[LineForm]) -> InvoiceTotals:
    """Totals for the editor, computed exactly as they will be saved. Writes nothing."""
    client = _client(session, client_id)
    return _totals(_prepare_lines(session, client, lines), client.currency, client.locale)


def line_defaults_from_product(session: Session, product_id: int) -> LineForm:
    """A line pre-filled from a catalog product: description, price, default taxes."""
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


# --------------------------------------------------------------------------- drafts


def _event(
    session: Session,
    invoice_id: int,
    kind: str,
    actor: str,
    message: str,
    clock: Clock,
    *,
    internal: bool,
) -> None:
    """A timeline entry; ``internal`` ones are never shown to the client."""
    session.add(
        InvoiceEvent(
            invoice_id=invoice_id,
            at=clock.now(),
            kind=kind,
            actor_label=actor,
            message=message,
            internal=internal,
        )
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
    client = _client(session, form.client_id)
    if client.status == "archived":
        msg = "This client is archived. Restore it before invoicing it."
        raise ValidationFailed(msg, field="client_id")
    if form.website_id is not None:
        website = session.get(ClientWebsite, form.website_id)
        if website is None or website.client_id != client.id:
            msg = "Choose one of this client's websites."
            raise ValidationFailed(msg, field="website_id")
    agency = get_agency(session, clock=clock)
    issue = form.issue_date or agency_today(agency, clock)
    due = form.due_date or issue + timedelta(days=agency.payment_terms_days)
    if due < issue:
        msg = "The due date cannot be before the issue date."
        raise ValidationFailed(msg, field="due_date")
    message = bounded_text(form.message, MAX_MESSAGE, "message")
    prepared = _prepare_lines(session, client, form.lines)
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
        invoice = _invoice(session, invoice_id)
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
        _event(session, invoice.id, "created", actor.email, "Draft created", clock, internal=True)
    return invoice.id


def delete_draft(
    session: Session, actor: CurrentUser, invoice_id: int, *, clock: Clock = system_clock
) -> None:
    invoice = _invoice(session, invoice_id)
    if invoice.status != InvoiceStatus.DRAFT:
        msg = "Only drafts can be deleted. Void a sent invoice instead."
        raise Conflict(msg)
    session.execute(sa.delete(InvoiceLine).where(col(InvoiceLine.invoice_id) == invoice_id))
    session.execute(sa.delete(InvoiceEvent).where(col(InvoiceEvent.invoice_id) == invoice_id))
    session.delete(invoice)
    audit.record(
        session, "invoice.draft_deleted", actor.actor(), target=f"draft {invoice_id}", clock=clock
    )


def _invoice(session: Session, invoice_id: int) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        msg = "That invoice does not exist."
        raise NotFound(msg)
    return invoice


# --------------------------------------------------------------------------- numbering


def allocate_number(session: Session, brand_id: int, fmt: NumberFormat, issue_date: date) -> int:
    """The next sequence value of a brand (per scope), in the caller's transaction.

    One atomic UPDATE ... RETURNING: concurrent senders queue on the row lock and each gets the
    next value; if the sending transaction rolls back, so does the increment (no gaps)."""
    scope = fmt.scope(issue_date)
    bump = (
        sa.update(InvoiceSequence)
        .where(col(InvoiceSequence.brand_id) == brand_id)
        .where(col(InvoiceSequence.scope) == scope)
        .values(last_value=InvoiceSequence.last_value + 1)
        .returning(col(InvoiceSequence.last_value))
    )
    value = session.execute(bump).scalar_one_or_none()
    if value is not None:
        return int(value)
    # First invoice of this brand/scope: create the row (a concurrent creator may win).
    nested = session.begin_nested()
    try:
        session.execute(
            sa.insert(InvoiceSequence).values(brand_id=brand_id, scope=scope, last_value=0)
        )
        nested.commit()
    except sa.exc.IntegrityError:
        nested.rollback()
    return int(session.execute(bump).scalar_one())


# --------------------------------------------------------------------------- sending


def _line_view(line: InvoiceLine, result: LineResult, currency: str, locale: str) -> dict[str, Any]:
    taxes = json.loads(line.taxes)
    discount = ""
    if line.discount_kind == "percent":
        discount = f"{line.discount_value}%"
    elif line.discount_kind == "amount":
        discount = format_money(Money(int(line.discount_value), currency), locale)
    return {
        "description": line.description,
        "quantity": line.quantity,
        "unit_price_minor": line.unit_price_minor,
        "discount": discount,
        "taxes": [
            f"{t['name']} {format((Decimal(t['rate_ppm']) / 10_000).normalize(), 'f')}%"
            for t in taxes
        ],
        "amount_minor": result.amount_minor - result.discount_minor,
    }


def seller_blocks(agency: AgencySettings, brand: Brand) -> dict[str, Any]:
    """The agency and brand parts of an invoice snapshot (what the client sees of us)."""
    return {
        "agency": {
            "legal_name": agency.legal_name,
            "address": agency.address.splitlines(),
            "tax_id": agency.tax_id,
            "email": agency.email,
        },
        "brand": {
            "id": brand.id,
            "name": brand.name,
            "logo_key": brand.logo_key,
            "primary_color": brand.primary_color,
            "accent_color": brand.accent_color,
            "footer": brand.email_footer,
            "support_email": brand.support_email,
            "support_url": brand.support_url,
            "sender_name": brand.sender_name or brand.name,
            "reply_to": brand.reply_to,
        },
    }


def build_snapshot(session: Session, invoice: Invoice, totals: InvoiceTotals) -> dict[str, Any]:
    """Everything the client sees on the invoice, frozen at sending."""
    client = session.get(Client, invoice.client_id)
    brand = session.get(Brand, invoice.brand_id)
    agency = get_agency(session)
    website = session.get(ClientWebsite, invoice.website_id) if invoice.website_id else None
    assert client is not None and brand is not None
    lines = session.exec(
        select(InvoiceLine)
        .where(col(InvoiceLine.invoice_id) == invoice.id)
        .order_by(col(InvoiceLine.position))
    ).all()
    return {
        "number": invoice.number,
        "currency": invoice.currency,
        "locale": invoice.locale,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "message": invoice.message,
        "payment_terms_days": (invoice.due_date - invoice.issue_date).days,
        **seller_blocks(agency, brand),
        "client": {
            "id": client.id,
            "company": client.company,
            "contact_name": client.contact_name,
            "email": client.email,
            "tax_id": client.tax_id,
            "address": address_lines_of(client),
            "website": f"{website.name} ({website.url})" if website else "",
        },
        "lines": [
            _line_view(line, result, invoice.currency, invoice.locale)
            for line, result in zip(lines, totals.lines, strict=True)
        ],
        **totals_snapshot(totals),
    }


def totals_snapshot(totals: InvoiceTotals) -> dict[str, Any]:
    """The totals part of a snapshot, as domain/invoice_math.py computed them."""
    return {
        "taxes": [
            {
                "name": t.name,
                "percent": format(t.percent.normalize(), "f"),
                "amount_minor": t.amount.amount_minor,
                "taxable_minor": t.taxable_amount.amount_minor,
            }
            for t in totals.taxes
        ],
        "subtotal_minor": totals.subtotal.amount_minor,
        "discount_minor": totals.discount_total.amount_minor,
        "tax_minor": totals.tax_total.amount_minor,
        "total_minor": totals.total.amount_minor,
    }


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


@dataclass(frozen=True)
class SentInvoice:
    id: int
    number: str
    pdf_key: str


def send_invoice(
    session: Session,
    actor: CurrentUser,
    invoice_id: int,
    *,
    render_pdf: Callable[[dict[str, Any]], bytes],
    store_pdf: Callable[[bytes], str],
    queue_email: Callable[[Session, Invoice, dict[str, Any], str], None],
    clock: Clock = system_clock,
) -> SentInvoice:
    """Finalize a draft: number, snapshot, PDF, email, timeline, client figures — all in the
    caller's transaction, so a failure anywhere leaves the draft as it was."""
    invoice = session.exec(
        select(Invoice).where(col(Invoice.id) == invoice_id).with_for_update()
    ).first()
    if invoice is None:
        msg = "That invoice does not exist."
        raise NotFound(msg)
    try:
        transition(InvoiceStatus(invoice.status), InvoiceStatus.OPEN)
    except DomainError as exc:
        raise Conflict(
            "This invoice was already sent." if invoice.status != "draft" else exc.message
        ) from exc
    totals = recompute_totals(session, invoice)  # refuses a negative total
    agency = get_agency(session, clock=clock)
    fmt = NumberFormat(agency.number_format, SequenceReset(agency.number_reset))
    sequence = allocate_number(session, invoice.brand_id, fmt, invoice.issue_date)
    invoice.number = fmt.format(sequence, invoice.issue_date)
    invoice.status = InvoiceStatus.OPEN.value
    invoice.sent_at = invoice.updated_at = clock.now()
    invoice.subtotal_minor = totals.subtotal.amount_minor
    invoice.discount_minor = totals.discount_total.amount_minor
    invoice.tax_minor = totals.tax_total.amount_minor
    invoice.total_minor = totals.total.amount_minor
    snapshot = build_snapshot(session, invoice, totals)
    invoice.snapshot = json.dumps(snapshot, sort_keys=True)
    invoice.pdf_key = store_pdf(render_pdf(snapshot))
    session.add(invoice)
    client = session.get(Client, invoice.client_id)
    assert client is not None and invoice.id is not None
    client.net_invoiced_minor += invoice.total_minor
    client.outstanding_minor += outstanding_minor(invoice)
    session.add(client)
    sent = f"Invoice {invoice.number} sent"
    _event(session, invoice.id, "sent", actor.email, sent, clock, internal=False)
    queue_email(session, invoice, snapshot, invoice.pdf_key)
    emailed = f"Emailed to {client.email}"
    _event(session, invoice.id, "emailed", actor.email, emailed, clock, internal=False)
    audit.record(
        session,
        "invoice.sent",
        actor.actor(),
        target=invoice.number,
        details=format_money(totals.total, invoice.locale),
        clock=clock,
    )
    return SentInvoice(invoice.id, invoice.number, invoice.pdf_key)


# --------------------------------------------------------------------------- reading


def effective_status(invoice: Invoice, today: date) -> str:
    """The status a person sees: collectible invoices past their due date are overdue."""
    if is_collectible(InvoiceStatus(invoice.status)) and invoice.due_date < today:
        return "overdue"
    return invoice.status


@dataclass(frozen=True)
class InvoiceRow:
    id: int
    number: str
    client: str
    status: str
    issue_date: date
    due_date: date
    total: Money
    due: Money


LIST_FILTERS = ("all", "draft", "open", "overdue", "paid", "partially_paid", "void", "refunded")
# The "refunded" tab: every invoice money was given back on.
REFUNDED_STATUSES = (InvoiceStatus.REFUNDED.value, InvoiceStatus.PARTIALLY_REFUNDED.value)
SORTS = {
    "date": col(Invoice.issue_date),
    "due": col(Invoice.due_date),
    "amount": col(Invoice.total_minor),
}


@dataclass(frozen=True)
class InvoicePage:
    rows: list[InvoiceRow]
    total_count: int
    totals_by_currency: dict[str, tuple[int, int]]  # currency -> (total, due) of the filter


def _amount_matches(session: Session, term: str) -> list[Any]:
    """Search by amount: "496.92" finds totals of 496.92 in each currency in use. Only plain,
    bounded numbers are read (docs/security.md item 34): "1e999990" matches no amount."""
    text = term.replace(",", "").strip().lstrip("€$£¥").strip()
    value = parse_plain_decimal(
        text, max_integer_digits=MAX_TYPED_DIGITS, max_fraction_digits=MAX_TYPED_DIGITS
    )
    if value is None:
        return []
    matches: list[Any] = []
    for currency in session.exec(select(Invoice.currency).distinct()).all():
        minor = value.scaleb(currency_exponent(currency))
        if minor == minor.to_integral_value() and abs(minor) <= MAX_AMOUNT_MINOR:
            matches.append(
                sa.and_(col(Invoice.currency) == currency, col(Invoice.total_minor) == int(minor))
            )
    return matches


def list_invoices(
    session: Session,
    *,
    status: str = "all",
    search: str = "",
    sort: str = "date",
    descending: bool = True,
    page: int = 1,
    per_page: int = 25,
    client_id: int | None = None,
    clock: Clock = system_clock,
) -> InvoicePage:
    """A page of invoices filtered, searched and sorted in SQL, with totals of the filter."""
    today = agency_today(get_agency(session, clock=clock), clock)
    # What clients still owe (services/invoicing/settlement.py).
    due_expr = outstanding_sql()
    conditions: list[Any] = []
    if client_id is not None:
        conditions.append(col(Invoice.client_id) == client_id)
    if status == "overdue":
        conditions += [is_collectible_sql(), col(Invoice.due_date) < today]
    elif status == "open":
        conditions += [is_collectible_sql(), col(Invoice.due_date) >= today]
    elif status == "refunded":
        conditions.append(col(Invoice.status).in_(REFUNDED_STATUSES))
    elif status in LIST_FILTERS and status != "all":
        conditions.append(col(Invoice.status) == status)
    term = search.strip()
    if term:
        like = like_pattern(term)
        options: list[Any] = [
            func.lower(col(Invoice.number)).like(like, escape="\\"),
            func.lower(col(Client.company)).like(like, escape="\\"),
            func.lower(col(Client.email)).like(like, escape="\\"),
        ]
        options += _amount_matches(session, term)
        conditions.append(sa.or_(*options))
    base = select(Invoice, Client.company, due_expr).join(
        Client, col(Client.id) == col(Invoice.client_id)
    )
    counted = (
        select(func.count())
        .select_from(Invoice)
        .join(Client, col(Client.id) == col(Invoice.client_id))
    )
    sums = select(Invoice.currency, func.sum(Invoice.total_minor), func.sum(due_expr)).join(
        Client, col(Client.id) == col(Invoice.client_id)
    )
    for condition in conditions:
        base, counted, sums = base.where(condition), counted.where(condition), sums.where(condition)
    order = SORTS.get(sort, SORTS["date"])
    base = base.order_by(order.desc() if descending else order.asc(), col(Invoice.id).desc())
    rows = session.exec(base.offset((max(page, 1) - 1) * per_page).limit(per_page)).all()
    totals = {
        cur: (int(t or 0), int(d or 0))
        for cur, t, d in session.exec(sums.group_by(col(Invoice.currency))).all()
    }
    return InvoicePage(
        rows=[
            InvoiceRow(
                id=inv.id or 0,
                number=inv.number or "Draft",
                client=company,
                status=effective_status(inv, today),
                issue_date=inv.issue_date,
                due_date=inv.due_date,
                total=Money(inv.total_minor, inv.currency),
                due=Money(int(due), inv.currency),
            )
            for inv, company, due in rows
        ],
        total_count=session.exec(counted).one(),
        totals_by_currency=totals,
    )


def timeline(session: Session, invoice_id: int) -> list[InvoiceEvent]:
    return list(
        session.exec(
            select(InvoiceEvent)
            .where(col(InvoiceEvent.invoice_id) == invoice_id)
            .order_by(col(InvoiceEvent.at), col(InvoiceEvent.id))
        )
    )


def add_comment(
    session: Session, actor: CurrentUser, invoice_id: int, text: str, *, clock: Clock = system_clock
) -> None:
    _invoice(session, invoice_id)
    body = bounded_text(text, MAX_MESSAGE, "comment")
    if not body:
        msg = "Write a comment first."
        raise ValidationFailed(msg, field="comment")
    _event(session, invoice_id, "comment", actor.email, body, clock, internal=True)


def get_invoice(session: Session, invoice_id: int) -> Invoice:
    return _invoice(session, invoice_id)
