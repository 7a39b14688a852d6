"""How a product is billed: once, or again every interval (domain/periods.py)."""

from __future__ import annotations

from enum import StrEnum


class BillingKind(StrEnum):
    """Stored on products (``billing_type``) and subscriptions (``kind``)."""

    RECURRING = "recurring"
    ONE_TIME = "one_time"


RECURRING = BillingKind.RECURRING.value
ONE_TIME = BillingKind.ONE_TIME.value
BILLING_KINDS: tuple[str, ...] = (RECURRING, ONE_TIME)
