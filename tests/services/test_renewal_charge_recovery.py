"""A billing run that dies inside an automatic charge (the gateway fake; the process's death
stood in for by an exception that nothing catches): the next run settles what it left. Died
after the bank took the money: the payment is recorded with its receipt, and the card is not
charged again. Died before the charge reached the bank: the invoice is charged by the next
run, once (before, it stayed open, uncharged and unannounced)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.db.card_payments import PaymentAttempt
from billing_app.db.invoicing import InvoiceEvent
from billing_app.services.billing.renewals import billing_run
from billing_app.services.card_payments.charges import NOT_MADE, STALE_START
from billing_app.services.common.clock import FixedClock

from .test_dunning import card, kinds, renewal_of
from .test_invoice_card_payments import shop
from .test_invoicing import world
from .test_renewals import TODAY, attach

__all__ = ["shop", "world"]


class Killed(BaseException):
    """The run's process ends here: nothing after runs, nothing is rolled back by hand."""


def _dies_after(monkeypatch: pytest.MonkeyPatch, name: str, *, answered: bool) -> None:
    call = getattr(gateway, name)

    def dies(*args: Any, **kwargs: Any) -> Any:
        if answered:
            with contextlib.suppress(gateway.GatewayError):  # a refusal is an answer too
                call(*args, **kwargs)
        raise Killed

    monkeypatch.setattr(gateway, name, dies)


def _working_again(monkeypatch: pytest.MonkeyPatch, fake: Any) -> None:
    """The same Stripe (what it holds), answering again: the next process."""
    from tests.fake_stripe_gateway import PATCHED

    for name in PATCHED:
        monkeypatch.setattr(gateway, name, getattr(fake, name))


def _attempts(session: Session, invoice_id: int | None) -> list[tuple[str, str]]:
    session.expire_all()
    rows = session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.invoice_id) == invoice_id)
        .order_by(col(PaymentAttempt.id))
    )
    return [(a.state, a.error) for a in rows]


def _run_dying(engine: sa.Engine, clock: FixedClock, shop: dict[str, Any]) -> None:
    with pytest.raises(Killed):
        billing_run(engine, clock=clock, settings=shop["settings"])


@pytest.mark.parametrize("name", ["create_payment_intent", "confirm_payment_intent"])
def test_a_run_that_died_before_the_bank_charged_is_charged_by_the_next_once(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    from tests.fake_stripe_gateway import install

    fake = install(monkeypatch)
    card(session, shop, "pm_fake_visa", clock)
    attach(session, shop, TODAY)
    _dies_after(monkeypatch, name, answered=name == "create_payment_intent")
    _run_dying(engine, clock, shop)
    invoice = renewal_of(session)
    assert _attempts(session, invoice.id) == [("started", "")]
    _working_again(monkeypatch, fake)

    billing_run(engine, clock=clock, settings=shop["settings"])  # its page may be alive
    assert renewal_of(session).status == "open"
    clock.advance(seconds=STALE_START.total_seconds() + 1)
    billing_run(engine, clock=clock, settings=shop["settings"])
    billing_run(engine, clock=clock, settings=shop["settings"])

    invoice = renewal_of(session)
    assert (invoice.status, invoice.paid_minor, invoice.charge_pending) == ("paid", 3000, False)
    assert _attempts(session, invoice.id) == [("failed", NOT_MADE), ("done", "")]
    assert [i.status for i in fake.intents.values()].count("succeeded") == 1
    assert kinds(session, "receipt") == 1
    assert kinds(session, "payment_failed") == 0  # nothing the client has to do
    said = session.exec(
        select(InvoiceEvent.message).where(col(InvoiceEvent.kind) == "card_retry")
    ).all()
    assert len(said) == 1 and "will be made again" in said[0]


def test_a_run_that_died_after_the_bank_charged_records_it_and_charges_nothing_more(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.fake_stripe_gateway import install

    fake = install(monkeypatch)
    card(session, shop, "pm_fake_visa", clock)
    attach(session, shop, TODAY)
    _dies_after(monkeypatch, "confirm_payment_intent", answered=True)
    _run_dying(engine, clock, shop)
    invoice = renewal_of(session)
    assert (invoice.status, _attempts(session, invoice.id)) == ("open", [("started", "")])
    _working_again(monkeypatch, fake)

    clock.advance(seconds=STALE_START.total_seconds() + 1)
    billing_run(engine, clock=clock, settings=shop["settings"])
    billing_run(engine, clock=clock, settings=shop["settings"])

    invoice = renewal_of(session)
    assert (invoice.status, invoice.paid_minor) == ("paid", 3000)
    assert _attempts(session, invoice.id) == [("done", "")]
    assert fake.calls.count("confirm_payment_intent") == 1
    assert kinds(session, "receipt") == 1


def test_a_declined_charge_is_left_to_dunning_not_made_again(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.fake_stripe_gateway import install

    fake = install(monkeypatch)
    card(session, shop, "pm_fake_insufficient", clock)
    attach(session, shop, TODAY)
    billing_run(engine, clock=clock, settings=shop["settings"])
    clock.advance(seconds=STALE_START.total_seconds() + 1)
    billing_run(engine, clock=clock, settings=shop["settings"])

    invoice = renewal_of(session)
    assert [state for state, _ in _attempts(session, invoice.id)] == ["failed"]
    assert fake.calls.count("confirm_payment_intent") == 1
    assert kinds(session, "payment_failed") == 1


def test_a_refusal_the_run_died_before_telling_is_told_by_the_next_once(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from billing_app.db.dunning import DunningState
    from billing_app.services.billing import auto_charge
    from tests.fake_stripe_gateway import install

    fake = install(monkeypatch)
    card(session, shop, "pm_fake_insufficient", clock)
    attach(session, shop, TODAY)

    def dies(*args: Any, **kwargs: Any) -> Any:
        raise Killed

    monkeypatch.setattr(auto_charge, "tell_failure", dies)  # the refusal is written, not told
    _run_dying(engine, clock, shop)
    monkeypatch.undo()
    _working_again(monkeypatch, fake)
    invoice = renewal_of(session)
    assert [state for state, _ in _attempts(session, invoice.id)] == ["failed"]
    assert kinds(session, "payment_failed") == 0

    billing_run(engine, clock=clock, settings=shop["settings"])  # the run may be telling it
    assert kinds(session, "payment_failed") == 0
    clock.advance(seconds=STALE_START.total_seconds() + 1)
    billing_run(engine, clock=clock, settings=shop["settings"])
    billing_run(engine, clock=clock, settings=shop["settings"])

    assert kinds(session, "payment_failed") == 1
    state = session.get(DunningState, invoice.id)
    assert state is not None and (state.failures, state.stopped) == (1, "")
    assert state.next_retry_on is not None  # the retry schedule started
    assert fake.calls.count("confirm_payment_intent") == 1  # not charged again now


def test_a_refusal_the_run_died_before_hearing_is_found_and_told_by_the_next_once(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    shop: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from billing_app.db.dunning import DunningState
    from tests.fake_stripe_gateway import install

    fake = install(monkeypatch)
    card(session, shop, "pm_fake_insufficient", clock)
    attach(session, shop, TODAY)
    _dies_after(monkeypatch, "confirm_payment_intent", answered=True)
    _run_dying(engine, clock, shop)
    _working_again(monkeypatch, fake)
    invoice = renewal_of(session)
    assert _attempts(session, invoice.id) == [("started", "")]

    clock.advance(seconds=STALE_START.total_seconds() + 1)
    billing_run(engine, clock=clock, settings=shop["settings"])  # asks Stripe, then tells
    billing_run(engine, clock=clock, settings=shop["settings"])

    assert [state for state, _ in _attempts(session, invoice.id)] == ["failed"]
    assert kinds(session, "payment_failed") == 1
    state = session.get(DunningState, invoice.id)
    assert state is not None and state.failures == 1 and state.next_retry_on is not None
    assert fake.calls.count("confirm_payment_intent") == 1
