"""Paying one invoice from its emailed Pay now link, without a portal account, against
localstripe: the invoice email and every reminder carry the same link (its token stored only as
a digest and sealed); the link opens that invoice and nothing else; a card used once is never
attached or kept; "use this card for future invoices" makes it the client's default card;
3-D Secure works as in the portal; unknown, expired and voided links say the same thing."""

from __future__ import annotations

import email
import hashlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import stripe
from sqlmodel import Session, col, select

from billing_app.adapters.mailer import FileMailer
from billing_app.db.card_payments import PayLink, SavedCard
from billing_app.db.models import OutboxEmail
from billing_app.services.card_payments import pay_by_link
from billing_app.services.card_payments.pay_by_link import LINK_INVALID
from billing_app.services.common import outbox
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotFound
from billing_app.services.invoicing import notices, payments

from .test_card_refunds import stripe_refunds
from .test_invoice_card_payments import (
    MASTERCARD,
    THREE_D_SECURE,
    VISA,
    bank_answers,
    card_payments,
    receipts,
    save_card,
    shop,
)
from .test_invoice_payment_rules import invoice_of
from .test_invoicing import world

__all__ = ["shop", "stripe_refunds", "world"]

LINK = re.compile(r"Pay online by card: (\S+)/portal/pay/(\S+)")


def emailed_token(session: Session, w: dict[str, Any], kind: str = "invoice_sent") -> str:
    """The pay link's token in the latest email of ``kind``, as delivered: the outbox itself
    holds only a placeholder (a usable link is never stored)."""
    mail = session.exec(
        select(OutboxEmail)
        .where(col(OutboxEmail.kind) == kind)
        .order_by(col(OutboxEmail.id).desc())
    ).first()
    assert mail is not None
    assert f"/portal/pay/{outbox.SECRET_PLACEHOLDER}" in mail.body_text
    assert f"/portal/pay/{outbox.SECRET_PLACEHOLDER}" in mail.body_html
    folder = w["settings"].data_dir / "delivered"
    # Queued under the app's settings (its key sealed the token): delivered the same way.
    outbox.deliver_due(session.get_bind(), FileMailer(folder))
    session.expire_all()
    delivered = session.get(OutboxEmail, mail.id)
    assert delivered is not None and delivered.status == "sent", delivered
    message = email.message_from_bytes(Path(delivered.file_path).read_bytes())
    text = next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    found = LINK.search(text)
    assert found, text
    assert found.group(2) not in mail.body_text
    return found.group(2)


def typed_card(
    session: Session, clock: FixedClock, w: dict[str, Any], token: str, number: str
) -> str:
    """What the link's page does: a card form (a SetupIntent without a customer), the card
    typed in and confirmed by Stripe.js (here, with the SDK as Stripe.js would)."""
    setup = pay_by_link.start_link_card(session, token, clock=clock, settings=w["settings"])
    session.commit()
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": w["settings"].stripe_api_base})
    details = {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}
    confirmed = sdk.v1.setup_intents.confirm(
        setup.setup_intent_id,
        params={
            "client_secret": setup.client_secret,
            "payment_method_data": {"type": "card", "card": details},  # type: ignore[typeddict-item]
        },
    )
    if confirmed.status == "requires_action":
        sdk.v1.setup_intents.confirm(
            setup.setup_intent_id,
            params={"client_secret": setup.client_secret, "use_stripe_sdk": True},  # type: ignore[typeddict-unknown-key]
        )
    return setup.setup_intent_id


def pay(
    session: Session, clock: FixedClock, w: dict[str, Any], token: str, setup: str, **kw: Any
) -> Any:
    outcome = pay_by_link.pay_by_link(
        session,
        token,
        setup,
        keep=kw.pop("keep", False),
        expected_due_minor=kw.pop("expected", 10000),
        clock=clock,
        settings=w["settings"],
    )
    session.commit()
    return outcome


def test_the_email_and_every_reminder_carry_the_same_link_kept_only_as_a_digest(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    token = emailed_token(session, shop)
    notices.send_reminder(session, shop["actor"], shop["invoice_id"], clock=clock)
    session.commit()
    assert emailed_token(session, shop, "payment_reminder") == token
    [link] = session.exec(select(PayLink)).all()
    assert link.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in link.token_sealed
    assert link.expires_at == clock.now() + timedelta(days=90)
    opened = pay_by_link.open_link(session, token, clock=clock, settings=shop["settings"])
    assert (opened.number, opened.due.amount_minor, opened.state) == (
        invoice_of(session, shop["invoice_id"]).number,
        10000,
        "payable",
    )
    assert [line["description"] for line in opened.lines] == ["Website care"]
    assert opened.automatic == ""  # not an automatic charge that failed


def test_unknown_expired_and_voided_links_all_say_the_same(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    token = emailed_token(session, shop)
    for wrong in ("", "x" * 300, token[:-1] + ("A" if token[-1] != "A" else "B")):
        with pytest.raises(NotFound) as refused:
            pay_by_link.open_link(session, wrong, clock=clock, settings=shop["settings"])
        assert refused.value.message == LINK_INVALID
    later = FixedClock(clock.now() + timedelta(days=91))
    with pytest.raises(NotFound, match="not valid any more"):
        pay_by_link.open_link(session, token, clock=later, settings=shop["settings"])
    payments.void_invoice(session, shop["actor"], shop["invoice_id"], "Sent twice", clock=clock)
    session.commit()
    with pytest.raises(NotFound, match="not valid any more"):
        pay_by_link.open_link(session, token, clock=clock, settings=shop["settings"])


def test_a_card_used_once_pays_and_is_neither_attached_nor_kept(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    token = emailed_token(session, shop)
    setup = typed_card(session, clock, shop, token, VISA)
    outcome = pay(session, clock, shop, token, setup)
    assert outcome.state == "paid" and outcome.receipt is not None
    assert outcome.receipt.card == "Visa •••• 4242"
    assert invoice_of(session, shop["invoice_id"]).status == "paid"
    assert len(card_payments(session)) == 1 and len(receipts(session)) == 1
    assert session.exec(select(SavedCard)).all() == []
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": shop["settings"].stripe_api_base})
    intent = sdk.v1.payment_intents.retrieve(card_payments(session)[0].processor_id or "")
    assert intent.customer is None
    # Paid: the link now says so, and pays nothing more.
    assert (
        pay_by_link.open_link(session, token, clock=clock, settings=shop["settings"]).state
        == "paid"
    )


def test_a_card_kept_for_future_invoices_becomes_the_clients_default(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    save_card(session, clock, shop, MASTERCARD)  # the client's default until now
    token = emailed_token(session, shop)
    setup = typed_card(session, clock, shop, token, VISA)
    assert pay(session, clock, shop, token, setup, keep=True).state == "paid"
    session.expire_all()
    kept = session.exec(
        select(SavedCard).where(col(SavedCard.removed_at).is_(None)).order_by(col(SavedCard.id))
    ).all()
    assert [(c.last4, c.is_default) for c in kept] == [("4444", False), ("4242", True)]


def test_three_d_secure_through_the_link_and_another_links_card_is_refused(
    session: Session, clock: FixedClock, shop: dict[str, Any]
) -> None:
    token = emailed_token(session, shop)
    setup = typed_card(session, clock, shop, token, THREE_D_SECURE)
    outcome = pay(session, clock, shop, token, setup)
    assert outcome.state == "action"
    bank_answers(shop["settings"], outcome.client_secret, confirm=True)
    done = pay_by_link.finish_link_payment(session, token, clock=clock, settings=shop["settings"])
    session.commit()
    assert done.state == "paid"
    with pytest.raises(NotFound):  # a setup this link never started
        pay(session, clock, shop, token, "seti_someone_elses")
