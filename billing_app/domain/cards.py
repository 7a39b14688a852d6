"""How a payment card is named to people (never its number): "Visa •••• 4242"."""

from __future__ import annotations

BRAND_NAMES = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "diners": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
    "cartes_bancaires": "Cartes Bancaires",
}


def brand_name(brand: str) -> str:
    return BRAND_NAMES.get(brand, brand.replace("_", " ").title() or "Card")


def card_label(brand: str, last4: str) -> str:
    """How a card is named to people: "Visa •••• 4242"."""
    return f"{brand_name(brand)} •••• {last4}"
