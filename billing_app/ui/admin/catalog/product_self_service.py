"""A product's client self-service settings (/products, row action "Client self-service"): may
clients change the quantity in the portal, between which bounds, and which other plans (same
currency and interval) they may switch to. Saved by services/catalog/product_self_service.py."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.catalog import product_self_service
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.format import to_int
from billing_app.ui.kit.forms import field_error, form_alert
from billing_app.ui.kit.layout import field_label
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

FIELDS = ("quantity_min", "quantity_max", "alternatives")
ALTERNATIVE = "alternative__"  # checkbox name prefix: alternative__<product id>


class ProductSelfServiceState(SessionState):
    dialog_open: bool = False
    name: str = ""
    form_key: str = "0"  # remounts the uncontrolled form on every opening
    client_quantity: bool = False
    quantity_min: str = "1"
    quantity_max: str = "1"
    choices: list[dict[str, str]] = []
    errors: dict[str, str] = {}
    _product_id: int = 0

    @guard(Permission.CATALOG_WRITE)
    def open_for(self, product_id: str) -> Any:
        try:
            found = run(product_self_service.self_service, current_user(), to_int(product_id))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._product_id = found.product_id
        self.name = found.name
        self.client_quantity = found.client_quantity
        self.quantity_min, self.quantity_max = str(found.quantity_min), str(found.quantity_max)
        self.choices = [
            {"id": str(i), "name": n, "checked": "yes" if i in found.alternative_ids else ""}
            for i, n in found.choices
        ]
        self.errors = {}
        self.form_key = str(to_int(self.form_key) + 1)
        self.dialog_open = True
        return None

    @guard(Permission.CATALOG_WRITE)
    def set_dialog_open(self, value: bool) -> None:
        self.dialog_open = bool(value)

    @guard(Permission.CATALOG_WRITE)
    def set_client_quantity(self, value: bool) -> None:
        self.client_quantity = bool(value)

    @guard(Permission.CATALOG_WRITE)
    def save(self, form: dict[str, Any]) -> Any:
        chosen = [
            to_int(key.removeprefix(ALTERNATIVE))
            for key, value in form.items()
            if key.startswith(ALTERNATIVE) and value
        ]
        # Disabled bounds are not submitted: they keep what they were.
        self.quantity_min = str(form.get("quantity_min", self.quantity_min))[:20]
        self.quantity_max = str(form.get("quantity_max", self.quantity_max))[:20]
        self.choices = [
            {**c, "checked": "yes" if to_int(c["id"]) in chosen else ""} for c in self.choices
        ]
        try:
            run(
                product_self_service.update_self_service,
                current_user(),
                self._product_id,
                client_quantity=self.client_quantity,
                quantity_min=self.quantity_min,
                quantity_max=self.quantity_max,
                alternative_ids=chosen,
            )
        except ServiceError as exc:
            self.errors = field_errors(exc, fields=FIELDS)
            self.form_key = str(to_int(self.form_key) + 1)
            return None
        self.dialog_open = False
        return rx.toast.success("Client self-service saved.")


P = ProductSelfServiceState


def _bound(label: str, name: str, value: Any) -> rx.Component:
    return rx.vstack(
        field_label(label, f"self-service-{name}"),
        rx.input(
            name=name,
            id=f"self-service-{name}",
            type="number",
            min="1",
            default_value=value,
            disabled=~P.client_quantity,
            width="100%",
        ),
        field_error(P.errors, name),
        spacing="1",
        width="100%",
    )


def _alternatives() -> rx.Component:
    return rx.vstack(
        rx.text("Alternative plans", size="2", weight="medium", id="self-service-plans-label"),
        rx.text(
            "Plans clients may switch to from this one.",
            size="1",
            color_scheme="gray",
        ),
        rx.cond(
            P.choices.length() > 0,  # type: ignore[attr-defined,operator]
            rx.flex(
                rx.foreach(
                    P.choices,
                    lambda c: rx.checkbox(
                        c["name"],
                        name=ALTERNATIVE + c["id"],
                        default_checked=c["checked"] == "yes",
                        id="self-service-plan-" + c["id"],
                    ),
                ),
                direction="column",
                spacing="2",
                role="group",
                aria_labelledby="self-service-plans-label",
                # A long catalog scrolls here, not the dialog.
                max_height="240px",
                overflow_y="auto",
                padding_y="2px",
                width="100%",
            ),
            rx.text(
                "No other active product has the same currency and billing period.",
                size="2",
                color_scheme="gray",
                id="self-service-no-plans",
            ),
        ),
        field_error(P.errors, "alternatives"),
        spacing="1",
        width="100%",
    )


def self_service_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Client self-service: ", P.name),
            rx.dialog.description(
                "What clients may change themselves on their subscriptions to this product, "
                "from the portal.",
                size="2",
                color_scheme="gray",
                margin_bottom="12px",
            ),
            rx.form(
                rx.vstack(
                    form_alert(P.errors),
                    rx.text(
                        rx.hstack(
                            rx.switch(
                                checked=P.client_quantity,
                                on_change=P.set_client_quantity,
                                id="self-service-quantity",
                            ),
                            "Clients may change the quantity",
                            spacing="2",
                            align="center",
                        ),
                        as_="label",
                        size="2",
                        weight="medium",
                    ),
                    rx.grid(
                        _bound("Minimum quantity", "quantity_min", P.quantity_min),
                        _bound("Maximum quantity", "quantity_max", P.quantity_max),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    rx.separator(size="4"),
                    _alternatives(),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Save", type="submit", id="self-service-save"),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=P.save,
                key=P.form_key,
            ),
            max_width="520px",
        ),
        open=P.dialog_open,
        on_open_change=P.set_dialog_open,
    )
