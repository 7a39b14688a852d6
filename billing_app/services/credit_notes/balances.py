"""Staff's side of clients' credit balances: paying a balance back to the client on request,
and its history (the balance itself: services/credit_notes/ledger.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from billing_app.db.customers import Client
from billing_app.domain.errors import DomainError
from billing_app.domain.money import Money, format_money, parse_money
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.common import audit
from billing_app.services.common.actors import require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound, ValidationFailed
from billing_app.services.credit_notes.ledger import balance_minor, entry, spend
from billing_app.services.invoicing.limits import bounded_text
from billing_app.services.invoicing.payments import METHODS


@dataclass(frozen=True)
class BalanceRefundForm:
    currency: str
    amount: str
    method: str
    refunded_on: date
    reference: str = ""
    note: str = ""


def refund_balance(
    session: Session,
    actor: CurrentUser,
    client_id: int,
    form: BalanceRefundForm,
    *,
    clock: Clock = system_clock,
) -> None:
    """Record that the client's credit balance (or part of it) was paid back to them offline
    (by transfer, cheque...): the balance goes down, audited."""
    require(actor, Permission.REFUNDS_CREATE)
    client = session.get(Client, client_id) if 0 < client_id < 2**63 else None
    if client is None:
        msg = "That client does not exist."
        raise NotFound(msg)
    if form.method not in METHODS:
        msg = "Choose how the money was given back."
        raise ValidationFailed(msg, field="method")
    available = balance_minor(session, client_id, form.currency)
    if available <= 0:
        msg = f"The client has no credit balance in {form.currency}."
        raise Conflict(msg)
    try:
        amount = parse_money(form.amount, form.currency, client.locale or "en")
    except DomainError as exc:
        raise ValidationFailed(exc.message, field="amount") from exc
    if amount.amount_minor <= 0:
        msg = "Enter an amount greater than zero."
        raise ValidationFailed(msg, field="amount")
    if amount.amount_minor > available:
        limit = format_money(Money(available, form.currency), client.locale or "en")
        msg = f"That is more than the client's credit balance ({limit})."
        raise ValidationFailed(msg, field="amount")
    if form.refunded_on > today_at_agency(session, clock=clock):
        msg = "The date cannot be in the future."
        raise ValidationFailed(msg, field="refunded_on")
    reference = bounded_text(form.reference, 120, "reference")
    note = bounded_text(form.note, 500, "note")
    if not spend(session, client_id, form.currency, amount.amount_minor, clock):
        msg = "The credit balance changed meanwhile. Reload the page and try again."
        raise Conflict(msg)
    entry(
        session,
        client_id,
        form.currency,
        "refund",
        -amount.amount_minor,
        clock,
        method=form.method,
        reference=reference,
        note=note,
        actor_label=actor.email,
    )
    audit.record(
        session,
        "credit_balance.refunded",
        actor.actor(),
        target=client.company,
        details=f"{format_money(amount, 'en')} {form.method}",
        clock=clock,
    )
