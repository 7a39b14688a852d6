"""Subscriptions (/subscriptions): the list, attaching a product to a client, changes and
history."""

from __future__ import annotations

import reflex as rx

from billing_app.domain.permissions import FIGURE_PERMISSIONS
from billing_app.ui import routes
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.admin.subscriptions.cancellations import cancellation_requests_panel
from billing_app.ui.admin.subscriptions.state import SubscriptionsState
from billing_app.ui.kit.forms import field_error, form_alert
from billing_app.ui.kit.layout import field_label
from billing_app.ui.kit.resource import (
    Column,
    Filter,
    Resource,
    RowAction,
    resource_table,
    resource_toolbar,
)

S = SubscriptionsState


ACTIONS = (
    RowAction("History", "open_history", icon="history", needs_write=False),
    RowAction("Change", "open_change", icon="pencil", show_if="can_change"),
    RowAction("Pause", "pause", icon="pause", show_if="can_pause"),
    RowAction("Resume", "unpause", icon="play", color="green", show_if="can_unpause"),
    RowAction(
        "Keep renewing",
        "resume_cancellation",
        icon="rotate-ccw",
        color="green",
        show_if="can_resume",
    ),
    RowAction(
        "Cancel at period end",
        "cancel_at_period_end",
        icon="calendar-x",
        color="orange",
        confirm="Cancel at the end of the period?",
        confirm_text="No further renewals are billed; the service runs until the paid-for "
        "period ends. You can undo this until then.",
        show_if="can_cancel_end",
    ),
    RowAction(
        "Cancel now",
        "cancel_now",
        icon="circle-x",
        color="red",
        confirm="Cancel this subscription now?",
        confirm_text="The service ends today and nothing more is billed. This cannot be undone.",
        show_if="can_cancel",
    ),
)


ALL_SUBSCRIPTIONS = Resource(
    name="subscriptions",
    state=S,
    columns=(
        Column("client", "Client", link="client_href", sub="website"),
        Column("product", "Product", sub="pending"),
        Column("status", "Status", kind="badge", label_key="status_label"),
        Column("amount", "Amount", kind="money", align="right"),
        Column("interval", "Billing", kind="muted"),
        Column(
            "mrr",
            "MRR",
            sort="mrr",
            kind="money",
            align="right",
            permission=FIGURE_PERMISSIONS["mrr"],
        ),
        Column("next_renewal", "Next renewal", sort="next_renewal"),
    ),
    filters=(
        Filter(
            "status",
            (
                ("all", "All statuses"),
                ("active", "Active"),
                ("trialing", "Trialing"),
                ("past_due", "Past due"),
                ("paused", "Paused"),
                ("canceled", "Canceled"),
                ("ended", "Ended"),
            ),
            label="Status",
            kind="select",
        ),
        Filter(
            "product",
            (("all", "All products"),),
            label="Product",
            kind="select",
            options_var="product_options",
        ),
    ),
    row_actions=ACTIONS,
    compact_actions=True,
    search_placeholder="Search client, website or product",
    empty_icon="repeat",
    empty_title="No subscriptions yet",
    empty_text="Open a client and attach a product or service to start billing it.",
)


CLIENT_SUBSCRIPTIONS = Resource(
    name="client-subscriptions",
    state=S,
    columns=(
        Column("product", "Product", sub="detail"),
        Column("status", "Status", kind="badge", label_key="status_label"),
        Column("amount", "Amount", kind="money", align="right"),
        Column("interval", "Billing", kind="muted"),
        Column("mrr", "MRR", kind="money", align="right", permission=FIGURE_PERMISSIONS["mrr"]),
        Column("next_renewal", "Next renewal", sort="next_renewal"),
    ),
    row_actions=ACTIONS,
    compact_actions=True,
    empty_icon="repeat",
    empty_title="Nothing under this tab",
    empty_text="Attach a product or service to this client to see it here.",
)


def change_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.change_title),
            rx.dialog.description(
                "From the next period (",
                S.change_values["next"],
                ") the current period is billed as it is; prorated now, the rest of the period "
                "is invoiced or credited today.",
                size="2",
                color_scheme="gray",
            ),
            rx.form(
                rx.vstack(
                    form_alert(S.change_errors),
                    rx.grid(
                        rx.vstack(
                            field_label("Quantity", "change-quantity"),
                            rx.input(
                                name="quantity",
                                type="number",
                                min="1",
                                value=S.change_values["quantity"],
                                on_change=lambda v: S.edit_change("quantity", v),  # type: ignore[call-arg]
                                id="change-quantity",
                            ),
                            field_error(S.change_errors, "quantity"),
                            spacing="1",
                        ),
                        rx.vstack(
                            field_label(
                                "Unit price (", "change-price", S.change_values["currency"], ")"
                            ),
                            rx.input(
                                name="price",
                                value=S.change_values["price"],
                                on_change=lambda v: S.edit_change("price", v),  # type: ignore[call-arg]
                                id="change-price",
                            ),
                            field_error(S.change_errors, "price"),
                            spacing="1",
                        ),
                        columns="2",
                        spacing="3",
                        width="100%",
                        key=S.change_key,
                    ),
                    rx.radio_group.root(
                        rx.hstack(
                            rx.radio_group.item(value="next_period", id="change-next-period"),
                            rx.el.label("From the next period", html_for="change-next-period"),
                            rx.radio_group.item(value="prorate", id="change-prorate"),
                            rx.el.label("Prorate now", html_for="change-prorate"),
                            spacing="2",
                            align="center",
                        ),
                        value=S.change_values["timing"],
                        on_change=lambda v: S.edit_change("timing", v),  # type: ignore[call-arg]
                        name="timing",
                        aria_label="When the change takes effect",
                    ),
                    rx.cond(
                        S.change_preview.contains("now"),  # type: ignore[attr-defined]
                        rx.callout(
                            rx.vstack(
                                rx.text(S.change_preview["now"], weight="bold", id="change-now"),
                                rx.text(S.change_preview["next"]),
                                spacing="1",
                            ),
                            icon="receipt",
                            color_scheme="blue",
                            high_contrast=True,
                            width="100%",
                        ),
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button(
                            rx.cond(
                                S.change_values["timing"] == "prorate",
                                "Change now",
                                "Schedule change",
                            ),
                            type="submit",
                            id="change-save",
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=S.save_change,
                reset_on_submit=False,
            ),
            max_width="460px",
        ),
        open=S.change_open,
        on_open_change=S.set_change_open,
    )


def _summary_item(label: str, key: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(S.history_summary[key], size="2", weight="medium"),
        spacing="0",
    )


def history_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.history_title),
            rx.grid(
                _summary_item("Status", "status"),
                _summary_item("Amount", "amount"),
                rx.cond(S.history_summary.contains("mrr"), _summary_item("MRR", "mrr")),
                _summary_item("Website", "website"),
                _summary_item("Started", "start"),
                _summary_item("Next renewal", "next"),
                columns="3",
                spacing="3",
                padding_y="8px",
            ),
            rx.divider(),
            rx.text("History", weight="bold", size="3", padding_top="8px"),
            rx.cond(
                S.history.length() == 0,
                rx.text("No changes recorded yet.", size="2", color_scheme="gray"),
            ),
            rx.vstack(
                rx.foreach(
                    S.history,
                    lambda e: rx.hstack(
                        rx.box(
                            width="8px",
                            height="8px",
                            border_radius="50%",
                            background=rx.color("accent", 9),
                            margin_top="7px",
                            flex_shrink="0",
                        ),
                        rx.vstack(
                            rx.hstack(
                                rx.text(e["action"], weight="medium", size="2"),
                                rx.text("by ", e["who"], size="1", color_scheme="gray"),
                                align="baseline",
                                spacing="2",
                            ),
                            rx.text(e["details"], size="2"),
                            rx.text(e["at"], size="1", color_scheme="gray"),
                            spacing="0",
                        ),
                        spacing="3",
                        align="start",
                    ),
                ),
                spacing="3",
                id="subscription-history",
                padding_top="8px",
            ),
            rx.hstack(
                rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                justify="end",
                padding_top="12px",
            ),
            max_width="560px",
        ),
        open=S.history_open,
        on_open_change=S.set_history_open,
    )


def _content() -> rx.Component:
    return rx.vstack(
        cancellation_requests_panel(),
        resource_toolbar(ALL_SUBSCRIPTIONS),
        resource_table(ALL_SUBSCRIPTIONS),
        change_dialog(),
        history_dialog(),
        width="100%",
        spacing="4",
    )


def subscriptions_page() -> rx.Component:
    return admin_page(
        "Subscriptions",
        S.status,
        _content,
        actions=rx.hstack(
            rx.link(
                rx.button(rx.icon("circle-alert", size=16), "Past due", variant="soft"),
                href=routes.PAST_DUE,
                id="past-due-link",
            ),
            rx.link(
                rx.button(rx.icon("calendar-clock", size=16), "Renewals", variant="soft"),
                href=routes.RENEWALS,
                id="renewals-link",
            ),
            spacing="2",
        ),
    )
