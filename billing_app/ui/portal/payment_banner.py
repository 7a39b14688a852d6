"""The portal's payment banner, above every signed-in page's content (ui/portal/frame.py): the
invoices the client must pay or fix now - an automatic charge that failed, a service past due,
an overdue invoice (services/billing/portal_alerts.py) - each with "Pay now" and, where a new
card lets the retries go on, "Update your card"."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import ClientPermission
from billing_app.services.billing.portal_alerts import PaymentAlert
from billing_app.ui import routes
from billing_app.ui.format import day, money


def alert_row(alert: PaymentAlert) -> dict[str, str]:
    amount, number = money(alert.amount), alert.number
    if alert.kind == "overdue":
        text = f"Invoice {number} of {amount} was due on {day(alert.due_date)}."
    elif alert.kind == "past_due":
        text = f"Your payment of {amount} for invoice {number} failed: your service is past due."
    else:
        text = f"Your payment of {amount} for invoice {number} failed."
    return {
        "text": text,
        "number": number,
        "href": routes.portal_invoice(alert.invoice_id),
        "card": "yes" if alert.card_needed else "",
    }


def _alert_line(alert: Any, cards: Any) -> rx.Component:
    return rx.hstack(
        rx.text(alert["text"], size="2", weight="medium"),
        rx.spacer(),
        rx.hstack(
            rx.cond(
                (alert["card"] == "yes") & cards,
                rx.link(
                    "Update your card",
                    href=routes.PORTAL_ACCOUNT + "#portal-payment-methods",
                    size="2",
                    weight="bold",
                    color_scheme="red",
                    high_contrast=True,
                    aria_label="Update your card for invoice " + alert["number"],
                ),
            ),
            rx.link(
                "Pay now",
                href=alert["href"],
                size="2",
                weight="bold",
                color_scheme="red",
                high_contrast=True,
                aria_label="Pay now invoice " + alert["number"],
            ),
            spacing="3",
        ),
        align="center",
        spacing="2",
        width="100%",
        wrap="wrap",
    )


def payment_banner(status: Any, alerts: Any, more: Any, granted: Any) -> rx.Component:
    """What the client must pay or fix now (a failed automatic charge, a service past due, an
    overdue invoice), with the way to do it; gone once paid. "Update your card" only for a
    role that manages cards. The arguments are the frame state's vars."""
    cards = granted.contains(ClientPermission.PAYMENT_METHODS_MANAGE.value)
    return rx.cond(
        (status == "ok") & (alerts.length() > 0),
        rx.callout.root(
            rx.callout.icon(rx.icon("circle-alert", aria_hidden="true")),
            rx.vstack(
                rx.foreach(alerts, lambda alert: _alert_line(alert, cards)),
                rx.cond(
                    more > 0,
                    rx.link(
                        "and ",
                        more,
                        " more to pay: see your invoices",
                        href=routes.PORTAL_INVOICES,
                        size="2",
                        color_scheme="red",
                        high_contrast=True,
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            color_scheme="red",
            high_contrast=True,
            role="alert",
            width="100%",
            id="portal-payment-banner",
        ),
    )
