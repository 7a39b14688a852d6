"""The one status colour map, and the badge that shows a status with it (admin and portal)."""

from __future__ import annotations

from typing import Any

import reflex as rx

# Every status shown as a badge anywhere: invoices, subscriptions, clients, emails.
STATUS_COLORS: dict[str, str] = {
    # invoices
    "draft": "gray",
    "open": "blue",
    "overdue": "red",
    "partially_paid": "amber",
    "paid": "green",
    "void": "gray",
    "uncollectible": "orange",
    "refunded": "violet",
    "partially_refunded": "violet",
    # subscriptions and clients
    "active": "green",
    "trialing": "blue",
    "past_due": "orange",
    "paused": "amber",
    "canceled": "red",
    "ended": "gray",
    "inactive": "gray",
    "archived": "gray",
    "one-time": "violet",
    "recurring": "indigo",
    # emails
    "sent": "green",
    "queued": "blue",
    "sending": "blue",
    "failed": "orange",
    "dead": "red",
}


def status_badge(
    value: rx.Var[str],
    label: rx.Var[str] | None = None,
    colors: dict[str, str] | None = None,
    **props: Any,
) -> rx.Component:
    """A status as a soft badge in its colour (``label`` shown instead of the raw value).

    High contrast: the soft badges' usual text (step 11) on their tint is under the 4.5:1 that
    small text needs for green, amber, orange and blue; step 12 reads well on every tint."""
    text = label if label is not None else value
    props.setdefault("high_contrast", True)
    return rx.match(
        value,
        *[
            (v, rx.badge(text, color_scheme=c, variant="soft", radius="full", **props))
            for v, c in (colors or STATUS_COLORS).items()
        ],
        rx.badge(text, color_scheme="gray", variant="soft", radius="full", **props),
    )
