"""A stand-in for adapters/stripe_gateway.py, for what localstripe cannot produce: an
off-session charge that needs the client's bank (authentication_required), decline and advice
codes, an expired card, a card that declines then succeeds, a call whose answer never comes
back (a timeout after Stripe acted). It implements the same functions with the same typed
results and errors (the refusals through the gateway's own ``card_error``), and
tests/services/test_gateway_fake.py runs the same scenarios against it and localstripe so both
stay honest.

Cards are chosen by their PaymentMethod id (``FAKE_CARDS``); ``install(monkeypatch)`` puts the
fake in place of the gateway's calls for one test.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from billing_app.adapters import stripe_gateway as gateway
from billing_app.adapters.stripe_objects import (
    UNAVAILABLE,
    Card,
    Customer,
    GatewayError,
    PaymentIntent,
    Refund,
    SetupIntent,
    card_error,
)

# What each fake card does when it is charged.
FAKE_CARDS: dict[str, dict[str, Any]] = {
    "pm_fake_visa": {"brand": "visa", "last4": "4242"},
    "pm_fake_expired": {"brand": "visa", "last4": "0069", "code": "expired_card"},
    "pm_fake_insufficient": {
        "brand": "mastercard",
        "last4": "9995",
        "code": "card_declined",
        "decline": "insufficient_funds",
        "advice": "try_again_later",
    },
    "pm_fake_lost": {
        "brand": "visa",
        "last4": "9987",
        "code": "card_declined",
        "decline": "lost_card",
        "advice": "do_not_try_again",
    },
    "pm_fake_declines_once": {"brand": "visa", "last4": "0341", "declines": 1},
    "pm_fake_declines_twice": {"brand": "visa", "last4": "0342", "declines": 2},
    "pm_fake_needs_bank": {"brand": "visa", "last4": "3155", "off_session_auth": True},
    "pm_fake_timeout": {"brand": "visa", "last4": "1111", "timeout": True},
    # The confirmation never reaches Stripe (a connection error first): nothing is charged.
    "pm_fake_confirm_lost": {"brand": "visa", "last4": "2222", "confirm_lost": True},
}


@dataclass
class FakeStripe:
    """Stripe's objects in memory, and what was asked of it (``calls``)."""

    customers: dict[str, Customer] = field(default_factory=dict)
    cards: dict[str, Card] = field(default_factory=dict)
    intents: dict[str, PaymentIntent] = field(default_factory=dict)
    setups: dict[str, SetupIntent] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    declined: dict[str, int] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)  # idempotency key -> first answer
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"

    def _once(self, key: str, make: Any) -> Any:
        """Stripe's idempotency: the same key gives the first answer again."""
        if key not in self.keys:
            self.keys[key] = make()
        return self.keys[key]

    # --- customers and cards --------------------------------------------------------------

    def create_customer(
        self, config: Any, *, name: str, email: str, client_id: int, idempotency_key: str
    ) -> Customer:
        self.calls.append("create_customer")

        def make() -> Customer:
            customer = Customer(id=self._id("cus"), email=email)
            self.customers[customer.id] = customer
            return customer

        result: Customer = self._once(idempotency_key, make)
        return result

    def attach_card(self, config: Any, payment_method_id: str, customer_id: str) -> Card:
        self.calls.append("attach_card")
        spec = FAKE_CARDS.get(payment_method_id)
        if spec is None or customer_id not in self.customers:
            raise GatewayError("Stripe refused the request.", code="resource_missing")
        card = Card(
            id=payment_method_id,
            brand=spec["brand"],
            last4=spec["last4"],
            exp_month=12,
            exp_year=2031,
            customer_id=customer_id,
        )
        self.cards[card.id] = card
        return card

    def retrieve_card(self, config: Any, payment_method_id: str) -> Card:
        card = self.cards.get(payment_method_id)
        if card is None:
            raise GatewayError("Stripe refused the request.", code="resource_missing")
        return card

    def set_default_card(self, config: Any, customer_id: str, payment_method_id: str) -> None:
        self.calls.append("set_default_card")

    # --- charges ---------------------------------------------------------------------------

    def create_payment_intent(
        self,
        config: Any,
        *,
        amount_minor: int,
        currency: str,
        customer_id: str,
        payment_method_id: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> PaymentIntent:
        self.calls.append("create_payment_intent")

        def make() -> PaymentIntent:
            intent_id = self._id("pi")
            intent = PaymentIntent(
                id=intent_id,
                status="requires_confirmation",
                amount_minor=amount_minor,
                currency=currency.upper(),
                amount_received_minor=0,
                client_secret=f"{intent_id}_secret_fake",
                customer_id=customer_id,
                payment_method_id=payment_method_id,
                charge_id="",
                metadata=dict(metadata),
            )
            self.intents[intent.id] = intent
            return intent

        result: PaymentIntent = self._once(idempotency_key, make)
        return result

    def _charge(self, intent: PaymentIntent, *, off_session: bool) -> PaymentIntent:
        spec = FAKE_CARDS.get(intent.payment_method_id, {})
        if spec.get("confirm_lost"):
            raise GatewayError(UNAVAILABLE, code="unavailable", retryable=True)
        if spec.get("off_session_auth"):
            if off_session:
                failed = replace(
                    intent,
                    status="requires_payment_method",
                    error_code="authentication_required",
                    error_message=gateway.CARD_MESSAGES["authentication_required"],
                )
                self.intents[intent.id] = failed
                raise card_error("authentication_required")
            waiting = replace(intent, status="requires_action")
            self.intents[intent.id] = waiting
            return waiting
        if spec.get("code"):
            self.intents[intent.id] = replace(intent, status="requires_payment_method")
            raise card_error(
                spec["code"],
                decline_code=spec.get("decline", ""),
                advice_code=spec.get("advice", ""),
            )
        declines = spec.get("declines", 0)
        if self.declined.get(intent.payment_method_id, 0) < declines:
            self.declined[intent.payment_method_id] = (
                self.declined.get(intent.payment_method_id, 0) + 1
            )
            self.intents[intent.id] = replace(intent, status="requires_payment_method")
            raise card_error("card_declined", decline_code="generic_decline")
        paid = replace(
            intent,
            status="succeeded",
            amount_received_minor=intent.amount_minor,
            charge_id=self._id("ch"),
        )
        self.intents[intent.id] = paid
        if spec.get("timeout"):  # Stripe charged; its answer never reached us
            raise GatewayError(UNAVAILABLE, code="unavailable", retryable=True)
        return paid

    def confirm_payment_intent(
        self,
        config: Any,
        payment_intent_id: str,
        *,
        idempotency_key: str,
        off_session: bool = False,
    ) -> PaymentIntent:
        self.calls.append("confirm_payment_intent")
        intent = self.intents[payment_intent_id]
        return self._charge(intent, off_session=off_session)

    def charge_card(
        self,
        config: Any,
        *,
        amount_minor: int,
        currency: str,
        customer_id: str,
        payment_method_id: str,
        off_session: bool,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> PaymentIntent:
        self.calls.append("charge_card")
        intent = self.create_payment_intent(
            config,
            amount_minor=amount_minor,
            currency=currency,
            customer_id=customer_id,
            payment_method_id=payment_method_id,
            idempotency_key=idempotency_key,
            metadata=metadata,
        )
        return self._charge(intent, off_session=off_session)

    def retrieve_payment_intent(self, config: Any, payment_intent_id: str) -> PaymentIntent:
        self.calls.append("retrieve_payment_intent")
        intent = self.intents.get(payment_intent_id)
        if intent is None:
            raise GatewayError("Stripe refused the request.", code="resource_missing")
        return intent

    def cancel_payment_intent(self, config: Any, payment_intent_id: str) -> PaymentIntent:
        self.calls.append("cancel_payment_intent")
        intent = self.intents[payment_intent_id]
        if intent.status == "succeeded":
            raise GatewayError(
                "Stripe refused the request.", code="payment_intent_unexpected_state"
            )
        canceled = replace(intent, status="canceled")
        self.intents[intent.id] = canceled
        return canceled

    def refund(
        self,
        config: Any,
        *,
        payment_intent_id: str,
        amount_minor: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> Refund:
        self.calls.append("refund")

        def make() -> Refund:
            intent = self.intents[payment_intent_id]
            made = Refund(
                id=self._id("re"),
                status="succeeded",
                amount_minor=amount_minor,
                currency=intent.currency,
                payment_intent_id=payment_intent_id,
                metadata=dict(metadata),
            )
            self.refunds[made.id] = made
            return made

        result: Refund = self._once(idempotency_key, make)
        return result

    def list_refunds(self, config: Any, payment_intent_id: str) -> list[Refund]:
        return [r for r in self.refunds.values() if r.payment_intent_id == payment_intent_id]


PATCHED = (
    "create_customer",
    "attach_card",
    "retrieve_card",
    "set_default_card",
    "create_payment_intent",
    "confirm_payment_intent",
    "charge_card",
    "retrieve_payment_intent",
    "cancel_payment_intent",
    "refund",
    "list_refunds",
)


def install(monkeypatch: pytest.MonkeyPatch) -> FakeStripe:
    """The fake in place of the gateway's calls (the services call ``gateway.<name>``)."""
    fake = FakeStripe()
    for name in PATCHED:
        monkeypatch.setattr(gateway, name, getattr(fake, name))
    return fake
