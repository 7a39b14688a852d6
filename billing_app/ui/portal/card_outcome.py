"""What a portal page does with a card payment's outcome, the same on the invoice's Pay panel
and on the pay-link page: the bank asks (Stripe's dialog, then the page asks Stripe again),
paid (the page's receipt), received without a receipt or still processing (a notice), or
refused (the reason)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import reflex as rx

from billing_app.services.card_payments.charges import PaymentOutcome, Receipt
from billing_app.ui.portal import stripe_bridge

DECLINED = "Your card was declined."
NOT_CONFIRMED = "Your bank did not confirm the payment. Try again."


class PayingPage(Protocol):
    busy: bool
    error: str
    notice: str
    _js_url: str
    _key: str


def next_step(
    page: PayingPage,
    outcome: PaymentOutcome,
    *,
    bank_answered: Any,
    paid: Callable[[Receipt], Any],
    refused: Callable[[], Any] | None = None,
    after_bank: bool = False,
) -> Any:
    """The page's next step for ``outcome``; ``after_bank``: the bank's dialog was just
    answered, so a payment still waiting for it was not confirmed."""
    if outcome.state == "action" and not after_bank:
        return rx.call_script(
            stripe_bridge.confirm_card_payment(page._js_url, page._key, outcome.client_secret),
            callback=bank_answered,
        )
    page.busy = False
    if outcome.state == "action":  # the dialog was closed without an answer
        page.error = NOT_CONFIRMED
        return None
    if outcome.state == "paid" and outcome.receipt is not None:
        return paid(outcome.receipt)
    if outcome.state in ("paid", "pending"):  # received without a receipt, or processing
        page.notice = outcome.message
        return None
    page.error = outcome.message or DECLINED
    return refused() if refused is not None else None
