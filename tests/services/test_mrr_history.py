"""Migration 0033 rebuilds the MRR history of subscriptions older than the ledger from their
change records, then fills the rollups from the ledger: a database whose ledger was seeded by
0029 (one "new" movement per subscription with MRR today, none for the others) gets back the
movements the ledger would have written, and the reports read them."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.customers import MrrMovement, Subscription
from billing_app.services.catalog import subscriptions
from billing_app.services.reporting.mrr_reports import MrrFilters, mrr_report
from tests.conftest import downgrade_migrations, run_migrations

from .test_invoicing import world
from .test_mrr_reports import (
    at,
    attach,
    change_now,
    expected,
    make_client,
    make_product,
    raw_ledger,
)

__all__ = ["world"]


def movements(session: Session) -> list[tuple[int, str, int, int, Any]]:
    session.expire_all()
    return [
        (m.subscription_id, m.kind, m.delta_minor, m.mrr_after_minor, m.at)
        for m in session.exec(
            select(MrrMovement).order_by(col(MrrMovement.subscription_id), col(MrrMovement.id))
        )
    ]


def test_0033_rebuilds_pre_ledger_history_from_events_and_fills_the_rollups(
    engine: sa.Engine, session: Session, world: dict[str, Any]
) -> None:
    eur = make_product(session, "EUR")
    yearly = make_product(session, "EUR", "year")
    atelier = make_client(session, "atelier", "EUR")
    bakery = make_client(session, "bakery", "EUR")
    a = attach(session, world, atelier, eur, date(2025, 11, 3))
    b = attach(session, world, bakery, yearly, date(2025, 11, 20), q=2)
    c = attach(session, world, bakery, eur, date(2025, 12, 1))
    change_now(session, world, a, 3, at(date(2025, 12, 5)))
    subscriptions.pause(session, world["actor"], b, clock=at(date(2025, 12, 10)))
    session.commit()
    subscriptions.unpause(session, world["actor"], b, clock=at(date(2026, 1, 4)))
    session.commit()
    subscriptions.cancel_at_period_end(session, world["actor"], c, clock=at(date(2026, 1, 9)))
    session.commit()
    subscriptions.cancel_now(session, world["actor"], a, clock=at(date(2026, 2, 2), hour=22))
    session.commit()
    written = movements(session)
    filters = MrrFilters(months=6, until=date(2026, 3, 1))
    report = mrr_report(session, world["actor"], filters)
    assert report == expected(raw_ledger(session), filters)
    assert [f.mrr.amount_minor for f in report] == [2917, 10000, 7917, 417, 417]

    # The ledger as 0029 left it: one "new" movement at creation for what has MRR today.
    with engine.begin() as conn:
        conn.execute(sa.delete(MrrMovement))
        conn.execute(
            sa.text(
                "INSERT INTO mrr_movement "
                "(subscription_id, client_id, currency, kind, delta_minor, mrr_after_minor, at) "
                "SELECT id, client_id, currency, 'new', mrr_minor, mrr_minor, created_at "
                "FROM subscription WHERE mrr_minor > 0"
            )
        )
    assert len(movements(session)) == 1
    session.close()
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    try:
        downgrade_migrations(url, "0032")
        run_migrations(url)
        assert movements(session) == written
        assert mrr_report(session, world["actor"], filters) == report
        # Again: nothing changes.
        session.close()
        engine.dispose()
        downgrade_migrations(url, "0032")
        run_migrations(url)
        assert movements(session) == written
        assert mrr_report(session, world["actor"], filters) == report
    finally:
        session.close()
        run_migrations(url)
    assert session.get(Subscription, b) is not None
