"""What every signed-in portal page shows around its content, read in one transaction: the
brand's look, the unpaid badge and the payment banner (for roles that see invoices) and
whether the agency still requires this user to turn on two-factor sign-in
(docs/architecture.md, "White label")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session

from billing_app.domain.permissions import ClientPermission
from billing_app.services.access import portal_auth
from billing_app.services.access.portal_identity import ClientUser, require_member
from billing_app.services.agency.portal_brand import BrandLook, portal_look
from billing_app.services.billing.portal_alerts import PaymentAlerts, payment_alerts
from billing_app.services.invoicing.portal_invoices import unpaid_count
from billing_app.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class PortalFrame:
    look: BrandLook
    unpaid: int
    two_factor_required: bool  # the agency requires it and the user has not turned it on
    alerts: PaymentAlerts  # what the client must pay or fix now (the banner)


def portal_frame(
    session: Session, actor: ClientUser, *, netloc: str = "", settings: Settings | None = None
) -> PortalFrame:
    """The frame of a page for ``actor``: the host's brand (else the client's), the number of
    the client's unpaid invoices when the role sees invoices (else 0), the two-factor gate."""
    client_id = require_member(actor)
    look = portal_look(session, netloc=netloc, client_id=client_id, settings=settings)
    unpaid = unpaid_count(session, actor) if actor.may(ClientPermission.INVOICES_VIEW) else 0
    return PortalFrame(
        look=look,
        unpaid=unpaid,
        two_factor_required=portal_auth.two_factor_setup_required(session, actor),
        alerts=payment_alerts(session, actor) if unpaid else PaymentAlerts([], 0),
    )


def framed(
    session: Session,
    actor: ClientUser,
    read: Callable[..., T],
    *args: Any,
    netloc: str = "",
    settings: Settings | None = None,
) -> tuple[PortalFrame, T]:
    """The page's frame and what the page shows (``read(session, actor, *args)``, a use case
    that checks the actor itself), in the same transaction."""
    require_member(actor)
    frame = portal_frame(session, actor, netloc=netloc, settings=settings)
    return frame, read(session, actor, *args)
