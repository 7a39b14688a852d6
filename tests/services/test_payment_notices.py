"""Payment notices for staff: a card payment received or failed is emailed at once to who
chose that (active members whose role may see payments), and gathered into one daily digest
for who chose the digest (nothing when nothing happened, not twice within a day); the choice
is each member's own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.models import OutboxEmail, StaffUser
from billing_app.domain.permissions import BuiltinRole
from billing_app.services.card_payments import notices
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import ValidationFailed

from .test_invoice_card_payments import DECLINES, VISA, pay, save_card, shop
from .test_invoicing import world
from .test_stripe_settings import _staff

__all__ = ["shop", "world"]


def mails(session: Session, kind: str) -> list[OutboxEmail]:
    return list(
        session.exec(
            select(OutboxEmail).where(col(OutboxEmail.kind) == kind).order_by(col(OutboxEmail.id))
        )
    )


def choose(session: Session, actor: Any, choice: str) -> None:
    notices.set_payment_notices(session, actor, choice)
    session.commit()


def test_at_once_to_who_chose_it_and_never_to_a_member_no_longer_active(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    choose(session, shop["actor"], "immediate")
    viewer = _staff(session, clock, BuiltinRole.VIEWER)
    choose(session, viewer, "immediate")
    gone = session.get(StaffUser, viewer.id)
    assert gone is not None
    gone.is_active = False  # deactivated since: never told again
    session.add(gone)
    session.commit()
    accountant = _staff(session, clock, BuiltinRole.ACCOUNTANT)
    choose(session, accountant, "daily")
    assert notices.payment_notices_choice(session, shop["actor"]).value == "immediate"

    declining = save_card(session, clock, shop, DECLINES)
    assert pay(session, clock, shop, declining).state == "failed"
    good = save_card(session, clock, shop, VISA)
    assert pay(session, clock, shop, good).state == "paid"

    sent = mails(session, "payment_notice")
    assert [m.to_address for m in sent] == ["owner@agency.test", "owner@agency.test"]
    assert "failed: Your card was declined." in sent[0].subject
    assert "€100.00 paid by card on invoice" in sent[1].subject
    assert "(Café Ünder GmbH)" in sent[1].body_text
    assert f"/invoices/{shop['invoice_id']}" in sent[1].body_text


def test_the_daily_digest_gathers_what_happened_once_a_day(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    choose(session, shop["actor"], "daily")
    assert notices.send_digests(session, clock=clock) == 0  # nothing happened yet
    session.commit()
    clock.advance(hours=21)
    declining = save_card(session, clock, shop, DECLINES)
    pay(session, clock, shop, declining)
    pay(session, clock, shop, save_card(session, clock, shop, VISA))
    assert mails(session, "payment_notice") == []  # the digest, not one email each
    clock.advance(hours=1)
    assert notices.send_digests(session, clock=clock) == 1
    session.commit()
    [digest] = mails(session, "payment_digest")
    assert digest.to_address == "owner@agency.test"
    assert "(2)" in digest.body_text
    assert "failed: Your card was declined." in digest.body_text
    assert "€100.00 paid by card" in digest.body_text
    clock.advance(hours=2)
    assert notices.send_digests(session, clock=clock) == 0  # not twice within a day
    member = session.get(StaffUser, shop["actor"].id)
    assert member is not None and member.notices_digested_at is not None
    assert clock.now() - member.notices_digested_at == timedelta(hours=2)


def test_the_choice_must_be_one_offered(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    with pytest.raises(ValidationFailed):
        notices.set_payment_notices(session, shop["actor"], "hourly")
    assert notices.payment_notices_choice(session, shop["actor"]).value == "off"
