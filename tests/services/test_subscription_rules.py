"""Subscriptions as the people who sell and run them check them (services/catalog/
subscriptions.py, subscription_queries.py, recurring_revenue.py): every problem of the attach
form at once, each beside its field; the history and audit log of every change; which changes
a subscription in each status accepts and what it says when it refuses; scheduled changes
(made, withdrawn, applied, and from a product's new price); the list and one subscription as
shown (filters, tabs, search, sorts, MRR only for who may see it); and the client's recurring
figures (MRR, ARR, active subscriptions) over every kind and status of subscription."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.models import AuditEvent
from billing_app.domain.money import Money
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.catalog import products as catalog
from billing_app.services.catalog import recurring_revenue, subscription_queries, subscriptions
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from billing_app.services.common.listing import ListRequest
from billing_app.services.customers import client_queries, clients

from .test_clients import ADMIN, add_client, add_product
from .test_subscriptions import START, attach, client_mrr

# A colleague who may work with subscriptions but not see revenue figures (no reports.view).
NO_FIGURES = CurrentUser(
    id=2,
    name="Sam Sales",
    email="sam@agency.test",
    role_key="sales",
    role_label="Sales",
    permissions=frozenset({Permission.SUBSCRIPTIONS_READ, Permission.SUBSCRIPTIONS_WRITE}),
)


def history(session: Session, sub_id: int) -> list[tuple[str, str]]:
    """(action, details) of the subscription's history, oldest first."""
    _, events = subscription_queries.subscription_detail(session, ADMIN, sub_id)
    return [(e.action, e.details) for e in reversed(events)]


def audit_of(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(col(AuditEvent.action) == action)))


def refused(session: Session) -> None:
    """After a refusal the caller's transaction is rolled back (services.common.transactions)."""
    session.rollback()


def client_of(session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id)
    assert client is not None
    session.refresh(client)
    return client


# --------------------------------------------------------------------------- attaching


def test_every_problem_of_the_attach_form_is_reported_at_once_beside_its_field(
    session: Session, clock: FixedClock
) -> None:
    other = add_client(
        session, clock, email="o@x.test", websites=[clients.WebsiteInput(name="O", url="o.test")]
    )
    client = add_client(session, clock)
    assert client.id is not None
    clients.archive_client(session, ADMIN, client.id, clock=clock)
    hosting = add_product(session, clock)
    catalog.set_product_archived(session, ADMIN, hosting, True, clock=clock)
    session.commit()
    site = clients.websites_of(session, other.id or 0)[0]
    with pytest.raises(ValidationFailed) as caught:
        attach(
            session,
            clock,
            client_id=client.id,
            product_id=hosting,
            website_id=site.id,
            quantity="0",
            start_date=None,
            trial_days="366",
        )
    assert caught.value.errors == {
        "client_id": "This client is archived: restore it first.",
        "product_id": "Managed hosting is archived.",
        "website_id": "Choose one of this client's websites.",
        "quantity": "The quantity is a whole number from 1 to 1,000,000.",
        "start_date": "Choose the start date.",
        "trial_days": "A trial lasts 0 to 365 days.",
    }
    refused(session)
    assert subscription_queries.tab_counts(session, ADMIN, client.id)["active"] == 0


@pytest.mark.parametrize("product_id", [0, 999_999])
def test_without_a_product_every_other_field_is_still_checked(
    session: Session, clock: FixedClock, product_id: int
) -> None:
    client = add_client(session, clock)
    with pytest.raises(ValidationFailed) as caught:
        attach(
            session,
            clock,
            client_id=client.id,
            product_id=product_id,
            quantity="two",
            price_override="-5",
            start_date=START,
            trial_days="a week",
        )
    assert caught.value.errors == {
        "product_id": "Choose a product.",
        "quantity": "Enter a whole number, such as 1 or 3.",
        "price": "A price cannot be negative.",
        "trial_days": "Enter a number of days.",
    }


def test_a_price_that_is_not_money_is_explained_on_the_price(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    with pytest.raises(ValidationFailed) as caught:
        attach(
            session,
            clock,
            client_id=client.id,
            product_id=hosting,
            start_date=START,
            price_override="12.345",
        )
    assert caught.value.errors == {"price": "EUR amounts have at most 2 decimals."}


def test_a_one_time_purchase_has_no_trial(session: Session, clock: FixedClock) -> None:
    client = add_client(session, clock)
    setup = add_product(session, clock, name="Setup", price="500", billing_type="one_time")
    with pytest.raises(ValidationFailed) as caught:
        attach(
            session, clock, client_id=client.id, product_id=setup, start_date=START, trial_days=7
        )
    assert caught.value.errors == {"trial_days": "One-time purchases have no trial."}


def test_attaching_to_a_client_that_does_not_exist_is_not_found(
    session: Session, clock: FixedClock
) -> None:
    hosting = add_product(session, clock)
    with pytest.raises(NotFound, match=r"^That client does not exist\.$"):
        attach(session, clock, client_id=999_999, product_id=hosting, start_date=START)


def test_the_largest_quantity_and_the_longest_trial_are_accepted(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    big = attach(
        session,
        clock,
        client_id=client.id,
        product_id=hosting,
        start_date=START,
        quantity="1000000",
    )
    assert big.quantity == 1_000_000
    long_trial = attach(
        session, clock, client_id=client.id, product_id=hosting, start_date=START, trial_days="365"
    )
    assert (long_trial.status, long_trial.trial_ends_on) == ("trialing", date(2027, 3, 14))
    with pytest.raises(ValidationFailed) as caught:
        attach(
            session,
            clock,
            client_id=client.id,
            product_id=hosting,
            start_date=START,
            quantity="1000001",
        )
    assert caught.value.errors == {
        "quantity": "The quantity is a whole number from 1 to 1,000,000."
    }


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_a_blank_trial_means_no_trial(
    session: Session, clock: FixedClock, blank: str | None
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(
        session, clock, client_id=client.id, product_id=hosting, start_date=START, trial_days=blank
    )
    assert (sub.status, sub.trial_ends_on, sub.next_renewal_on) == (
        "active",
        None,
        date(2026, 4, 14),
    )


def test_the_quantity_and_price_attached_are_what_is_billed(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(
        session,
        clock,
        client_id=client.id,
        product_id=hosting,
        start_date=START,
        quantity="3",
        price_override="30",
    )
    row, _ = subscription_queries.subscription_detail(session, ADMIN, sub.id or 0)
    assert (row.quantity, row.unit_price, row.amount, row.mrr) == (
        3,
        Money(3000, "EUR"),
        Money(9000, "EUR"),
        Money(9000, "EUR"),
    )
    assert client_mrr(session, client.id or 0) == 9000


def test_attaching_is_in_the_history_and_the_audit_log_with_what_was_sold(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock, websites=[clients.WebsiteInput(name="Shop", url="s.test")])
    site = clients.websites_of(session, client.id or 0)[0]
    hosting = add_product(session, clock)
    setup = add_product(session, clock, name="Setup", price="500", billing_type="one_time")
    sub = attach(
        session,
        clock,
        client_id=client.id,
        product_id=hosting,
        website_id=site.id,
        quantity=3,
        start_date=START,
    )
    once = attach(session, clock, client_id=client.id, product_id=setup, start_date=START)
    created = f"Managed hosting x3 at €25.00 (monthly) on website {site.id}, starting 2026-03-14"
    assert history(session, sub.id or 0) == [("created", created)]
    assert history(session, once.id or 0) == [
        ("created", "Setup x1 at €500.00 (one-time purchase), starting 2026-03-14")
    ]
    _, (event,) = subscription_queries.subscription_detail(session, ADMIN, sub.id or 0)
    assert (event.actor_id, event.actor_label, event.at) == (ADMIN.id, "Ada Admin", clock.now())
    logged = [e for e in audit_of(session, "subscription.created") if e.details == created]
    assert [(e.target, e.actor_label, e.at) for e in logged] == [
        (f"subscription:{sub.id}", ADMIN.email, clock.now())
    ]


def test_a_subscription_keeps_the_name_it_was_sold_under(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    catalog.update_product(
        session,
        ADMIN,
        hosting,
        catalog.ProductInput(name="Premium hosting", price="25", currency="EUR"),
        clock=clock,
    )
    session.commit()
    row, _ = subscription_queries.subscription_detail(session, ADMIN, sub.id or 0)
    assert row.product_name == "Managed hosting"
    page = subscription_queries.list_subscriptions(session, ADMIN, ListRequest())
    assert [r.product_name for r in page.rows] == ["Managed hosting"]


def test_the_attach_form_offers_the_client_s_currency_websites_and_active_products(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(
        session,
        clock,
        currency="GBP",
        locale="en_GB",
        websites=[clients.WebsiteInput(name="Shop", url="s.test")],
    )
    add_client(session, clock, email="o@x.test", websites=[clients.WebsiteInput("O", "o.test")])
    add_product(session, clock, name="Website care")
    old = add_product(session, clock, name="Old plan")
    add_product(session, clock, name="analytics")
    catalog.set_product_archived(session, ADMIN, old, True, clock=clock)
    session.commit()
    options = subscription_queries.attach_options(session, ADMIN, client.id or 0)
    assert options.currency == "GBP"
    assert [(w.client_id, w.name) for w in options.websites] == [(client.id, "Shop")]
    assert [p.name for p in options.products] == ["analytics", "Website care"]
    viewer = dataclasses.replace(NO_FIGURES, permissions=frozenset({Permission.SUBSCRIPTIONS_READ}))
    with pytest.raises(NotAllowed):
        subscription_queries.attach_options(session, viewer, client.id or 0)


# --------------------------------------------------------------------------- changes


def test_canceling_now_stops_everything_at_once_and_only_once(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    sub_id = sub.id or 0
    subscriptions.change(session, ADMIN, sub_id, quantity="2", price="", clock=clock)
    subscriptions.cancel_at_period_end(session, ADMIN, sub_id, clock=clock)
    session.commit()
    clock.advance(days=2)
    subscriptions.cancel_now(session, ADMIN, sub_id, clock=clock)
    session.commit()
    sub = subscriptions.get_subscription(session, sub_id)
    # Canceled when asked first (at period end), ended now.
    assert (sub.status, sub.ended_at, sub.ends_on, sub.next_renewal_on) == (
        "ended",
        clock.now(),
        date(2026, 3, 16),
        None,
    )
    assert sub.canceled_at == clock.now() - timedelta(days=2)
    assert (sub.cancel_at_period_end, sub.pending_quantity, sub.pending_unit_price_minor) == (
        False,
        None,
        None,
    )
    assert history(session, sub_id)[-1] == ("canceled_now", "Canceled immediately")
    with pytest.raises(Conflict, match=r"^This subscription has already ended\.$"):
        subscriptions.cancel_now(session, ADMIN, sub_id, clock=clock)
    refused(session)

    running = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    subscriptions.cancel_now(session, ADMIN, running.id or 0, clock=clock)
    session.commit()
    running = subscriptions.get_subscription(session, running.id or 0)
    assert (running.canceled_at, running.ended_at) == (clock.now(), clock.now())


def test_canceling_at_period_end_records_when_and_a_paused_one_is_refused(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    subscriptions.cancel_at_period_end(session, ADMIN, sub.id or 0, clock=clock)
    session.commit()
    sub = subscriptions.get_subscription(session, sub.id or 0)
    assert (sub.canceled_at, sub.cancel_at_period_end) == (clock.now(), True)
    assert history(session, sub.id or 0)[-1] == (
        "cancel_at_period_end",
        "Cancels at the end of the period, on 2026-04-14",
    )

    paused = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    subscriptions.pause(session, ADMIN, paused.id or 0, clock=clock)
    session.commit()
    with pytest.raises(Conflict, match=r"^Resume the subscription or cancel it now\.$"):
        subscriptions.cancel_at_period_end(session, ADMIN, paused.id or 0, clock=clock)
    refused(session)
    assert subscriptions.get_subscription(session, paused.id or 0).status == "paused"


def test_withdrawing_a_cancellation_renews_on_the_same_day_as_before(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    sub_id = sub.id or 0
    with pytest.raises(
        Conflict, match=r"^Only a subscription set to cancel at period end can be resumed\.$"
    ):
        subscriptions.resume_cancellation(session, ADMIN, sub_id, clock=clock)
    refused(session)
    subscriptions.cancel_at_period_end(session, ADMIN, sub_id, clock=clock)
    session.commit()
    clock.advance(days=10)
    subscriptions.resume_cancellation(session, ADMIN, sub_id, clock=clock)
    session.commit()
    sub = subscriptions.get_subscription(session, sub_id)
    assert (sub.status, sub.cancel_at_period_end, sub.canceled_at) == ("active", False, None)
    assert (sub.next_renewal_on, sub.ends_on) == (date(2026, 4, 14), None)
    assert history(session, sub_id)[-1] == ("cancellation_withdrawn", "Will renew again")


def test_a_cancellation_cannot_be_withdrawn_once_the_period_is_over(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    subscriptions.cancel_at_period_end(session, ADMIN, sub.id or 0, clock=clock)
    session.commit()
    clock.at = datetime(2026, 4, 14, 9, 30, tzinfo=clock.at.tzinfo)
    with pytest.raises(Conflict, match=r"^The period is over: attach the product again instead\.$"):
        subscriptions.resume_cancellation(session, ADMIN, sub.id or 0, clock=clock)
    refused(session)
    subscriptions.end_due_cancellations(session, SYSTEM, clock=clock)
    session.commit()
    # Once ended, it is no longer a subscription set to cancel at period end.
    with pytest.raises(Conflict, match=r"^Only a subscription set to cancel at period end"):
        subscriptions.resume_cancellation(session, ADMIN, sub.id or 0, clock=clock)


def test_the_daily_job_ends_only_the_cancellations_that_are_due(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    yearly = add_product(session, clock, name="Domain", price="15", unit="year")
    due = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    later = attach(session, clock, client_id=client.id, product_id=yearly, start_date=START)
    stopped = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    running = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    for sub in (due, later):
        subscriptions.cancel_at_period_end(session, ADMIN, sub.id or 0, clock=clock)
    subscriptions.cancel_now(session, ADMIN, stopped.id or 0, clock=clock)
    session.commit()
    clock.at = datetime(2026, 4, 15, 2, 0, tzinfo=clock.at.tzinfo)

    assert subscriptions.end_due_cancellations(session, SYSTEM, clock=clock) == 1
    session.commit()
    statuses = {
        name: subscriptions.get_subscription(session, sub.id or 0).status
        for name, sub in {
            "due": due,
            "later": later,
            "stopped": stopped,
            "running": running,
        }.items()
    }
    assert statuses == {
        "due": "ended",
        "later": "canceled",
        "stopped": "ended",
        "running": "active",
    }
    assert subscriptions.get_subscription(session, due.id or 0).ended_at == clock.now()
    _, events = subscription_queries.subscription_detail(session, ADMIN, due.id or 0)
    assert (events[0].action, events[0].details, events[0].actor_label, events[0].actor_id) == (
        "ended",
        "The paid-for period is over",
        "system",
        None,
    )
    assert subscriptions.end_due_cancellations(session, SYSTEM, clock=clock) == 0


def test_pausing_and_resuming_say_so_and_only_a_paused_one_resumes(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    sub_id = sub.id or 0
    with pytest.raises(Conflict, match=r"^This subscription is not paused\.$"):
        subscriptions.unpause(session, ADMIN, sub_id, clock=clock)
    refused(session)
    subscriptions.pause(session, ADMIN, sub_id, clock=clock)
    session.commit()
    assert subscriptions.get_subscription(session, sub_id).paused_at == clock.now()
    clock.advance(days=40)
    subscriptions.unpause(session, ADMIN, sub_id, clock=clock)
    session.commit()
    assert subscriptions.get_subscription(session, sub_id).paused_at is None
    assert history(session, sub_id)[1:] == [
        ("paused", "Paused: no renewals until resumed"),
        ("resumed", "Resumed; next renewal 2026-05-14"),
    ]


def test_a_one_time_purchase_has_no_renewals_to_pause_or_cancel(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    setup = add_product(session, clock, name="Setup", price="500", billing_type="one_time")
    sub = attach(session, clock, client_id=client.id, product_id=setup, start_date=START)
    for action in (
        subscriptions.pause,
        subscriptions.unpause,
        subscriptions.cancel_at_period_end,
        subscriptions.resume_cancellation,
    ):
        with pytest.raises(Conflict, match=r"^A one-time purchase has no renewals\.$"):
            action(session, ADMIN, sub.id or 0, clock=clock)
        refused(session)
    with pytest.raises(Conflict, match=r"^A one-time purchase has no renewals\.$"):
        subscriptions.change(session, ADMIN, sub.id or 0, quantity="2", price="", clock=clock)


def test_a_move_the_lifecycle_forbids_is_refused_with_its_reason(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    subscriptions.cancel_at_period_end(session, ADMIN, sub.id or 0, clock=clock)
    session.commit()
    with pytest.raises(Conflict, match=r"^A subscription that is canceled cannot be paused\.$"):
        subscriptions.pause(session, ADMIN, sub.id or 0, clock=clock)


def test_a_subscription_that_does_not_exist_is_not_found(
    session: Session, clock: FixedClock
) -> None:
    for call in (
        lambda: subscriptions.get_subscription(session, 999_999),
        lambda: subscriptions.pause(session, ADMIN, 999_999, clock=clock),
        lambda: subscription_queries.subscription_detail(session, ADMIN, 999_999),
    ):
        with pytest.raises(NotFound, match=r"^That subscription does not exist\.$"):
            call()


# --------------------------------------------------------------------------- scheduled changes


def test_a_price_change_alone_is_scheduled_for_the_next_period(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    subscriptions.change(session, ADMIN, sub.id or 0, quantity="1", price="30", clock=clock)
    session.commit()
    sub = subscriptions.get_subscription(session, sub.id or 0)
    assert (sub.quantity, sub.unit_price_minor) == (1, 2500)
    assert (sub.pending_quantity, sub.pending_unit_price_minor) == (1, 3000)
    assert history(session, sub.id or 0)[-1] == (
        "change_scheduled",
        "From 2026-04-14: quantity 1 -> 1, unit price €25.00 -> €30.00",
    )


def test_entering_the_current_values_withdraws_a_scheduled_change(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    sub_id = sub.id or 0
    with pytest.raises(ValidationFailed) as nothing:
        subscriptions.change(session, ADMIN, sub_id, quantity="1", price="25", clock=clock)
    assert nothing.value.errors == {"quantity": "Nothing changed."}
    refused(session)
    subscriptions.change(session, ADMIN, sub_id, quantity="4", price="", clock=clock)
    session.commit()
    clock.advance(days=1)
    subscriptions.change(session, ADMIN, sub_id, quantity="1", price="", clock=clock)
    session.commit()
    sub = subscriptions.get_subscription(session, sub_id)
    assert (sub.pending_quantity, sub.pending_unit_price_minor) == (None, None)
    assert sub.updated_at == clock.now()
    _, events = subscription_queries.subscription_detail(session, ADMIN, sub_id)
    assert (events[0].action, events[0].details, events[0].at) == (
        "change_withdrawn",
        "Pending change withdrawn",
        clock.now(),
    )
    # Nothing is pending any more: the same values again change nothing.
    with pytest.raises(ValidationFailed, match=r"^Nothing changed\.$"):
        subscriptions.change(session, ADMIN, sub_id, quantity="1", price="", clock=clock)


def test_a_change_reports_both_fields_and_needs_a_running_subscription(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    with pytest.raises(ValidationFailed) as caught:
        subscriptions.change(session, ADMIN, sub.id or 0, quantity="0", price="-1", clock=clock)
    assert caught.value.errors == {
        "quantity": "The quantity is a whole number from 1 to 1,000,000.",
        "price": "A price cannot be negative.",
    }
    refused(session)
    subscriptions.cancel_at_period_end(session, ADMIN, sub.id or 0, clock=clock)
    session.commit()
    with pytest.raises(Conflict, match=r"^Only a running subscription can be changed\.$"):
        subscriptions.change(session, ADMIN, sub.id or 0, quantity="2", price="", clock=clock)


def test_a_paused_subscription_changes_from_its_next_period(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    subscriptions.pause(session, ADMIN, sub.id or 0, clock=clock)
    subscriptions.change(session, ADMIN, sub.id or 0, quantity="2", price="", clock=clock)
    session.commit()
    assert history(session, sub.id or 0)[-1] == (
        "change_scheduled",
        "From the next period: quantity 1 -> 2, unit price €25.00 -> €25.00",
    )


def test_applying_makes_the_change_effective_once(session: Session, clock: FixedClock) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    sub_id = sub.id or 0
    subscriptions.apply_pending(session, SYSTEM, sub_id, clock=clock)
    session.commit()
    assert [action for action, _ in history(session, sub_id)] == ["created"]
    subscriptions.change(session, ADMIN, sub_id, quantity="2", price="20", clock=clock)
    subscriptions.apply_pending(session, SYSTEM, sub_id, clock=clock)
    subscriptions.apply_pending(session, SYSTEM, sub_id, clock=clock)
    session.commit()
    assert history(session, sub_id)[2:] == [("change_applied", "Now quantity 2 at €20.00")]
    assert client_mrr(session, client.id or 0) == 4000


# --------------------------------------------------------------------------- a product repriced


def test_a_product_s_new_price_is_scheduled_on_its_running_subscriptions_only(
    session: Session, clock: FixedClock
) -> None:
    eur = add_client(session, clock)
    gbp = add_client(session, clock, email="uk@x.test", currency="GBP", locale="en_GB")
    hosting = add_product(session, clock)
    other = add_product(session, clock, name="Backups", price="5")
    at_new_price = attach(
        session, clock, client_id=eur.id, product_id=hosting, start_date=START, price_override="35"
    )
    running = attach(
        session, clock, client_id=eur.id, product_id=hosting, start_date=START, quantity=2
    )
    trialing = attach(
        session, clock, client_id=eur.id, product_id=hosting, start_date=START, trial_days=14
    )
    changed = attach(session, clock, client_id=eur.id, product_id=hosting, start_date=START)
    subscriptions.change(session, ADMIN, changed.id or 0, quantity="5", price="", clock=clock)
    canceled = attach(session, clock, client_id=eur.id, product_id=hosting, start_date=START)
    subscriptions.cancel_at_period_end(session, ADMIN, canceled.id or 0, clock=clock)
    pounds = attach(
        session, clock, client_id=gbp.id, product_id=hosting, start_date=START, price_override="20"
    )
    backups = attach(session, clock, client_id=eur.id, product_id=other, start_date=START)
    session.commit()
    mrr_before = client_mrr(session, eur.id or 0)

    catalog.update_product(
        session,
        ADMIN,
        hosting,
        catalog.ProductInput(name="Managed hosting", price="35", currency="EUR"),
        update_subscriptions=True,
        clock=clock,
    )
    session.commit()

    def pending(sub: Any) -> tuple[int, int | None, int | None]:
        sub = subscriptions.get_subscription(session, sub.id or 0)
        return sub.unit_price_minor, sub.pending_quantity, sub.pending_unit_price_minor

    assert pending(at_new_price) == (3500, None, None)
    assert pending(running) == (2500, 2, 3500)
    assert pending(trialing) == (2500, 1, 3500)
    assert pending(changed) == (2500, 5, 3500)
    assert pending(canceled) == (2500, None, None)
    assert pending(pounds) == (2000, None, None)
    assert pending(backups) == (500, None, None)
    assert client_mrr(session, eur.id or 0) == mrr_before  # from the next period only
    assert history(session, running.id or 0)[-1] == (
        "change_scheduled",
        "Product repriced: unit price €25.00 -> €35.00 from the next period",
    )
    assert [a for a, _ in history(session, at_new_price.id or 0)] == ["created"]
    assert subscriptions.get_subscription(session, running.id or 0).updated_at == clock.now()


def test_repricing_says_how_many_subscriptions_it_updated(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock, price="35")
    attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    attach(
        session,
        clock,
        client_id=client.id,
        product_id=hosting,
        start_date=START,
        price_override="9",
    )
    updated = subscriptions.reprice_product_subscriptions(session, ADMIN, hosting, 900, clock=clock)
    assert updated == 2


# --------------------------------------------------------------------------- lists and detail


def test_one_subscription_is_shown_with_everything_about_it(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock, websites=[clients.WebsiteInput(name="Shop", url="s.test")])
    site = clients.websites_of(session, client.id or 0)[0]
    hosting = add_product(session, clock)
    sub = attach(
        session,
        clock,
        client_id=client.id,
        product_id=hosting,
        website_id=site.id,
        quantity=2,
        start_date=date(2026, 3, 1),
    )
    subscriptions.change(session, ADMIN, sub.id or 0, quantity="3", price="27.50", clock=clock)
    subscriptions.cancel_at_period_end(session, ADMIN, sub.id or 0, clock=clock)
    session.commit()
    row, _ = subscription_queries.subscription_detail(session, ADMIN, sub.id or 0)
    assert {f.name: getattr(row, f.name) for f in dataclasses.fields(row)} == {
        "id": sub.id,
        "client_id": client.id,
        "client_company": "Acme Bakery",
        "product_id": hosting,
        "product_name": "Managed hosting",
        "website_id": site.id,
        "website_name": "Shop",
        "kind": "recurring",
        "status": "canceled",
        "quantity": 2,
        "unit_price": Money(2500, "EUR"),
        "amount": Money(5000, "EUR"),
        "interval_label": "monthly",
        "mrr": Money(0, "EUR"),
        "start_date": date(2026, 3, 1),
        "next_renewal_on": None,
        "ends_on": date(2026, 4, 1),
        "cancel_at_period_end": True,
        "pending_quantity": 3,
        "pending_unit_price": Money(2750, "EUR"),
        "created_at": clock.now(),
    }
    once = attach(
        session,
        clock,
        client_id=client.id,
        product_id=add_product(session, clock, name="Setup", billing_type="one_time"),
        start_date=START,
    )
    row, _ = subscription_queries.subscription_detail(session, ADMIN, once.id or 0)
    # A one-time purchase is active until it is invoiced.
    assert (row.kind, row.status, row.interval_label, row.website_name) == (
        "one_time",
        "active",
        "one-time",
        "",
    )
    assert (row.pending_unit_price, row.next_renewal_on, row.mrr) == (None, None, Money(0, "EUR"))


def test_the_list_names_each_subscription_s_client_product_and_website(
    session: Session, clock: FixedClock
) -> None:
    a = add_client(
        session,
        clock,
        company="Alpha",
        email="a@x.test",
        websites=[clients.WebsiteInput(name="Alpha shop", url="a.test")],
    )
    b = add_client(
        session,
        clock,
        company="Beta",
        email="b@x.test",
        websites=[clients.WebsiteInput(name="Beta blog", url="b.test")],
    )
    hosting = add_product(session, clock)
    care = add_product(session, clock, name="Care", price="40")
    for client, product in ((a, hosting), (b, care)):
        site = clients.websites_of(session, client.id or 0)[0]
        attach(
            session,
            clock,
            client_id=client.id,
            product_id=product,
            website_id=site.id,
            start_date=START,
        )
    attach(session, clock, client_id=b.id, product_id=hosting, start_date=START)
    page = subscription_queries.list_subscriptions(session, ADMIN, ListRequest(sort="created"))
    assert [(r.client_company, r.product_name, r.website_name) for r in page.rows] == [
        ("Alpha", "Managed hosting", "Alpha shop"),
        ("Beta", "Care", "Beta blog"),
        ("Beta", "Managed hosting", ""),
    ]


def test_the_list_filters_by_status_tab_client_and_product(
    session: Session, clock: FixedClock
) -> None:
    a = add_client(session, clock, company="A", email="a@x.test")
    b = add_client(session, clock, company="B", email="b@x.test")
    hosting = add_product(session, clock)
    setup = add_product(session, clock, name="Setup", price="500", billing_type="one_time")
    active = attach(session, clock, client_id=a.id, product_id=hosting, start_date=START)
    paused = attach(session, clock, client_id=a.id, product_id=hosting, start_date=START)
    canceled = attach(session, clock, client_id=b.id, product_id=hosting, start_date=START)
    once = attach(session, clock, client_id=b.id, product_id=setup, start_date=START)
    subscriptions.pause(session, ADMIN, paused.id or 0, clock=clock)
    subscriptions.cancel_at_period_end(session, ADMIN, canceled.id or 0, clock=clock)
    session.commit()

    def ids(**filters: str) -> set[int]:
        request = ListRequest(filters=filters, per_page=50)
        return {r.id for r in subscription_queries.list_subscriptions(session, ADMIN, request).rows}

    every = {s.id for s in (active, paused, canceled, once)}
    assert ids() == every
    assert ids(status="canceled") == {canceled.id}
    assert ids(status="paused") == {paused.id}
    assert ids(status="all") == every
    assert ids(tab="active") == {active.id, paused.id}
    assert ids(tab="one_time") == {once.id}
    assert ids(tab="inactive") == {canceled.id}
    assert ids(tab="everything") == every
    assert ids(client=str(a.id)) == {active.id, paused.id}
    assert ids(product=str(setup)) == {once.id}
    assert ids(product="all") == every
    # A filter that is not an id matches nothing rather than everything.
    assert ids(client="first") == set()
    assert ids(product="first") == set()


def test_the_list_is_searched_by_client_and_by_what_was_sold(
    session: Session, clock: FixedClock
) -> None:
    a = add_client(session, clock, company="Boulangerie Ève", email="eve@x.test")
    b = add_client(session, clock, company="Garage Nord", email="nord@x.test")
    c = add_client(session, clock, company="Call_back Ltd", email="cb@x.test")
    mailbox = add_product(session, clock, name="Mail_box")
    spaced = add_product(session, clock, name="Mail box")
    percent = add_product(session, clock, name="100% uptime")
    attach(session, clock, client_id=a.id, product_id=mailbox, start_date=START)
    attach(session, clock, client_id=b.id, product_id=spaced, start_date=START)
    attach(session, clock, client_id=b.id, product_id=percent, start_date=START)
    attach(session, clock, client_id=c.id, product_id=percent, start_date=START)

    def found(term: str) -> list[tuple[str, str]]:
        page = subscription_queries.list_subscriptions(
            session, ADMIN, ListRequest(search=term, sort="created")
        )
        assert page.total == len(page.rows)
        return [(r.client_company, r.product_name) for r in page.rows]

    assert found("BOULANGERIE") == [("Boulangerie Ève", "Mail_box")]
    assert found("mail") == [("Boulangerie Ève", "Mail_box"), ("Garage Nord", "Mail box")]
    # "_" and "%" are what they are, not wildcards, in what was sold and in client names.
    assert found("l_b") == [("Boulangerie Ève", "Mail_box"), ("Call_back Ltd", "100% uptime")]
    assert found("0%") == [("Garage Nord", "100% uptime"), ("Call_back Ltd", "100% uptime")]
    assert found("Uptime") == [("Garage Nord", "100% uptime"), ("Call_back Ltd", "100% uptime")]
    assert found("nothing like it") == []


def test_the_list_sorts_by_renewal_creation_and_mrr_either_way(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    cheap = add_product(session, clock, name="Cheap", price="5")
    dear = add_product(session, clock, name="Dear", price="90")
    yearly = add_product(session, clock, name="Yearly", price="600", unit="year")
    first = attach(session, clock, client_id=client.id, product_id=dear, start_date=START)
    clock.advance(hours=1)
    second = attach(session, clock, client_id=client.id, product_id=yearly, start_date=START)
    clock.advance(hours=1)
    third = attach(session, clock, client_id=client.id, product_id=cheap, start_date=START)
    clock.advance(hours=1)
    stopped = attach(session, clock, client_id=client.id, product_id=cheap, start_date=START)
    subscriptions.cancel_now(session, ADMIN, stopped.id or 0, clock=clock)
    session.commit()

    def order(viewer: CurrentUser = ADMIN, **request: Any) -> list[int | None]:
        page = subscription_queries.list_subscriptions(session, viewer, ListRequest(**request))
        return [r.id for r in page.rows]

    a, b, c, d = first.id, second.id, third.id, stopped.id
    # Renewal: 14 April (a, c), then 14 March 2027 (b); the ended one has none and comes last.
    assert order(sort="next_renewal") == [a, c, b, d]
    assert order(sort="next_renewal", descending=True) == [b, c, a, d]
    assert order(sort="created") == [a, b, c, d]
    assert order(sort="created", descending=True) == [d, c, b, a]
    # MRR: 0 (ended), 5.00, 50.00 (600 a year), 90.00.
    assert order(sort="mrr") == [d, c, b, a]
    assert order(sort="mrr", descending=True) == [a, b, c, d]
    # Who may not see MRR may not sort by it either: the default order.
    assert order(NO_FIGURES, sort="mrr") == [a, c, b, d]
    # Pages follow one another in that order, whatever the sort and direction.
    for sort, descending, expected in (
        ("next_renewal", False, [a, c, b, d]),
        ("next_renewal", True, [b, c, a, d]),
        ("mrr", False, [d, c, b, a]),
    ):
        request = ListRequest(sort=sort, descending=descending, per_page=2)
        first_page = subscription_queries.list_subscriptions(session, ADMIN, request)
        following = subscription_queries.list_subscriptions(
            session, ADMIN, dataclasses.replace(request, after=first_page.last_key)
        )
        assert [r.id for r in first_page.rows + following.rows] == expected


def test_mrr_is_shown_only_to_who_may_see_revenue(session: Session, clock: FixedClock) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    admin_row, _ = subscription_queries.subscription_detail(session, ADMIN, sub.id or 0)
    sales_row, _ = subscription_queries.subscription_detail(session, NO_FIGURES, sub.id or 0)
    assert (admin_row.mrr, sales_row.mrr) == (Money(2500, "EUR"), None)
    listed = subscription_queries.list_subscriptions(session, ADMIN, ListRequest())
    hidden = subscription_queries.list_subscriptions(session, NO_FIGURES, ListRequest())
    assert [r.mrr for r in listed.rows] == [Money(2500, "EUR")]
    assert [r.mrr for r in hidden.rows] == [None]


# --------------------------------------------------------------------------- recurring figures


def test_a_client_s_figures_count_its_own_renewing_subscriptions_only(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    other = add_client(session, clock, email="o@x.test")
    hosting = add_product(session, clock)
    four_weekly = add_product(session, clock, name="Care", price="49", unit="week", count="4")
    setup = add_product(session, clock, name="Setup", price="500", billing_type="one_time")
    attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    attach(session, clock, client_id=client.id, product_id=four_weekly, start_date=START)
    attach(session, clock, client_id=client.id, product_id=setup, start_date=START)
    attach(session, clock, client_id=client.id, product_id=hosting, start_date=START, trial_days=7)
    paused = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    subscriptions.pause(session, ADMIN, paused.id or 0, clock=clock)
    attach(session, clock, client_id=other.id, product_id=hosting, start_date=START, quantity=4)
    session.commit()

    mine = client_of(session, client.id or 0)
    # 25.00 + 49.00 x 13 / 12 = 78.083... -> 78.08; the trial, the pause and the one-time
    # purchase count for nothing.
    assert (mine.mrr_minor, mine.active_subscriptions) == (7808, 2)
    theirs = client_of(session, other.id or 0)
    assert (theirs.mrr_minor, theirs.active_subscriptions) == (10000, 1)
    overview = client_queries.client_overview(session, ADMIN, client.id or 0)
    # ARR is the exact monthly amount x 12, rounded once: 300.00 + 637.00.
    assert (overview.mrr, overview.arr, overview.active_subscriptions) == (
        Money(7808, "EUR"),
        Money(93700, "EUR"),
        2,
    )
    assert recurring_revenue.recompute_mrr_from_scratch(session) == {
        client.id: Money(7808, "EUR"),
        other.id: Money(10000, "EUR"),
    }


def test_a_client_without_subscriptions_runs_at_zero_in_its_currency(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock, currency="JPY", locale="ja")
    overview = client_queries.client_overview(session, ADMIN, client.id or 0)
    assert (overview.mrr, overview.arr, overview.active_subscriptions) == (
        Money(0, "JPY"),
        Money(0, "JPY"),
        0,
    )


def test_revenue_per_currency_keeps_currencies_apart_and_leaves_one_time_sales_out(
    session: Session, clock: FixedClock
) -> None:
    eur = add_client(session, clock)
    gbp = add_client(session, clock, email="uk@x.test", currency="GBP", locale="en_GB")
    hosting = add_product(session, clock)
    setup = add_product(session, clock, name="Setup", price="500", billing_type="one_time")
    attach(session, clock, client_id=eur.id, product_id=hosting, start_date=START)
    attach(session, clock, client_id=eur.id, product_id=setup, start_date=START)
    attach(
        session, clock, client_id=gbp.id, product_id=hosting, start_date=START, price_override="20"
    )
    mrr, arr = recurring_revenue.recurring_revenue_by_currency(session)
    assert mrr == {"EUR": Money(2500, "EUR"), "GBP": Money(2000, "GBP")}
    assert arr == {"EUR": Money(30000, "EUR"), "GBP": Money(24000, "GBP")}
    assert recurring_revenue.mrr_by_currency(session) == mrr
