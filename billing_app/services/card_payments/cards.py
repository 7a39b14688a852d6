"""A client's saved cards: save one (a SetupIntent that Stripe.js confirms in the browser, so
the card's number never reaches us), list them, choose the default for automatic charges,
remove one.

Every card and every Stripe object is the client's of the actor's session (never an id the
browser chose alone: a card or SetupIntent of another client is "not found"). A create call to
Stripe is preceded by a committed PaymentAttempt whose key goes with the call; no call is made
inside a transaction (docs/architecture.md, "Card payments").
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.adapters.stripe_gateway import StripeConfig
from billing_app.db.card_payments import PaymentAttempt, SavedCard, StripeCustomer
from billing_app.db.customers import Client
from billing_app.domain.permissions import ClientPermission
from billing_app.services.access.portal_identity import (
    NOT_FOUND,
    ClientUser,
    require_client,
    require_member,
)
from billing_app.services.billing.dunning_state import card_changed
from billing_app.services.card_payments.stripe_settings import publishable_key, stripe_config
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, NotFound
from billing_app.settings import Settings, get_settings

NOT_OFFERED = "Card payments are not available. Pay by bank transfer, or ask us."


@dataclass(frozen=True)
class CardSetup:
    """What the browser needs to collect a card with Stripe.js."""

    publishable_key: str
    client_secret: str
    setup_intent_id: str
    stripe_js_url: str  # where the browser loads Stripe.js from


@dataclass(frozen=True)
class CardRow:
    id: int
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool


@dataclass(frozen=True)
class SetupOutcome:
    saved: bool
    message: str
    card: CardRow | None = None


def connected_config(session: Session, settings: Settings | None) -> StripeConfig:
    """Stripe's keys, or Conflict (card payments are not offered) when none are saved."""
    config = stripe_config(session, settings=settings)
    if config is None:
        raise Conflict(NOT_OFFERED)
    return config


def _attempt(session: Session, kind: str, client_id: int, key: str, clock: Clock) -> PaymentAttempt:
    now = clock.now()
    attempt = session.exec(
        select(PaymentAttempt).where(col(PaymentAttempt.idempotency_key) == key)
    ).first()
    if attempt is None:
        attempt = PaymentAttempt(
            idempotency_key=key, kind=kind, client_id=client_id, created_at=now, updated_at=now
        )
        session.add(attempt)
    return attempt


def _settle(
    attempt: PaymentAttempt,
    clock: Clock,
    *,
    stripe_id: str = "",
    status: str = "",
    error: str = "",
) -> None:
    attempt.state = "failed" if error else "done"
    attempt.stripe_id = stripe_id or attempt.stripe_id
    attempt.stripe_status = status[:40]
    attempt.error = error[:500]
    attempt.updated_at = clock.now()


def customer_of(
    session: Session, client_id: int, config: StripeConfig, clock: Clock
) -> StripeCustomer:
    """The client's Stripe customer in the keys' mode, made the first time. An unfinished
    attempt is retried with its own key (a retry after a crash gets the same customer from
    Stripe); after a customer deleted at Stripe, or a switch between test and live keys, a new
    attempt with a new key makes a new one."""
    livemode = config.secret_key.startswith(("sk_live_", "rk_live_"))
    found = session.exec(
        select(StripeCustomer).where(col(StripeCustomer.client_id) == client_id)
    ).first()
    if found is not None and found.livemode == livemode:
        return found
    if found is not None:  # made with the other mode's keys: unknown to these
        session.delete(found)
        session.flush()
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(NOT_FOUND)
    unfinished = session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.kind) == "customer")
        .where(col(PaymentAttempt.client_id) == client_id)
        .where(col(PaymentAttempt.state) == "started")
        .order_by(col(PaymentAttempt.id).desc())
    ).first()
    key = unfinished.idempotency_key if unfinished else f"customer-{client_id}-{uuid.uuid4().hex}"
    attempt = _attempt(session, "customer", client_id, key, clock)
    session.commit()  # the attempt is kept before Stripe is called
    try:
        customer = gateway.create_customer(
            config,
            name=client.company,
            email=client.email,
            client_id=client_id,
            idempotency_key=attempt.idempotency_key,
        )
    except gateway.GatewayError as exc:
        _settle(attempt, clock, error=exc.message)
        session.add(attempt)
        session.commit()
        raise Conflict(exc.message) from exc
    _settle(attempt, clock, stripe_id=customer.id, status="created")
    session.add(attempt)
    row = StripeCustomer(
        client_id=client_id, customer_id=customer.id, livemode=livemode, created_at=clock.now()
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another tab made it a moment ago
        stored = session.exec(
            select(StripeCustomer).where(col(StripeCustomer.client_id) == client_id)
        ).one()
        return stored
    return row


def start_card_setup(
    session: Session,
    actor: ClientUser,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> CardSetup:
    """A SetupIntent for the actor's client, for Stripe.js to confirm with the card typed in
    the browser."""
    client_id = require_client(actor, ClientPermission.PAYMENT_METHODS_MANAGE)
    config = connected_config(session, settings)
    customer = customer_of(session, client_id, config, clock)
    attempt = _attempt(session, "setup", client_id, f"setup-{uuid.uuid4().hex}", clock)
    session.commit()
    try:
        intent = gateway.create_setup_intent(
            config, customer_id=customer.customer_id, idempotency_key=attempt.idempotency_key
        )
    except gateway.GatewayError as exc:
        _settle(attempt, clock, error=exc.message)
        session.add(attempt)
        session.commit()  # the failure is kept: the Conflict rolls back what follows only
        raise Conflict(exc.message) from exc
    _settle(attempt, clock, stripe_id=intent.id, status=intent.status)
    session.add(attempt)
    return CardSetup(
        publishable_key=publishable_key(session),
        client_secret=intent.client_secret,
        setup_intent_id=intent.id,
        stripe_js_url=(settings or get_settings()).stripe_js_url,
    )


def finish_card_setup(
    session: Session,
    actor: ClientUser,
    setup_intent_id: str,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> SetupOutcome:
    """Keep the card of a SetupIntent the browser says it confirmed: only one this client
    started, and only as Stripe reports it (the browser's word is a hint)."""
    client_id = require_client(actor, ClientPermission.PAYMENT_METHODS_MANAGE)
    config = connected_config(session, settings)
    attempt = session.exec(
        select(PaymentAttempt)
        .where(col(PaymentAttempt.kind) == "setup")
        .where(col(PaymentAttempt.stripe_id) == str(setup_intent_id)[:255])
        .where(col(PaymentAttempt.client_id) == client_id)
    ).first()
    customer = session.exec(
        select(StripeCustomer).where(col(StripeCustomer.client_id) == client_id)
    ).first()
    if attempt is None or customer is None:
        raise NotFound(NOT_FOUND)
    session.commit()
    try:
        intent = gateway.retrieve_setup_intent(config, attempt.stripe_id)
        if intent.status != "succeeded" or not intent.payment_method_id:
            return SetupOutcome(False, "The card was not confirmed. Try again.")
        if intent.customer_id and intent.customer_id != customer.customer_id:
            raise NotFound(NOT_FOUND)
        card = gateway.attach_card(config, intent.payment_method_id, customer.customer_id)
    except gateway.GatewayError as exc:
        return SetupOutcome(False, exc.message)
    attempt.stripe_status = intent.status
    attempt.updated_at = clock.now()
    session.add(attempt)
    row = keep_card(session, client_id, card, clock)
    session.flush()
    if row.is_default:
        session.commit()
        tell_stripe_default(config, customer.customer_id, card.id)
    return SetupOutcome(True, "Card saved.", _row(row))


def tell_stripe_default(config: StripeConfig, customer_id: str, payment_method_id: str) -> None:
    """Stripe's copy of the default card (ours is the one that counts: a failure here is put
    right at the next change)."""
    with contextlib.suppress(gateway.GatewayError):
        gateway.set_default_card(config, customer_id, payment_method_id)


def keep_card(session: Session, client_id: int, card: gateway.Card, clock: Clock) -> SavedCard:
    """Our copy of ``card`` for the client (the first card becomes the default). The page and
    the event job may both keep the same new card at once: the second one updates it."""
    for _ in range(2):
        row = session.exec(
            select(SavedCard).where(col(SavedCard.payment_method_id) == card.id)
        ).first()
        if row is not None and row.client_id != client_id:
            raise NotFound(NOT_FOUND)
        has_default = session.exec(
            select(SavedCard.id)
            .where(col(SavedCard.client_id) == client_id)
            .where(col(SavedCard.removed_at).is_(None))
            .where(col(SavedCard.is_default).is_(True))
        ).first()
        if row is None:
            row = SavedCard(client_id=client_id, payment_method_id=card.id, created_at=clock.now())
        row.brand, row.last4 = card.brand[:40], card.last4[:4]
        row.exp_month, row.exp_year = card.exp_month, card.exp_year
        row.removed_at = None
        if has_default is None:
            row.is_default = True
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # kept a moment ago by the other (same card, or a default)
            continue
        return row
    msg = "The card could not be kept. Try again."
    raise Conflict(msg)


def _row(card: SavedCard) -> CardRow:
    assert card.id is not None
    return CardRow(
        id=card.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        is_default=card.is_default,
    )


def _cards(session: Session, client_id: int) -> list[SavedCard]:
    return list(
        session.exec(
            select(SavedCard)
            .where(col(SavedCard.client_id) == client_id)
            .where(col(SavedCard.removed_at).is_(None))
            .order_by(col(SavedCard.is_default).desc(), col(SavedCard.created_at).desc())
        ).all()
    )


def saved_cards(session: Session, actor: ClientUser) -> list[CardRow]:
    """The client's saved cards, the default first."""
    return client_cards(session, require_client(actor, ClientPermission.PAYMENT_METHODS_MANAGE))


def client_cards(session: Session, client_id: int) -> list[CardRow]:
    """A client's saved cards, the default first (the caller checked the actor's rights)."""
    return [_row(card) for card in _cards(session, client_id)]


def _own_card(session: Session, client_id: int, card_id: int) -> SavedCard:
    card = session.get(SavedCard, card_id) if 0 < card_id < 2**63 else None
    if card is None or card.client_id != client_id or card.removed_at is not None:
        raise NotFound(NOT_FOUND)
    return card


def make_default(
    session: Session,
    actor: ClientUser,
    card_id: int,
    *,
    settings: Settings | None = None,
) -> None:
    """Charge this card when the client's invoices are paid automatically."""
    client_id = require_client(actor, ClientPermission.PAYMENT_METHODS_MANAGE)
    card = _own_card(session, client_id, card_id)
    set_default(session, card)
    config = stripe_config(session, settings=settings)
    customer = session.exec(
        select(StripeCustomer).where(col(StripeCustomer.client_id) == client_id)
    ).first()
    session.commit()
    if config is not None and customer is not None:
        tell_stripe_default(config, customer.customer_id, card.payment_method_id)


def set_default(session: Session, card: SavedCard) -> None:
    """Make ``card`` its client's default card: the others first, then this one, so the
    database keeps one default at any moment and two tabs choosing two cards leave one
    default, whichever ran last."""
    session.flush()
    table = SavedCard.__table__  # type: ignore[attr-defined]
    session.execute(
        sa.update(table)
        .where(table.c.client_id == card.client_id)
        .where(table.c.is_default.is_(True))
        .where(table.c.id != card.id)
        .values(is_default=False)
    )
    session.execute(sa.update(table).where(table.c.id == card.id).values(is_default=True))
    card_changed(session, card.client_id)  # unpaid automatic charges: tried once at once


def remove_card(
    session: Session,
    actor: ClientUser,
    card_id: int,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> None:
    """Detach the card at Stripe, then forget it; the newest other card becomes the default
    when it was the default."""
    client_id = require_client(actor, ClientPermission.PAYMENT_METHODS_MANAGE)
    card = _own_card(session, client_id, card_id)
    config = connected_config(session, settings)
    session.commit()
    try:
        gateway.detach_card(config, card.payment_method_id)
    except gateway.GatewayError as exc:
        if exc.code not in ("resource_missing", "invalid_request"):
            raise Conflict(exc.message) from exc
    forget_card(session, card, clock)


def forget_card(session: Session, card: SavedCard, clock: Clock) -> None:
    """Mark the card removed; when it was the default, the newest other card becomes it."""
    if card.removed_at is not None:
        return
    card.removed_at = clock.now()
    was_default, card.is_default = card.is_default, False
    session.add(card)
    session.flush()
    if was_default:
        rest = _cards(session, card.client_id)
        if rest:
            rest[0].is_default = True
            session.add(rest[0])


def cards_offered(session: Session, actor: ClientUser) -> bool:
    """Whether the actor may manage the client's cards and card payments are set up."""
    require_member(actor)
    return actor.may(ClientPermission.PAYMENT_METHODS_MANAGE) and bool(publishable_key(session))
