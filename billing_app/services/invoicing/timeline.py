"""An invoice's timeline: what happened to it, internal notes and client-visible entries."""

from __future__ import annotations

from sqlmodel import Session, col, select

from billing_app.db.invoicing import (
    InvoiceEvent,
)
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.common.actors import require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import ValidationFailed
from billing_app.services.invoicing.limits import MAX_MESSAGE, bounded_text
from billing_app.services.invoicing.queries import get_invoice


def add_event(
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
    """An internal note on an invoice's timeline (staff only)."""
    require(actor, Permission.INVOICES_WRITE)
    get_invoice(session, invoice_id)
    body = bounded_text(text, MAX_MESSAGE, "comment")
    if not body:
        msg = "Write a comment first."
        raise ValidationFailed(msg, field="comment")
    add_event(session, invoice_id, "comment", actor.email, body, clock, internal=True)
