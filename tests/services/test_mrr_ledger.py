"""The MRR movement ledger: every change of a subscription's monthly amount writes one movement
in the same transaction (new, expansion, contraction, churn, reactivation), and a subscription's
movements always add up to its MRR - whichever service changed it (attaching, a scheduled change
taking effect at renewal, pausing, resuming, canceling, a trial's end)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.customers import MrrMovement, Subscription
from billing_app.services.billing.renewals import billing_run
from billing_app.services.catalog import subscriptions
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import FixedClock

from .test_invoicing import world
from .test_renewals import TODAY, attach

__all__ = ["world"]


def ledger(session: Session, sub_id: int | None) -> list[tuple[str, int, int]]:
    session.expire_all()
    return [
        (m.kind, m.delta_minor, m.mrr_after_minor)
        for m in session.exec(
            select(MrrMovement)
            .where(col(MrrMovement.subscription_id) == sub_id)
            .order_by(col(MrrMovement.id))
        )
    ]


def mrr_of(session: Session, sub_id: int | None) -> int:
    sub = session.get(Subscription, sub_id)
    assert sub is not None
    session.refresh(sub)
    return sub.mrr_minor


def test_every_change_of_monthly_amount_is_a_movement_that_adds_up(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = attach(session, world, TODAY)  # €25.00 a month
    assert ledger(session, sub.id) == [("new", 2500, 2500)]

    billing_run(engine, clock=clock)
    subscriptions.change(session, SYSTEM, sub.id, quantity="3", price="", clock=clock)
    session.commit()
    assert ledger(session, sub.id) == [("new", 2500, 2500)]  # scheduled: not yet
    clock.advance(days=31)
    billing_run(engine, clock=clock)  # the next period: the change takes effect
    assert ledger(session, sub.id)[-1] == ("expansion", 5000, 7500)

    session.expire_all()
    subscriptions.change(session, SYSTEM, sub.id, quantity="2", price="", clock=clock)
    session.commit()
    clock.advance(days=30)
    billing_run(engine, clock=clock)
    assert ledger(session, sub.id)[-1] == ("contraction", -2500, 5000)

    session.expire_all()
    subscriptions.pause(session, SYSTEM, sub.id, clock=clock)
    session.commit()
    assert ledger(session, sub.id)[-1] == ("churn", -5000, 0)
    subscriptions.unpause(session, SYSTEM, sub.id, clock=clock)
    session.commit()
    assert ledger(session, sub.id)[-1] == ("reactivation", 5000, 5000)
    subscriptions.cancel_now(session, SYSTEM, sub.id, clock=clock)
    session.commit()
    assert ledger(session, sub.id)[-1] == ("churn", -5000, 0)
    assert sum(delta for _, delta, _ in ledger(session, sub.id)) == mrr_of(session, sub.id) == 0


def test_a_trial_starts_its_mrr_when_it_ends(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = attach(session, world, TODAY, trial_days="10")
    assert ledger(session, sub.id) == []
    clock.advance(days=10)
    billing_run(engine, clock=clock)
    assert ledger(session, sub.id) == [("new", 2500, 2500)]
    assert sum(d for _, d, _ in ledger(session, sub.id)) == mrr_of(session, sub.id)


def test_the_ledger_adds_up_to_every_clients_mrr(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    ids = [attach(session, world, date(2026, 3, day)).id for day in (1, 5, 9)]
    subscriptions.cancel_at_period_end(session, SYSTEM, ids[0], clock=clock)
    subscriptions.pause(session, SYSTEM, ids[1], clock=clock)
    session.commit()
    clock.advance(days=40)
    billing_run(engine, clock=clock)
    subscriptions.end_due_cancellations(session, SYSTEM, clock=clock)
    session.commit()
    session.expire_all()
    totals = session.exec(
        select(MrrMovement.subscription_id, sa.func.sum(MrrMovement.delta_minor)).group_by(
            col(MrrMovement.subscription_id)
        )
    ).all()
    assert {sub_id: int(total) for sub_id, total in totals} == {
        sub_id: mrr_of(session, sub_id) for sub_id in ids
    }
