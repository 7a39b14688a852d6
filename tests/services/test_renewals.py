"""The renewal engine: periods billed on their first day (the agency's date), one invoice per
client, day and currency with a line per subscription and period (its service period printed);
nothing billed twice by a second run, two runs at once, or a run again; catch-up after downtime
up to the agency's limit with the rest held for staff; a runaway refused; trials, scheduled
changes, cancellations at period end and one-time purchases; the client's credit balance
first."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Client, Product, RenewalClaim, RenewalHold, Subscription
from billing_app.db.invoicing import AgencySettings, Invoice, InvoiceLine
from billing_app.db.models import AuditEvent, OutboxEmail
from billing_app.domain.periods import Interval, IntervalUnit, periods
from billing_app.domain.renewals import RUNAWAY_BOUND
from billing_app.services.billing.renewals import billing_run
from billing_app.services.catalog import subscriptions
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import FixedClock
from billing_app.services.credit_notes.ledger import add_credit

from .test_invoicing import world

__all__ = ["world"]

TODAY = date(2026, 3, 14)  # the test clock's day in Helsinki


def attach(session: Session, w: dict[str, Any], start: date, **kw: Any) -> Subscription:
    clock = kw.pop("clock", FixedClock(datetime(2026, 3, 14, 9, 30, tzinfo=UTC)))
    sub = subscriptions.attach(
        session,
        w["actor"],
        subscriptions.AttachInput(
            client_id=w["client"].id,
            product_id=kw.pop("product_id", w["product"].id),
            start_date=start,
            **kw,
        ),
        clock=clock,
    )
    session.commit()
    return sub


def invoices(session: Session) -> list[Invoice]:
    session.expire_all()
    return list(session.exec(select(Invoice).order_by(col(Invoice.id))))


def lines_of(session: Session, invoice_id: int | None) -> list[str]:
    return list(
        session.exec(
            select(InvoiceLine.description)
            .where(col(InvoiceLine.invoice_id) == invoice_id)
            .order_by(col(InvoiceLine.position))
        )
    )


def sub_of(session: Session, sub_id: int | None) -> Subscription:
    sub = session.get(Subscription, sub_id)
    assert sub is not None
    session.refresh(sub)
    return sub


def test_a_subscription_is_invoiced_on_its_first_day_and_again_next_period(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = attach(session, world, TODAY)

    report = billing_run(engine, clock=clock)

    assert report.invoices == ["INV-2026-00001"] and report.periods == 1
    [invoice] = invoices(session)
    assert (invoice.status, invoice.total_minor, invoice.issue_date) == ("open", 3000, TODAY)
    assert invoice.due_date == TODAY + timedelta(days=14)
    assert lines_of(session, invoice.id) == ["Managed hosting · Mar 14, 2026 – Apr 13, 2026"]
    assert sub_of(session, sub.id).next_billing_on == date(2026, 4, 14)
    [email] = session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == "invoice_sent"))
    assert email.subject == "Invoice INV-2026-00001 from Studio Nord Oy"

    assert billing_run(engine, clock=clock).invoices == []  # the same day again: nothing
    clock.advance(days=30)  # April 13: the period is not over yet
    assert billing_run(engine, clock=clock).invoices == []
    clock.advance(days=1)
    assert billing_run(engine, clock=clock).invoices == ["INV-2026-00002"]
    assert lines_of(session, invoices(session)[-1].id) == [
        "Managed hosting · Apr 14, 2026 – May 13, 2026"
    ]
    claims = session.exec(
        select(RenewalClaim.period_start).order_by(col(RenewalClaim.period_start))
    )
    assert list(claims) == [TODAY, date(2026, 4, 14)]


def test_a_clients_subscriptions_renewing_the_same_day_share_one_invoice(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    attach(session, world, TODAY)
    attach(session, world, TODAY, quantity="3", website_id=world["site"].id)

    report = billing_run(engine, clock=clock)

    assert len(report.invoices) == 1
    [invoice] = invoices(session)
    assert invoice.total_minor == 4 * 3000
    assert lines_of(session, invoice.id) == [
        "Managed hosting · Mar 14, 2026 – Apr 13, 2026",
        "Managed hosting · Shop · Mar 14, 2026 – Apr 13, 2026",
    ]


def test_after_downtime_the_oldest_periods_are_billed_up_to_the_limit_and_the_rest_held(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = attach(session, world, date(2025, 10, 31))  # five periods due by March 14

    report = billing_run(engine, clock=clock)

    assert (len(report.invoices), report.held) == (3, 2)
    made = invoices(session)
    assert [lines_of(session, i.id)[0].split(" · ")[1] for i in made] == [
        "Oct 31, 2025 – Nov 29, 2025",
        "Nov 30, 2025 – Dec 30, 2025",
        "Dec 31, 2025 – Jan 30, 2026",
    ]
    assert {i.issue_date for i in made} == {TODAY}  # dated the day they are made
    assert [i.number for i in made] == [f"INV-2026-0000{n}" for n in (1, 2, 3)]
    holds = session.exec(select(RenewalHold.period_start, RenewalHold.state)).all()
    assert sorted(holds) == [(date(2026, 1, 31), "held"), (date(2026, 2, 28), "held")]
    assert sub_of(session, sub.id).next_billing_on == date(2026, 3, 31)
    assert billing_run(engine, clock=clock).invoices == []  # held periods are not billed later


def test_a_runaway_is_refused_and_said(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = attach(session, world, date(2006, 1, 1))  # 243 periods due

    report = billing_run(engine, clock=clock)

    assert report.invoices == [] and report.runaways == [sub.id]
    assert sub_of(session, sub.id).next_billing_on == date(2006, 1, 1)
    refused = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "renewal.refused")
    ).all()
    assert [a.target for a in refused] == [f"subscription {sub.id}"]


def test_trials_scheduled_changes_cancellations_and_one_time_purchases(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    trial = attach(session, world, TODAY, trial_days="10")
    changed = attach(session, world, date(2026, 2, 20))
    ending = attach(session, world, date(2026, 2, 25))
    one_time = Product(
        name="Site audit",
        price_minor=50000,
        currency="EUR",
        billing_type="one_time",
        interval_unit="",
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(one_time)
    session.commit()
    audit = attach(session, world, TODAY, product_id=one_time.id)

    assert billing_run(engine, clock=clock).periods == 3  # all but the trial
    session.expire_all()  # the run changed them in its own transactions
    subscriptions.change(session, SYSTEM, changed.id, quantity="2", price="", clock=clock)
    subscriptions.cancel_at_period_end(session, SYSTEM, ending.id, clock=clock)
    session.commit()
    assert sub_of(session, audit.id).status == "ended"

    clock.advance(days=15)  # March 29: the trial ended on the 24th, the 20th's period renewed
    report = billing_run(engine, clock=clock)

    assert sub_of(session, trial.id).status == "active"
    renewed = {line for inv in invoices(session)[-2:] for line in lines_of(session, inv.id)}
    assert "Managed hosting · Mar 24, 2026 – Apr 23, 2026" in renewed  # the trial's first period
    assert "Managed hosting · Mar 20, 2026 – Apr 19, 2026" in renewed
    changed_line = session.exec(
        select(InvoiceLine).where(
            col(InvoiceLine.description) == "Managed hosting · Mar 20, 2026 – Apr 19, 2026"
        )
    ).one()
    assert changed_line.quantity == "2"
    assert report.periods == 2  # the canceled one ends on March 25 and bills nothing more
    assert sub_of(session, ending.id).next_billing_on is None


def test_two_runs_at_once_bill_each_period_once(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    for _ in range(6):
        attach(session, world, date(2026, 1, 14))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            billing_run(engine, clock=clock)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert errors == []
    made = invoices(session)
    assert len(made) == 3  # Jan 14, Feb 14, Mar 14: one invoice each for the six
    assert sorted(i.number for i in made) == [f"INV-2026-0000{n}" for n in (1, 2, 3)]
    assert len(session.exec(select(RenewalClaim)).all()) == 18
    assert all(len(lines_of(session, i.id)) == 6 for i in made)


def test_the_credit_balance_pays_a_renewal_first(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    attach(session, world, TODAY)
    add_credit(
        session,
        world["client"].id,
        "EUR",
        1000,
        kind="credit_note",
        actor=SYSTEM.actor(),
        actor_label="test",
        target="test",
        clock=clock,
    )
    session.commit()

    billing_run(engine, clock=clock)

    [invoice] = invoices(session)
    assert (invoice.credit_applied_minor, invoice.status) == (1000, "partially_paid")


def test_a_dry_run_says_what_would_be_billed_and_writes_nothing(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    attach(session, world, TODAY, quantity="2")
    report = billing_run(engine, clock=clock, dry_run=True)
    assert (report.periods, dict(report.amounts)) == (1, {"EUR": 5000})
    assert invoices(session) == []
    agency = session.get(AgencySettings, 1)
    assert agency is not None and agency.renewal_catch_up == 3


def test_the_command_bills_and_its_dry_run_forecasts_the_next_thirty_days(
    engine: sa.Engine,
    session: Session,
    world: dict[str, Any],
    monkeypatch: Any,
    capsys: Any,
) -> None:
    from billing_app import cli
    from billing_app.db import engine as db_engine

    attach(session, world, TODAY)
    monkeypatch.setattr(db_engine, "get_engine", lambda: engine)

    assert cli.main(["billing-run", "--now", "2026-03-14", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2026-03-14: would bill 1 period(s)" in out
    assert "€25.00 before taxes (EUR)" in out
    assert "Then until 2026-04-13:" in out  # the next renewal is April 14: none in 30 days
    assert invoices(session) == []

    assert cli.main(["billing-run", "--now", "2026-03-14"]) == 0
    out = capsys.readouterr().out
    assert "1 invoice(s) in " in out and ": INV-2026-00001" in out
    assert "1 PDF(s) rendered and email(s) queued after" in out
    assert cli.main(["billing-run", "--now", "2026-03-20", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "1 renewal(s), €25.00 before taxes (EUR)" in out  # April 14, within 30 days


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[tuple[date, str, int, int]], list[int]]:
    """Subscriptions (start, interval unit, count, trial days) and run days (offsets from the
    first start, increasing)."""
    subs = draw(
        st.lists(
            st.tuples(
                st.dates(date(2025, 1, 1), date(2025, 12, 31)),
                st.sampled_from(["day", "week", "month", "year"]),
                st.integers(1, 3),
                st.sampled_from([0, 0, 7, 31]),
            ),
            min_size=1,
            max_size=3,
        )
    )
    runs = sorted(set(draw(st.lists(st.integers(0, 400), min_size=1, max_size=4))))
    return subs, runs


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_random_histories_bill_what_a_simple_model_says(
    engine: sa.Engine, session: Session, world: dict[str, Any], history: Any
) -> None:
    """Whatever the subscriptions and whenever the runs, each period is billed once, in order,
    at the run on or after its first day, at most the catch-up limit per run (the rest held):
    as a plain simulation of the rule computes it."""
    subs, runs = history
    made: dict[int, tuple[date, Interval, date]] = {}
    for start, unit, count, trial in subs:
        product = Product(
            name=f"Plan {unit} {count}",
            price_minor=1000,
            currency="EUR",
            interval_unit=unit,
            interval_count=count,
            created_at=datetime(2025, 1, 1, tzinfo=UTC),
            updated_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
        session.add(product)
        session.commit()
        sub = attach(session, world, start, product_id=product.id, trial_days=str(trial))
        assert sub.id is not None
        anchor = start + timedelta(days=trial)
        made[sub.id] = (anchor, Interval(IntervalUnit(unit), count), anchor)
    first = min(start for start, *_ in subs)
    expected: set[tuple[int, date]] = set()
    held: set[tuple[int, date]] = set()
    for offset in runs:
        today = first + timedelta(days=offset)
        billing_run(engine, clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC)), today=today)
        for sub_id, (anchor, interval, next_on) in list(made.items()):
            due = [p for p in periods(anchor, interval, until=today + timedelta(days=1))]
            due = [p for p in due if p.start >= next_on and p.start <= today]
            if len(due) > RUNAWAY_BOUND:
                continue  # refused: nothing billed, nothing held
            for number, p in enumerate(due):
                (expected if number < 3 else held).add((sub_id, p.start))
            if due:
                made[sub_id] = (anchor, interval, due[-1].end)
    session.expire_all()
    claims = {
        (c.subscription_id, c.period_start)
        for c in session.exec(
            select(RenewalClaim).where(col(RenewalClaim.subscription_id).in_(list(made)))
        )
    }
    holds = {
        (h.subscription_id, h.period_start)
        for h in session.exec(
            select(RenewalHold).where(col(RenewalHold.subscription_id).in_(list(made)))
        )
    }
    assert claims == expected
    assert holds == held
    lines = session.exec(
        select(func.count())
        .select_from(InvoiceLine)
        .join(Invoice, col(Invoice.id) == col(InvoiceLine.invoice_id))
        .join(RenewalClaim, col(RenewalClaim.invoice_id) == col(Invoice.id))
        .where(col(RenewalClaim.subscription_id).in_(list(made)))
    ).one()
    assert lines >= len(expected)


def test_staff_bill_or_skip_a_held_period_once(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    from billing_app.domain.permissions import BuiltinRole
    from billing_app.services.billing import held_periods
    from billing_app.services.common.errors import Conflict, NotAllowed

    from .test_invoice_notices import as_role

    attach(session, world, date(2025, 10, 31))
    billing_run(engine, clock=clock)
    held = held_periods.held_periods(session, world["actor"])
    assert [(h.period.start, str(h.amount)) for h in held] == [
        (date(2026, 1, 31), "25.00 EUR"),
        (date(2026, 2, 28), "25.00 EUR"),
    ]
    with pytest.raises(NotAllowed):
        held_periods.bill_held(session, as_role(world, BuiltinRole.VIEWER), held[0].id, clock=clock)
    number = held_periods.bill_held(session, world["actor"], held[0].id, clock=clock)
    session.commit()
    assert lines_of(session, invoices(session)[-1].id) == [
        "Managed hosting · Jan 31, 2026 – Feb 27, 2026"
    ]
    assert number == "INV-2026-00004"
    held_periods.skip_held(session, world["actor"], held[1].id, clock=clock)
    session.commit()
    with pytest.raises(Conflict, match="billed already"):
        held_periods.bill_held(session, world["actor"], held[0].id, clock=clock)
    session.rollback()
    assert held_periods.held_periods(session, world["actor"]) == []
    states = session.exec(select(RenewalHold.state).order_by(col(RenewalHold.period_start)))
    assert list(states) == ["billed", "skipped"]
    assert billing_run(engine, clock=clock).invoices == []


def test_the_agency_sets_how_many_missed_periods_are_billed(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    from billing_app.services.agency import branding
    from billing_app.services.common.errors import ValidationFailed

    agency = session.get(AgencySettings, 1)
    assert agency is not None
    typed = branding.AgencyInput(
        legal_name=agency.legal_name,
        address=agency.address,
        tax_id=agency.tax_id,
        email=agency.email,
        default_currency=agency.default_currency,
        locale=agency.locale,
        time_zone=agency.time_zone,
        payment_terms_days=str(agency.payment_terms_days),
        number_format=agency.number_format,
        number_reset=agency.number_reset,
    )
    for wrong in ("0", "25", "two"):
        with pytest.raises(ValidationFailed, match="1 to 24") as bad:
            branding.update_agency(
                session, world["actor"], dataclasses.replace(typed, renewal_catch_up=wrong)
            )
        assert bad.value.errors.get("renewal_catch_up")
        session.rollback()
    branding.update_agency(
        session, world["actor"], dataclasses.replace(typed, renewal_catch_up="1")
    )
    session.commit()
    attach(session, world, date(2025, 12, 14))  # four periods due

    report = billing_run(engine, clock=clock)

    assert (len(report.invoices), report.held) == (1, 3)


@pytest.mark.parametrize(
    ("zone", "before", "after", "day"),
    [
        # Paris moves to summer time on March 29, 2026: 00:30 on March 31 is 22:30 UTC.
        ("Europe/Paris", (2026, 3, 30, 21, 59), (2026, 3, 30, 22, 0), date(2026, 3, 31)),
        # Sydney leaves summer time on April 5, 2026: its April 30 starts at 14:00 UTC.
        ("Australia/Sydney", (2026, 4, 29, 13, 59), (2026, 4, 29, 14, 0), date(2026, 4, 30)),
    ],
)
def test_a_period_starts_at_midnight_in_the_agencys_time_zone_across_dst(
    engine: sa.Engine,
    session: Session,
    world: dict[str, Any],
    zone: str,
    before: tuple[int, ...],
    after: tuple[int, ...],
    day: date,
) -> None:
    agency = session.get(AgencySettings, 1)
    assert agency is not None
    agency.time_zone = zone
    session.add(agency)
    session.commit()
    start = date(2026, 1, 31)
    attach(session, world, start, clock=FixedClock(datetime(2026, 1, 31, 12, tzinfo=UTC)))
    billing_run(engine, clock=FixedClock(datetime(2026, 1, 31, 12, tzinfo=UTC)))  # January

    late = billing_run(engine, clock=FixedClock(datetime(*before, tzinfo=UTC)))
    on_time = billing_run(engine, clock=FixedClock(datetime(*after, tzinfo=UTC)))

    # Feb 28 and Mar 31 (or Apr 30) follow the Jan 31 anchor; the period of ``day`` is billed
    # only once that day has begun in the agency's zone, dated that day.
    assert day in {on_time.today}
    assert late.today < day
    made = invoices(session)
    assert made[-1].issue_date == day
    assert lines_of(session, made[-1].id)[0].endswith(
        f"{day.strftime('%b')} {day.day}, {day.year} – "
        + (f"Apr 29, {day.year}" if day.month == 3 else f"May 30, {day.year}")
    )


def test_month_ends_and_february_29_follow_the_anchor(
    engine: sa.Engine, session: Session, world: dict[str, Any]
) -> None:
    start = date(2028, 1, 31)
    attach(session, world, start, clock=FixedClock(datetime(2028, 1, 31, 10, tzinfo=UTC)))
    for when in (date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30)):
        billing_run(engine, clock=FixedClock(datetime(2028, 5, 1, tzinfo=UTC)), today=when)
    starts = session.exec(
        select(RenewalClaim.period_start).order_by(col(RenewalClaim.period_start))
    )
    assert list(starts) == [
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
    ]


def test_the_billing_day_is_the_agencys_whatever_the_clients_language_and_country(
    engine: sa.Engine, session: Session, world: dict[str, Any]
) -> None:
    client = session.get(Client, world["client"].id)
    assert client is not None
    client.country, client.locale = "NZ", "en_NZ"  # already tomorrow in Auckland
    session.add(client)
    session.commit()
    attach(session, world, date(2026, 3, 15), clock=FixedClock(datetime(2026, 3, 14, tzinfo=UTC)))
    # 20:00 UTC on March 14 is 22:00 in Helsinki (the agency) and March 15 in Auckland.
    report = billing_run(engine, clock=FixedClock(datetime(2026, 3, 14, 20, tzinfo=UTC)))
    assert (report.today, report.invoices) == (date(2026, 3, 14), [])
