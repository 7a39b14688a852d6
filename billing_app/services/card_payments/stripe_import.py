"""Import clients from Stripe: the account's customers, a page at a time, checked with the same
rules as the CSV import, then imported (name, email, address, currency, and the default card
as the client's default card). Idempotent by Stripe customer id: a customer imported (or
linked) before is shown as such and never imported again. A customer whose email is an
existing client's is offered as a link to that client (its Stripe customer and card then
follow the client), or shown as a conflict when that client is linked to another customer;
never a failed import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, func, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.adapters.stripe_gateway import CustomerRecord
from billing_app.db.card_payments import StripeCustomer
from billing_app.db.customers import Client
from billing_app.db.invoicing import AgencySettings
from billing_app.domain.permissions import Permission
from billing_app.services.card_payments.cards import connected_config, keep_card
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, ServiceError
from billing_app.services.customers.clients import (
    CleanClient,
    ClientInput,
    insert_clean_client,
    validate_client,
)
from billing_app.settings import Settings

PAGE_SIZE = 50

# What each customer of the page would become.
NEW = "new"  # a new client
LINK = "link"  # linked to the existing client with its email
DONE = "done"  # imported or linked before: nothing to do
CONFLICT = "conflict"  # its email's client is linked to another Stripe customer
INVALID = "invalid"  # would not pass the client rules (the message says why)


@dataclass(frozen=True)
class ImportRow:
    customer_id: str
    name: str
    email: str
    currency: str
    card_id: str  # the customer's default card at Stripe ("" when none)
    outcome: str  # NEW, LINK, DONE, CONFLICT, INVALID
    message: str  # what happens, or why not
    client_id: int | None = None  # the existing client (LINK, DONE, CONFLICT)
    clean: CleanClient | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ImportPage:
    rows: list[ImportRow]
    has_more: bool
    next_cursor: str  # the last customer of this page: the next page starts after it

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


def _clean(record: CustomerRecord, default_currency: str) -> CleanClient:
    address = record.address
    return validate_client(
        ClientInput(
            company=" ".join(record.name.split()) or record.email,
            email=record.email,
            phone=record.phone,
            address_line1=address.get("line1", ""),
            address_line2=address.get("line2", ""),
            city=address.get("city", ""),
            postal_code=address.get("postal_code", ""),
            region=address.get("state", ""),
            country=address.get("country", ""),
            currency=record.currency or default_currency,
        )
    )


def _import_row(
    record: CustomerRecord, currency: str, outcome: str, message: str, **more: Any
) -> ImportRow:
    return ImportRow(
        customer_id=record.id,
        name=record.name[:200],
        email=record.email[:320],
        currency=record.currency or currency,
        card_id=record.default_payment_method_id,
        outcome=outcome,
        message=message,
        **more,
    )


def _rows(session: Session, records: list[CustomerRecord]) -> list[ImportRow]:
    ids = [r.id for r in records]
    linked = dict(
        session.exec(
            select(StripeCustomer.customer_id, StripeCustomer.client_id).where(
                col(StripeCustomer.customer_id).in_(ids)
            )
        ).all()
    )
    emails = {r.email.strip().lower() for r in records if r.email}
    clients = dict(
        session.exec(
            select(func.lower(col(Client.email)), Client.id).where(
                func.lower(col(Client.email)).in_(list(emails))
            )
        ).all()
    )
    client_customer = dict(
        session.exec(
            select(StripeCustomer.client_id, StripeCustomer.customer_id).where(
                col(StripeCustomer.client_id).in_(list(clients.values()))
            )
        ).all()
    )
    agency = session.get(AgencySettings, 1)
    currency = agency.default_currency if agency is not None else "EUR"
    rows: list[ImportRow] = []
    seen: set[str] = set()
    for record in records:
        email = record.email.strip().lower()

        def row(outcome: str, message: str, **more: Any) -> ImportRow:
            return _import_row(record, currency, outcome, message, **more)  # noqa: B023

        if record.id in linked:
            rows.append(
                row(
                    DONE,
                    "Imported before.",
                    client_id=linked[record.id],
                )
            )
            continue
        client_id = clients.get(email)
        if client_id is not None:
            other = client_customer.get(client_id)
            if other is not None or email in seen:
                rows.append(
                    row(
                        CONFLICT,
                        "A client with this email is linked to another Stripe "
                        "customer: link it by hand in Stripe, or change one of the emails.",
                        client_id=client_id,
                    )
                )
            else:
                rows.append(
                    row(
                        LINK,
                        "Linked to the client with this email.",
                        client_id=client_id,
                    )
                )
            seen.add(email)
            continue
        try:
            clean = _clean(record, currency)
        except ServiceError as exc:
            rows.append(row(INVALID, exc.message))
            continue
        if clean.email in seen:
            rows.append(row(CONFLICT, "Same email as a customer above."))
            continue
        seen.add(clean.email)
        rows.append(row(NEW, "A new client.", clean=clean))
    return rows


def preview_stripe_customers(
    session: Session,
    actor: Acting,
    *,
    cursor: str = "",
    settings: Settings | None = None,
) -> ImportPage:
    """A page of the Stripe account's customers and what importing it would do; nothing is
    written."""
    require(actor, Permission.CLIENTS_WRITE)
    config = connected_config(session, settings)
    session.commit()  # Stripe is asked outside any transaction
    try:
        page = gateway.list_customers(config, starting_after=cursor[:255], limit=PAGE_SIZE)
    except gateway.GatewayError as exc:
        raise Conflict(exc.message) from exc
    return ImportPage(
        rows=_rows(session, page.customers),
        has_more=page.has_more,
        next_cursor=page.customers[-1].id if page.customers else "",
    )


@dataclass(frozen=True)
class ImportResult:
    created: int
    linked: int
    cards: int


def import_stripe_customers(
    session: Session,
    actor: Acting,
    *,
    cursor: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> ImportResult:
    """Import the page at ``cursor`` as the preview shows it now (read again from Stripe):
    new clients made, links kept, each with its Stripe customer and default card. Linking a
    Stripe customer (and its card, which then pays the client's invoices) is the payments
    owner's decision: it needs payments.configure too."""
    require(actor, Permission.CLIENTS_WRITE)
    require(actor, Permission.PAYMENTS_CONFIGURE)
    config = connected_config(session, settings)
    page = preview_stripe_customers(session, actor, cursor=cursor, settings=settings)
    wanted = [row for row in page.rows if row.outcome in (NEW, LINK)]
    records = {row.customer_id: row for row in wanted}
    livemode = config.secret_key.startswith(("sk_live_", "rk_live_"))
    cards: dict[str, gateway.Card] = {}
    for row in wanted:  # the default cards, read before anything is written
        if not row.card_id:
            continue
        try:
            card = gateway.retrieve_card(config, row.card_id)
        except gateway.GatewayError:
            continue  # the client is imported all the same; the card can be added later
        if card.customer_id == row.customer_id:
            cards[row.customer_id] = card
    created = linked = kept = 0
    for customer_id, row in records.items():
        if row.outcome == NEW:
            assert row.clean is not None
            client = insert_clean_client(session, actor, row.clean, clock=clock)
            created += 1
        else:
            existing = session.get(Client, row.client_id)
            if existing is None:
                continue
            client = existing
            linked += 1
        assert client.id is not None
        session.add(
            StripeCustomer(
                client_id=client.id,
                customer_id=customer_id,
                livemode=livemode,
                created_at=clock.now(),
            )
        )
        session.flush()
        default = cards.get(customer_id)
        if default is not None:
            keep_card(session, client.id, default, clock)
            kept += 1
    audit.record(
        session,
        "clients.imported_from_stripe",
        actor.actor(),
        details=f"{created} created, {linked} linked, {kept} cards",
        clock=clock,
    )
    return ImportResult(created=created, linked=linked, cards=kept)
