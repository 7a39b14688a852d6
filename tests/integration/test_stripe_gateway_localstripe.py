"""The gateway against localstripe with the real SDK: "Test connection" reads the account with
the pinned API version and says whether the key is a live one."""

from __future__ import annotations

import pytest

from billing_app.adapters import stripe_gateway as gateway


def test_test_connection_reads_stripe_with_the_key(localstripe: str) -> None:
    check = gateway.check_connection(
        gateway.StripeConfig(secret_key="sk_test_51Connected", api_base=localstripe)
    )
    assert check == gateway.AccountCheck(livemode=False)


def test_an_unreachable_stripe_is_worth_trying_again(localstripe: str) -> None:
    closed = localstripe.rsplit(":", 1)[0] + ":9"  # nothing listens on port 9
    config = gateway.StripeConfig(secret_key="sk_test_x", api_base=closed, timeout_seconds=2)
    with pytest.raises(gateway.GatewayError) as failed:
        gateway.check_connection(config)
    assert failed.value.retryable
    assert failed.value.message == gateway.UNAVAILABLE
