"""The client's company and billing details as the portal shows and edits them.

A client user whose role may edit billing details changes the company name, contact, billing
email, phone, address and tax id of the client their session looks at; the currency, language,
status, notes and websites stay the agency's. Checked as the staff form is (every field's
problem at once), audited, and shown to staff as a client change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlmodel import Session

from billing_app.domain.permissions import ClientPermission
from billing_app.services.access.portal_identity import (
    ClientUser,
    require_client,
    require_member,
)
from billing_app.services.common import audit
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import FieldChecks
from billing_app.services.customers.clients import (
    ClientInput,
    WebsiteInput,
    apply_details,
    check_client,
    email_taken,
    get_client,
    websites_of,
)


@dataclass(frozen=True)
class BillingDetails:
    """What a client user reads and may edit (the same names as the form's fields)."""

    company: str
    contact_name: str
    email: str  # the billing email: where invoices go
    phone: str
    address_line1: str
    address_line2: str
    city: str
    postal_code: str
    region: str
    country: str
    tax_id: str


EDITABLE = tuple(BillingDetails.__dataclass_fields__)


def billing_details(session: Session, actor: ClientUser) -> BillingDetails:
    """The details of the client the session looks at (any member may read them)."""
    client = get_client(session, require_member(actor))
    return BillingDetails(**{name: getattr(client, name) for name in EDITABLE})


def update_billing_details(
    session: Session, actor: ClientUser, data: BillingDetails, *, clock: Clock = system_clock
) -> BillingDetails:
    """Change the client's billing details; nothing is written if any field is wrong."""
    client_id = require_client(actor, ClientPermission.BILLING_DETAILS_EDIT)
    client = get_client(session, client_id)
    current = ClientInput(
        company=client.company,
        email=client.email,
        currency=client.currency,
        locale=client.locale,
        notes=client.notes,
        status=client.status if client.status != "archived" else "inactive",
        websites=[
            WebsiteInput(id=w.id, name=w.name, url=w.url) for w in websites_of(session, client_id)
        ],
    )
    wanted = replace(current, **{name: getattr(data, name) for name in EDITABLE})
    checks = FieldChecks()
    clean = check_client(wanted, checks)
    if not checks.failed("email") and email_taken(session, clean.email, except_id=client_id):
        checks.add("email", "Another client uses this email. Use your own billing address.")
    checks.raise_if_failed()
    before = billing_details(session, actor)
    apply_details(client, clean)
    client.updated_at = clock.now()
    session.add(client)
    after = billing_details(session, actor)
    changed = [name for name in EDITABLE if getattr(before, name) != getattr(after, name)]
    audit.record(
        session,
        "client.details_changed_by_client",
        actor.actor(),
        target=f"client:{client_id}",
        details=", ".join(changed) or "nothing changed",
        clock=clock,
    )
    return after
