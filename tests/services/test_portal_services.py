"""A client user follows their services in the portal and asks to cancel one; the agency
approves (now or at the end of the period) or declines with a message; the client sees the
answer. Another client's subscription is the same "not found" as one that does not exist."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from billing_app.db.customers import Subscription
from billing_app.db.models import AuditEvent
from billing_app.db.portal import CancellationRequest, PortalUser
from billing_app.domain.lifecycle import CancellationTiming
from billing_app.domain.permissions import BuiltinClientRole
from billing_app.services.catalog import portal_services
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from billing_app.services.common.listing import ListRequest

from .test_clients import ADMIN, add_client, add_product
from .test_invoicing import world
from .test_portal_invoices import client_user as _client_user
from .test_subscriptions import START, attach

__all__ = ["world"]


def services(
    session: Session, actor: object, tab: str = "active"
) -> list[portal_services.PortalService]:
    page = portal_services.list_client_services(
        session,
        actor,
        ListRequest(filters={"tab": tab}),  # type: ignore[arg-type]
    )
    return page.rows


def portal_user(session: Session, clock: FixedClock) -> int:
    user = PortalUser(email="j@cafe.test", name="Jürgen", password_hash="x", created_at=clock.now())
    session.add(user)
    session.commit()
    return user.id or 0


USER: dict[str, int] = {}


def client_user(client_id: int, role: BuiltinClientRole = BuiltinClientRole.FULL) -> Any:
    return _client_user(client_id, role, USER["id"])


@pytest.fixture
def setup(session: Session, clock: FixedClock) -> dict[str, int]:
    client = add_client(session, clock)
    other = add_client(session, clock, company="Other Ltd", email="ap@other.test")
    care = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=care, start_date=START)
    foreign = attach(session, clock, client_id=other.id, product_id=care, start_date=START)
    USER["id"] = portal_user(session, clock)
    return {"client": client.id or 0, "sub": sub.id or 0, "foreign": foreign.id or 0}


def test_the_client_sees_its_running_services_with_their_renewal(
    session: Session, setup: dict[str, int]
) -> None:
    rows = services(session, client_user(setup["client"]))
    assert [r.id for r in rows] == [setup["sub"]]
    assert rows[0].next_renewal_on is not None
    assert rows[0].can_request_cancellation
    assert services(session, client_user(setup["client"]), "inactive") == []


def test_request_then_approve_at_period_end_and_the_client_sees_it(
    session: Session, clock: FixedClock, setup: dict[str, int]
) -> None:
    actor = client_user(setup["client"])
    request_id = portal_services.request_cancellation(
        session, actor, setup["sub"], "  Moving to another host  ", clock=clock
    )
    session.commit()
    row = services(session, actor)[0]
    assert (row.request_status, row.can_request_cancellation) == ("pending", False)
    with pytest.raises(Conflict, match="already asked"):
        portal_services.request_cancellation(session, actor, setup["sub"], "", clock=clock)
    pending = portal_services.pending_cancellations(session, ADMIN, client_id=setup["client"])
    assert [(p.id, p.reason) for p in pending] == [(request_id, "Moving to another host")]
    portal_services.decide_cancellation(
        session, ADMIN, request_id, approve=True, timing=CancellationTiming.PERIOD_END, clock=clock
    )
    session.commit()
    sub = session.get(Subscription, setup["sub"])
    assert sub is not None and sub.cancel_at_period_end
    row = services(session, actor)[0]
    assert (row.request_status, row.cancel_at_period_end) == ("approved", True)
    actions = session.exec(select(AuditEvent.action)).all()
    assert "subscription.cancellation_requested" in actions
    assert "cancellation.approved" in actions


def test_a_declined_request_carries_the_agencys_message(
    session: Session, clock: FixedClock, setup: dict[str, int]
) -> None:
    actor = client_user(setup["client"])
    request_id = portal_services.request_cancellation(session, actor, setup["sub"], "", clock=clock)
    with pytest.raises(ValidationFailed, match="why"):
        portal_services.decide_cancellation(session, ADMIN, request_id, approve=False, clock=clock)
    portal_services.decide_cancellation(
        session,
        ADMIN,
        request_id,
        approve=False,
        message="Your contract runs to June.",
        clock=clock,
    )
    session.commit()
    row = services(session, actor)[0]
    assert (row.request_status, row.request_message) == ("declined", "Your contract runs to June.")
    assert row.can_request_cancellation  # they may ask again
    with pytest.raises(Conflict):
        portal_services.decide_cancellation(session, ADMIN, request_id, approve=True, clock=clock)


def test_approve_now_ends_the_service(
    session: Session, clock: FixedClock, setup: dict[str, int]
) -> None:
    actor = client_user(setup["client"])
    request_id = portal_services.request_cancellation(session, actor, setup["sub"], "", clock=clock)
    portal_services.decide_cancellation(
        session, ADMIN, request_id, approve=True, timing=CancellationTiming.NOW, clock=clock
    )
    session.commit()
    assert services(session, actor) == []
    assert [r.id for r in services(session, actor, "inactive")] == [setup["sub"]]


def test_withdrawing_a_pending_request(
    session: Session, clock: FixedClock, setup: dict[str, int]
) -> None:
    actor = client_user(setup["client"])
    portal_services.request_cancellation(session, actor, setup["sub"], "", clock=clock)
    portal_services.withdraw_cancellation(session, actor, setup["sub"], clock=clock)
    session.commit()
    assert services(session, actor)[0].request_status == "withdrawn"
    with pytest.raises(Conflict):
        portal_services.withdraw_cancellation(session, actor, setup["sub"], clock=clock)


def test_another_clients_subscription_is_not_found_and_nothing_is_written(
    session: Session, clock: FixedClock, setup: dict[str, int]
) -> None:
    actor = client_user(setup["client"])
    for subscription_id in (setup["foreign"], 10**9, 10**23, -1):
        with pytest.raises(NotFound) as caught:
            portal_services.request_cancellation(session, actor, subscription_id, "", clock=clock)
        assert caught.value.message == "Not found."
    assert session.exec(select(CancellationRequest)).all() == []


def test_a_view_only_user_sees_services_but_cannot_ask_to_cancel(
    session: Session, clock: FixedClock, setup: dict[str, int]
) -> None:
    viewer = client_user(setup["client"], BuiltinClientRole.VIEW)
    assert not services(session, viewer)[0].can_request_cancellation
    with pytest.raises(NotAllowed):
        portal_services.request_cancellation(session, viewer, setup["sub"], "", clock=clock)
    with pytest.raises(NotAllowed):
        portal_services.pending_cancellations(session, viewer)
    with pytest.raises(NotAllowed):
        portal_services.decide_cancellation(session, viewer, 1, approve=True)


def test_two_requests_at_once_make_one(engine: sa.Engine, clock: FixedClock) -> None:
    with Session(engine) as session:
        client = add_client(session, clock)
        care = add_product(session, clock)
        sub = attach(session, clock, client_id=client.id, product_id=care, start_date=START)
        client_id, sub_id = client.id or 0, sub.id or 0
        USER["id"] = portal_user(session, clock)

    def ask(_: int) -> str:
        with Session(engine) as session:
            try:
                portal_services.request_cancellation(
                    session, client_user(client_id), sub_id, "", clock=clock
                )
                session.commit()
            except Conflict:
                return "conflict"
            except sa.exc.OperationalError:
                return "busy"
            return "ok"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(ask, range(4)))
    assert outcomes.count("ok") == 1
    with Session(engine) as session:
        assert len(session.exec(select(CancellationRequest)).all()) == 1


def test_the_agency_is_emailed_when_a_client_asks_to_cancel(
    session: Session, clock: FixedClock, setup: dict[str, int]
) -> None:
    from billing_app.db.models import OutboxEmail
    from billing_app.services.agency.branding import get_agency

    agency = get_agency(session, clock=clock)
    agency.email = "billing@studio-nord.test"
    session.add(agency)
    session.commit()
    portal_services.request_cancellation(
        session, client_user(setup["client"]), setup["sub"], "Too expensive", clock=clock
    )
    session.commit()
    mail = session.exec(
        select(OutboxEmail).where(OutboxEmail.kind == "cancellation_requested")
    ).one()
    assert mail.to_address == "billing@studio-nord.test"
    assert "asks to cancel" in mail.subject
    assert "Too expensive" in mail.body_text
    assert "/subscriptions" in mail.body_text


def test_billed_to_date_counts_the_products_lines_on_sent_invoices_only(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    from billing_app.services.catalog import subscriptions as subscriptions_service

    from .test_invoicing import draft, send

    sub = subscriptions_service.attach(
        session,
        world["actor"],
        subscriptions_service.AttachInput(
            client_id=world["client"].id, product_id=world["product"].id, start_date=START
        ),
        clock=clock,
    )
    session.commit()
    send(session, world, draft(session, world, clock), clock)
    draft(session, world, clock)  # a draft bills nothing
    USER["id"] = portal_user(session, clock)
    rows = services(session, client_user(world["client"].id))
    assert [(r.id, r.billed_to_date.amount_minor) for r in rows] == [(sub.id, 3000)]


def test_next_renewals_are_the_clients_soonest_first(
    session: Session, clock: FixedClock, setup: dict[str, int]
) -> None:
    renewals = portal_services.next_renewals(session, client_user(setup["client"]))
    sub = session.get(Subscription, setup["sub"])
    assert sub is not None
    assert [(r.on, r.amount.amount_minor) for r in renewals] == [
        (sub.next_renewal_on, sub.unit_price_minor * sub.quantity)
    ]
    stranger = replace(client_user(setup["client"]), memberships=())
    with pytest.raises(NotAllowed):
        portal_services.next_renewals(session, stranger)
