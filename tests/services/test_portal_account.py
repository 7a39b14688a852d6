"""A client user with the right role keeps their company's billing details current: every
field's problem at once, nothing written on a problem, the change audited; the currency,
notes and websites stay the agency's; a view-only user reads but cannot change."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import Session, select

from billing_app.db.customers import Client
from billing_app.db.models import AuditEvent
from billing_app.domain.permissions import BuiltinClientRole
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed, ValidationFailed
from billing_app.services.customers import portal_account

from .test_clients import add_client
from .test_portal_invoices import client_user


def test_a_billing_user_changes_the_details_and_staff_see_it_audited(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock, notes="Pays late", currency="EUR")
    actor = client_user(client.id or 0, BuiltinClientRole.BILLING)
    details = portal_account.billing_details(session, actor)
    wanted = dataclasses.replace(
        details,
        company="  Café Ünder GmbH & Co. KG ",
        email="AP@Cafe-Under.test",
        address_line1="Domstraße 1",
        tax_id="DE123456789",
    )
    after = portal_account.update_billing_details(session, actor, wanted, clock=clock)
    session.commit()
    assert (after.company, after.email) == ("Café Ünder GmbH & Co. KG", "ap@cafe-under.test")
    stored = session.get(Client, client.id)
    assert stored is not None
    assert (stored.notes, stored.currency, stored.tax_id) == ("Pays late", "EUR", "DE123456789")
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "client.details_changed_by_client")
    ).one()
    assert event.details == "company, email, address_line1, tax_id"
    assert "(client user)" in event.actor_label


def test_every_bad_field_is_reported_and_nothing_is_written(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    add_client(session, clock, company="Other", email="taken@other.test")
    actor = client_user(client.id or 0)
    details = portal_account.billing_details(session, actor)
    with pytest.raises(ValidationFailed) as caught:
        portal_account.update_billing_details(
            session,
            actor,
            dataclasses.replace(details, company=" ", country="Narnia", phone="0" * 60),
            clock=clock,
        )
    assert set(caught.value.errors) == {"company", "country", "phone"}
    with pytest.raises(ValidationFailed) as caught:
        portal_account.update_billing_details(
            session, actor, dataclasses.replace(details, email="taken@other.test"), clock=clock
        )
    assert caught.value.errors == {
        "email": "Another client uses this email. Use your own billing address."
    }
    session.rollback()
    assert portal_account.billing_details(session, actor) == details


def test_a_view_only_user_reads_but_cannot_change(session: Session, clock: FixedClock) -> None:
    client = add_client(session, clock)
    viewer = client_user(client.id or 0, BuiltinClientRole.VIEW)
    details = portal_account.billing_details(session, viewer)
    with pytest.raises(NotAllowed):
        portal_account.update_billing_details(
            session, viewer, dataclasses.replace(details, company="Mine now"), clock=clock
        )
