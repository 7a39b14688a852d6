"""A client user sees their client's sent invoices and nothing else: another client's invoice,
a draft and an unknown id are the same "not found"; what is due is per currency, drafts never
count, and a role without invoices sees nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from billing_app.db.customers import Client
from billing_app.domain.money import Money
from billing_app.domain.permissions import (
    BUILTIN_CLIENT_ROLE_PERMISSIONS,
    BuiltinClientRole,
    ClientPermission,
)
from billing_app.services.access.portal_identity import ClientUser, Membership
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed, NotFound
from billing_app.services.common.listing import ListRequest
from billing_app.services.invoicing import payments, portal_invoices
from billing_app.services.invoicing.payments import PaymentForm

from .test_invoicing import draft, send, world

__all__ = ["world"]


def client_user(
    client_id: int, role: BuiltinClientRole = BuiltinClientRole.FULL, user_id: int = 1
) -> ClientUser:
    membership = Membership(
        client_id=client_id,
        client_name="Client",
        brand_id=None,
        role_key=role.value,
        role_label=role.value,
        permissions=BUILTIN_CLIENT_ROLE_PERMISSIONS[role],
    )
    return ClientUser(
        id=user_id,
        name="Jürgen",
        email="j@cafe.test",
        memberships=(membership,),
        client_id=client_id,
    )


def other_client(session: Session, clock: FixedClock) -> Client:
    now = clock.now()
    client = Client(
        company="Other Ltd", email="ap@other.test", currency="USD", created_at=now, updated_at=now
    )
    session.add(client)
    session.commit()
    return client


@pytest.fixture
def invoices(session: Session, clock: FixedClock, world: dict[str, Any]) -> dict[str, int]:
    sent_id = draft(session, world, clock)
    send(session, world, sent_id, clock)
    paid_id = draft(session, world, clock)
    send(session, world, paid_id, clock)
    invoice = session.get(portal_invoices.Invoice, paid_id)
    assert invoice is not None
    payments.record_payment(
        session,
        world["actor"],
        paid_id,
        PaymentForm(
            amount=str(Money(invoice.total_minor, "EUR").to_decimal()),
            method="bank_transfer",
            received_on=clock.now().date(),
        ),
        clock=clock,
    )
    session.commit()
    draft_id = draft(session, world, clock)
    return {"sent": sent_id, "paid": paid_id, "draft": draft_id}


def test_the_client_sees_its_sent_invoices_never_a_draft(
    session: Session, clock: FixedClock, world: dict[str, Any], invoices: dict[str, int]
) -> None:
    actor = client_user(world["client"].id)
    page = portal_invoices.list_client_invoices(session, actor, ListRequest(), clock=clock)
    assert {row.id for row in page.rows} == {invoices["sent"], invoices["paid"]}
    assert page.total == 2
    due = portal_invoices.list_client_invoices(
        session, actor, ListRequest(filters={"status": "due"}), clock=clock
    )
    assert [row.id for row in due.rows] == [invoices["sent"]]
    paid = portal_invoices.list_client_invoices(
        session, actor, ListRequest(filters={"status": "paid"}), clock=clock
    )
    assert [row.id for row in paid.rows] == [invoices["paid"]]
    assert paid.rows[0].due == Money(0, "EUR")


def test_search_by_number(
    session: Session, clock: FixedClock, world: dict[str, Any], invoices: dict[str, int]
) -> None:
    actor = client_user(world["client"].id)
    detail = portal_invoices.client_invoice(session, actor, invoices["sent"], clock=clock)
    found = portal_invoices.list_client_invoices(
        session, actor, ListRequest(search=detail.number.lower()), clock=clock
    )
    assert [row.id for row in found.rows] == [invoices["sent"]]
    nothing = portal_invoices.list_client_invoices(
        session, actor, ListRequest(search="%"), clock=clock
    )
    assert nothing.rows == []


def test_the_overview_says_what_is_due_and_overdue(
    session: Session, clock: FixedClock, world: dict[str, Any], invoices: dict[str, int]
) -> None:
    actor = client_user(world["client"].id)
    sent = portal_invoices.client_invoice(session, actor, invoices["sent"], clock=clock)
    overview = portal_invoices.portal_overview(session, actor, clock=clock)
    assert overview.due_by_currency == [sent.due]
    assert (overview.unpaid, overview.overdue) == (1, 0)
    assert [p.invoice_id for p in overview.recent_payments] == [invoices["paid"]]
    later = FixedClock(clock.now() + timedelta(days=30))
    assert portal_invoices.portal_overview(session, actor, clock=later).overdue == 1


def test_an_invoice_shows_as_sent_with_what_is_paid_and_due(
    session: Session, clock: FixedClock, world: dict[str, Any], invoices: dict[str, int]
) -> None:
    actor = client_user(world["client"].id, BuiltinClientRole.VIEW)
    paid = portal_invoices.client_invoice(session, actor, invoices["paid"], clock=clock)
    assert paid.status == "paid"
    assert paid.due == Money(0, "EUR")
    assert paid.paid == paid.total
    assert paid.snapshot["client"]["company"] == "Café Ünder GmbH"
    assert [p.kind for p in paid.payments] == ["payment"]
    staff = world["actor"].email
    assert paid.events and all(staff not in message for _, message in paid.events)
    pdf = portal_invoices.client_invoice_pdf(session, actor, invoices["paid"])
    assert pdf.data.startswith(b"%PDF")


def test_another_clients_invoice_a_draft_and_an_unknown_id_are_the_same_not_found(
    session: Session, clock: FixedClock, world: dict[str, Any], invoices: dict[str, int]
) -> None:
    stranger = client_user(other_client(session, clock).id or 0)
    own = client_user(world["client"].id)
    for actor, invoice_id in [
        (stranger, invoices["sent"]),
        (own, invoices["draft"]),
        (own, 10**9),
        (own, 10**23),
        (own, 0),
    ]:
        with pytest.raises(NotFound) as caught:
            portal_invoices.client_invoice(session, actor, invoice_id, clock=clock)
        assert caught.value.message == "Not found."
        with pytest.raises(NotFound):
            portal_invoices.client_invoice_pdf(session, actor, invoice_id)
    assert portal_invoices.list_client_invoices(session, stranger, ListRequest()).total == 0


def test_a_role_without_invoices_sees_none(
    session: Session, clock: FixedClock, world: dict[str, Any], invoices: dict[str, int]
) -> None:
    membership = Membership(
        client_id=world["client"].id,
        client_name="Client",
        brand_id=None,
        role_key="custom",
        role_label="Services only",
        permissions=frozenset({ClientPermission.SUBSCRIPTIONS_VIEW}),
    )
    actor = ClientUser(
        id=1,
        name="S",
        email="s@cafe.test",
        memberships=(membership,),
        client_id=membership.client_id,
    )
    with pytest.raises(NotAllowed):
        portal_invoices.list_client_invoices(session, actor, ListRequest())
    with pytest.raises(NotAllowed):
        portal_invoices.portal_overview(session, actor)
    with pytest.raises(NotAllowed):
        portal_invoices.client_invoice(session, actor, invoices["sent"])


def test_the_unpaid_badge_counts_what_is_still_to_pay(
    session: Session, clock: FixedClock, world: dict[str, Any], invoices: dict[str, int]
) -> None:
    actor = client_user(world["client"].id)
    assert portal_invoices.unpaid_count(session, actor) == 1  # sent; not the paid one, no draft
    stranger = client_user(other_client(session, clock).id or 0)
    assert portal_invoices.unpaid_count(session, stranger) == 0
