"""The portal's payment banner (docs/architecture.md, "Dunning"): what the signed-in client must
act on - an automatic charge that failed (a new card, or paying by hand), a subscription past
due, an invoice overdue. Read for the session's own client only (its membership), never for an
id the browser sends; gone once the invoice is paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, func

from billing_app.db.dunning import DunningState
from billing_app.db.invoicing import Invoice
from billing_app.domain.money import Money
from billing_app.domain.permissions import ClientPermission
from billing_app.services.access.portal_identity import ClientUser, require_client
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.invoicing.settlement import (
    is_collectible_sql,
    outstanding_minor,
    outstanding_sql,
)

SHOWN = 3  # alerts shown at most (the most urgent first); the rest are counted


@dataclass(frozen=True)
class PaymentAlert:
    invoice_id: int
    number: str
    amount: Money  # still due
    due_date: date
    kind: str  # failed (an automatic charge failed) | past_due | overdue
    card_needed: bool  # a new card would let the retries go on (not for an overdue one)


@dataclass(frozen=True)
class PaymentAlerts:
    alerts: list[PaymentAlert]
    more: int  # further invoices that need paying


def payment_alerts(
    session: Session, actor: ClientUser, *, clock: Clock = system_clock
) -> PaymentAlerts:
    """The client's invoices that need the client now, the past-due ones first, then failed
    charges, then overdue ones (each the oldest due first). Nothing for a role that does not
    see invoices."""
    if not actor.may(ClientPermission.INVOICES_VIEW):
        return PaymentAlerts([], 0)
    client_id = require_client(actor, ClientPermission.INVOICES_VIEW)
    today = today_at_agency(session, clock=clock)
    in_dunning = col(DunningState.invoice_id).is_not(None)
    conditions = [
        col(Invoice.client_id) == client_id,
        is_collectible_sql(),
        outstanding_sql() > 0,
        sa.or_(in_dunning, col(Invoice.due_date) < today),
    ]
    urgency = sa.case((col(DunningState.past_due_since).is_not(None), 0), (in_dunning, 1), else_=2)
    rows = session.execute(
        sa.select(Invoice, DunningState)
        .outerjoin(DunningState, col(DunningState.invoice_id) == col(Invoice.id))
        .where(*conditions)
        .order_by(urgency, col(Invoice.due_date), col(Invoice.id))
        .limit(SHOWN)
    ).all()
    total = len(rows)
    if total == SHOWN:
        total = int(
            session.execute(
                sa.select(func.count())
                .select_from(Invoice)
                .outerjoin(DunningState, col(DunningState.invoice_id) == col(Invoice.id))
                .where(*conditions)
            ).scalar_one()
        )
    alerts = []
    for invoice, state in rows:
        kind = "overdue"
        if state is not None:
            kind = "past_due" if state.past_due_since is not None else "failed"
        alerts.append(
            PaymentAlert(
                invoice_id=invoice.id or 0,
                number=invoice.number or "",
                amount=Money(outstanding_minor(invoice), invoice.currency),
                due_date=invoice.due_date,
                kind=kind,
                card_needed=state is not None and state.failures > 0,
            )
        )
    return PaymentAlerts(alerts, total - len(alerts))
