"""Invoices: the list, the editor (new and draft) and the detail page."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.components.layout import admin_page, form_error, pager
from billing_app.ui.state.invoice_detail import InvoiceDetailState
from billing_app.ui.state.invoice_editor import InvoiceEditorState
from billing_app.ui.state.invoices import TABS, InvoicesState

SELECT_STYLE = {
    "width": "100%",
    "height": "32px",
    "border": "1px solid var(--gray-7)",
    "border_radius": "6px",
    "padding": "0 8px",
    "background": "var(--color-surface)",
    "font_size": "14px",
}


def status_badge(label: rx.Var[str], color: rx.Var[str], **props: object) -> rx.Component:
    return rx.badge(label, color_scheme=color, variant="soft", size="2", radius="full", **props)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- list


def _sort_header(label: str, key: str) -> rx.Component:
    s = InvoicesState
    return rx.table.column_header_cell(
        rx.hstack(
            rx.text(label),
            rx.cond(
                s.sort == key,
                rx.icon(rx.cond(s.descending, "arrow-down", "arrow-up"), size=14),
                rx.icon("arrow-up-down", size=14, color=rx.color("gray", 8)),
            ),
            spacing="1",
            align="center",
            cursor="pointer",
            on_click=s.set_sort(key),
        ),
        id=f"sort-{key}",
    )


def _invoice_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(r["number"], href=r["href"], weight="medium"),
        ),
        rx.table.cell(r["client"]),
        rx.table.cell(status_badge(r["status_label"], r["color"])),
        rx.table.cell(r["issue_date"]),
        rx.table.cell(r["due_date"]),
        rx.table.cell(rx.text(r["total"], weight="medium"), text_align="right"),
        rx.table.cell(r["due"], text_align="right"),
        align="center",
        cursor="pointer",
        _hover={"background": rx.color("gray", 2)},
        on_click=InvoicesState.open_invoice(r["href"]),
    )


def _list_content() -> rx.Component:
    s = InvoicesState
    return rx.vstack(
        rx.hstack(
            rx.tabs.root(
                rx.tabs.list(
                    *[
                        rx.tabs.trigger(label, value=value, id=f"tab-{value}")
                        for value, label in TABS
                    ]
                ),
                value=s.tab,
                on_change=s.set_tab,
            ),
            width="100%",
        ),
        rx.hstack(
            rx.input(
                rx.input.slot(rx.icon("search", size=16)),
                placeholder="Search by number, client or amount",
                value=s.search,
                on_change=s.set_search.debounce(300),  # type: ignore[attr-defined]
                width="360px",
                id="invoice-search",
            ),
            rx.spacer(),
            rx.foreach(
                s.totals,
                lambda t: rx.hstack(
                    rx.text("Total ", t["total"], size="2", weight="medium"),
                    rx.text("· Due ", t["due"], size="2", color_scheme="gray"),
                    spacing="1",
                ),
            ),
            width="100%",
            align="center",
            id="invoice-totals",
        ),
        rx.cond(
            s.rows.length() > 0,  # type: ignore[operator]
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Number"),
                        rx.table.column_header_cell("Client"),
                        rx.table.column_header_cell("Status"),
                        _sort_header("Issued", "date"),
                        _sort_header("Due", "due"),
                        rx.table.column_header_cell(
                            rx.hstack(
                                rx.spacer(),
                                rx.text("Total"),
                                rx.cond(
                                    s.sort == "amount",
                                    rx.icon(
                                        rx.cond(s.descending, "arrow-down", "arrow-up"), size=14
                                    ),
                                    rx.icon("arrow-up-down", size=14, color=rx.color("gray", 8)),
                                ),
                                spacing="1",
                                align="center",
                                cursor="pointer",
                                on_click=s.set_sort("amount"),
                            ),
                            id="sort-amount",
                        ),
                        rx.table.column_header_cell("Amount due", text_align="right"),
                    )
                ),
                rx.table.body(rx.foreach(s.rows, _invoice_row)),
                width="100%",
                variant="surface",
                id="invoices",
            ),
            rx.center(
                rx.vstack(
                    rx.icon("file-text", size=36, color=rx.color("gray", 8)),
                    rx.text("No invoices here yet.", weight="medium"),
                    rx.text(
                        "Create an invoice, or change the filter or search.",
                        size="2",
                        color_scheme="gray",
                    ),
                    align="center",
                    spacing="2",
                ),
                padding="48px",
                width="100%",
                border=f"1px dashed {rx.color('gray', 6)}",
                border_radius="12px",
                id="invoices-empty",
            ),
        ),
        pager(s.page, s.page_count, s.total_count, s.go_to_page),
        width="100%",
        spacing="4",
    )


def invoices_page() -> rx.Component:
    return admin_page(
        "Invoices",
        InvoicesState.status,
        _list_content,
        actions=rx.cond(
            InvoicesState.can_write,
            rx.link(
                rx.button(rx.icon("plus", size=16), "New invoice", id="invoice-new"),
                href="/invoices/new",
            ),
        ),
    )


# --------------------------------------------------------------------------- editor


def _native_select(
    options: rx.Var[list[dict[str, str]]],
    value: rx.Var[str],
    on_change: object,
    placeholder: str,
    id_: str | rx.Var[str],
) -> rx.Component:
    return rx.el.select(
        rx.el.option(placeholder, value="", disabled=True),
        rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"])),
        value=value,
        on_change=on_change,
        id=id_,
        style=SELECT_STYLE,
    )


def _line_input(
    line: rx.Var[dict[str, str]], name: str, placeholder: str, width: str, align: str = "left"
) -> rx.Component:
    e = InvoiceEditorState
    control = rx.input(
        value=line[name],
        on_change=lambda v: e.set_line(line["key"], name, v).debounce(250),  # type: ignore[attr-defined]
        placeholder=placeholder,
        width="100%",
        size="2",
        color_scheme=rx.cond(line["error_field"] == name, "red", "gray"),  # type: ignore[arg-type]
        style={"text_align": align},
        id=f"line-{name}-" + line["key"],
        aria_label=name,
    )
    if width == "100%":
        return rx.box(control, flex="1", min_width="0")
    return rx.box(control, width=width, min_width=width)


def _line_row(line: rx.Var[dict[str, str]]) -> rx.Component:
    e = InvoiceEditorState
    return rx.vstack(
        rx.hstack(
            _line_input(line, "description", "Description", "100%"),
            _line_input(line, "quantity", "Qty", "64px", "right"),
            _line_input(line, "unit_price", "0.00", "100px", "right"),
            _line_input(line, "discount", "10% or 5", "90px", "right"),
            rx.box(
                _native_select(
                    e.tax_options,
                    line["tax_id"],
                    lambda v: e.set_line(line["key"], "tax_id", v),
                    "Tax",
                    "line-tax-" + line["key"],
                ),
                width="130px",
                min_width="130px",
            ),
            rx.box(
                _native_select(
                    e.tax_options,
                    line["tax2_id"],
                    lambda v: e.set_line(line["key"], "tax2_id", v),
                    "Second tax",
                    "line-tax2-" + line["key"],
                ),
                width="110px",
                min_width="110px",
            ),
            rx.text(
                line["amount"],
                width="110px",
                min_width="110px",
                text_align="right",
                weight="medium",
                size="2",
                id="line-amount-" + line["key"],
            ),
            rx.icon_button(
                rx.icon("x", size=14),
                variant="ghost",
                color_scheme="gray",
                size="1",
                on_click=e.remove_line(line["key"]),
                aria_label="Remove line",
            ),
            width="100%",
            align="center",
            spacing="2",
        ),
        rx.cond(
            line["error"] != "",
            rx.text(
                line["error"],
                color_scheme="red",
                size="1",
                id="line-error-" + line["key"],
            ),
        ),
        spacing="1",
        width="100%",
    )


def _error(name: str) -> rx.Component:
    e = InvoiceEditorState.errors
    return rx.cond(
        e.contains(name), rx.text(e[name], color_scheme="red", size="2", id=f"{name}-error")
    )


def _label(text: str) -> rx.Component:
    return rx.text(text, size="2", weight="medium")


def _totals_card() -> rx.Component:
    e = InvoiceEditorState

    def row(label: rx.Var[str] | str, value: rx.Var[str], **props: object) -> rx.Component:
        return rx.hstack(
            rx.text(label, size="2", color_scheme="gray"),
            rx.spacer(),
            rx.text(value, size="2", **props),  # type: ignore[arg-type]
            width="100%",
        )

    return rx.vstack(
        row("Subtotal", e.totals.get("subtotal", "—")),
        rx.cond(e.totals.get("discount", "") != "", row("Discounts", "− " + e.totals["discount"])),
        rx.foreach(e.tax_rows, lambda t: row(t["label"], t["amount"])),
        rx.divider(),
        rx.hstack(
            rx.text("Total", weight="bold"),
            rx.spacer(),
            rx.text(e.totals.get("total", "—"), weight="bold", size="5", id="invoice-total"),
            width="100%",
            align="center",
        ),
        width="320px",
        spacing="2",
        padding="16px",
        background=rx.color("gray", 2),
        border_radius="10px",
    )


def _editor_content() -> rx.Component:
    e = InvoiceEditorState
    return rx.cond(
        e.found,
        rx.vstack(
            form_error(e.errors),
            rx.card(
                rx.grid(
                    rx.vstack(
                        _label("Client"),
                        _native_select(
                            e.client_options,
                            e.client_id,
                            e.set_client,
                            "Choose a client…",
                            "invoice-client",
                        ),
                        _error("client_id"),
                        rx.cond(
                            e.currency != "",
                            rx.text("Billed in ", e.currency, size="1", color_scheme="gray"),
                        ),
                        spacing="1",
                        width="100%",
                    ),
                    rx.vstack(
                        _label("Website (optional)"),
                        _native_select(
                            e.website_options,
                            e.website_id,
                            e.set_website,
                            "No specific website",
                            "invoice-website",
                        ),
                        _error("website_id"),
                        spacing="1",
                        width="100%",
                    ),
                    rx.vstack(
                        _label("Issue date"),
                        rx.input(
                            type="date",
                            value=e.issue_date,
                            on_change=e.set_issue_date,
                            id="issue-date",
                            width="100%",
                        ),
                        _error("issue_date"),
                        spacing="1",
                        width="100%",
                    ),
                    rx.vstack(
                        _label("Due date"),
                        rx.input(
                            type="date",
                            value=e.due_date,
                            on_change=e.set_due_date,
                            id="due-date",
                            width="100%",
                        ),
                        _error("due_date"),
                        spacing="1",
                        width="100%",
                    ),
                    columns="2fr 2fr 1fr 1fr",
                    spacing="4",
                    width="100%",
                ),
                size="3",
                width="100%",
            ),
            rx.card(
                rx.vstack(
                    rx.hstack(
                        rx.heading("Lines", size="4"),
                        rx.spacer(),
                        rx.box(
                            rx.el.select(
                                rx.el.option("Add from catalog…", value=""),
                                rx.foreach(
                                    e.product_options,
                                    lambda o: rx.el.option(o["label"], value=o["value"]),
                                ),
                                value="",
                                on_change=e.add_product,
                                id="add-product",
                                style=SELECT_STYLE,
                            ),
                            width="280px",
                        ),
                        rx.button(
                            rx.icon("plus", size=14),
                            "Free line",
                            variant="soft",
                            on_click=e.add_line,
                            id="add-line",
                        ),
                        width="100%",
                        align="center",
                    ),
                    rx.hstack(
                        rx.text("Description", size="1", color_scheme="gray", flex="1"),
                        rx.text(
                            "Qty",
                            size="1",
                            color_scheme="gray",
                            width="64px",
                            min_width="64px",
                            text_align="right",
                        ),
                        rx.text(
                            "Unit price",
                            size="1",
                            color_scheme="gray",
                            width="100px",
                            min_width="100px",
                            text_align="right",
                        ),
                        rx.text(
                            "Discount",
                            size="1",
                            color_scheme="gray",
                            width="90px",
                            min_width="90px",
                            text_align="right",
                        ),
                        rx.text(
                            "Taxes", size="1", color_scheme="gray", width="248px", min_width="248px"
                        ),
                        rx.text(
                            "Amount",
                            size="1",
                            color_scheme="gray",
                            width="110px",
                            min_width="110px",
                            text_align="right",
                        ),
                        rx.box(width="24px", min_width="24px"),
                        width="100%",
                        spacing="2",
                    ),
                    rx.foreach(e.lines, _line_row),
                    _error("lines"),
                    rx.hstack(
                        rx.vstack(
                            _label("Message to the client (optional)"),
                            rx.text_area(
                                value=e.message,
                                on_change=e.set_message.debounce(300),  # type: ignore[attr-defined]
                                placeholder="Thank you for your business!",
                                rows="4",
                                width="100%",
                                id="invoice-message",
                            ),
                            width="100%",
                            spacing="1",
                        ),
                        _totals_card(),
                        width="100%",
                        spacing="6",
                        align="start",
                        padding_top="12px",
                    ),
                    spacing="3",
                    width="100%",
                ),
                size="3",
                width="100%",
            ),
            rx.hstack(
                rx.cond(
                    e.invoice_id != "",
                    rx.alert_dialog.root(
                        rx.alert_dialog.trigger(
                            rx.button("Delete draft", variant="soft", color_scheme="red")
                        ),
                        rx.alert_dialog.content(
                            rx.alert_dialog.title("Delete this draft?"),
                            rx.alert_dialog.description(
                                "It has no number yet; nothing else changes."
                            ),
                            rx.hstack(
                                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft")),
                                rx.alert_dialog.action(
                                    rx.button("Delete", color_scheme="red", on_click=e.delete_draft)
                                ),
                                justify="end",
                                spacing="3",
                                padding_top="12px",
                            ),
                        ),
                    ),
                ),
                width="100%",
                spacing="3",
            ),
            width="100%",
            spacing="4",
        ),
        rx.callout("That invoice does not exist.", icon="circle-alert", id="invoice-missing"),
    )


def invoice_editor_page() -> rx.Component:
    return admin_page(
        "Invoice",
        InvoiceEditorState.status,
        _editor_content,
        actions=rx.hstack(
            rx.cond(
                InvoiceEditorState.invoice_id == "",
                rx.badge("New", size="2", variant="soft"),
                rx.badge("Draft", size="2", color_scheme="gray", variant="soft"),
            ),
            rx.link("← All invoices", href="/invoices", size="2"),
            rx.cond(
                InvoiceEditorState.found,
                rx.hstack(
                    rx.button(
                        rx.icon("eye", size=16),
                        "Preview PDF",
                        variant="soft",
                        on_click=InvoiceEditorState.preview_pdf,
                        id="invoice-preview",
                    ),
                    rx.button(
                        rx.icon("save", size=16),
                        "Save draft",
                        variant="soft",
                        on_click=InvoiceEditorState.save_draft,
                        id="invoice-save",
                    ),
                    rx.cond(
                        InvoiceEditorState.can_send,
                        rx.alert_dialog.root(
                            rx.alert_dialog.trigger(
                                rx.button(
                                    rx.icon("send", size=16), "Send invoice", id="invoice-send"
                                )
                            ),
                            rx.alert_dialog.content(
                                rx.alert_dialog.title("Send this invoice?"),
                                rx.alert_dialog.description(
                                    "It gets its number, is frozen (no more edits) and is emailed "
                                    "to the client with the PDF attached."
                                ),
                                rx.hstack(
                                    rx.alert_dialog.cancel(rx.button("Cancel", variant="soft")),
                                    rx.alert_dialog.action(
                                        rx.button(
                                            "Send",
                                            on_click=InvoiceEditorState.send,
                                            id="invoice-send-confirm",
                                        )
                                    ),
                                    justify="end",
                                    spacing="3",
                                    padding_top="12px",
                                ),
                            ),
                        ),
                    ),
                    spacing="3",
                ),
            ),
            spacing="3",
            align="center",
        ),
    )


# --------------------------------------------------------------------------- detail


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
        style=SELECT_STYLE,
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
                    status_badge(d.status_label, d.status_color, id="invoice-status"),
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
                            "At most ", d.amounts["refundable"], " can be refunded.", size="2"
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
        actions=rx.link("← All invoices", href="/invoices", size="2"),
    )
