"""Dunning made visible: the staff "Past due" list (search, stage filter, sorts, pages in SQL),
every dunning email queued exactly once at its moment (payment failed, the bank wants the
client, reminders, past due, canceled or paused, the renewal invoice), the portal's payment
banner (the session's own client only, gone once paid) and one invoice's dunning summary."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.dunning import DunningEmail, DunningSettings, DunningState
from billing_app.db.models import OutboxEmail
from billing_app.domain.permissions import BuiltinRole
from billing_app.services.billing.dunning import run_dunning
from billing_app.services.billing.dunning_summary import invoice_dunning
from billing_app.services.billing.past_due_view import list_past_due
from billing_app.services.billing.portal_alerts import payment_alerts
from billing_app.services.billing.renewals import billing_run
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed
from billing_app.services.common.listing import ListRequest

from .test_dunning import card, fake, renewal_of
from .test_invoice_card_payments import shop
from .test_invoice_notices import as_role
from .test_invoice_payment_rules import hundred_euro_invoice, pay
from .test_invoicing import world
from .test_portal_invoices import client_user, other_client
from .test_renewals import TODAY, attach

__all__ = ["fake", "shop", "world"]


def kinds(session: Session) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind in session.exec(select(OutboxEmail.kind)):
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def run(engine: sa.Engine, clock: FixedClock, shop: dict[str, Any], times: int = 2) -> None:
    """The hourly run, twice (a second run, or one at once, sends nothing again)."""
    for _ in range(times):
        run_dunning(engine, clock=clock, settings=shop["settings"])


def test_every_dunning_email_is_queued_once_at_its_moment(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any], fake: Any
) -> None:
    session.add(DunningSettings(id=1, retry_days="1", updated_at=clock.now()))  # one retry
    session.commit()
    card(session, shop, "pm_fake_insufficient", clock)
    attach(session, shop, TODAY)
    before = kinds(session)

    billing_run(engine, clock=clock, settings=shop["settings"])  # failure 1
    billing_run(engine, clock=clock, settings=shop["settings"])
    invoice = renewal_of(session)
    assert kinds(session).get("payment_failed", 0) - before.get("payment_failed", 0) == 1
    assert kinds(session).get("invoice_sent", 0) == before.get("invoice_sent", 0)  # charged

    clock.advance(days=1)
    run(engine, clock, shop)  # failure 2: the retries are over, the subscription past due
    sent = kinds(session)
    assert sent["payment_failed"] - before.get("payment_failed", 0) == 2
    assert sent["subscription_past_due"] == 1
    [past_due] = session.exec(
        select(OutboxEmail).where(col(OutboxEmail.kind) == "subscription_past_due")
    ).all()
    assert past_due.subject == (
        f"Your service with Studio Nord Oy is past due: invoice {invoice.number}"
    )
    assert "Managed hosting is now past due" in past_due.body_text
    assert "we will cancel the service" in past_due.body_text
    assert "/portal/pay/" in past_due.body_text

    clock.advance(days=14)  # the agency's 14 days: canceled, once
    run(engine, clock, shop)
    sent = kinds(session)
    assert sent["subscription_stopped"] == 1
    assert sent["subscription_past_due"] == 1
    events = sorted(
        session.exec(
            select(DunningEmail.event).where(col(DunningEmail.invoice_id) == invoice.id)
        ).all()
    )
    assert events == ["failed-1", "failed-2", "past-due", "stopped"]


def test_a_bank_that_wants_the_client_emails_once_and_the_renewal_invoice_once(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any], fake: Any
) -> None:
    card(session, shop, "pm_fake_needs_bank", clock)
    attach(session, shop, TODAY)
    billing_run(engine, clock=clock, settings=shop["settings"])
    clock.advance(days=3)
    run(engine, clock, shop)
    sent = kinds(session)
    assert sent.get("payment_action_required") == 1
    assert sent.get("payment_failed", 0) == 0
    assert sent.get("subscription_past_due") == 1


def test_a_renewal_without_a_card_is_emailed_once_and_reminded_once_per_step(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    attach(session, shop, TODAY)
    before = kinds(session)
    for _ in range(2):
        billing_run(engine, clock=clock, settings=shop["settings"])
    assert kinds(session)["invoice_sent"] - before["invoice_sent"] == 1
    invoice = renewal_of(session)
    clock.advance(days=(invoice.due_date - TODAY).days + 1)  # a day after the due date
    run(engine, clock, shop)
    reminded = kinds(session)["payment_reminder"] - before.get("payment_reminder", 0)
    assert reminded == 2  # the €100 invoice of the fixture and the renewal, "after-1" each
    run(engine, clock, shop)
    assert kinds(session)["payment_reminder"] - before.get("payment_reminder", 0) == 2


def test_the_past_due_list_searches_filters_sorts_and_pages_in_sql(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any], fake: Any
) -> None:
    card(session, shop, "pm_fake_lost", clock)  # a hard decline: past due at once
    attach(session, shop, TODAY)
    billing_run(engine, clock=clock, settings=shop["settings"])
    renewal = renewal_of(session)
    others = [hundred_euro_invoice(session, shop, clock) for _ in range(2)]
    clock.advance(days=20)  # the €100 invoices (due March 28) are overdue now
    actor = shop["actor"]

    page = list_past_due(session, actor, ListRequest(per_page=2), clock=clock)
    assert page.total == 4  # the fixture's invoice, two more, the renewal
    assert page.has_next and len(page.rows) == 2
    rest = list_past_due(session, actor, ListRequest(per_page=2, after=page.last_key), clock=clock)
    ids = [r.invoice_id for r in page.rows + rest.rows]
    assert len(set(ids)) == 4 and not rest.has_next
    assert ids[0] == renewal.id  # due on issue: the oldest due date first

    [row] = list_past_due(
        session, actor, ListRequest(filters={"stage": "past_due"}), clock=clock
    ).rows
    assert row.invoice_id == renewal.id and row.outlook.stage == "past_due"
    assert [a.outcome for a in row.outlook.attempts] == ["hard_decline"]
    assert row.outlook.action == "cancel"
    assert row.outlook.action_on == TODAY + timedelta(days=14)
    assert row.outlook.subscriptions == [("Managed hosting", "past_due")]
    assert row.days_overdue == 20 and row.due.amount_minor == renewal.total_minor

    overdue = list_past_due(session, actor, ListRequest(filters={"stage": "overdue"}), clock=clock)
    assert {r.invoice_id for r in overdue.rows} == {shop["invoice_id"], *others}
    assert all(r.outlook.stage == "overdue" and not r.outlook.attempts for r in overdue.rows)
    by_amount = list_past_due(
        session, actor, ListRequest(sort="amount", descending=True), clock=clock
    )
    amounts = [r.due.amount_minor for r in by_amount.rows]
    assert amounts == sorted(amounts, reverse=True)
    found = list_past_due(session, actor, ListRequest(search=renewal.number or ""), clock=clock)
    assert [r.invoice_id for r in found.rows] == [renewal.id]
    assert list_past_due(session, actor, ListRequest(search="nobody"), clock=clock).total == 0

    pay(session, shop, others[0], "100", clock)  # paid: gone from the list
    assert list_past_due(session, actor, ListRequest(), clock=clock).total == 3

    viewer = as_role(shop, BuiltinRole.VIEWER)
    assert list_past_due(session, viewer, ListRequest(), clock=clock).total == 3
    nobody = replace(viewer, permissions=frozenset())
    with pytest.raises(NotAllowed):
        list_past_due(session, nobody, ListRequest(), clock=clock)
    with pytest.raises(NotAllowed):
        invoice_dunning(session, nobody, renewal.id or 0, clock=clock)


def test_the_invoice_dunning_summary_reads_attempts_emails_changes_and_what_is_next(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any], fake: Any
) -> None:
    card(session, shop, "pm_fake_insufficient", clock)
    attach(session, shop, TODAY)
    billing_run(engine, clock=clock, settings=shop["settings"])
    invoice = renewal_of(session)
    summary = invoice_dunning(session, shop["actor"], invoice.id or 0, clock=clock)
    assert summary is not None
    assert [(a.outcome, a.card) for a in summary.outlook.attempts] == [
        ("declined", "Visa •••• 0000")
    ]
    assert summary.outlook.stage == "retrying"
    assert summary.outlook.next_retry_on == TODAY + timedelta(days=1)
    assert [e.kind for e in summary.emails] == ["payment_failed"]
    assert summary.changes == [] and summary.owed

    assert invoice_dunning(session, shop["actor"], shop["invoice_id"], clock=clock) is None

    for days in (1, 3, 5, 7):  # every retry declined: past due
        clock.advance(days=days)
        run_dunning(engine, clock=clock, settings=shop["settings"])
    session.expire_all()
    summary = invoice_dunning(session, shop["actor"], invoice.id or 0, clock=clock)
    assert summary is not None
    assert [a.outcome for a in summary.outlook.attempts] == ["declined"] * 5
    assert summary.outlook.stage == "past_due" and summary.outlook.next_retry_on is None
    assert [(c.subscription, c.action) for c in summary.changes] == [
        ("Managed hosting", "past_due")
    ]
    assert [e.kind for e in summary.emails].count("subscription_past_due") == 1

    pay(session, shop, invoice.id or 0, str(invoice.total_minor / 100), clock)
    summary = invoice_dunning(session, shop["actor"], invoice.id or 0, clock=clock)
    assert summary is not None and not summary.owed
    assert [c.action for c in summary.changes] == ["past_due", "active"]


def test_the_portal_banner_shows_the_sessions_client_only_and_goes_once_paid(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any], fake: Any
) -> None:
    card(session, shop, "pm_fake_insufficient", clock)
    attach(session, shop, TODAY)
    billing_run(engine, clock=clock, settings=shop["settings"])
    invoice = renewal_of(session)
    user = client_user(shop["client"].id)

    seen = payment_alerts(session, user, clock=clock)
    assert [(a.invoice_id, a.kind, a.card_needed) for a in seen.alerts] == [
        (invoice.id, "failed", True)
    ]
    assert seen.alerts[0].amount.amount_minor == invoice.total_minor
    stranger = client_user(other_client(session, clock).id or 0)
    assert payment_alerts(session, stranger, clock=clock).alerts == []
    # A user of both clients looking at the other one sees nothing of this one.
    both = replace(
        stranger,
        memberships=(*stranger.memberships, *user.memberships),
        client_id=stranger.client_id,
    )
    assert payment_alerts(session, both, clock=clock).alerts == []

    clock.advance(days=20)  # the fixture's €100 invoice is overdue too
    seen = payment_alerts(session, user, clock=clock)
    assert [a.kind for a in seen.alerts] == ["failed", "overdue"]

    pay(session, shop, invoice.id or 0, str(invoice.total_minor / 100), clock)
    pay(session, shop, shop["invoice_id"], "100", clock)
    assert payment_alerts(session, user, clock=clock).alerts == []


def test_a_client_with_more_to_pay_than_the_banner_shows_is_told_how_many_more(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    ids = [hundred_euro_invoice(session, world, clock) for _ in range(5)]
    clock.advance(days=30)
    seen = payment_alerts(session, client_user(world["client"].id), clock=clock)
    assert [a.invoice_id for a in seen.alerts] == ids[:3] and seen.more == 2
    client = session.get(Client, world["client"].id)
    assert client is not None
    no_invoices = client_user(world["client"].id)
    membership = replace(no_invoices.memberships[0], permissions=frozenset())
    assert payment_alerts(session, replace(no_invoices, memberships=(membership,))).alerts == []
    assert session.exec(select(DunningState)).all() == []
