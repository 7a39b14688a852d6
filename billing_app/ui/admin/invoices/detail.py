"""An invoice (/invoices/[invoice_id]): the document, its timeline, payments, refunds, reminders,
void."""

from __future__ import annotations

import reflex as rx

from billing_app.ui import routes
from billing_app.ui.admin.invoices.credit_note import (
    credit_button,
    credit_note_dialog,
    credit_notes_card,
)
from billing_app.ui.admin.invoices.detail_document import amount_row, paper
from billing_app.ui.admin.invoices.detail_dunning import dunning_card
from billing_app.ui.admin.invoices.detail_money import (
    card_refund_dialog,
    dialog_field,
    money_form,
    payments_card,
    reverse_dialog,
)
from billing_app.ui.admin.invoices.detail_state import InvoiceDetailState
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.kit.badges import status_badge


def _actions_panel() -> rx.Component:
    d = InvoiceDetailState
    return rx.vstack(
        rx.card(
            rx.vstack(
                rx.hstack(
                    status_badge(d.inv_status, d.status_label, size="2", id="invoice-status"),
                    rx.spacer(),
                    rx.text(d.header["brand"], size="1", color_scheme="gray"),
                    width="100%",
                    align="center",
                ),
                amount_row("Total", d.amounts["total"]),
                amount_row("Paid", d.amounts["paid"]),
                rx.cond(d.amounts["refunded"] != "", amount_row("Refunded", d.amounts["refunded"])),
                rx.cond(d.amounts["credited"] != "", amount_row("Credited", d.amounts["credited"])),
                rx.cond(
                    d.amounts["credit_applied"] != "",
                    amount_row("Paid from credit balance", d.amounts["credit_applied"]),
                ),
                rx.divider(),
                rx.hstack(
                    rx.text("Amount due", weight="bold", size="2"),
                    rx.spacer(),
                    rx.text(
                        d.amounts["due"],
                        weight="bold",
                        size="5",
                        color=rx.cond(
                            d.inv_status == "overdue", rx.color("red", 11), rx.color("gray", 12)
                        ),
                        id="invoice-due",
                    ),
                    width="100%",
                    align="center",
                ),
                rx.cond(
                    d.header["void_reason"] != "",
                    rx.text("Voided: ", d.header["void_reason"], size="2", color_scheme="gray"),
                ),
                rx.cond(
                    d.header["disputed"] != "",
                    rx.callout(
                        "The client's bank disputes a card payment: answer it in Stripe "
                        "(see the timeline).",
                        icon="shield-alert",
                        color_scheme="red",
                        size="1",
                        id="invoice-disputed",
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
        ),
        rx.vstack(
            rx.link(
                rx.button(
                    rx.icon("download", size=16),
                    "Download PDF",
                    variant="soft",
                    width="100%",
                ),
                href=d.pdf_url + "?download=1",
                is_external=True,
                width="100%",
                id="invoice-download",
            ),
            rx.link(
                "The original, as emailed",
                href=d.original_pdf_url,
                is_external=True,
                size="1",
                color_scheme="gray",
                id="invoice-download-original",
            ),
            rx.cond(
                d.can_record & d.is_payable,
                rx.dialog.root(
                    rx.dialog.trigger(
                        rx.button(
                            rx.icon("banknote", size=16),
                            "Mark paid offline",
                            width="100%",
                            id="pay-open",
                        )
                    ),
                    rx.dialog.content(
                        rx.dialog.title("Record an offline payment"),
                        rx.dialog.description(
                            "Money received by bank transfer, cheque or cash. Partial payments "
                            "add up.",
                            size="2",
                        ),
                        money_form("pay"),
                        max_width="480px",
                    ),
                    open=d.pay_open,
                    on_open_change=d.set_pay_open,
                ),
            ),
            rx.cond(
                d.can_send & d.is_payable,
                rx.hstack(
                    rx.button(
                        rx.icon("bell", size=16),
                        "Send reminder",
                        variant="soft",
                        on_click=d.send_reminder,
                        flex="1",
                        id="invoice-remind",
                    ),
                    rx.button(
                        rx.icon("mail", size=16),
                        "Resend",
                        variant="soft",
                        on_click=d.resend,
                        flex="1",
                        id="invoice-resend",
                    ),
                    width="100%",
                ),
            ),
            rx.cond(
                d.can_refund & d.is_refundable,
                rx.dialog.root(
                    rx.dialog.trigger(
                        rx.button(
                            rx.icon("undo-2", size=16),
                            "Record a refund",
                            variant="soft",
                            color_scheme="orange",
                            high_contrast=True,
                            width="100%",
                            id="refund-open",
                        )
                    ),
                    rx.dialog.content(
                        rx.dialog.title("Record an offline refund"),
                        rx.dialog.description(
                            "At most ",
                            d.amounts["refundable"],
                            " can be refunded. A refund settles the invoice: nothing will be due "
                            "on it afterwards.",
                            size="2",
                        ),
                        money_form("refund"),
                        max_width="480px",
                    ),
                    open=d.refund_open,
                    on_open_change=d.set_refund_open,
                ),
            ),
            rx.cond(
                (d.inv_status != "void") & (d.inv_status != "credited"),
                credit_button(),
            ),
            rx.cond(
                d.can_send & d.is_payable & ~d.is_refundable,
                rx.dialog.root(
                    rx.dialog.trigger(
                        rx.button(
                            rx.icon("ban", size=16),
                            "Void invoice",
                            variant="ghost",
                            color_scheme="red",
                            width="100%",
                            id="void-open",
                        )
                    ),
                    rx.dialog.content(
                        rx.dialog.title("Void invoice ", d.number, "?"),
                        rx.dialog.description(
                            "The invoice stays for the record with its number; the client no "
                            "longer owes it.",
                            size="2",
                        ),
                        rx.form(
                            rx.vstack(
                                dialog_field(
                                    "Reason",
                                    rx.text_area(name="reason", id="void-reason", width="100%"),
                                    "reason",
                                    "void-reason",
                                ),
                                rx.checkbox(
                                    "Tell the client by email",
                                    name="notify_client",
                                    default_checked=True,
                                ),
                                rx.hstack(
                                    rx.dialog.close(
                                        rx.button("Cancel", variant="soft", type="button")
                                    ),
                                    rx.button(
                                        "Void invoice",
                                        color_scheme="red",
                                        type="submit",
                                        id="void-submit",
                                    ),
                                    justify="end",
                                    spacing="3",
                                    width="100%",
                                ),
                                spacing="3",
                                width="100%",
                                padding_top="8px",
                            ),
                            on_submit=d.void,
                            reset_on_submit=False,
                        ),
                        max_width="480px",
                    ),
                    open=d.void_open,
                    on_open_change=d.set_void_open,
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="320px",
        min_width="320px",
        spacing="4",
    )


EVENT_ICONS = {
    "created": "file-plus",
    "sent": "send",
    "emailed": "mail",
    "comment": "message-square",
    "payment": "banknote",
    "refund": "undo-2",
    "reversal": "rotate-ccw",
    "void": "ban",
    "credit_note": "receipt",
    "credit_applied": "wallet",
}


def _event_row(ev: rx.Var[dict[str, str]]) -> rx.Component:
    icon = rx.match(
        ev["kind"],
        *[(kind, rx.icon(name, size=14)) for kind, name in EVENT_ICONS.items()],
        rx.icon("circle", size=14),
    )
    return rx.hstack(
        rx.center(
            icon,
            width="28px",
            min_width="28px",
            height="28px",
            border_radius="50%",
            background=rx.match(
                ev["kind"],
                ("payment", rx.color("green", 4)),
                ("refund", rx.color("orange", 4)),
                ("void", rx.color("red", 4)),
                ("comment", rx.color("amber", 3)),
                rx.color("gray", 4),
            ),
        ),
        rx.vstack(
            rx.text(ev["message"], size="2", white_space="pre-line"),
            rx.hstack(
                rx.text(ev["at"], " · ", ev["actor"], size="1", color_scheme="gray"),
                rx.cond(
                    ev["internal"] != "",
                    rx.badge(ev["internal"], size="1", color_scheme="amber", high_contrast=True),
                ),
                spacing="2",
                align="center",
            ),
            spacing="0",
        ),
        spacing="3",
        align="start",
        width="100%",
    )


def _timeline() -> rx.Component:
    d = InvoiceDetailState
    return rx.card(
        rx.vstack(
            rx.heading("Timeline", size="4"),
            rx.cond(
                d.can_comment,
                rx.form(
                    rx.vstack(
                        rx.text_area(
                            name="comment",
                            placeholder="Add an internal note (never shown to the client)",
                            rows="2",
                            width="100%",
                            id="comment-text",
                        ),
                        rx.cond(
                            d.errors.contains("comment"),
                            rx.text(d.errors["comment"], color_scheme="red", size="2"),
                        ),
                        rx.hstack(
                            rx.button(
                                "Add note",
                                size="1",
                                variant="soft",
                                type="submit",
                                id="comment-add",
                            ),
                            justify="end",
                            width="100%",
                        ),
                        width="100%",
                        spacing="2",
                    ),
                    on_submit=d.add_comment,
                    reset_on_submit=False,
                    key=d.comment_key,
                    width="100%",
                ),
            ),
            rx.vstack(rx.foreach(d.events, _event_row), spacing="3", width="100%", id="timeline"),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _detail_content() -> rx.Component:
    d = InvoiceDetailState
    return rx.cond(
        d.found,
        rx.hstack(
            rx.vstack(paper(), width="100%", min_width="0"),
            rx.vstack(
                _actions_panel(),
                payments_card(),
                credit_notes_card(),
                dunning_card(),
                _timeline(),
                credit_note_dialog(),
                reverse_dialog(),
                card_refund_dialog(),
                width="320px",
                min_width="320px",
                spacing="4",
            ),
            spacing="5",
            align="start",
            width="100%",
        ),
        rx.callout("That invoice does not exist.", icon="circle-alert", id="invoice-missing"),
    )


def invoice_detail_page() -> rx.Component:
    return admin_page(
        "Invoice",
        InvoiceDetailState.status,
        _detail_content,
        actions=rx.link("← All invoices", href=routes.INVOICES, size="2"),
    )
