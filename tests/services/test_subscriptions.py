"""Subscriptions: attach (recurring, one-time, trial, website, currency rules), cancel now / at
period end / resume, pause, scheduled changes, recorded history, and stored MRR that always
equals a from-scratch recomputation with domain/mrr.py."""

from __future__ import annotations

import random
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.customers import Client, Subscription
from billing_app.domain.money import Money
from billing_app.domain.mrr import RecurringPrice, mrr_total
from billing_app.services.catalog import recurring_revenue, subscription_queries, subscriptions
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, ValidationFailed
from billing_app.services.common.listing import ListRequest
from billing_app.services.customers import client_queries, clients, demo

from .test_clients import ADMIN, add_client, add_product

START = date(2026, 3, 14)  # the fixed clock's day


def attach(session: Session, clock: FixedClock, **kwargs: object) -> Subscription:
    sub = subscriptions.attach(
        session,
        ADMIN,
        subscriptions.AttachInput(**kwargs),
        clock=clock,  # type: ignore[arg-type]
    )
    session.commit()
    return sub


def client_mrr(session: Session, client_id: int) -> int:
    client = session.get(Client, client_id)
    assert client is not None
    session.refresh(client)
    return client.mrr_minor


def test_recurring_product_creates_a_subscription_with_its_next_renewal(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock, websites=[clients.WebsiteInput(name="Shop", url="s.test")])
    assert client.id is not None
    site = clients.websites_of(session, client.id)[0]
    hosting = add_product(session, clock)
    sub = attach(
        session,
        clock,
        client_id=client.id,
        product_id=hosting,
        website_id=site.id,
        start_date=START,
    )
    assert (sub.kind, sub.status, sub.next_renewal_on) == ("recurring", "active", date(2026, 4, 14))
    assert sub.mrr_minor == 2500
    assert client_mrr(session, client.id) == 2500
    row, events = subscription_queries.subscription_detail(session, ADMIN, sub.id or 0)
    assert (row.website_name, row.product_name, row.interval_label) == (
        "Shop",
        "Managed hosting",
        "monthly",
    )
    assert [e.action for e in events] == ["created"]
    assert events[0].actor_label == "Ada Admin"


def test_month_end_anchor_and_future_start(session: Session, clock: FixedClock) -> None:
    client = add_client(session, clock)
    quarterly = add_product(session, clock, name="Care", price="90", unit="month", count="3")
    past = attach(
        session, clock, client_id=client.id, product_id=quarterly, start_date=date(2025, 11, 30)
    )
    assert past.next_renewal_on == date(2026, 5, 30)
    future = attach(
        session, clock, client_id=client.id, product_id=quarterly, start_date=date(2026, 6, 1)
    )
    assert future.next_renewal_on == date(2026, 6, 1)


def test_one_time_purchase_has_no_renewal_and_no_mrr(session: Session, clock: FixedClock) -> None:
    client = add_client(session, clock)
    setup = add_product(session, clock, name="Setup", price="500", billing_type="one_time")
    sub = attach(session, clock, client_id=client.id, product_id=setup, start_date=START)
    assert (sub.kind, sub.next_renewal_on, sub.mrr_minor) == ("one_time", None, 0)
    assert client_mrr(session, client.id or 0) == 0
    assert subscription_queries.tab_counts(session, ADMIN, client.id or 0) == {
        "active": 0,
        "one_time": 1,
        "inactive": 0,
    }


def test_trial_starts_billing_after_the_trial_and_has_no_mrr_yet(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(
        session, clock, client_id=client.id, product_id=hosting, start_date=START, trial_days=14
    )
    assert (sub.status, sub.trial_ends_on, sub.next_renewal_on) == (
        "trialing",
        date(2026, 3, 28),
        date(2026, 3, 28),
    )
    assert sub.mrr_minor == 0


def test_currency_must_match_the_client_unless_a_price_is_given(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock, currency="GBP", locale="en_GB")
    euro = add_product(session, clock, currency="EUR")
    with pytest.raises(ValidationFailed) as caught:
        attach(session, clock, client_id=client.id, product_id=euro, start_date=START)
    assert caught.value.field == "price"
    assert "enter a price in GBP" in caught.value.message
    session.rollback()
    sub = attach(
        session,
        clock,
        client_id=client.id,
        product_id=euro,
        start_date=START,
        price_override="£21.50",
    )
    assert (sub.currency, sub.unit_price_minor) == ("GBP", 2150)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "two"}, "quantity"),
        ({"price_override": "12.345"}, "price"),
        ({"price_override": "-5"}, "price"),
        ({"trial_days": "400"}, "trial_days"),
        ({"website_id": 99999}, "website_id"),
    ],
)
def test_bad_attach_input_names_the_field_and_writes_nothing(
    session: Session, clock: FixedClock, kwargs: dict[str, object], field: str
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    with pytest.raises(ValidationFailed) as caught:
        attach(session, clock, client_id=client.id, product_id=hosting, start_date=START, **kwargs)
    assert caught.value.field == field
    session.rollback()
    assert session.exec(select(Subscription)).all() == []


@pytest.mark.parametrize("text", ["1e2", "NaN", "Infinity", "1_0", "٣", str(10**23)])
def test_quantities_and_trial_days_are_read_in_plain_notation_only(
    session: Session, clock: FixedClock, text: str
) -> None:
    """docs/security.md item 34: no exponents, NaN, underscores, non-ASCII digits or huge
    numbers."""
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    for field, message in (("quantity", "Enter a whole number"), ("trial_days", "number of days")):
        with pytest.raises(ValidationFailed, match=message) as caught:
            attach(
                session,
                clock,
                client_id=client.id,
                product_id=hosting,
                start_date=START,
                **{field: text},
            )
        assert caught.value.field == field
        session.rollback()
    assert session.exec(select(Subscription)).all() == []


def test_a_website_of_another_client_is_refused(session: Session, clock: FixedClock) -> None:
    other = add_client(
        session, clock, email="o@x.test", websites=[clients.WebsiteInput(name="O", url="o.test")]
    )
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    site = clients.websites_of(session, other.id or 0)[0]
    with pytest.raises(ValidationFailed) as caught:
        attach(
            session,
            clock,
            client_id=client.id,
            product_id=hosting,
            website_id=site.id,
            start_date=START,
        )
    assert caught.value.field == "website_id"


def test_cancel_at_period_end_then_resume_then_cancel_now(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    sub_id = sub.id or 0
    subscriptions.cancel_at_period_end(session, ADMIN, sub_id, clock=clock)
    session.commit()
    sub = subscriptions.get_subscription(session, sub_id)
    assert (sub.status, sub.ends_on, sub.next_renewal_on) == ("canceled", date(2026, 4, 14), None)
    assert client_mrr(session, client.id or 0) == 0
    assert subscription_queries.tab_counts(session, ADMIN, client.id or 0)["inactive"] == 1

    clock.advance(days=3)
    subscriptions.resume_cancellation(session, ADMIN, sub_id, clock=clock)
    session.commit()
    sub = subscriptions.get_subscription(session, sub_id)
    assert (sub.status, sub.next_renewal_on, sub.ends_on) == ("active", date(2026, 4, 14), None)
    assert client_mrr(session, client.id or 0) == 2500

    subscriptions.cancel_now(session, ADMIN, sub_id, clock=clock)
    session.commit()
    sub = subscriptions.get_subscription(session, sub_id)
    assert (sub.status, sub.ends_on) == ("ended", date(2026, 3, 17))
    with pytest.raises(Conflict):
        subscriptions.resume_cancellation(session, ADMIN, sub_id, clock=clock)
    _, events = subscription_queries.subscription_detail(session, ADMIN, sub_id)
    assert [e.action for e in events] == [
        "canceled_now",
        "cancellation_withdrawn",
        "cancel_at_period_end",
        "created",
    ]


def test_resume_after_the_period_is_refused_and_due_cancellations_end(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    subscriptions.cancel_at_period_end(session, ADMIN, sub.id or 0, clock=clock)
    session.commit()
    clock.advance(days=31)
    with pytest.raises(Conflict):
        subscriptions.resume_cancellation(session, ADMIN, sub.id or 0, clock=clock)
    session.rollback()
    assert subscriptions.end_due_cancellations(session, ADMIN, clock=clock) == 1
    session.commit()
    assert subscriptions.get_subscription(session, sub.id or 0).status == "ended"


def test_pause_and_resume(session: Session, clock: FixedClock) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    subscriptions.pause(session, ADMIN, sub.id or 0, clock=clock)
    session.commit()
    assert client_mrr(session, client.id or 0) == 0
    clock.advance(days=40)
    subscriptions.unpause(session, ADMIN, sub.id or 0, clock=clock)
    session.commit()
    sub = subscriptions.get_subscription(session, sub.id or 0)
    assert (sub.status, sub.next_renewal_on) == ("active", date(2026, 5, 14))
    assert client_mrr(session, client.id or 0) == 2500


def test_quantity_and_price_changes_take_effect_next_period(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    hosting = add_product(session, clock)
    sub = attach(session, clock, client_id=client.id, product_id=hosting, start_date=START)
    subscriptions.change(session, ADMIN, sub.id or 0, quantity="3", price="20", clock=clock)
    session.commit()
    sub = subscriptions.get_subscription(session, sub.id or 0)
    assert (sub.quantity, sub.unit_price_minor) == (1, 2500)
    assert (sub.pending_quantity, sub.pending_unit_price_minor) == (3, 2000)
    assert client_mrr(session, client.id or 0) == 2500
    subscriptions.apply_pending(session, ADMIN, sub.id or 0, clock=clock)
    session.commit()
    assert client_mrr(session, client.id or 0) == 6000
    _, events = subscription_queries.subscription_detail(session, ADMIN, sub.id or 0)
    assert "quantity 1 -> 3" in events[1].details
    assert "€25.00 -> €20.00" in events[1].details


def test_lists_filter_by_client_product_status_and_sort_by_next_renewal(
    session: Session, clock: FixedClock
) -> None:
    a = add_client(session, clock, company="A", email="a@x.test")
    b = add_client(session, clock, company="B", email="b@x.test")
    hosting = add_product(session, clock)
    yearly = add_product(session, clock, name="Domain", price="15", unit="year")
    attach(session, clock, client_id=a.id, product_id=yearly, start_date=START)
    attach(session, clock, client_id=b.id, product_id=hosting, start_date=START)
    attach(session, clock, client_id=b.id, product_id=hosting, start_date=date(2026, 3, 20))
    page = subscription_queries.list_subscriptions(session, ADMIN, ListRequest(sort="next_renewal"))
    assert [(r.client_company, r.next_renewal_on) for r in page.rows] == [
        ("B", date(2026, 3, 20)),
        ("B", date(2026, 4, 14)),
        ("A", date(2027, 3, 14)),
    ]
    assert (
        subscription_queries.list_subscriptions(
            session, ADMIN, ListRequest(filters={"product": str(yearly)})
        ).total
        == 1
    )
    assert (
        subscription_queries.list_subscriptions(
            session, ADMIN, ListRequest(filters={"client": str(b.id)})
        ).total
        == 2
    )
    assert (
        subscription_queries.list_subscriptions(
            session, ADMIN, ListRequest(filters={"status": "canceled"})
        ).total
        == 0
    )


def test_stored_mrr_always_equals_a_recomputation_from_scratch(
    session: Session, clock: FixedClock
) -> None:
    """Random operations on many subscriptions of several intervals and currencies: after each
    batch the stored client and subscription figures equal domain/mrr.py recomputed."""
    rng = random.Random(4)
    products = [
        add_product(session, clock, name="Weekly", price="9.99", unit="week"),
        add_product(session, clock, name="4-weekly", price="33.33", unit="week", count="4"),
        add_product(session, clock, name="Daily", price="1.01", unit="day"),
        add_product(session, clock, name="Quarterly", price="100.01", unit="month", count="3"),
        add_product(session, clock, name="Yearly", price="1000.07", unit="year"),
        add_product(session, clock, name="JPY", price="1000", currency="JPY"),
    ]
    client_ids = []
    for i in range(6):
        currency = "JPY" if i == 5 else "EUR"
        client = add_client(
            session, clock, company=f"C{i}", email=f"c{i}@x.test", currency=currency
        )
        client_ids.append(client.id or 0)
    sub_ids: list[int] = []
    for _round in range(6):
        for _ in range(8):
            client_id = rng.choice(client_ids)
            product_id = products[5] if client_id == client_ids[5] else rng.choice(products[:5])
            sub = subscriptions.attach(
                session,
                ADMIN,
                subscriptions.AttachInput(
                    client_id=client_id,
                    product_id=product_id,
                    quantity=rng.randint(1, 7),
                    start_date=START,
                ),
                clock=clock,
            )
            sub_ids.append(sub.id or 0)
        for sub_id in rng.sample(sub_ids, 4):
            action = rng.choice(["cancel_now", "cancel_end", "pause", "change", "resume"])
            try:
                if action == "cancel_now":
                    subscriptions.cancel_now(session, ADMIN, sub_id, clock=clock)
                elif action == "cancel_end":
                    subscriptions.cancel_at_period_end(session, ADMIN, sub_id, clock=clock)
                elif action == "pause":
                    subscriptions.pause(session, ADMIN, sub_id, clock=clock)
                elif action == "resume":
                    subscriptions.unpause(session, ADMIN, sub_id, clock=clock)
                else:
                    subscriptions.change(
                        session, ADMIN, sub_id, quantity=rng.randint(1, 9), price="", clock=clock
                    )
                    subscriptions.apply_pending(session, ADMIN, sub_id, clock=clock)
            except Conflict:
                pass
        session.commit()
        expected = recurring_revenue.recompute_mrr_from_scratch(session)
        stored = {
            c.id: c.mrr_minor
            for c in session.exec(select(Client).where(col(Client.id).in_(client_ids))).all()
        }
        assert stored == {
            cid: expected[cid].amount_minor if cid in expected else 0 for cid in stored
        }
        for sub in session.exec(select(Subscription)).all():
            assert sub.mrr_minor == recurring_revenue.subscription_mrr_minor(sub)
    renewing = [
        RecurringPrice(
            Money(sub.unit_price_minor, sub.currency),
            recurring_revenue.interval_of(sub),  # type: ignore[arg-type]
            sub.quantity,
        )
        for sub in session.exec(select(Subscription)).all()
        if sub.kind == "recurring" and sub.status in ("active", "past_due")
    ]
    assert recurring_revenue.mrr_by_currency(session) == mrr_total(renewing)
    assert recurring_revenue.mrr_by_currency(session)["EUR"].amount_minor > 0


def test_demo_data_satisfies_the_same_invariants(engine: sa.Engine, clock: FixedClock) -> None:
    report = demo.seed_demo(engine, clients=120, clock=clock)
    assert (report.clients, report.products) == (120, 8)
    with Session(engine) as session:
        expected = recurring_revenue.recompute_mrr_from_scratch(session)
        stored = session.exec(select(Client)).all()
        assert len(stored) == 120
        for client in stored:
            want = expected[client.id].amount_minor if client.id in expected else 0
            assert client.mrr_minor == want, client.company
        for sub in session.exec(select(Subscription)).all():
            assert sub.mrr_minor == recurring_revenue.subscription_mrr_minor(sub)
        # the services keep working on top of bulk-loaded rows (sequences were moved on)
        client = add_client(session, clock, email="after-seed@x.test")
        assert client.id == 121
        assert (
            client_queries.list_clients(session, ADMIN, ListRequest(search="after-seed")).total == 1
        )


def test_seed_demo_command(engine: sa.Engine, capsys: pytest.CaptureFixture[str]) -> None:
    from billing_app import cli
    from billing_app.db.engine import dispose_engines

    url = engine.url.render_as_string(hide_password=False)
    try:
        assert cli.main(["seed-demo", "--clients", "7", "--database-url", url]) == 0
        assert cli.main(["seed-demo", "--clients", "0", "--database-url", url]) == 2
    finally:
        dispose_engines()
    out, err = capsys.readouterr()
    assert out.startswith("7 clients, ")
    assert "--clients" in err
    with Session(engine) as session:
        assert (
            client_queries.list_clients(
                session, ADMIN, ListRequest(filters={"status": "all"})
            ).total
            == 7
        )
