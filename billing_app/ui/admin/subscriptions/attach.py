"""Attach a product or service to a client (the dialog on the client overview): a recurring
product starts a subscription, a one-time product records a purchase."""

from __future__ import annotations

from datetime import date
from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.catalog import subscription_queries
from billing_app.services.catalog import subscriptions as subscriptions_service
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.admin.clients.overview_state import ClientState
from billing_app.ui.admin.subscriptions.state import SubscriptionsState
from billing_app.ui.format import money, to_int, today_iso
from billing_app.ui.kit.forms import field_error, form_alert
from billing_app.ui.kit.layout import field_label
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

# The fields the dialog shows an error under; any other problem is shown above them.
ATTACH_FIELDS = ("product_id", "website_id", "quantity", "price", "start_date", "trial_days")


class AttachState(SessionState):
    attach_open: bool = False
    attach_key: str = "0"
    attach_errors: dict[str, str] = {}
    attach_values: dict[str, str] = {}
    product_options: list[dict[str, str]] = []
    website_options: list[dict[str, str]] = []

    def _client_id(self) -> int:
        return to_int(self.router.page.params.get("client_id", ""), 0)

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def open_attach(self) -> None:
        options = run(subscription_queries.attach_options, current_user(), self._client_id())
        products, sites, currency = options.products, options.websites, options.currency
        self.product_options = [
            {
                "value": str(p.id),
                "label": f"{p.name} — {money(p.price)} {p.billing_label}"
                + ("" if p.price.currency == currency else f" (in {p.price.currency})"),
            }
            for p in products
        ]
        self.website_options = [{"value": str(w.id), "label": w.name} for w in sites]
        self.attach_values = {
            "product_id": "",
            "website_id": "none",
            "quantity": "1",
            "price": "",
            "start_date": today_iso(),
            "trial_days": "0",
        }
        self.attach_errors = {}
        self.attach_key = str(to_int(self.attach_key) + 1)
        self.attach_open = True

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def set_attach_open(self, value: bool) -> None:
        self.attach_open = bool(value)

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def attach(self, form: dict[str, Any]) -> Any:
        self.attach_errors = {}
        self.attach_values = {k: str(v) for k, v in form.items()}
        website = str(form.get("website_id", "") or "none")
        try:
            start: date | None = date.fromisoformat(str(form.get("start_date", "")))
        except ValueError:
            start = None  # the service says which fields to fix, all at once
        data = subscriptions_service.AttachInput(
            client_id=self._client_id(),
            product_id=to_int(form.get("product_id", ""), 0),
            website_id=None if website in ("", "none") else to_int(website),
            quantity=str(form.get("quantity", "1") or "1"),
            price_override=str(form.get("price", "") or ""),
            start_date=start,
            trial_days=str(form.get("trial_days", "0") or "0"),
        )
        try:
            sub = run(subscriptions_service.attach, current_user(), data)
            label = sub.description
            kind = sub.kind
        except ServiceError as exc:
            self.attach_errors = field_errors(exc, fields=ATTACH_FIELDS)
            return None
        self.attach_open = False
        what = "One-time purchase of" if kind == "one_time" else "Subscribed to"
        return [
            rx.toast.success(f"{what} {label}."),
            SubscriptionsState.reload,
            ClientState.refresh,
        ]


def attach_dialog() -> rx.Component:
    s = AttachState
    v = s.attach_values
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Attach a product or service"),
            rx.dialog.description(
                "Recurring products start a subscription; one-time products record a purchase.",
                size="2",
                color_scheme="gray",
            ),
            rx.form(
                rx.vstack(
                    form_alert(s.attach_errors),
                    rx.grid(
                        rx.vstack(
                            field_label("Product", "attach-product"),
                            rx.select.root(
                                rx.select.trigger(
                                    placeholder="Choose a product",
                                    width="100%",
                                    id="attach-product",
                                ),
                                rx.select.content(
                                    rx.foreach(
                                        s.product_options,
                                        lambda o: rx.select.item(o["label"], value=o["value"]),
                                    )
                                ),
                                name="product_id",
                                default_value=v["product_id"],
                            ),
                            field_error(s.attach_errors, "product_id"),
                            spacing="1",
                            grid_column="span 2",
                        ),
                        rx.vstack(
                            field_label("Website", "attach-website"),
                            rx.select.root(
                                rx.select.trigger(width="100%", id="attach-website"),
                                rx.select.content(
                                    rx.select.item("Not tied to a website", value="none"),
                                    rx.foreach(
                                        s.website_options,
                                        lambda o: rx.select.item(o["label"], value=o["value"]),
                                    ),
                                ),
                                name="website_id",
                                default_value=v["website_id"],
                            ),
                            field_error(s.attach_errors, "website_id"),
                            spacing="1",
                            grid_column="span 2",
                        ),
                        rx.vstack(
                            field_label("Quantity", "attach-quantity"),
                            rx.input(
                                name="quantity",
                                type="number",
                                min="1",
                                default_value=v["quantity"],
                                id="attach-quantity",
                            ),
                            field_error(s.attach_errors, "quantity"),
                            spacing="1",
                        ),
                        rx.vstack(
                            field_label(
                                "Price override (",
                                "attach-price",
                                ClientState.client["currency"],
                                ")",
                            ),
                            rx.input(
                                name="price",
                                placeholder="Catalog price",
                                default_value=v["price"],
                                id="attach-price",
                            ),
                            field_error(s.attach_errors, "price"),
                            spacing="1",
                        ),
                        rx.vstack(
                            field_label("Start date", "attach-start"),
                            rx.input(
                                name="start_date",
                                type="date",
                                default_value=v["start_date"],
                                id="attach-start",
                            ),
                            field_error(s.attach_errors, "start_date"),
                            spacing="1",
                        ),
                        rx.vstack(
                            field_label("Trial days", "attach-trial"),
                            rx.input(
                                name="trial_days",
                                type="number",
                                min="0",
                                default_value=v["trial_days"],
                                id="attach-trial",
                            ),
                            field_error(s.attach_errors, "trial_days"),
                            spacing="1",
                        ),
                        columns="2",
                        spacing="3",
                        width="100%",
                        key=s.attach_key,
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Attach", type="submit", id="attach-save"),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=s.attach,
                reset_on_submit=False,
            ),
            max_width="560px",
        ),
        open=s.attach_open,
        on_open_change=s.set_attach_open,
    )
