"""What Stripe's calls give and refuse, in our own types (adapters/stripe_gateway.py makes the
calls and re-exports these): typed results read from Stripe's objects, and errors with a message
a client can read. No ``import stripe`` here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class GatewayError(Exception):
    """A call to Stripe failed; ``message`` is fit to show to the person who asked."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


class CardError(GatewayError):
    """The card was refused (declined, expired, wrong CVC, authentication needed)."""

    def __init__(
        self, message: str, *, code: str = "", decline_code: str = "", advice_code: str = ""
    ) -> None:
        super().__init__(message, code=code)
        self.decline_code = decline_code
        self.advice_code = advice_code


class InvalidWebhook(Exception):
    """A webhook request that is not a genuine, recent Stripe event; ``reason`` for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# What a client reads when their card is refused, by Stripe's error code.
CARD_MESSAGES = {
    "card_declined": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "incorrect_number": "Your card number is incorrect.",
    "invalid_expiry_month": "Your card's expiration month is invalid.",
    "invalid_expiry_year": "Your card's expiration year is invalid.",
    "processing_error": "An error occurred while processing your card. Try again.",
    "insufficient_funds": "Your card has insufficient funds.",
    "authentication_required": "Your bank needs you to confirm this payment.",
}
DEFAULT_CARD_MESSAGE = "Your card was declined."


def card_error(code: str, *, decline_code: str = "", advice_code: str = "") -> CardError:
    """The refusal of a card by Stripe's codes, with the words a client reads."""
    message = CARD_MESSAGES.get(decline_code) or CARD_MESSAGES.get(code) or DEFAULT_CARD_MESSAGE
    return CardError(message, code=code, decline_code=decline_code, advice_code=advice_code)


# Refusals never tried again: the card is gone, or the bank says so.
HARD_DECLINES = frozenset({"lost_card", "stolen_card", "pickup_card", "fraudulent"})


def refusal_code(error: CardError) -> str:
    """Why a card was refused, for what comes next: "hard" (never try this card again),
    else Stripe's code (authentication_required, card_declined, ...)."""
    if error.decline_code in HARD_DECLINES or error.advice_code == "do_not_try_again":
        return "hard"
    return error.code


UNAVAILABLE = "The payment service is unavailable at the moment. Try again in a few minutes."
NOT_CONNECTED = "The Stripe keys were refused. Check the secret key."


@dataclass(frozen=True)
class WebhookEvent:
    """A verified Stripe event: what we store before anything acts on it."""

    id: str
    type: str
    livemode: bool
    created: int
    object_id: str  # the id of data.object (a PaymentIntent, a Charge...), or ""
    payload: str  # the body exactly as Stripe sent it


# --- typed results --------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    id: str
    email: str


@dataclass(frozen=True)
class Card:
    """A saved card as a client may see it (never its number)."""

    id: str  # the PaymentMethod
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    customer_id: str


@dataclass(frozen=True)
class SetupIntent:
    id: str
    status: str  # requires_payment_method, requires_action, succeeded, ...
    client_secret: str  # for Stripe.js in the browser only
    customer_id: str
    payment_method_id: str


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: str  # succeeded, requires_action, requires_payment_method, processing, canceled
    amount_minor: int
    currency: str  # upper case, ours
    amount_received_minor: int
    client_secret: str  # handed to the browser only to finish 3-D Secure
    customer_id: str
    payment_method_id: str
    charge_id: str
    metadata: dict[str, str]
    error_code: str = ""  # last_payment_error: why the last try failed
    error_message: str = ""  # a client-readable message for it ("" when none failed)


@dataclass(frozen=True)
class Refund:
    id: str
    status: str  # succeeded, pending, failed, canceled
    amount_minor: int
    currency: str
    payment_intent_id: str
    metadata: dict[str, str] = field(default_factory=dict)


def id_of(value: Any) -> str:
    """An expandable field: the id, whether Stripe sent the id or the object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def card_of(data: dict[str, Any]) -> Card:
    card = data.get("card") or {}
    return Card(
        id=str(data["id"]),
        brand=str(card.get("brand") or ""),
        last4=str(card.get("last4") or ""),
        exp_month=int(card.get("exp_month") or 0),
        exp_year=int(card.get("exp_year") or 0),
        customer_id=id_of(data.get("customer")),
    )


def setup_intent_of(data: dict[str, Any]) -> SetupIntent:
    return SetupIntent(
        id=str(data["id"]),
        status=str(data.get("status") or ""),
        client_secret=str(data.get("client_secret") or ""),
        customer_id=id_of(data.get("customer")),
        payment_method_id=id_of(data.get("payment_method")),
    )


# Why a payment failed after the browser's part (3-D Secure), by last_payment_error's code.
AUTHENTICATION_FAILED = "Your bank did not confirm the payment. Try again, or use another card."


def _payment_error(data: dict[str, Any]) -> tuple[str, str]:
    error = data.get("last_payment_error") or {}
    if not isinstance(error, dict) or not error:
        return "", ""
    code = str(error.get("code") or "")
    decline = str(error.get("decline_code") or "")
    if code in ("payment_intent_authentication_failure", "authentication_required"):
        return code, AUTHENTICATION_FAILED
    message = CARD_MESSAGES.get(decline) or CARD_MESSAGES.get(code) or DEFAULT_CARD_MESSAGE
    return code or "card_declined", message


def payment_intent_of(data: dict[str, Any]) -> PaymentIntent:
    error_code, error_message = _payment_error(data)
    return PaymentIntent(
        id=str(data["id"]),
        status=str(data.get("status") or ""),
        amount_minor=int(data.get("amount") or 0),
        currency=str(data.get("currency") or "").upper(),
        amount_received_minor=int(data.get("amount_received") or 0),
        client_secret=str(data.get("client_secret") or ""),
        customer_id=id_of(data.get("customer")),
        payment_method_id=id_of(data.get("payment_method")),
        charge_id=id_of(data.get("latest_charge")),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        error_code=error_code,
        error_message=error_message,
    )


def refund_of(data: dict[str, Any]) -> Refund:
    return Refund(
        id=str(data["id"]),
        status=str(data.get("status") or ""),
        amount_minor=int(data.get("amount") or 0),
        currency=str(data.get("currency") or "").upper(),
        payment_intent_id=id_of(data.get("payment_intent")),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
    )


@dataclass(frozen=True)
class CustomerRecord:
    """A customer of the Stripe account, as the import from Stripe reads it."""

    id: str
    name: str
    email: str
    phone: str
    address: dict[str, str]  # line1, line2, city, postal_code, state, country (as Stripe has)
    currency: str  # upper case, "" when Stripe has none yet
    default_payment_method_id: str
    livemode: bool


def customer_record_of(data: dict[str, Any]) -> CustomerRecord:
    address = data.get("address") or {}
    settings = data.get("invoice_settings") or {}
    return CustomerRecord(
        id=str(data["id"]),
        name=str(data.get("name") or data.get("description") or ""),
        email=str(data.get("email") or ""),
        phone=str(data.get("phone") or ""),
        address={str(k): str(v or "") for k, v in address.items()}
        if isinstance(address, dict)
        else {},
        currency=str(data.get("currency") or "").upper(),
        default_payment_method_id=id_of(settings.get("default_payment_method"))
        if isinstance(settings, dict)
        else "",
        livemode=bool(data.get("livemode")),
    )
