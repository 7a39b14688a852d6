"""What a person reads when Stripe refuses: a card's problem in plain words (never Stripe's
own message, which may name internals), a key Stripe refused, or a service that is down
(worth trying again)."""

from __future__ import annotations

import pytest
import stripe

from billing_app.adapters import stripe_gateway as gateway


def _card_error(code: str, decline_code: str = "", advice_code: str = "") -> stripe.CardError:
    error = {"code": code, "message": "internal detail req_123", "type": "card_error"}
    if decline_code:
        error["decline_code"] = decline_code
    if advice_code:
        error["advice_code"] = advice_code
    return stripe.CardError(
        "internal detail req_123", None, code, http_status=402, json_body={"error": error}
    )


@pytest.mark.parametrize(
    ("code", "decline", "message"),
    [
        ("card_declined", "", "Your card was declined."),
        ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
        ("card_declined", "expired_card", "Your card has expired."),
        ("expired_card", "", "Your card has expired."),
        ("incorrect_cvc", "", "Your card's security code is incorrect."),
        ("authentication_required", "", "Your bank needs you to confirm this payment."),
        ("something_new", "", "Your card was declined."),
    ],
)
def test_a_refused_card_reads_in_plain_words(code: str, decline: str, message: str) -> None:
    translated = gateway._translated(_card_error(code, decline, "try_again_later"))
    assert isinstance(translated, gateway.CardError)
    assert translated.message == message
    assert (translated.code, translated.decline_code) == (code, decline)
    assert translated.advice_code == "try_again_later"
    assert "req_123" not in translated.message


def test_a_refused_key_and_an_unreachable_stripe_say_what_to_do() -> None:
    refused = gateway._translated(stripe.AuthenticationError("Invalid API Key provided: sk_***"))
    assert refused.message == gateway.NOT_CONNECTED and not refused.retryable
    assert "sk_" not in refused.message
    down = gateway._translated(stripe.APIConnectionError("connection reset"))
    assert down.message == gateway.UNAVAILABLE and down.retryable
    limited = gateway._translated(stripe.RateLimitError("slow down"))
    assert limited.retryable


def test_the_sdk_asks_for_the_pinned_api_version_and_never_retries_on_its_own() -> None:
    config = gateway.StripeConfig(secret_key="sk_test_x", api_base="http://127.0.0.1:9")
    sdk = gateway.client(config)
    options = sdk._requestor._options  # where the SDK keeps them
    assert options.stripe_version == gateway.API_VERSION
    assert options.max_network_retries == 0
    assert options.base_addresses["api"] == "http://127.0.0.1:9"
    production = gateway.client(gateway.StripeConfig(secret_key="sk_live_x"))
    assert production._requestor._options.base_addresses["api"] == "https://api.stripe.com"
