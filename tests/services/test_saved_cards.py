"""Saved cards against localstripe with the real SDK: the client's Stripe customer is made
once, a card confirmed in the browser (here: confirmed with the SDK as Stripe.js would) is kept
as Stripe reports it, the first card is the default, a card or SetupIntent of another client is
"not found", and every create call is preceded by a committed attempt whose key goes with it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import stripe
from sqlmodel import Session, col, select

from billing_app.db.card_payments import PaymentAttempt, SavedCard, StripeCustomer
from billing_app.db.models import StaffUser
from billing_app.domain.permissions import BuiltinClientRole, BuiltinRole
from billing_app.services.access.identity import current_user_from
from billing_app.services.card_payments import cards
from billing_app.services.card_payments import stripe_settings as keys
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, NotFound
from billing_app.settings import Settings

from .test_clients import add_client
from .test_portal_invoices import client_user, other_client
from .test_stripe_settings import FORM, _staff


@pytest.fixture
def connected(
    session: Session, clock: FixedClock, settings: Settings, localstripe: str
) -> Settings:
    owner = _staff(session, clock, BuiltinRole.OWNER)
    keys.save_stripe_keys(session, owner, FORM, clock=clock, settings=settings)
    session.commit()
    return settings.model_copy(update={"stripe_api_base": localstripe})


CARDS = {"pm_card_visa": "4242424242424242", "pm_card_mastercard": "5555555555554444"}


def _confirm_in_browser(settings: Settings, setup: cards.CardSetup, card: str) -> None:
    """What Stripe.js does with the card typed in: confirm the SetupIntent with the card's
    details (they go from the browser to Stripe, never to us)."""
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": settings.stripe_api_base})
    details = {"number": CARDS[card], "exp_month": 12, "exp_year": 2031, "cvc": "123"}
    sdk.v1.setup_intents.confirm(
        setup.setup_intent_id,
        params={
            "client_secret": setup.client_secret,
            "payment_method_data": {"type": "card", "card": details},  # type: ignore[typeddict-item]
        },
    )


def test_a_client_saves_a_card_and_it_becomes_the_default(
    session: Session, clock: FixedClock, connected: Settings
) -> None:
    client = other_client(session, clock)
    user = client_user(client.id or 0)
    setup = cards.start_card_setup(session, user, clock=clock, settings=connected)
    session.commit()
    assert setup.publishable_key == FORM.publishable_key
    assert setup.client_secret.startswith(setup.setup_intent_id)
    _confirm_in_browser(connected, setup, "pm_card_visa")
    outcome = cards.finish_card_setup(
        session, user, setup.setup_intent_id, clock=clock, settings=connected
    )
    session.commit()
    assert outcome.saved and outcome.card is not None
    assert (outcome.card.brand, outcome.card.last4, outcome.card.is_default) == (
        "visa",
        "4242",
        True,
    )
    assert [c.last4 for c in cards.saved_cards(session, user)] == ["4242"]
    # One customer for the client, whatever the number of cards; every call had its attempt.
    second = cards.start_card_setup(session, user, clock=clock, settings=connected)
    session.commit()
    _confirm_in_browser(connected, second, "pm_card_mastercard")
    assert cards.finish_card_setup(
        session, user, second.setup_intent_id, clock=clock, settings=connected
    ).saved
    session.commit()
    listed = cards.saved_cards(session, user)
    assert [(c.last4, c.is_default) for c in listed] == [("4242", True), ("4444", False)]
    assert len(session.exec(select(StripeCustomer)).all()) == 1
    attempts = session.exec(select(PaymentAttempt).order_by(col(PaymentAttempt.id))).all()
    assert [(a.kind, a.state) for a in attempts] == [
        ("customer", "done"),
        ("setup", "done"),
        ("setup", "done"),
    ]
    assert all(a.stripe_id for a in attempts)


def test_an_unconfirmed_setup_saves_nothing(
    session: Session, clock: FixedClock, connected: Settings
) -> None:
    client = other_client(session, clock)
    user = client_user(client.id or 0)
    setup = cards.start_card_setup(session, user, clock=clock, settings=connected)
    session.commit()
    outcome = cards.finish_card_setup(
        session, user, setup.setup_intent_id, clock=clock, settings=connected
    )
    assert not outcome.saved and outcome.message == "The card was not confirmed. Try again."
    assert cards.saved_cards(session, user) == []


def test_another_clients_setup_or_card_is_not_found_and_nothing_changes(
    session: Session, clock: FixedClock, connected: Settings
) -> None:
    mine = client_user(other_client(session, clock).id or 0)
    theirs = client_user(add_client(session, clock).id or 0, user_id=2)
    setup = cards.start_card_setup(session, mine, clock=clock, settings=connected)
    session.commit()
    _confirm_in_browser(connected, setup, "pm_card_visa")
    with pytest.raises(NotFound):
        cards.finish_card_setup(
            session, theirs, setup.setup_intent_id, clock=clock, settings=connected
        )
    session.rollback()
    with pytest.raises(NotFound):
        cards.finish_card_setup(session, mine, "seti_unknown", clock=clock, settings=connected)
    session.rollback()
    saved = cards.finish_card_setup(
        session, mine, setup.setup_intent_id, clock=clock, settings=connected
    )
    session.commit()
    assert saved.card is not None
    for attempt in (
        lambda: cards.make_default(session, theirs, saved.card.id, settings=connected),  # type: ignore[union-attr]
        lambda: cards.remove_card(session, theirs, saved.card.id, settings=connected),  # type: ignore[union-attr]
        lambda: cards.remove_card(session, mine, 10**6, settings=connected),
    ):
        with pytest.raises(NotFound):
            attempt()
        session.rollback()
    assert cards.saved_cards(session, theirs) == []
    assert [c.id for c in cards.saved_cards(session, mine)] == [saved.card.id]


def test_removing_the_default_makes_the_other_card_the_default(
    session: Session, clock: FixedClock, connected: Settings
) -> None:
    user = client_user(other_client(session, clock).id or 0)
    ids = []
    for card in ("pm_card_visa", "pm_card_mastercard"):
        setup = cards.start_card_setup(session, user, clock=clock, settings=connected)
        session.commit()
        _confirm_in_browser(connected, setup, card)
        outcome = cards.finish_card_setup(
            session, user, setup.setup_intent_id, clock=clock, settings=connected
        )
        session.commit()
        assert outcome.card is not None
        ids.append(outcome.card.id)
    cards.make_default(session, user, ids[1], settings=connected)
    session.commit()
    assert next((c.id, c.is_default) for c in cards.saved_cards(session, user)) == (ids[1], True)
    cards.remove_card(session, user, ids[1], clock=clock, settings=connected)
    session.commit()
    assert [(c.id, c.is_default) for c in cards.saved_cards(session, user)] == [(ids[0], True)]
    removed = session.exec(select(SavedCard).where(col(SavedCard.id) == ids[1])).one()
    assert removed.removed_at is not None


def test_roles_without_cards_and_an_unconnected_stripe_are_refused(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    client = other_client(session, clock)
    viewer = client_user(client.id or 0, BuiltinClientRole.VIEW)
    with pytest.raises(NotAllowed):
        cards.start_card_setup(session, viewer, clock=clock, settings=settings)
    with pytest.raises(NotAllowed):
        cards.saved_cards(session, viewer)
    with pytest.raises(Conflict) as off:
        cards.start_card_setup(session, client_user(client.id or 0), clock=clock, settings=settings)
    assert off.value.message == cards.NOT_OFFERED
    assert session.exec(select(PaymentAttempt)).all() == []


def test_after_the_customer_is_deleted_at_stripe_a_new_one_is_made_with_a_new_key(
    session: Session, clock: FixedClock, connected: Settings
) -> None:
    user = client_user(other_client(session, clock).id or 0)
    cards.start_card_setup(session, user, clock=clock, settings=connected)
    session.commit()
    first = session.exec(select(StripeCustomer)).one()
    session.delete(first)  # what the job does on customer.deleted
    session.commit()
    cards.start_card_setup(session, user, clock=clock, settings=connected)
    session.commit()
    second = session.exec(select(StripeCustomer)).one()
    assert second.customer_id != first.customer_id
    keys_used = session.exec(
        select(PaymentAttempt.idempotency_key).where(col(PaymentAttempt.kind) == "customer")
    ).all()
    assert len(set(keys_used)) == 2


def test_live_keys_get_their_own_customer(
    session: Session, clock: FixedClock, connected: Settings
) -> None:
    user = client_user(other_client(session, clock).id or 0)
    cards.start_card_setup(session, user, clock=clock, settings=connected)
    session.commit()
    owner = session.exec(select(StaffUser).where(col(StaffUser.role_key) == "owner")).one()
    keys.save_stripe_keys(
        session,
        current_user_from(session, owner),
        keys.StripeKeysForm(
            publishable_key="pk_live_51Live0001",
            secret_key="sk_live_51Live0001",
            webhook_secret="whsec_Live0001",
        ),
        clock=clock,
        settings=connected,
    )
    session.commit()
    cards.start_card_setup(session, user, clock=clock, settings=connected)
    session.commit()
    (customer,) = session.exec(select(StripeCustomer)).all()
    assert customer.livemode


def test_the_database_keeps_one_default_card_per_client(
    session: Session, clock: FixedClock
) -> None:
    client_id = other_client(session, clock).id or 0
    for n in (1, 2):
        session.add(
            SavedCard(
                client_id=client_id,
                payment_method_id=f"pm_{n}",
                is_default=n == 1,
                created_at=clock.now(),
            )
        )
    session.commit()
    second = session.exec(select(SavedCard).where(col(SavedCard.payment_method_id) == "pm_2")).one()
    second.is_default = True
    session.add(second)
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()
    session.rollback()
