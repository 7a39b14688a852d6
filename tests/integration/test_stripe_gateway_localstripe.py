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


def _config(base: str) -> gateway.StripeConfig:
    return gateway.StripeConfig(secret_key="sk_test_51Gateway", api_base=base)


def test_a_customer_saves_a_card_and_it_is_charged_then_partly_refunded(localstripe: str) -> None:
    config = _config(localstripe)
    customer = gateway.create_customer(
        config, name="Acme Oy", email="ap@acme.test", client_id=7, idempotency_key="cus-7"
    )
    assert customer.id.startswith("cus_") and customer.email == "ap@acme.test"
    setup = gateway.create_setup_intent(config, customer_id=customer.id, idempotency_key="si-1")
    assert setup.id.startswith("seti_") and setup.client_secret.startswith(setup.id)
    assert gateway.retrieve_setup_intent(config, setup.id).id == setup.id

    card = gateway.attach_card(config, "pm_card_visa", customer.id)
    assert (card.brand, card.last4, card.customer_id) == ("visa", "4242", customer.id)
    assert card.exp_year >= 2026 and 1 <= card.exp_month <= 12
    gateway.set_default_card(config, customer.id, card.id)
    assert [c.id for c in gateway.list_cards(config, customer.id)] == [card.id]

    paid = gateway.charge_card(
        config,
        amount_minor=4200,
        currency="EUR",
        customer_id=customer.id,
        payment_method_id=card.id,
        off_session=True,
        idempotency_key="attempt-1",
        metadata={"attempt": "attempt-1", "invoice_id": "12"},
    )
    assert (paid.status, paid.amount_minor, paid.currency) == ("succeeded", 4200, "EUR")
    assert paid.charge_id.startswith("ch_")
    assert paid.metadata == {"attempt": "attempt-1", "invoice_id": "12"}
    again = gateway.retrieve_payment_intent(config, paid.id)
    assert (again.status, again.payment_method_id, again.customer_id) == (
        "succeeded",
        card.id,
        customer.id,
    )

    refunded = gateway.refund(
        config,
        payment_intent_id=paid.id,
        amount_minor=1000,
        idempotency_key="refund-1",
        metadata={"refund": "refund-1"},
    )
    assert (refunded.status, refunded.amount_minor, refunded.currency) == ("succeeded", 1000, "EUR")
    assert refunded.payment_intent_id == paid.id

    gateway.detach_card(config, card.id)
    assert gateway.list_cards(config, customer.id) == []


def test_a_declined_card_is_a_card_error_a_client_can_read(localstripe: str) -> None:
    config = _config(localstripe)
    customer = gateway.create_customer(
        config, name="Acme Oy", email="ap@acme.test", client_id=7, idempotency_key="cus-8"
    )
    card = gateway.attach_card(config, "pm_card_chargeCustomerFail", customer.id)
    with pytest.raises(gateway.CardError) as declined:
        gateway.charge_card(
            config,
            amount_minor=4200,
            currency="EUR",
            customer_id=customer.id,
            payment_method_id=card.id,
            off_session=True,
            idempotency_key="attempt-2",
            metadata={},
        )
    assert declined.value.message == "Your card was declined."
    assert declined.value.code == "card_declined"


def test_an_unknown_object_is_stripes_refusal_not_a_crash(localstripe: str) -> None:
    with pytest.raises(gateway.GatewayError) as refused:
        gateway.retrieve_payment_intent(_config(localstripe), "pi_doesnotexist")
    assert not isinstance(refused.value, gateway.CardError)
    assert not refused.value.retryable
