"""Planning a credit note: what is left to credit on an invoice, what a credit chosen by staff
comes to (its lines, taxes and total, what it takes off the due and what goes back to the
client), checked, without writing anything. The issuing (issuing.py) and the dialog's preview
use the same plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlmodel import Session, col, select

from billing_app.db.credit_notes import CreditNoteLine
from billing_app.db.invoicing import Invoice, InvoiceLine, InvoicePayment
from billing_app.domain.credit_notes import (
    CreditLine,
    CreditSplit,
    CreditTotals,
    InvalidCredit,
    Remaining,
    check_credit,
    credit_amount,
    credit_everything,
    credit_quantities,
    split_credit,
)
from billing_app.domain.errors import DomainError
from billing_app.domain.invoice_math import InvoiceTotals
from billing_app.domain.lifecycle import InvoiceStatus
from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.card_payments.card_refunds import refundable_on_payment
from billing_app.services.common.actors import require
from billing_app.services.common.errors import Conflict, ValidationFailed
from billing_app.services.invoicing.drafts import recompute_totals
from billing_app.services.invoicing.payments import (
    CARD,
    METHODS,
    card_unrefunded_minor,
    parse_amount,
)
from billing_app.services.invoicing.queries import get_invoice
from billing_app.services.invoicing.settlement import settlement_of

MAX_REASON = 500
BALANCE = "balance"
CREDITABLE = frozenset(
    {
        InvoiceStatus.OPEN,
        InvoiceStatus.PARTIALLY_PAID,
        InvoiceStatus.PAID,
        InvoiceStatus.UNCOLLECTIBLE,
        InvoiceStatus.PARTIALLY_REFUNDED,
        InvoiceStatus.REFUNDED,
    }
)
REFUND_IN_PROGRESS = "A refund of this invoice is being made. Wait a moment, then try again."


@dataclass(frozen=True)
class CreditNoteForm:
    """What staff chose: ``mode`` all | lines (``quantities`` by line position, as typed) |
    amount (``amount`` as typed, taxes included); the reason; where money the client paid
    goes (``give_back``: card | balance | an offline method) and, for the card, which card
    payment (0: the one with the most left to refund)."""

    mode: str
    reason: str
    quantities: dict[int, str] = field(default_factory=dict)
    amount: str = ""
    give_back: str = BALANCE
    card_payment_id: int = 0
    reference: str = ""


def credited_lines(session: Session, invoice_id: int) -> dict[int, Remaining]:
    """What credit notes already took off each line of the invoice."""
    rows = session.exec(
        select(
            CreditNoteLine.line_index, CreditNoteLine.gross_minor, CreditNoteLine.quantity
        ).where(col(CreditNoteLine.invoice_id) == invoice_id)
    ).all()
    done: dict[int, Remaining] = {}
    for index, gross, quantity in rows:
        before = done.get(index, Remaining())
        done[index] = Remaining(
            before.gross + int(gross), before.quantity + (Decimal(quantity) if quantity else 0)
        )
    return done


def _invoice_lines(session: Session, invoice: Invoice) -> list[InvoiceLine]:
    return list(
        session.exec(
            select(InvoiceLine)
            .where(col(InvoiceLine.invoice_id) == invoice.id)
            .order_by(col(InvoiceLine.position))
        )
    )


def _quantity(text: str, index: int) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value.as_tuple().exponent < -4 or abs(value) > 10**9:  # type: ignore[operator]
        msg = f"Line {index + 1}: enter the quantity as a number such as 1 or 0.5."
        raise ValidationFailed(msg, field=f"lines.{index}")
    return value


def _pieces(
    form: CreditNoteForm,
    invoice: Invoice,
    totals: InvoiceTotals,
    quantities: list[Decimal],
    done: dict[int, Remaining],
) -> tuple[CreditLine, ...]:
    if form.mode == "all":
        return credit_everything(totals, quantities, done)
    if form.mode == "lines":
        wanted = {
            index: _quantity(text, index)
            for index, text in form.quantities.items()
            if text.strip() and text.strip() != "0"
        }
        if not wanted:
            msg = "Enter the quantity to credit on at least one line."
            raise ValidationFailed(msg, field="lines")
        return credit_quantities(totals, quantities, done, wanted)
    if form.mode == "amount":
        return credit_amount(totals, done, parse_amount(form.amount, invoice).amount_minor)
    msg = "Choose what to credit: every line, some lines, or an amount."
    raise ValidationFailed(msg, field="mode")


def card_payments(session: Session, invoice: Invoice) -> list[InvoicePayment]:
    """The invoice's card payments (each may still be refunded to its card), oldest first."""
    return list(
        session.exec(
            select(InvoicePayment)
            .where(col(InvoicePayment.invoice_id) == invoice.id)
            .where(col(InvoicePayment.kind) == "payment")
            .where(col(InvoicePayment.method) == CARD)
            .where(col(InvoicePayment.processor_id).is_not(None))
            .order_by(col(InvoicePayment.id))
        )
    )


def card_payment_for(
    session: Session, invoice: Invoice, wanted_id: int, amount: int
) -> InvoicePayment:
    """The card payment a credit's refund goes back to: the one asked for, else the one with
    the most left to refund; it must hold ``amount``."""
    choices = [(refundable_on_payment(session, p), p) for p in card_payments(session, invoice)]
    if wanted_id:
        choices = [(left, p) for left, p in choices if p.id == wanted_id]
    if not choices:
        msg = "This invoice was not paid by card: refund the money offline, or keep it as credit."
        raise ValidationFailed(msg, field="give_back")
    left, payment = max(choices, key=lambda choice: (choice[0], choice[1].id or 0))
    if amount > min(left, card_unrefunded_minor(session, invoice.id or 0)):
        limit = format_money(Money(max(left, 0), invoice.currency), invoice.locale)
        msg = (
            f"At most {limit} can go back to the card. Keep the rest as credit, or issue "
            "a smaller credit note."
        )
        raise ValidationFailed(msg, field="give_back")
    return payment


def check_give_back(session: Session, invoice: Invoice, form: CreditNoteForm, amount: int) -> None:
    if form.give_back not in {CARD, BALANCE, *METHODS}:
        msg = "Choose where the money the client paid goes: card, credit balance, or a refund."
        raise ValidationFailed(msg, field="give_back")
    settlement = settlement_of(invoice)
    kept = settlement.net_paid.amount_minor
    if form.give_back == BALANCE:
        return
    if amount > kept:
        limit = format_money(Money(max(kept, 0), invoice.currency), invoice.locale)
        msg = (
            f"Only {limit} was paid and not refunded: keep the rest of the credit on the "
            "client's credit balance."
        )
        raise ValidationFailed(msg, field="give_back")
    if form.give_back in METHODS:
        offline = kept - card_unrefunded_minor(session, invoice.id or 0)
        if amount > offline:
            limit = format_money(Money(max(offline, 0), invoice.currency), invoice.locale)
            msg = (
                f"At most {limit} can be refunded offline: the rest was paid by card. "
                "Refund it to the card."
            )
            raise ValidationFailed(msg, field="give_back")


@dataclass(frozen=True)
class Plan:
    """A credit as staff chose it, computed and checked."""

    rows: list[InvoiceLine]
    totals: InvoiceTotals
    credit: CreditTotals
    split: CreditSplit


def refusal(status: InvoiceStatus) -> str | None:
    """Why an invoice in this status cannot be credited (None: it can)."""
    if status in CREDITABLE:
        return None
    return {
        InvoiceStatus.DRAFT: "A draft is edited, not credited: change it and send it.",
        InvoiceStatus.VOID: "This invoice is void: there is nothing to credit.",
        InvoiceStatus.CREDITED: "This invoice was credited in full already.",
    }.get(status, "This invoice cannot be credited.")


def plan_credit(session: Session, invoice: Invoice, form: CreditNoteForm) -> Plan:
    """The credit ``form`` asks for on ``invoice``: ValidationFailed when it cannot be."""
    assert invoice.id is not None
    why = refusal(InvoiceStatus(invoice.status))
    if why is not None:
        raise Conflict(why)
    rows = _invoice_lines(session, invoice)
    totals = recompute_totals(session, invoice)
    quantities = [Decimal(row.quantity) for row in rows]
    done = credited_lines(session, invoice.id)
    try:
        pieces = _pieces(form, invoice, totals, quantities, done)
        credit = check_credit(totals, done, pieces)
        split = split_credit(credit.total, settlement_of(invoice).amount_due.amount_minor)
    except (InvalidCredit, DomainError) as exc:
        raise ValidationFailed(exc.message, field=exc.field or "lines") from exc
    return Plan(rows, totals, credit, split)


@dataclass(frozen=True)
class LineOption:
    index: int
    description: str
    invoiced_quantity: str
    quantity_left: str
    amount_left: str


@dataclass(frozen=True)
class CardOption:
    payment_id: int
    label: str  # "Visa •••• 4242 · 14 Mar 2026"
    refundable: str


@dataclass(frozen=True)
class CreditOptions:
    """What the credit note dialog offers for an invoice."""

    refusal: str  # "" when the invoice can be credited
    lines: list[LineOption]
    left: str  # what is left to credit in all
    cards: list[CardOption]


def credit_options(session: Session, actor: CurrentUser, invoice_id: int) -> CreditOptions:
    """What can still be credited on the invoice, line by line, and where money can go."""
    require(actor, Permission.INVOICES_SEND)
    invoice = get_invoice(session, invoice_id)
    assert invoice.id is not None
    cur, locale = invoice.currency, invoice.locale

    def money(minor: int) -> str:
        return format_money(Money(minor, cur), locale)

    why = refusal(InvoiceStatus(invoice.status))
    if why is not None:
        return CreditOptions(why, [], money(0), [])
    rows = _invoice_lines(session, invoice)
    totals = recompute_totals(session, invoice)
    done = credited_lines(session, invoice.id)
    lines = []
    for index, (row, line) in enumerate(zip(rows, totals.lines, strict=True)):
        credited = done.get(index, Remaining())
        left = line.total_minor - credited.gross
        units = abs(Decimal(row.quantity)) - credited.quantity
        lines.append(
            LineOption(
                index,
                row.description,
                format(Decimal(row.quantity).normalize(), "f"),
                format(units.normalize(), "f") if left else "0",
                money(left),
            )
        )
    cards = []
    for payment in card_payments(session, invoice):
        refundable = refundable_on_payment(session, payment)
        if refundable > 0 and payment.id is not None:
            cards.append(CardOption(payment.id, payment.reference, money(refundable)))
    return CreditOptions(
        refusal="",
        lines=lines,
        left=money(
            sum(line.total_minor for line in totals.lines) - sum(d.gross for d in done.values())
        ),
        cards=cards,
    )


@dataclass(frozen=True)
class CreditPreview:
    total: str
    net: str
    tax: str
    reduces_due: str
    reduces_due_minor: int
    given_back: str
    gives_back: bool


def preview_credit(
    session: Session, actor: CurrentUser, invoice_id: int, form: CreditNoteForm
) -> CreditPreview:
    """What the credit ``form`` asks for comes to (ValidationFailed when it cannot be
    issued); nothing is written."""
    require(actor, Permission.INVOICES_SEND)
    invoice = get_invoice(session, invoice_id)
    plan = plan_credit(session, invoice, form)
    cur, locale = invoice.currency, invoice.locale

    def money(minor: int) -> str:
        return format_money(Money(minor, cur), locale)

    return CreditPreview(
        total=money(plan.credit.total),
        net=money(plan.credit.net),
        tax=money(plan.credit.tax),
        reduces_due=money(plan.split.reduces_due),
        reduces_due_minor=plan.split.reduces_due,
        given_back=money(plan.split.given_back),
        gives_back=plan.split.given_back > 0,
    )
