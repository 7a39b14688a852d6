"""What the agency is told by email about card payments that need a person: a payment disputed
by the client's bank, and a Stripe event that could not be handled after every retry. Sent to
the agency's address (Settings > Agency), in the agency's words, never to the client."""

from __future__ import annotations

from sqlmodel import Session

from billing_app.db.invoicing import AgencySettings
from billing_app.services.common.clock import Clock
from billing_app.services.common.outbox import enqueue_email
from billing_app.settings import get_settings


def _agency_address(session: Session) -> str:
    agency = session.get(AgencySettings, 1)
    return agency.email if agency is not None else ""


def dispute_opened(
    session: Session,
    *,
    number: str,
    invoice_id: int,
    client: str,
    amount: str,
    reason: str,
    respond_by: str,
    clock: Clock,
) -> None:
    """A client's bank disputes a card payment: the agency answers it in Stripe in time."""
    address = _agency_address(session)
    if not address:
        return
    enqueue_email(
        session,
        "payment_disputed",
        address,
        {
            "number": number,
            "client": client,
            "amount": amount,
            "reason": reason,
            "respond_by": respond_by,
            "link": f"{get_settings().public_base_url}/invoices/{invoice_id}",
        },
        clock=clock,
    )


def event_dead(
    session: Session, *, event_type: str, event_id: str, error: str, clock: Clock
) -> None:
    """A Stripe event failed every retry: what it was and why, and where to replay it."""
    address = _agency_address(session)
    if not address:
        return
    enqueue_email(
        session,
        "stripe_event_failed",
        address,
        {
            "event_type": event_type,
            "event_id": event_id,
            "error": error,
            "link": f"{get_settings().public_base_url}/settings/payments/events",
        },
        clock=clock,
    )
