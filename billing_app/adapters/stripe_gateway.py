"""Stripe, the payment processor: the only module that imports ``stripe``.

One thin function per call, a pinned API version, typed results, and Stripe's errors turned
into ours with a message a client can read. Nothing here touches the database; the services
decide what to call and record what came back (docs/architecture.md, "Card payments").

Tests point the SDK at localstripe through ``StripeConfig.api_base`` (``BILLING_STRIPE_API_BASE``,
never set in production).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import stripe

from billing_app.adapters.stripe_objects import (
    AUTHENTICATION_FAILED,
    CARD_MESSAGES,
    DEFAULT_CARD_MESSAGE,
    NOT_CONNECTED,
    UNAVAILABLE,
    Card,
    CardError,
    Customer,
    CustomerRecord,
    GatewayError,
    InvalidWebhook,
    PaymentIntent,
    Refund,
    SetupIntent,
    WebhookEvent,
    card_error,
    card_of,
    customer_record_of,
    payment_intent_of,
    refund_of,
    refusal_code,
    setup_intent_of,
)

__all__ = [
    "API_VERSION",
    "AUTHENTICATION_FAILED",
    "CARD_MESSAGES",
    "DEFAULT_CARD_MESSAGE",
    "MAX_WEBHOOK_BYTES",
    "NOT_CONNECTED",
    "UNAVAILABLE",
    "WEBHOOK_TOLERANCE_SECONDS",
    "AccountCheck",
    "Card",
    "CardError",
    "Customer",
    "CustomerPage",
    "CustomerRecord",
    "GatewayError",
    "InvalidWebhook",
    "PaymentIntent",
    "Refund",
    "SetupIntent",
    "StripeConfig",
    "WebhookEvent",
    "attach_card",
    "cancel_payment_intent",
    "card_error",
    "charge_card",
    "check_connection",
    "client",
    "confirm_payment_intent",
    "create_customer",
    "create_payment_intent",
    "create_setup_intent",
    "detach_card",
    "list_cards",
    "list_customers",
    "list_refunds",
    "refund",
    "refusal_code",
    "retrieve_card",
    "retrieve_payment_intent",
    "retrieve_setup_intent",
    "set_default_card",
    "verify_webhook",
]

# The API version every request asks for: Stripe answers in this shape whatever the account's
# default is, so an upgrade on Stripe's side never changes what we parse.
API_VERSION = "2026-10-28.endive"
# A webhook signed longer ago than this, or this far in the future, is refused (a replay).
WEBHOOK_TOLERANCE_SECONDS = 300
MAX_WEBHOOK_BYTES = 512 * 1024  # Stripe's events are a few KiB; anything bigger is not one


@dataclass(frozen=True)
class StripeConfig:
    secret_key: str = field(repr=False)
    api_base: str = ""  # localstripe's address in tests; Stripe's own when empty
    timeout_seconds: float = 20.0


def _signature_timestamp(header: str) -> int:
    """The header's one timestamp, read exactly as the SDK reads it (items split on "," and
    "=", keys as they are): a header with several, or a padded key, is refused, so the time
    checked here is the time the signature covers."""
    pairs = [item.split("=", 1) for item in header.split(",")]
    if any(len(pair) != 2 or pair[0] != pair[0].strip() for pair in pairs):
        raise InvalidWebhook("malformed signature header")
    stamps = [value for key, value in pairs if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or len(stamps[0]) > 12:
        raise InvalidWebhook("the signature header needs exactly one timestamp")
    return int(stamps[0])


def verify_webhook(
    body: bytes, header: str | None, secrets: Sequence[str], *, now: float
) -> WebhookEvent:
    """The event in ``body`` when ``header`` (Stripe-Signature) signs it with one of
    ``secrets`` (several during a rotation: any ``v1`` signature may match) within
    WEBHOOK_TOLERANCE_SECONDS of ``now``; InvalidWebhook otherwise."""
    if not header:
        raise InvalidWebhook("no signature header")
    if not secrets:
        raise InvalidWebhook("no webhook signing secret is configured")
    if len(body) > MAX_WEBHOOK_BYTES:
        raise InvalidWebhook("body too large")
    timestamp = _signature_timestamp(header)
    if abs(now - timestamp) > WEBHOOK_TOLERANCE_SECONDS:
        raise InvalidWebhook("signature timestamp outside the tolerance")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidWebhook("body is not UTF-8") from exc
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                text, header, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError:
            continue
        break
    else:
        raise InvalidWebhook("no signature matches")
    try:
        event = json.loads(text)
    except ValueError as exc:
        raise InvalidWebhook("body is not JSON") from exc
    if not isinstance(event, dict):
        raise InvalidWebhook("body is not an event")
    event_id, kind = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not event_id.startswith("evt_") or len(event_id) > 255:
        raise InvalidWebhook("no event id")
    if not isinstance(kind, str) or not kind or len(kind) > 100:
        raise InvalidWebhook("no event type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    object_id = obj.get("id") if isinstance(obj, dict) else None
    created = event.get("created")
    return WebhookEvent(
        id=event_id,
        type=kind,
        livemode=bool(event.get("livemode")),
        created=created if isinstance(created, int) else 0,
        object_id=object_id if isinstance(object_id, str) else "",
        payload=text,
    )


def client(config: StripeConfig) -> stripe.StripeClient:
    """An SDK client for ``config``: the pinned API version, no retries of its own (our
    idempotency keys and jobs decide what is tried again)."""
    base: dict[str, Any] = {"api": config.api_base} if config.api_base else {}
    return stripe.StripeClient(
        config.secret_key,
        stripe_version=API_VERSION,
        max_network_retries=0,
        base_addresses=base,  # type: ignore[arg-type]
        http_client=stripe.RequestsClient(timeout=config.timeout_seconds),
    )


def _translated(exc: stripe.StripeError) -> GatewayError:
    if isinstance(exc, stripe.CardError):
        error = exc.error
        code = (getattr(error, "code", None) or exc.code or "") if error else (exc.code or "")
        decline = (getattr(error, "decline_code", None) or "") if error else ""
        advice = (getattr(error, "advice_code", None) or "") if error else ""
        return card_error(code, decline_code=decline, advice_code=advice)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return GatewayError(NOT_CONNECTED, code="authentication")
    if isinstance(exc, stripe.RateLimitError | stripe.APIConnectionError):
        return GatewayError(UNAVAILABLE, code="unavailable", retryable=True)
    if isinstance(exc, stripe.InvalidRequestError):
        return GatewayError("Stripe refused the request.", code=exc.code or "invalid_request")
    return GatewayError(UNAVAILABLE, code="api_error", retryable=True)


def _call(make: Any) -> dict[str, Any]:
    """Run one SDK call; its result as a plain dict, its failure as our error."""
    try:
        result = make()
    except stripe.StripeError as exc:
        raise _translated(exc) from exc
    data: dict[str, Any] = result.to_dict()
    return data


# --- calls -------------------------------------------------------------------------------------
# Every create call takes the idempotency key of a row committed before the call (a retry after
# a timeout sends the same key, and Stripe answers with what it did the first time).


def create_customer(
    config: StripeConfig, *, name: str, email: str, client_id: int, idempotency_key: str
) -> Customer:
    sdk = client(config)
    data = _call(
        lambda: sdk.v1.customers.create(
            params={"name": name, "email": email, "metadata": {"client_id": str(client_id)}},
            options={"idempotency_key": idempotency_key},
        )
    )
    return Customer(id=str(data["id"]), email=str(data.get("email") or ""))


def create_setup_intent(
    config: StripeConfig, *, customer_id: str, idempotency_key: str
) -> SetupIntent:
    """A SetupIntent to save a card for later charges without the client present; without a
    customer ("") the card is attached to none until we decide to keep it."""
    sdk = client(config)
    params: Any = {"usage": "off_session", "payment_method_types": ["card"]}
    if customer_id:
        params["customer"] = customer_id
    return setup_intent_of(
        _call(
            lambda: sdk.v1.setup_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        )
    )


def retrieve_setup_intent(config: StripeConfig, setup_intent_id: str) -> SetupIntent:
    sdk = client(config)
    return setup_intent_of(_call(lambda: sdk.v1.setup_intents.retrieve(setup_intent_id)))


def attach_card(config: StripeConfig, payment_method_id: str, customer_id: str) -> Card:
    """Attach a card to the customer (real Stripe does it when a SetupIntent succeeds; doing
    it again is harmless)."""
    sdk = client(config)
    return card_of(
        _call(
            lambda: sdk.v1.payment_methods.attach(
                payment_method_id, params={"customer": customer_id}
            )
        )
    )


def retrieve_card(config: StripeConfig, payment_method_id: str) -> Card:
    sdk = client(config)
    return card_of(_call(lambda: sdk.v1.payment_methods.retrieve(payment_method_id)))


def list_cards(config: StripeConfig, customer_id: str) -> list[Card]:
    sdk = client(config)
    data = _call(
        lambda: sdk.v1.payment_methods.list(
            params={"customer": customer_id, "type": "card", "limit": 100}
        )
    )
    return [card_of(item) for item in data.get("data") or []]


def detach_card(config: StripeConfig, payment_method_id: str) -> None:
    sdk = client(config)
    _call(lambda: sdk.v1.payment_methods.detach(payment_method_id))


def set_default_card(config: StripeConfig, customer_id: str, payment_method_id: str) -> None:
    sdk = client(config)
    _call(
        lambda: sdk.v1.customers.update(
            customer_id,
            params={"invoice_settings": {"default_payment_method": payment_method_id}},
        )
    )


def charge_card(
    config: StripeConfig,
    *,
    amount_minor: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    off_session: bool,
    idempotency_key: str,
    metadata: dict[str, str],
) -> PaymentIntent:
    """Create and confirm a PaymentIntent on a saved card: ``requires_action`` hands 3-D
    Secure to the browser (on session); a refusal raises CardError. ``metadata`` carries our
    attempt's key, so the charge can be found again after a crash."""
    sdk = client(config)
    params: dict[str, Any] = {
        "amount": amount_minor,
        "currency": currency.lower(),
        "customer": customer_id,
        "payment_method": payment_method_id,
        "payment_method_types": ["card"],
        "confirm": True,
        "metadata": metadata,
    }
    if off_session:
        params["off_session"] = True
    return payment_intent_of(
        _call(
            lambda: sdk.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        )
    )


def create_payment_intent(
    config: StripeConfig,
    *,
    amount_minor: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    idempotency_key: str,
    metadata: dict[str, str],
) -> PaymentIntent:
    """A PaymentIntent for a saved card, not confirmed yet: nothing is charged until
    ``confirm_payment_intent``, so its id can be kept before any money moves (a crash after
    the confirmation finds the payment by that id)."""
    sdk = client(config)
    params: dict[str, Any] = {
        "amount": amount_minor,
        "currency": currency.lower(),
        "payment_method": payment_method_id,
        "payment_method_types": ["card"],
        "metadata": metadata,
    }
    if customer_id:  # "" for a card used once (never attached to a customer)
        params["customer"] = customer_id
    return payment_intent_of(
        _call(
            lambda: sdk.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        )
    )


def confirm_payment_intent(
    config: StripeConfig,
    payment_intent_id: str,
    *,
    idempotency_key: str,
    off_session: bool = False,
) -> PaymentIntent:
    """Charge the card of a PaymentIntent: the client present (``requires_action`` hands 3-D
    Secure to the browser), or with ``off_session`` the client away (a bank that wants them
    raises CardError ``authentication_required``); a refusal raises CardError."""
    sdk = client(config)
    params: dict[str, Any] = {"off_session": True} if off_session else {}
    return payment_intent_of(
        _call(
            lambda: sdk.v1.payment_intents.confirm(
                payment_intent_id,
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        )
    )


def retrieve_payment_intent(config: StripeConfig, payment_intent_id: str) -> PaymentIntent:
    sdk = client(config)
    return payment_intent_of(_call(lambda: sdk.v1.payment_intents.retrieve(payment_intent_id)))


def cancel_payment_intent(config: StripeConfig, payment_intent_id: str) -> PaymentIntent:
    sdk = client(config)
    return payment_intent_of(_call(lambda: sdk.v1.payment_intents.cancel(payment_intent_id)))


def refund(
    config: StripeConfig,
    *,
    payment_intent_id: str,
    amount_minor: int,
    idempotency_key: str,
    metadata: dict[str, str],
) -> Refund:
    """Refund part or all of a charge. What may be refunded is decided before (we refuse
    more than was paid whatever Stripe would accept)."""
    sdk = client(config)
    return refund_of(
        _call(
            lambda: sdk.v1.refunds.create(
                params={
                    "payment_intent": payment_intent_id,
                    "amount": amount_minor,
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key},
            )
        )
    )


def list_refunds(config: StripeConfig, payment_intent_id: str) -> list[Refund]:
    """The refunds of a payment, as Stripe has them now (the newest 100)."""
    sdk = client(config)
    data = _call(
        lambda: sdk.v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": 100})
    )
    return [refund_of(item) for item in data.get("data") or []]


@dataclass(frozen=True)
class AccountCheck:
    livemode: bool  # the key is a live key (sk_live_), not a test one


def check_connection(config: StripeConfig) -> AccountCheck:
    """Whether Stripe accepts the secret key (one cheap read); GatewayError otherwise."""
    try:
        client(config).v1.customers.list(params={"limit": 1})
    except stripe.StripeError as exc:
        raise _translated(exc) from exc
    return AccountCheck(livemode=config.secret_key.startswith(("sk_live_", "rk_live_")))


@dataclass(frozen=True)
class CustomerPage:
    customers: list[CustomerRecord]
    has_more: bool


def list_customers(
    config: StripeConfig, *, starting_after: str = "", limit: int = 50
) -> CustomerPage:
    """A page of the account's customers (Stripe's order: newest first), after the customer
    ``starting_after`` when given."""
    sdk = client(config)
    params: dict[str, Any] = {"limit": max(1, min(limit, 100))}
    if starting_after:
        params["starting_after"] = starting_after
    data = _call(lambda: sdk.v1.customers.list(params=params))  # type: ignore[arg-type]
    return CustomerPage(
        customers=[customer_record_of(item) for item in data.get("data") or []],
        has_more=bool(data.get("has_more")),
    )
