"""Changes prorated now: an upgrade invoices the rest of the period at once (charged to the
default card when the client pays automatically), a downgrade credits it (a credit note on the
invoice that billed the period, else the credit balance with the reason); a double submit
changes once; a stale preview is refused; clients change what the agency allows, nothing else."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.credit_notes import ClientCreditEntry, CreditNote
from billing_app.db.customers import (
    MrrMovement,
    Product,
    ProductAlternative,
    Subscription,
    SubscriptionChange,
    SubscriptionEvent,
)
from billing_app.db.invoicing import AgencySettings, Invoice, InvoiceLine
from billing_app.db.models import AuditEvent
from billing_app.domain.permissions import BuiltinClientRole
from billing_app.services.billing import auto_charge
from billing_app.services.billing.renewals import billing_run
from billing_app.services.catalog import portal_changes, subscriptions
from billing_app.services.catalog.proration import (
    NEXT_PERIOD,
    PRORATE,
    Plan,
    plan_of,
    staff_change,
    staff_quote,
)
from billing_app.services.catalog.proration_money import charge_now
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from billing_app.services.invoicing import payments

from .test_invoice_card_payments import VISA, save_card, shop
from .test_invoicing import world
from .test_portal_invoices import client_user, other_client
from .test_renewals import TODAY, attach

__all__ = ["shop", "world"]


def billed(
    engine: sa.Engine, session: Session, clock: FixedClock, w: dict[str, Any], **kw: Any
) -> Subscription:
    """A subscription started today and its first period (Mar 14 - Apr 13: 31 days) invoiced,
    then ten days later (21 days left)."""
    sub = attach(session, w, TODAY, **kw)
    billing_run(engine, clock=clock, settings=w.get("settings"))
    clock.advance(days=10)
    session.expire_all()
    return sub


def change(
    session: Session,
    w: dict[str, Any],
    sub: Subscription,
    clock: FixedClock,
    quantity: int,
    timing: str = PRORATE,
    token: str = "",
) -> Any:
    assert sub.id is not None
    session.refresh(sub)
    new = Plan(sub.product_id, quantity, sub.unit_price_minor)
    q = staff_quote(session, w["actor"], sub.id, new, timing, clock=clock)
    outcome = staff_change(
        session,
        w["actor"],
        sub.id,
        plan_of(sub),
        new,
        timing=timing,
        token=token or q.token,
        clock=clock,
    )
    session.commit()
    return q, outcome


def test_an_upgrade_invoices_the_rest_of_the_period_with_taxes(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = billed(engine, session, clock, world)
    q, outcome = change(session, world, sub, clock, 3)
    # 2 x 25.00 more for 21 of 31 days: 33.870... -> 33.87 net, 6.77 VAT (20 %) = 40.64.
    assert (q.charge_net, q.charge_total, q.credit_total, q.days_left) == (3387, 4064, 0, 21)
    assert q.next_total == 9000  # 3 x 25.00 + 20 % from the next renewal
    assert outcome.amount_minor == 4064 and outcome.invoice_number == "INV-2026-00002"
    invoice = session.get(Invoice, outcome.invoice_id)
    assert invoice is not None and (invoice.status, invoice.total_minor) == ("open", 4064)
    [line] = session.exec(select(InvoiceLine).where(col(InvoiceLine.invoice_id) == invoice.id))
    assert line.description == ("Managed hosting · quantity 1 → 3 · Mar 24, 2026 – Apr 13, 2026")
    assert (line.net_minor, line.tax_minor) == (3387, 677)
    session.refresh(sub)
    assert (sub.quantity, sub.pending_quantity) == (3, None)
    kinds = session.exec(
        select(MrrMovement.kind).where(col(MrrMovement.subscription_id) == sub.id)
    ).all()
    assert list(kinds) == ["new", "expansion"]
    event = session.exec(
        select(SubscriptionEvent).where(col(SubscriptionEvent.action) == "changed_prorated")
    ).one()
    assert "invoice INV-2026-00002 for €40.64" in event.details
    assert session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "subscription.changed_prorated")
    ).one()


def test_a_downgrade_credits_the_invoice_that_billed_the_period(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = billed(engine, session, clock, world, quantity="3")
    q, outcome = change(session, world, sub, clock, 1)
    assert (q.charge_total, q.credit_total) == (0, 4064)  # the upgrade's exact reverse
    note = session.exec(select(CreditNote)).one()
    assert (note.total_minor, note.reduces_due_minor, note.given_back_minor) == (4064, 4064, 0)
    assert outcome.credit_note_number == note.number and outcome.amount_minor == -4064
    renewal = session.get(Invoice, note.invoice_id)
    assert renewal is not None and renewal.total_minor == 9000
    assert renewal.credited_minor == 4064
    assert len(session.exec(select(Invoice)).all()) == 1  # no invoice for a downgrade


def test_a_downgrade_of_a_paid_invoice_leaves_the_credit_on_the_balance(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = billed(engine, session, clock, world, quantity="3")
    invoice = session.exec(select(Invoice)).one()
    assert invoice.id is not None
    form = payments.PaymentForm(amount="90.00", method="bank_transfer", received_on=TODAY)
    payments.record_payment(session, world["actor"], invoice.id, form, clock=clock)
    session.commit()
    change(session, world, sub, clock, 1)
    note = session.exec(select(CreditNote)).one()
    assert (note.reduces_due_minor, note.given_back_minor, note.give_back) == (0, 4064, "balance")


def test_when_the_invoice_cannot_take_the_credit_it_goes_to_the_balance_with_its_reason(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = billed(engine, session, clock, world, quantity="3")
    invoice = session.exec(select(Invoice)).one()
    invoice.status = "credited"  # credited in full already
    session.add(invoice)
    session.commit()
    _, outcome = change(session, world, sub, clock, 1)
    assert outcome.to_balance and outcome.amount_minor == -4064
    assert session.exec(select(CreditNote)).all() == []
    entry = session.exec(select(ClientCreditEntry)).one()
    assert (entry.kind, entry.amount_minor) == ("proration", 4064)
    assert "cannot be credited" in entry.note
    audit = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "credit_balance.added")
    ).one()
    assert "cannot be credited" in audit.details


def test_a_double_submit_changes_once(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = billed(engine, session, clock, world)
    q, first = change(session, world, sub, clock, 3)
    assert sub.id is not None
    again = staff_change(
        session, world["actor"], sub.id, q.old, q.new, timing=PRORATE, token=q.token, clock=clock
    )
    session.commit()
    assert again.repeated and again.invoice_id == first.invoice_id
    assert len(session.exec(select(Invoice)).all()) == 2  # the renewal and one change
    assert len(session.exec(select(SubscriptionChange)).all()) == 1


def test_a_stale_preview_is_refused_and_nothing_is_written(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = billed(engine, session, clock, world)
    assert sub.id is not None
    stale = Plan(sub.product_id, 2, sub.unit_price_minor)
    with pytest.raises(Conflict, match="changed meanwhile"):
        staff_change(
            session,
            world["actor"],
            sub.id,
            stale,
            Plan(sub.product_id, 3, sub.unit_price_minor),
            timing=PRORATE,
            token="t1",
            clock=clock,
        )
    session.rollback()
    assert session.exec(select(SubscriptionChange)).all() == []


def test_from_the_next_period_nothing_is_invoiced_now(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = billed(engine, session, clock, world)
    q, outcome = change(session, world, sub, clock, 2, timing=NEXT_PERIOD)
    assert (q.charge_total, q.credit_total, outcome.amount_minor) == (0, 0, 0)
    session.refresh(sub)
    assert (sub.quantity, sub.pending_quantity) == (1, 2)
    assert len(session.exec(select(Invoice)).all()) == 1


def test_a_trial_changes_at_once_with_nothing_to_pay(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = attach(session, world, TODAY, trial_days="14")
    q, outcome = change(session, world, sub, clock, 4)
    assert (q.charge_total, outcome.amount_minor, q.period) == (0, 0, None)
    session.refresh(sub)
    assert sub.quantity == 4


def test_an_upgrade_of_a_client_paying_automatically_is_charged_at_once(
    engine: sa.Engine, session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    save_card(session, clock, shop, VISA)
    sub = billed(engine, session, clock, shop)
    _, outcome = change(session, shop, sub, clock, 2)
    assert outcome.charge_pending and outcome.invoice_id is not None
    # The charge right after the change: only by the client's own user, or staff.
    other = other_client(session, clock)
    assert other.id is not None
    with pytest.raises(NotFound):
        charge_now(session, client_user(other.id), outcome.invoice_id, clock=clock)
    with pytest.raises(NotAllowed):
        billing_only = client_user(shop["client"].id, BuiltinClientRole.BILLING)
        charge_now(session, billing_only, outcome.invoice_id, clock=clock)
    session.rollback()
    auto_charge.charge_pending_invoices(engine, clock=clock, settings=shop["settings"])
    session.expire_all()
    invoice = session.get(Invoice, outcome.invoice_id)
    assert invoice is not None and (invoice.status, invoice.paid_minor) == ("paid", 2033)


# --------------------------------------------------------------------------- portal


@pytest.fixture
def plans(session: Session, world: dict[str, Any]) -> dict[str, Any]:
    """Managed hosting: clients may change the quantity from 1 to 5 and switch to "Premium
    hosting" (40.00); "Yearly hosting" (another interval) is listed but never offered."""
    now = world["client"].created_at
    base = world["product"]
    base.client_quantity, base.client_quantity_min, base.client_quantity_max = True, 1, 5
    premium = Product(
        name="Premium hosting", price_minor=4000, currency="EUR", created_at=now, updated_at=now
    )
    yearly = Product(
        name="Yearly hosting",
        price_minor=20000,
        currency="EUR",
        interval_unit="year",
        created_at=now,
        updated_at=now,
    )
    session.add_all([base, premium, yearly])
    session.flush()
    session.add(ProductAlternative(product_id=base.id, alternative_id=premium.id))
    session.add(ProductAlternative(product_id=base.id, alternative_id=yearly.id))
    session.commit()
    world["premium"], world["yearly"] = premium, yearly
    return world


def test_a_client_changes_the_quantity_and_gets_the_invoice(
    engine: sa.Engine, session: Session, clock: FixedClock, plans: dict[str, Any]
) -> None:
    sub = billed(engine, session, clock, plans)
    user = client_user(plans["client"].id)
    assert sub.id is not None
    options = portal_changes.change_options(session, user, sub.id)
    assert [p.name for p in options.plans] == ["Premium hosting"] and options.prorate
    q = portal_changes.portal_quote(session, user, sub.id, quantity="2", clock=clock)
    assert q.charge_total == 2033
    outcome = portal_changes.portal_change(
        session, user, sub.id, q.old, quantity="2", token=q.token, clock=clock
    )
    session.commit()
    assert outcome.invoice_number == "INV-2026-00002"
    again = portal_changes.portal_change(
        session, user, sub.id, q.old, quantity="2", token=q.token, clock=clock
    )
    assert again.repeated
    event = session.exec(
        select(SubscriptionEvent).where(col(SubscriptionEvent.action) == "changed_prorated")
    ).one()
    assert event.actor_label == "j@cafe.test (client user)"


def test_a_client_switches_plan(
    engine: sa.Engine, session: Session, clock: FixedClock, plans: dict[str, Any]
) -> None:
    sub = billed(engine, session, clock, plans)
    user = client_user(plans["client"].id)
    assert sub.id is not None
    q = portal_changes.portal_quote(
        session, user, sub.id, quantity="1", plan_id=plans["premium"].id, clock=clock
    )
    portal_changes.portal_change(
        session,
        user,
        sub.id,
        q.old,
        quantity="1",
        plan_id=plans["premium"].id,
        token=q.token,
        clock=clock,
    )
    session.commit()
    session.refresh(sub)
    assert (sub.product_id, sub.unit_price_minor, sub.description) == (
        plans["premium"].id,
        4000,
        "Premium hosting",
    )


@pytest.mark.parametrize(
    "quantity,plan,message",
    [("9", 0, "from 1 to 5"), ("two", 0, "whole number"), ("1", -1, "plans offered")],
)
def test_bad_quantities_and_plans_are_refused(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    plans: dict[str, Any],
    quantity: str,
    plan: int,
    message: str,
) -> None:
    sub = billed(engine, session, clock, plans)
    user = client_user(plans["client"].id)
    assert sub.id is not None
    plan_id = plans["yearly"].id if plan == -1 else plan
    with pytest.raises(ValidationFailed, match=message):
        portal_changes.portal_quote(session, user, sub.id, quantity=quantity, plan_id=plan_id)


def test_a_product_that_does_not_allow_it_is_refused(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = billed(engine, session, clock, world)
    assert sub.id is not None
    with pytest.raises(Conflict, match="cannot be changed here"):
        portal_changes.portal_quote(session, client_user(world["client"].id), sub.id, quantity="2")


def test_another_clients_user_and_a_view_only_user_are_refused(
    engine: sa.Engine, session: Session, clock: FixedClock, plans: dict[str, Any]
) -> None:
    sub = billed(engine, session, clock, plans)
    assert sub.id is not None
    other = other_client(session, clock)
    assert other.id is not None
    with pytest.raises(NotFound):
        portal_changes.portal_change(
            session, client_user(other.id), sub.id, plan_of(sub), quantity="2", token="x"
        )
    with pytest.raises(NotAllowed):
        portal_changes.portal_change(
            session,
            client_user(plans["client"].id, BuiltinClientRole.BILLING),
            sub.id,
            plan_of(sub),
            quantity="2",
            token="x",
        )
    session.rollback()
    assert session.exec(select(SubscriptionChange)).all() == []


def test_client_changes_follow_the_agencys_timing(
    engine: sa.Engine, session: Session, clock: FixedClock, plans: dict[str, Any]
) -> None:
    agency = session.get(AgencySettings, 1)
    assert agency is not None
    agency.client_changes_prorate = False
    session.add(agency)
    session.commit()
    sub = billed(engine, session, clock, plans)
    user = client_user(plans["client"].id)
    assert sub.id is not None
    q = portal_changes.portal_quote(session, user, sub.id, quantity="3", clock=clock)
    assert (q.timing, q.charge_total) == (NEXT_PERIOD, 0)
    portal_changes.portal_change(
        session, user, sub.id, q.old, quantity="3", token=q.token, clock=clock
    )
    session.commit()
    session.refresh(sub)
    assert (sub.quantity, sub.pending_quantity) == (1, 3)


def test_a_client_keeps_a_subscription_set_to_end(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    sub = billed(engine, session, clock, world)
    assert sub.id is not None
    subscriptions.cancel_at_period_end(session, world["actor"], sub.id, clock=clock)
    session.commit()
    portal_changes.keep_subscription(session, client_user(world["client"].id), sub.id, clock=clock)
    session.commit()
    session.refresh(sub)
    assert (sub.status, sub.cancel_at_period_end, sub.next_renewal_on) == (
        "active",
        False,
        date(2026, 4, 14),
    )
    with pytest.raises(Conflict):
        portal_changes.keep_subscription(session, client_user(world["client"].id), sub.id)


def test_staff_set_what_clients_may_change_on_a_product(
    session: Session, clock: FixedClock, plans: dict[str, Any]
) -> None:
    from billing_app.services.catalog import product_self_service as self_service

    base, premium, yearly = plans["product"], plans["premium"], plans["yearly"]
    current = self_service.self_service(session, plans["actor"], base.id)
    assert [name for _, name in current.choices] == ["Premium hosting"]  # not the yearly one
    with pytest.raises(ValidationFailed):
        self_service.update_self_service(
            session,
            plans["actor"],
            base.id,
            client_quantity=True,
            quantity_min="3",
            quantity_max="2",
            alternative_ids=[yearly.id],
        )
    self_service.update_self_service(
        session,
        plans["actor"],
        base.id,
        client_quantity=True,
        quantity_min="2",
        quantity_max="8",
        alternative_ids=[premium.id],
    )
    session.commit()
    after = self_service.self_service(session, plans["actor"], base.id)
    assert (after.quantity_min, after.quantity_max, after.alternative_ids) == (2, 8, (premium.id,))
