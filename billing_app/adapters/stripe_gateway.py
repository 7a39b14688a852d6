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
from dataclasses import dataclass
from typing import Any

import stripe

# The API version every request asks for: Stripe answers in this shape whatever the account's
# default is, so an upgrade on Stripe's side never changes what we parse.
API_VERSION = "2026-10-28.endive"
# A webhook signed longer ago than this, or this far in the future, is refused (a replay).
WEBHOOK_TOLERANCE_SECONDS = 300
MAX_WEBHOOK_BYTES = 512 * 1024  # Stripe's events are a few KiB; anything bigger is not one


@dataclass(frozen=True)
class StripeConfig:
    secret_key: str
    api_base: str = ""  # localstripe's address in tests; Stripe's own when empty
    timeout_seconds: float = 20.0


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


def _signature_timestamp(header: str) -> int:
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                break
    raise InvalidWebhook("no timestamp in the signature header")


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
            stripe.WebhookSignature.verify_header(text, header, secret)
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
        message = CARD_MESSAGES.get(decline) or CARD_MESSAGES.get(code) or DEFAULT_CARD_MESSAGE
        return CardError(message, code=code, decline_code=decline, advice_code=advice)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return GatewayError(NOT_CONNECTED, code="authentication")
    if isinstance(exc, stripe.RateLimitError | stripe.APIConnectionError):
        return GatewayError(UNAVAILABLE, code="unavailable", retryable=True)
    if isinstance(exc, stripe.InvalidRequestError):
        return GatewayError("Stripe refused the request.", code=exc.code or "invalid_request")
    return GatewayError(UNAVAILABLE, code="api_error", retryable=True)


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
