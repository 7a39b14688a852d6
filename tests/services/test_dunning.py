"""Dunning (the fake gateway, for what localstripe cannot do): a declined automatic charge is
tried again on the schedule (+1, +3, ... days) and succeeds on the third try; a hard decline is
never tried again; the retries stop once the invoice is paid another way; reminders before and
after the due date go out once per step, and after downtime only the latest step."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.card_payments import PaymentAttempt, SavedCard, StripeCustomer
from billing_app.db.dunning import DunningState, InvoiceReminder
from billing_app.db.invoicing import Invoice
from billing_app.db.models import OutboxEmail
from billing_app.services.billing.dunning import run_dunning
from billing_app.services.billing.renewals import billing_run
from billing_app.services.common.clock import FixedClock

from .test_invoice_card_payments import shop
from .test_invoice_payment_rules import hundred_euro_invoice, pay
from .test_invoicing import world
from .test_renewals import TODAY, attach

__all__ = ["shop", "world"]


def card(session: Session, shop: dict[str, Any], pm: str, clock: FixedClock) -> None:
    session.add(
        SavedCard(
            client_id=shop["client"].id,
            payment_method_id=pm,
            brand="visa",
            last4="0000",
            exp_month=12,
            exp_year=2031,
            is_default=True,
            created_at=clock.now(),
        )
    )
    session.add(
        StripeCustomer(
            client_id=shop["client"].id,
            customer_id="cus_fake",
            livemode=False,
            created_at=clock.now(),
        )
    )
    session.commit()


def renewal_of(session: Session) -> Invoice:
    session.expire_all()
    invoice = session.exec(
        select(Invoice).where(col(Invoice.created_by_id).is_(None)).order_by(col(Invoice.id).desc())
    ).first()
    assert invoice is not None
    return invoice


def kinds(session: Session, kind: str) -> int:
    return len(session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == kind)).all())


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.fake_stripe_gateway import install

    return install(monkeypatch)


def test_declined_twice_then_paid_on_the_scheduled_third_try(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any], fake: Any
) -> None:
    card(session, shop, "pm_fake_declines_twice", clock)
    attach(session, shop, TODAY)

    billing_run(engine, clock=clock, settings=shop["settings"])  # first try: declined
    invoice = renewal_of(session)
    state = session.get(DunningState, invoice.id)
    assert state is not None and (state.failures, state.next_retry_on) == (1, TODAY + timedelta(1))
    assert run_dunning(engine, clock=clock, settings=shop["settings"]).retried == 0  # not yet

    clock.advance(days=1)
    run_dunning(engine, clock=clock, settings=shop["settings"])  # second try: declined
    session.expire_all()
    state = session.get(DunningState, invoice.id)
    assert state is not None and (state.failures, state.next_retry_on) == (2, TODAY + timedelta(4))
    clock.advance(days=3)
    report = run_dunning(engine, clock=clock, settings=shop["settings"])  # third: paid
    assert (report.retried, report.paid) == (1, 1)
    invoice = renewal_of(session)
    assert invoice.status == "paid"
    session.expire_all()
    assert session.get(DunningState, invoice.id).stopped == "paid"  # type: ignore[union-attr]
    assert kinds(session, "payment_failed") == 2
    attempts = session.exec(
        select(PaymentAttempt.state).where(col(PaymentAttempt.invoice_id) == invoice.id)
    ).all()
    assert sorted(attempts) == ["done", "failed", "failed"]
    clock.advance(days=10)
    assert run_dunning(engine, clock=clock, settings=shop["settings"]).retried == 0


def test_a_hard_decline_is_never_tried_again(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any], fake: Any
) -> None:
    card(session, shop, "pm_fake_lost", clock)
    attach(session, shop, TODAY)
    billing_run(engine, clock=clock, settings=shop["settings"])
    invoice = renewal_of(session)
    state = session.get(DunningState, invoice.id)
    assert state is not None and (state.stopped, state.next_retry_on) == ("hard", None)
    clock.advance(days=20)
    assert run_dunning(engine, clock=clock, settings=shop["settings"]).retried == 0
    assert fake.calls.count("confirm_payment_intent") == 1


def test_retries_stop_once_the_invoice_is_paid_another_way(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any], fake: Any
) -> None:
    card(session, shop, "pm_fake_insufficient", clock)
    attach(session, shop, TODAY)
    billing_run(engine, clock=clock, settings=shop["settings"])
    invoice = renewal_of(session)
    pay(session, shop, invoice.id or 0, "30", clock)  # by bank transfer

    clock.advance(days=1)
    report = run_dunning(engine, clock=clock, settings=shop["settings"])

    assert (report.retried, report.stopped) == (0, 1)
    session.expire_all()
    assert session.get(DunningState, invoice.id).stopped == "closed"  # type: ignore[union-attr]
    assert fake.calls.count("confirm_payment_intent") == 1


def test_reminders_before_and_after_the_due_date_once_each_and_only_the_latest(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)  # due March 28
    clock.advance(days=10)  # March 24: the "3 days before" step is not yet due
    assert run_dunning(engine, clock=clock).reminders == 0
    clock.advance(days=1)  # March 25
    assert run_dunning(engine, clock=clock).reminders == 1
    assert run_dunning(engine, clock=clock).reminders == 0  # once
    clock.advance(days=20)  # April 14: after-1 and after-7 were missed, after-14 is due
    assert run_dunning(engine, clock=clock).reminders == 1
    steps = session.exec(
        select(InvoiceReminder.step).where(col(InvoiceReminder.invoice_id) == invoice_id)
    ).all()
    assert sorted(steps) == ["after-14", "before-3"]
    assert kinds(session, "payment_reminder") == 2
    clock.advance(days=30)
    assert run_dunning(engine, clock=clock).reminders == 0  # the schedule is over


def test_the_agency_changes_the_schedule_and_a_wrong_one_is_refused_whole(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    from billing_app.domain.permissions import BuiltinRole
    from billing_app.services.billing import dunning_settings as settings_service
    from billing_app.services.common.errors import NotAllowed, ValidationFailed

    from .test_invoice_notices import as_role

    form = settings_service.DunningForm("2, 4", "0", "10")
    with pytest.raises(NotAllowed):
        settings_service.save_dunning(session, as_role(world, BuiltinRole.VIEWER), form)
    with pytest.raises(ValidationFailed) as bad:
        settings_service.save_dunning(
            session, world["actor"], settings_service.DunningForm("4, 2", "31", "x")
        )
    assert set(bad.value.errors) == {"retry_days", "remind_before_days", "remind_after_days"}
    session.rollback()
    assert settings_service.read_dunning(session, world["actor"]).retry_days == "1,3,5,7"
    settings_service.save_dunning(session, world["actor"], form, clock=clock)
    session.commit()
    saved = settings_service.read_dunning(session, world["actor"])
    assert (saved.retry_days, saved.remind_before_days, saved.remind_after_days) == (
        "2, 4",
        "0",
        "10",
    )
    hundred_euro_invoice(session, world, clock)  # due March 28
    clock.advance(days=13)  # March 27: no reminder before (0 days)
    assert run_dunning(engine, clock=clock).reminders == 0
    clock.advance(days=11)  # April 7: ten days after
    assert run_dunning(engine, clock=clock).reminders == 1


def test_after_the_last_retry_the_subscription_is_past_due_then_canceled_unless_paid(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any], fake: Any
) -> None:
    from billing_app.db.customers import Subscription

    card(session, shop, "pm_fake_insufficient", clock)
    sub = attach(session, shop, TODAY)
    billing_run(engine, clock=clock, settings=shop["settings"])  # failure 1
    invoice = renewal_of(session)
    today = TODAY
    for _ in range(4):  # the four retries (+1, +3, +5, +7 days after each failure), declined
        session.expire_all()
        state = session.get(DunningState, invoice.id)
        assert state is not None and state.next_retry_on is not None
        clock.advance(days=(state.next_retry_on - today).days)
        today = state.next_retry_on
        run_dunning(engine, clock=clock, settings=shop["settings"])
    assert today == date(2026, 3, 30)
    session.expire_all()
    state = session.get(DunningState, invoice.id)
    assert state is not None and (state.failures, state.stopped) == (5, "exhausted")
    assert session.get(Subscription, sub.id).status == "past_due"  # type: ignore[union-attr]

    clock.advance(days=13)
    assert run_dunning(engine, clock=clock, settings=shop["settings"]).stopped_services == 0
    clock.advance(days=1)  # 14 days past due
    assert run_dunning(engine, clock=clock, settings=shop["settings"]).stopped_services == 1
    session.expire_all()
    assert session.get(Subscription, sub.id).status == "ended"  # type: ignore[union-attr]
    [told] = session.exec(
        select(OutboxEmail).where(col(OutboxEmail.kind) == "subscription_stopped")
    ).all()
    assert "We have canceled Managed hosting: invoice" in told.body_text
    assert run_dunning(engine, clock=clock, settings=shop["settings"]).stopped_services == 0


def test_paying_a_past_due_invoice_makes_the_subscription_active_again(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any], fake: Any
) -> None:
    from billing_app.db.customers import Subscription

    card(session, shop, "pm_fake_lost", clock)  # a hard decline: no retries, past due at once
    sub = attach(session, shop, TODAY)
    billing_run(engine, clock=clock, settings=shop["settings"])
    session.expire_all()
    assert session.get(Subscription, sub.id).status == "past_due"  # type: ignore[union-attr]
    invoice = renewal_of(session)

    pay(session, shop, invoice.id or 0, "30", clock)

    session.expire_all()
    assert session.get(Subscription, sub.id).status == "active"  # type: ignore[union-attr]
    clock.advance(days=30)
    assert run_dunning(engine, clock=clock, settings=shop["settings"]).stopped_services == 0


def test_a_new_default_card_is_tried_once_at_once(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any], fake: Any
) -> None:
    from billing_app.db.customers import Subscription
    from billing_app.services.card_payments.cards import set_default

    card(session, shop, "pm_fake_lost", clock)  # hard decline: retries stop, past due
    sub = attach(session, shop, TODAY)
    billing_run(engine, clock=clock, settings=shop["settings"])
    invoice = renewal_of(session)
    new = SavedCard(
        client_id=shop["client"].id,
        payment_method_id="pm_fake_visa",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2031,
        is_default=False,
        created_at=clock.now(),
    )
    session.add(new)
    session.flush()
    set_default(session, new)
    session.commit()

    report = run_dunning(engine, clock=clock, settings=shop["settings"])

    assert (report.retried, report.paid) == (1, 1)
    session.expire_all()
    assert renewal_of(session).status == "paid"
    assert session.get(Subscription, sub.id).status == "active"  # type: ignore[union-attr]
    assert session.get(DunningState, invoice.id).stopped == "paid"  # type: ignore[union-attr]
