"""An invoice (/invoices/[invoice_id]): the document, its timeline, payments, refunds, reminders,
void."""

from __future__ import annotations

import reflex as rx

from billing_app.ui import routes
from billing_app.ui.admin.invoices.detail_state import InvoiceDetailState
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.kit.badges import status_badge
from billing_app.ui.kit.layout import NATIVE_SELECT_STYLE, form_error


def _paper() -> rx.Component:
    d = InvoiceDetailState
    return rx.card(
        rx.vstack(
            rx.box(height="6px", width="100%", background=d.header["color"], border_radius="4px"),
            rx.hstack(
                rx.vstack(
                    rx.text(d.header["agency"], weight="bold", size="4"),
                    rx.foreach(d.agency_lines, lambda a: rx.text(a, size="2", color_scheme="gray")),
                    rx.cond(
                        d.header["agency_tax_id"] != "",
                        rx.text(
                            "Tax id ", d.header["agency_tax_id"], size="1", color_scheme="gray"
                        ),
                    ),
                    spacing="0",
                    align="start",
                ),
                rx.spacer(),
                rx.vstack(
                    rx.heading("Invoice ", d.number, size="5", id="invoice-number"),
                    rx.text("Issued ", d.header["issue_date"], size="2", color_scheme="gray"),
                    rx.text("Due ", d.header["due_date"], size="2", color_scheme="gray"),
                    align="end",
                    spacing="0",
                ),
                width="100%",
                align="start",
            ),
            rx.vstack(
                rx.text("BILLED TO", size="1", color_scheme="gray", weight="medium"),
                rx.text(d.header["client"], weight="medium"),
                rx.text(d.header["contact"], size="2"),
                rx.foreach(d.client_lines, lambda a: rx.text(a, size="2", color_scheme="gray")),
                rx.text(d.header["email"], size="2", color_scheme="gray"),
                rx.cond(
                    d.header["website"] != "",
                    rx.text("Website: ", d.header["website"], size="2", color_scheme="gray"),
                ),
                spacing="0",
                align="start",
                padding_y="8px",
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Description"),
                        rx.table.column_header_cell("Qty", text_align="right"),
                        rx.table.column_header_cell("Unit price", text_align="right"),
                        rx.table.column_header_cell("Discount", text_align="right"),
                        rx.table.column_header_cell("Tax"),
                        rx.table.column_header_cell("Amount", text_align="right"),
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        d.lines,
                        lambda line: rx.table.row(
                            rx.table.cell(line["description"]),
                            rx.table.cell(line["quantity"], text_align="right"),
                            rx.table.cell(line["unit_price"], text_align="right"),
                            rx.table.cell(line["discount"], text_align="right"),
                            rx.table.cell(line["taxes"]),
                            rx.table.cell(line["amount"], text_align="right"),
                        ),
                    )
                ),
                width="100%",
                size="1",
            ),
            rx.hstack(
                rx.cond(
                    d.header["message"] != "",
                    rx.text(
                        d.header["message"],
                        size="2",
                        color_scheme="gray",
                        white_space="pre-line",
                        max_width="360px",
                    ),
                ),
                rx.spacer(),
                rx.vstack(
                    _amount_row("Subtotal", d.amounts["subtotal"]),
                    rx.cond(
                        d.amounts["discount"] != "",
                        _amount_row("Discounts", "− " + d.amounts["discount"]),
                    ),
                    rx.foreach(d.tax_rows, lambda t: _amount_row(t["label"], t["amount"])),
                    rx.divider(),
                    _amount_row("Total", d.amounts["total"], bold=True),
                    width="280px",
                    spacing="1",
                ),
                width="100%",
                align="start",
            ),
            spacing="4",
            width="100%",
        ),
        size="4",
        width="100%",
    )


def _amount_row(
    label: str | rx.Var[str], value: rx.Var[str], *, bold: bool = False
) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray", weight="bold" if bold else "regular"),
        rx.spacer(),
        rx.text(value, size="3" if bold else "2", weight="bold" if bold else "regular"),
        width="100%",
    )


def _method_select() -> rx.Component:
    return rx.el.select(
        rx.el.option("Bank transfer", value="bank_transfer"),
        rx.el.option("Cheque", value="cheque"),
        rx.el.option("Cash", value="cash"),
        rx.el.option("Other", value="other"),
        name="method",
        id="pay-method",
        default_value="bank_transfer",
        style=NATIVE_SELECT_STYLE,
    )


def _dialog_field(label: str, control: rx.Component, name: str) -> rx.Component:
    d = InvoiceDetailState
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        control,
        rx.cond(
            d.errors.contains(name),
            rx.text(d.errors[name], color_scheme="red", size="2", id=f"{name}-error"),
        ),
        spacing="1",
        width="100%",
    )


def _money_form(kind: str) -> rx.Component:
    d = InvoiceDetailState
    is_pay = kind == "pay"
    return rx.form(
        rx.vstack(
            form_error(d.errors),
            rx.grid(
                _dialog_field(
                    "Amount",
                    rx.input(
                        name="amount",
                        id=f"{kind}-amount",
                        default_value=d.amounts["due"] if is_pay else d.amounts["refundable"],
                        width="100%",
                    ),
                    "amount",
                ),
                _dialog_field(
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
                ),
                columns="2",
                spacing="3",
                width="100%",
            ),
            _dialog_field("Method", _method_select(), "method"),
            _dialog_field(
                "Reference (optional)",
                rx.input(name="reference", id=f"{kind}-reference", width="100%"),
                "reference",
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
                _amount_row("Total", d.amounts["total"]),
                _amount_row("Paid", d.amounts["paid"]),
                rx.cond(
                    d.amounts["refunded"] != "", _amount_row("Refunded", d.amounts["refunded"])
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
                        _money_form("pay"),
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
                        _money_form("refund"),
                        max_width="480px",
                    ),
                    open=d.refund_open,
                    on_open_change=d.set_refund_open,
                ),
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
                                _dialog_field(
                                    "Reason",
                                    rx.text_area(name="reason", id="void-reason", width="100%"),
                                    "reason",
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
    "void": "ban",
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
                    ev["internal"] != "", rx.badge(ev["internal"], size="1", color_scheme="amber")
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
            rx.vstack(_paper(), width="100%", min_width="0"),
            rx.vstack(_actions_panel(), _timeline(), width="320px", min_width="320px", spacing="4"),
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
