"""Reports > MRR read monthly rollups the ledger's own flush keeps exact: for random histories
through the real services, the report equals domain.revenue.monthly_figures over the raw ledger
and the MRR recomputed from the subscriptions at every month end; golden figures for a small
hand-made agency history; no reports.view, no figures."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from billing_app.db.customers import Client, MrrMovement, Product, Subscription, SubscriptionEvent
from billing_app.db.invoicing import Brand
from billing_app.db.mrr_rollups import MrrClientMonth, MrrMonth
from billing_app.domain.permissions import BUILTIN_ROLE_PERMISSIONS, BuiltinRole, Permission
from billing_app.domain.revenue import LedgerEntry, MonthFigures, monthly_figures, percent
from billing_app.services.access.identity import CurrentUser
from billing_app.services.catalog import subscriptions
from billing_app.services.catalog.recurring_revenue import subscription_mrr_minor
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, ValidationFailed
from billing_app.services.reporting.mrr_reports import (
    MrrFilters,
    client_mrr_history,
    mrr_report,
    mrr_report_csv,
)

from .test_invoicing import world

__all__ = ["world"]

HELSINKI = ZoneInfo("Europe/Helsinki")  # the world's agency time zone
UNTIL = date(2026, 6, 1)
NOW = datetime(2024, 1, 1, tzinfo=UTC)


def without_reports(w: dict[str, Any]) -> CurrentUser:
    actor: CurrentUser = w["actor"]
    return CurrentUser(
        id=actor.id,
        name=actor.name,
        email=actor.email,
        role_key="custom",
        role_label="Support",
        permissions=BUILTIN_ROLE_PERMISSIONS[BuiltinRole.VIEWER] - {Permission.REPORTS_VIEW},
    )


def at(day: date, hour: int = 9) -> FixedClock:
    return FixedClock(datetime(day.year, day.month, day.day, hour, 30, tzinfo=UTC))


def make_client(session: Session, name: str, currency: str, brand_id: int | None = None) -> int:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    found = session.exec(select(Client).where(col(Client.email) == f"{name}@clients.test")).first()
    if found is not None:
        found.brand_id = brand_id
        session.add(found)
        session.commit()
        assert found.id is not None
        return found.id
    client = Client(
        company=name,
        email=f"{name}@clients.test",
        currency=currency,
        brand_id=brand_id,
        created_at=now,
        updated_at=now,
    )
    session.add(client)
    session.commit()
    assert client.id is not None
    return client.id


def make_product(session: Session, currency: str, unit: str = "month", count: int = 1) -> int:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    product = Product(
        name=f"Care {currency} {unit} {count}",
        price_minor=2500 if currency == "EUR" else 10000,
        currency=currency,
        billing_type="recurring",
        interval_unit=unit,
        interval_count=count,
        created_at=now,
        updated_at=now,
    )
    session.add(product)
    session.commit()
    assert product.id is not None
    return product.id


def attach(
    session: Session, w: dict[str, Any], client: int, product: int, day: date, q: int = 1, **kw: Any
) -> int:
    sub = subscriptions.attach(
        session,
        w["actor"],
        subscriptions.AttachInput(client_id=client, product_id=product, start_date=day, quantity=q),
        clock=kw.get("clock") or at(day),
    )
    session.commit()
    assert sub.id is not None
    return sub.id


def change_now(session: Session, w: dict[str, Any], sub: int, q: int, clock: FixedClock) -> None:
    subscriptions.change(session, w["actor"], sub, quantity=str(q), price="", clock=clock)
    subscriptions.apply_pending(session, w["actor"], sub, clock=clock)
    session.commit()


def raw_ledger(session: Session, clients: set[int] | None = None) -> list[LedgerEntry]:
    session.expire_all()
    query = select(MrrMovement).order_by(col(MrrMovement.at), col(MrrMovement.id))
    return [
        LedgerEntry(m.client_id, m.currency, m.delta_minor, m.at.astimezone(HELSINKI).date())
        for m in session.exec(query)
        if clients is None or m.client_id in clients
    ]


def expected(entries: list[LedgerEntry], filters: MrrFilters) -> list[MonthFigures]:
    assert filters.until is not None
    last = filters.until.replace(day=1)
    first = last
    for _ in range(filters.months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    from billing_app.domain.revenue import month_starts

    return monthly_figures(entries, month_starts(first, last))


# --------------------------------------------------------------------------- golden figures


def test_golden_figures_of_a_small_agency_history(session: Session, world: dict[str, Any]) -> None:
    """Studio Nord's first quarter of 2026 (agency in Helsinki):

    Jan 10  Atelier (EUR) takes Care at €25.00 x1           new €25.00
    Jan 20  Bakery (EUR) takes Care x2                       new €50.00
    Feb 5   Atelier goes to x3                               expansion €50.00
    Feb 15  Bakery pauses                                    churn €50.00
    Mar 3   Bakery resumes                                   reactivation €50.00
    Mar 10  Atelier goes down to x2                          contraction €25.00
    Mar 12  Cycles (USD) takes Care at $100.00               new $100.00 (USD on its own)
    Mar 31 23:30 UTC (Apr 1 in Helsinki): Atelier cancels    churn in April, not March

    EUR: January ends at €75.00 with 2 customers; February starts there: +€50 expansion,
    -€50 churn, €75.00 with 1 customer, logo churn 1/2 = 50.0 %, revenue churn 50/75 = 66.7 %,
    NRR (75 + 50 - 50)/75 = 100.0 %; March: +€50 reactivation, -€25 contraction, €100.00 with 2
    customers, ARPA €50.00, logo churn 0.0 %, revenue churn 25/75 = 33.3 %, NRR 50/75 = 66.7 %,
    ARR €1,200.00; April: Atelier's €50.00 churns: €50.00, 1 customer.
    """
    eur, usd = make_product(session, "EUR"), make_product(session, "USD")
    atelier = make_client(session, "atelier", "EUR")
    bakery = make_client(session, "bakery", "EUR")
    cycles = make_client(session, "cycles", "USD")
    a = attach(session, world, atelier, eur, date(2026, 1, 10))
    b = attach(session, world, bakery, eur, date(2026, 1, 20), q=2)
    change_now(session, world, a, 3, at(date(2026, 2, 5)))
    subscriptions.pause(session, world["actor"], b, clock=at(date(2026, 2, 15)))
    session.commit()
    subscriptions.unpause(session, world["actor"], b, clock=at(date(2026, 3, 3)))
    session.commit()
    change_now(session, world, a, 2, at(date(2026, 3, 10)))
    attach(session, world, cycles, usd, date(2026, 3, 12))
    subscriptions.cancel_now(session, world["actor"], a, clock=at(date(2026, 3, 31), hour=23))
    session.commit()

    filters = MrrFilters(months=4, until=date(2026, 4, 30))
    report = mrr_report(session, world["actor"], filters)
    rows = [
        (
            f.month.strftime("%Y-%m"),
            f.currency,
            f.mrr.amount_minor,
            f.customers,
            *(
                getattr(f.movements, k).amount_minor
                for k in ("new", "reactivation", "expansion", "contraction", "churn")
            ),
        )
        for f in report
    ]
    # month, currency, MRR, customers, new, reactivation, expansion, contraction, churn
    assert rows == [
        ("2026-01", "EUR", 7500, 2, 7500, 0, 0, 0, 0),
        ("2026-02", "EUR", 7500, 1, 0, 0, 5000, 0, 5000),
        ("2026-03", "EUR", 10000, 2, 0, 5000, 0, 2500, 0),
        ("2026-03", "USD", 10000, 1, 10000, 0, 0, 0, 0),
        ("2026-04", "EUR", 5000, 1, 0, 0, 0, 0, 5000),
        ("2026-04", "USD", 10000, 1, 0, 0, 0, 0, 0),
    ]
    feb, mar = report[1], report[2]
    rates = [
        (percent(f.logo_churn), percent(f.revenue_churn), percent(f.net_revenue_retention))  # type: ignore[arg-type]
        for f in (feb, mar)
    ]
    assert [tuple(str(r) for r in row) for row in rates] == [
        ("50.0", "66.7", "100.0"),
        ("0.0", "33.3", "66.7"),
    ]
    assert str(mar.arpa) == "50.00 EUR" and str(mar.arr) == "1200.00 EUR"
    assert report[3].logo_churn is None  # USD had no customers at the start of March
    assert report == expected(raw_ledger(session), filters)

    # Only USD; the CSV says the same as the page.
    only_usd = mrr_report(session, world["actor"], MrrFilters(4, date(2026, 4, 30), None, "USD"))
    assert [(f.month.month, f.currency) for f in only_usd] == [(3, "USD"), (4, "USD")]
    lines = list(
        csv.reader(
            io.StringIO(mrr_report_csv(session, world["actor"], filters).decode("utf-8-sig"))
        )
    )
    assert lines[0][:3] == ["Month", "Currency", "MRR"]
    assert lines[2] == [
        "2026-02", "EUR", "75.00", "900.00", "0.00", "0.00", "50.00", "0.00", "50.00", "0.00",
        "1", "75.00", "50.0", "66.7", "100.0",
    ]  # fmt: skip

    # The client overview's history: Atelier's MRR at each month end.
    history = client_mrr_history(
        session, world["actor"], atelier, months=4, clock=at(date(2026, 4, 15))
    )
    assert [str(h.amount) for h in history] == ["25.00 EUR", "75.00 EUR", "50.00 EUR", "0.00 EUR"]


def test_a_brand_keeps_the_history_of_the_clients_it_has_now(
    session: Session, world: dict[str, Any]
) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    other = Brand(name="Second studio", email_footer="", created_at=NOW, updated_at=NOW)
    session.add(other)
    session.commit()
    assert other.id is not None
    eur = make_product(session, "EUR")
    atelier = make_client(session, "atelier", "EUR")
    bakery = make_client(session, "bakery", "EUR", brand_id=other.id)
    attach(session, world, atelier, eur, date(2026, 1, 10))
    attach(session, world, bakery, eur, date(2026, 2, 10), q=2)
    filters = MrrFilters(months=3, until=date(2026, 3, 1), brand_id=other.id)
    assert [str(f.mrr) for f in mrr_report(session, world["actor"], filters)] == [
        "50.00 EUR",
        "50.00 EUR",
    ]
    # Atelier moves to the second brand: its history moves with it.
    client = session.get(Client, atelier)
    assert client is not None
    client.brand_id, client.updated_at = other.id, now
    session.add(client)
    session.commit()
    report = mrr_report(session, world["actor"], filters)
    assert [str(f.mrr) for f in report] == ["25.00 EUR", "75.00 EUR", "75.00 EUR"]
    assert report == expected(raw_ledger(session), filters)
    everyone = MrrFilters(months=3, until=date(2026, 3, 1))
    assert mrr_report(session, world["actor"], everyone) == report


def test_reports_need_reports_view_and_a_valid_period(
    session: Session, world: dict[str, Any]
) -> None:
    support = without_reports(world)
    with pytest.raises(NotAllowed):
        mrr_report(session, support, MrrFilters())
    with pytest.raises(NotAllowed):
        mrr_report_csv(session, support, MrrFilters())
    with pytest.raises(NotAllowed):
        client_mrr_history(session, support, world["client"].id)
    with pytest.raises(ValidationFailed, match="1 to 24 months"):
        mrr_report(session, world["actor"], MrrFilters(months=25))


# --------------------------------------------------------------------------- property


ACTIONS = ("attach", "change", "pause", "resume", "cancel", "cancel_later", "withdraw", "brand")


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[int, int, str, int, int]]:
    """Steps (day offset from 2025-01-01, hour UTC, action, target, quantity), days increasing."""
    steps = draw(
        st.lists(
            st.tuples(
                st.integers(0, 500),
                st.sampled_from([9, 22]),  # 22:30 UTC is the next day in Helsinki
                st.sampled_from(ACTIONS),
                st.integers(0, 7),
                st.integers(1, 4),
            ),
            min_size=1,
            max_size=14,
        )
    )
    return sorted(steps, key=lambda s: (s[0], s[1]))


def _reset(session: Session) -> None:
    for table in (MrrMonth, MrrClientMonth, MrrMovement, SubscriptionEvent, Subscription):
        session.execute(sa.delete(table))
    session.commit()


def scratch(session: Session) -> dict[str, tuple[int, int]]:
    """MRR and customers per currency computed from the subscriptions alone."""
    session.expire_all()
    per_client: dict[tuple[int, str], int] = defaultdict(int)
    for sub in session.exec(select(Subscription)):
        per_client[(sub.client_id, sub.currency)] += subscription_mrr_minor(sub)
    result: dict[str, tuple[int, int]] = {}
    for (_, cur), amount in per_client.items():
        mrr, n = result.get(cur, (0, 0))
        result[cur] = (mrr + amount, n + (amount > 0))
    return {cur: v for cur, v in result.items() if v[0]}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_random_histories_report_what_the_ledger_and_the_subscriptions_say(
    session: Session, world: dict[str, Any], history: Any
) -> None:
    _reset(session)
    brands = session.exec(select(Brand).where(col(Brand.name) == "Second studio")).first()
    if brands is None:
        brands = Brand(name="Second studio", email_footer="", created_at=NOW, updated_at=NOW)
        session.add(brands)
        session.commit()
    products = {
        "EUR": [make_product(session, "EUR"), make_product(session, "EUR", "year")],
        "USD": [make_product(session, "USD", "week", 2)],
    }
    clients = [
        (make_client(session, "atelier", "EUR"), "EUR"),
        (make_client(session, "bakery", "EUR"), "EUR"),
        (make_client(session, "cycles", "USD"), "USD"),
    ]
    subs: list[int] = []
    snapshots: dict[date, dict[str, tuple[int, int]]] = {}
    month = None
    for offset, hour, action, target, quantity in history:
        day = date(2025, 1, 1) + timedelta(days=offset)
        clock = at(day, hour)
        local_month = clock.now().astimezone(HELSINKI).date().replace(day=1)
        if month is not None and local_month != month:
            snapshots[month] = scratch(session)
        month = local_month
        try:
            if action == "attach" or not subs:
                client, cur = clients[target % 3]
                product = products[cur][target % len(products[cur])]
                subs.append(attach(session, world, client, product, day, quantity, clock=clock))
                continue
            sub = subs[target % len(subs)]
            actor = world["actor"]
            if action == "change":
                change_now(session, world, sub, quantity, clock)
            elif action == "pause":
                subscriptions.pause(session, actor, sub, clock=clock)
            elif action == "resume":
                subscriptions.unpause(session, actor, sub, clock=clock)
            elif action == "cancel":
                subscriptions.cancel_now(session, actor, sub, clock=clock)
            elif action == "cancel_later":
                subscriptions.cancel_at_period_end(session, actor, sub, clock=clock)
            elif action == "withdraw":
                subscriptions.resume_cancellation(session, actor, sub, clock=clock)
            elif action == "brand":
                row = session.get(Client, clients[target % 3][0])
                assert row is not None
                row.brand_id = None if row.brand_id else brands.id
                session.add(row)
            session.commit()
        except (Conflict, ValidationFailed):
            session.rollback()
    assert month is not None
    snapshots[month] = scratch(session)

    entries = raw_ledger(session)
    filters = MrrFilters(months=24, until=UNTIL)
    report = mrr_report(session, world["actor"], filters)
    assert report == expected(entries, filters)
    by_month = {(f.month, f.currency): (f.mrr.amount_minor, f.customers) for f in report}
    for month_start, figures in snapshots.items():
        reported = {cur: v for (m, cur), v in by_month.items() if m == month_start and v[0]}
        assert reported == figures, month_start
    in_brand = {
        c.id
        for c in session.exec(select(Client).where(col(Client.brand_id) == brands.id))
        if c.id is not None
    }
    branded = MrrFilters(months=24, until=UNTIL, brand_id=brands.id)
    assert mrr_report(session, world["actor"], branded) == expected(
        raw_ledger(session, in_brand), branded
    )


def test_a_clients_payments_per_month_are_payments_less_refunds(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    """€496.92 invoice: €300.00 paid and €50.00 refunded on 14 March: €250.00 in March, nothing
    in February; the chart needs payments.read besides reports.view."""
    from billing_app.services.invoicing import payments
    from billing_app.services.invoicing.payments import PaymentForm
    from billing_app.services.reporting.mrr_reports import client_payments_by_month

    from .test_invoice_notices import TODAY, sent_invoice

    invoice = sent_invoice(session, world, clock)
    assert invoice.id is not None
    payments.record_payment(
        session, world["actor"], invoice.id, PaymentForm("300.00", "cash", TODAY), clock=clock
    )
    payments.record_refund(
        session, world["actor"], invoice.id, PaymentForm("50.00", "cash", TODAY), clock=clock
    )
    session.commit()
    months = client_payments_by_month(
        session, world["actor"], world["client"].id, months=2, clock=clock
    )
    assert [(f.month, str(f.amount)) for f in months] == [
        (date(2026, 2, 1), "0.00 EUR"),
        (date(2026, 3, 1), "250.00 EUR"),
    ]
    with pytest.raises(NotAllowed):
        client_payments_by_month(session, without_reports(world), world["client"].id, clock=clock)
