"""The money dialogs of an invoice's detail page: record a payment or a refund, reverse a
payment recorded by mistake."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.admin.invoices.detail_state import InvoiceDetailState
from billing_app.ui.kit.forms import LABEL_STYLE
from billing_app.ui.kit.layout import NATIVE_SELECT_STYLE, form_error


def _method_select(kind: str) -> rx.Component:
    return rx.el.select(
        rx.el.option("Bank transfer", value="bank_transfer"),
        rx.el.option("Cheque", value="cheque"),
        rx.el.option("Cash", value="cash"),
        rx.el.option("Other", value="other"),
        name="method",
        id=f"{kind}-method",
        default_value="bank_transfer",
        style=NATIVE_SELECT_STYLE,
    )


def dialog_field(label: str, control: rx.Component, name: str, control_id: str) -> rx.Component:
    """A control of a dialog under its label (named for assistive technology), its error
    under it."""
    d = InvoiceDetailState
    return rx.vstack(
        rx.el.label(label, html_for=control_id, style=LABEL_STYLE),
        control,
        rx.cond(
            d.errors.contains(name),
            rx.text(d.errors[name], color_scheme="red", size="2", id=f"{name}-error"),
        ),
        spacing="1",
        width="100%",
    )


def money_form(kind: str) -> rx.Component:
    d = InvoiceDetailState
    is_pay = kind == "pay"
    return rx.form(
        rx.vstack(
            form_error(d.errors),
            rx.grid(
                dialog_field(
                    "Amount",
                    rx.input(
                        name="amount",
                        id=f"{kind}-amount",
                        default_value=d.amounts["due"] if is_pay else d.amounts["refundable"],
                        width="100%",
                    ),
                    "amount",
                    f"{kind}-amount",
                ),
                dialog_field(
                    "Date received" if is_pay else "Date refunded",
                    rx.input(
                        name="received_on",
                        type="date",
                        id=f"{kind}-date",
                        default_value=d.today,
                        max=d.today,
                        width="100%",
                    ),
                    "received_on",
                    f"{kind}-date",
                ),
                columns="2",
                spacing="3",
                width="100%",
            ),
            dialog_field("Method", _method_select(kind), "method", f"{kind}-method"),
            dialog_field(
                "Reference (optional)",
                rx.input(name="reference", id=f"{kind}-reference", width="100%"),
                "reference",
                f"{kind}-reference",
            ),
            rx.cond(
                is_pay,
                rx.checkbox(
                    "Email a receipt to the client",
                    name="send_receipt",
                    id="pay-receipt",
                    default_checked=True,
                ),
                rx.text(
                    "Records money given back outside the app (never more than was paid).",
                    size="1",
                    color_scheme="gray",
                ),
            ),
            rx.hstack(
                rx.dialog.close(rx.button("Cancel", variant="soft", type="button")),
                rx.button(
                    "Record payment" if is_pay else "Record refund",
                    type="submit",
                    id=f"{kind}-submit",
                ),
                justify="end",
                spacing="3",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=d.record_payment if is_pay else d.record_refund,
        reset_on_submit=False,
    )


def payments_card() -> rx.Component:
    """The money that moved on the invoice: payments, refunds and reversals, oldest first; a
    payment recorded by mistake can be reversed from here."""
    d = InvoiceDetailState

    def entry(p: rx.Var[dict[str, str]]) -> rx.Component:
        return rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.hstack(
                        rx.text(p["kind_label"], size="2", weight="medium"),
                        rx.cond(
                            p["reversed"] == "yes",
                            rx.badge("Reversed", color_scheme="gray", size="1"),
                        ),
                        spacing="2",
                        align="center",
                    ),
                    rx.text(
                        p["date"],
                        " · ",
                        p["method"],
                        rx.cond(p["reference"] != "", " · " + p["reference"], ""),
                        size="1",
                        color_scheme="gray",
                    ),
                    rx.cond(p["note"] != "", rx.text(p["note"], size="1", color_scheme="gray")),
                    rx.cond(
                        p["dashboard"] != "",
                        rx.link(
                            p["stripe_id"],
                            rx.icon("external-link", size=12, aria_hidden="true"),
                            href=p["dashboard"],
                            is_external=True,
                            size="1",
                            aria_label="Open " + p["stripe_id"] + " in Stripe's dashboard",
                        ),
                    ),
                    spacing="0",
                    align="start",
                    min_width="0",
                ),
                rx.spacer(),
                rx.text(
                    rx.cond(p["kind"] == "payment", "", "− "),
                    p["amount"],
                    size="2",
                    style={"font_variant_numeric": "tabular-nums", "white_space": "nowrap"},
                    text_decoration=rx.cond(p["reversed"] == "yes", "line-through", "none"),
                ),
                width="100%",
                align="start",
                spacing="3",
            ),
            rx.cond(
                (p["card_refundable"] != "") | (p["can_reverse"] == "yes"),
                rx.hstack(
                    rx.cond(
                        p["card_refundable"] != "",
                        rx.button(
                            "Refund to card",
                            size="1",
                            variant="soft",
                            color_scheme="orange",
                            on_click=d.open_card_refund(p["id"]),
                            id="card-refund-" + p["id"],
                            aria_label="Refund to card: the payment of " + p["amount"],
                        ),
                    ),
                    rx.cond(
                        p["can_reverse"] == "yes",
                        rx.button(
                            "Reverse",
                            size="1",
                            variant="soft",
                            color_scheme="gray",
                            on_click=d.open_reverse(p["id"]),
                            id="reverse-" + p["id"],
                            aria_label="Reverse the payment of " + p["amount"] + " on " + p["date"],
                        ),
                    ),
                    justify="end",
                    width="100%",
                ),
            ),
            spacing="1",
            width="100%",
            id="payment-" + p["id"],
        )

    return rx.cond(
        d.payment_rows.length() > 0,  # type: ignore[operator]
        rx.card(
            rx.vstack(
                rx.text("Payments", weight="bold", size="3"),
                rx.foreach(d.payment_rows, entry),
                spacing="3",
                width="100%",
            ),
            width="100%",
            id="payments-card",
        ),
    )


def reverse_dialog() -> rx.Component:
    """Reverse a payment recorded by mistake: it stays in the history, a reversal takes it
    back, and the invoice is due again."""
    d = InvoiceDetailState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Reverse this payment?"),
            rx.dialog.description(
                "Use this when the payment was recorded by mistake or did not arrive (a "
                "bounced cheque). ",
                d.reversing["amount"],
                " received ",
                d.reversing["date"],
                " stays in the history with a reversal entry dated today, and the amount is "
                "due again. Nothing is emailed to the client.",
                size="2",
            ),
            rx.form(
                rx.vstack(
                    form_error(d.errors),
                    dialog_field(
                        "Reason",
                        rx.text_area(
                            name="reason",
                            id="reverse-reason",
                            width="100%",
                            placeholder="Recorded on the wrong invoice",
                        ),
                        "reason",
                        "reverse-reason",
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Keep it", variant="soft", type="button")),
                        rx.button(
                            "Reverse payment",
                            type="submit",
                            color_scheme="red",
                            id="reverse-submit",
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=d.reverse_payment,
                reset_on_submit=False,
            ),
            max_width="460px",
        ),
        open=d.reverse_open,
        on_open_change=d.set_reverse_open,
    )


def card_refund_dialog() -> rx.Component:
    """Give back part or all of a card payment to the card, with a reason the client reads."""
    d = InvoiceDetailState
    r = d.card_refunding
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Refund to the card"),
            rx.dialog.description(
                r["amount"],
                " was paid on ",
                r["date"],
                " with ",
                r["reference"],
                ". Up to ",
                r["card_refundable"],
                " can go back to that card. The client is emailed, with the reason.",
                size="2",
            ),
            rx.form(
                rx.vstack(
                    form_error(d.errors),
                    dialog_field(
                        "Amount",
                        rx.input(
                            name="amount",
                            id="card-refund-amount",
                            default_value=r["card_refundable"],
                            width="100%",
                            input_mode="decimal",
                        ),
                        "amount",
                        "card-refund-amount",
                    ),
                    dialog_field(
                        "Reason",
                        rx.text_area(
                            name="reason",
                            id="card-refund-reason",
                            width="100%",
                            placeholder="Hosting cancelled mid-month",
                        ),
                        "reason",
                        "card-refund-reason",
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", variant="soft", type="button")),
                        rx.button(
                            "Refund",
                            type="submit",
                            color_scheme="orange",
                            id="card-refund-submit",
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=d.refund_to_card,
                reset_on_submit=False,
            ),
            max_width="460px",
        ),
        open=d.card_refund_open,
        on_open_change=d.set_card_refund_open,
    )
