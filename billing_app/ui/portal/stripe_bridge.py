"""The little JavaScript that puts Stripe's card form in a portal page and confirms it. Card
numbers go from that form to Stripe only; the page sends our server nothing but the answer.

Stripe.js is loaded from the URL the server gives (``BILLING_STRIPE_JS_URL``: Stripe's own, or
localstripe's fake in the tests). Every function resolves to a plain object, never rejects:
``rx.call_script`` passes what it resolves to the callback, and a rejection would be lost.
"""

from __future__ import annotations

import json
from typing import Any

CARD_ELEMENT_ID = "portal-card-element"

# Loads Stripe.js once and keeps one Stripe object per publishable key in window.billingStripe.
_LOAD = """
async function billingStripeBridge(url, key) {
  if (!window.Stripe) {
    await new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = url;
      tag.onload = resolve;
      tag.onerror = reject;
      document.head.appendChild(tag);
    });
  }
  var bridge = (window.billingStripe = window.billingStripe || {});
  if (!bridge.stripe || bridge.key !== key) {
    bridge.stripe = window.Stripe(key);
    bridge.key = key;
  }
  return bridge;
}
"""

_MOUNT = """
(async function (url, key, mountId) {
  try {
    var bridge = await billingStripeBridge(url, key);
    if (bridge.card) {
      try { bridge.card.destroy(); } catch (ignored) {}
    }
    bridge.card = bridge.stripe.elements().create("card");
    bridge.card.mount("#" + mountId);
    return { ok: true };
  } catch (failure) {
    return {
      ok: false,
      error: "The card form could not be loaded. Check your connection and try again.",
    };
  }
})(%s, %s, %s)
"""

_CONFIRM = """
(async function (secret) {
  try {
    var bridge = window.billingStripe;
    if (!bridge || !bridge.card) {
      return { ok: false, error: "The card form is not ready. Try again." };
    }
    var answer = await bridge.stripe.confirmCardSetup(secret, {
      payment_method: { card: bridge.card },
    });
    if (answer.error) {
      return { ok: false, error: answer.error.message || "Your card was declined." };
    }
    return { ok: true, status: answer.setupIntent.status };
  } catch (failure) {
    return { ok: false, error: "The card could not be checked. Try again." };
  }
})(%s)
"""


_CONFIRM_PAYMENT = """
(async function (url, key, secret) {
  try {
    var bridge = await billingStripeBridge(url, key);
    var answer = await bridge.stripe.confirmCardPayment(secret);
    if (answer.error) {
      return { ok: false, error: answer.error.message || "Your bank did not confirm the payment." };
    }
    return { ok: true, status: answer.paymentIntent ? answer.paymentIntent.status : "" };
  } catch (failure) {
    return { ok: false, error: "The payment could not be confirmed. Try again." };
  }
})(%s, %s, %s)
"""


def mount_card_form(stripe_js_url: str, publishable_key: str) -> str:
    """Load Stripe.js (once) and put its card form in the element ``CARD_ELEMENT_ID``."""
    return _LOAD + _MOUNT % (
        json.dumps(stripe_js_url),
        json.dumps(publishable_key),
        json.dumps(CARD_ELEMENT_ID),
    )


def confirm_card_setup(client_secret: str) -> str:
    """Confirm the SetupIntent with the card typed in (3-D Secure shown by Stripe if asked)."""
    return _CONFIRM % json.dumps(client_secret)


def confirm_card_payment(stripe_js_url: str, publishable_key: str, client_secret: str) -> str:
    """Let the client's bank confirm a payment (Stripe shows 3-D Secure); the answer is only a
    hint: the server asks Stripe how it ended."""
    return _LOAD + _CONFIRM_PAYMENT % (
        json.dumps(stripe_js_url),
        json.dumps(publishable_key),
        json.dumps(client_secret),
    )


def said(answer: Any, fallback: str) -> str:
    """The message a bridge function resolved with (Stripe's own words for the card), else
    ``fallback``: what the page shows when the browser's part did not succeed."""
    message = answer.get("error") if isinstance(answer, dict) else None
    return str(message)[:200] if message else fallback
