"""The invoice editor (/invoices/new, /invoices/[invoice_id]/edit): lines, live totals, save,
preview, send."""

from __future__ import annotations

import reflex as rx

from billing_app.ui import routes
from billing_app.ui.admin.invoices.editor_state import InvoiceEditorState
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.kit.layout import NATIVE_SELECT_STYLE, field_label, form_error


def _native_select(
    options: rx.Var[list[dict[str, str]]],
    value: rx.Var[str],
    on_change: object,
    placeholder: str,
    id_: str | rx.Var[str],
    aria_label: str = "",
) -> rx.Component:
    """``aria_label`` names a select that has no visible label of its own (a line's taxes)."""
    props = {"aria_label": aria_label} if aria_label else {}
    return rx.el.select(
        rx.el.option(placeholder, value="", disabled=True),
        rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"])),
        value=value,
        on_change=on_change,
        id=id_,
        style=NATIVE_SELECT_STYLE,
        **props,
    )


def _typed(control: rx.Component) -> rx.Component:
    """A text control that sends what was typed after a pause, and at once when it loses focus.

    Each control debounces on its own (a debounce on the event handler would be shared by
    every line and field, so a quick edit in the next field cancelled the previous one), and
    the flush on blur is queued before whatever the click that took the focus does: clicking
    "Save" right after typing saves what was typed."""
    return rx.debounce_input(control, debounce_timeout=300, force_notify_on_blur=True)


def _line_input(
    line: rx.Var[dict[str, str]],
    name: str,
    label: str,
    placeholder: str,
    width: str,
    align: str = "left",
) -> rx.Component:
    e = InvoiceEditorState
    invalid = line["error_fields"].contains(f" {name} ")
    control = _typed(
        rx.input(
            value=line[name],
            on_change=lambda v: e.set_line(line["key"], name, v),
            placeholder=placeholder,
            width="100%",
            size="2",
            color_scheme=rx.cond(invalid, "red", "gray"),  # type: ignore[arg-type]
            aria_invalid=rx.cond(invalid, "true", "false"),
            style={
                "text_align": align,
                "box_shadow": rx.cond(invalid, f"inset 0 0 0 1px {rx.color('red', 9)}", ""),
            },
            id=f"line-{name}-" + line["key"],
            aria_label=label,
        )
    )
    if width == "100%":
        return rx.box(control, flex="1", min_width="0")
    return rx.box(control, width=width, min_width=width)


def _line_row(line: rx.Var[dict[str, str]]) -> rx.Component:
    e = InvoiceEditorState
    return rx.vstack(
        rx.hstack(
            _line_input(line, "description", "Description", "Description", "100%"),
            _line_input(line, "quantity", "Quantity", "Qty", "64px", "right"),
            _line_input(line, "unit_price", "Unit price", "0.00", "100px", "right"),
            _line_input(line, "discount", "Discount", "10% or 5", "90px", "right"),
            rx.box(
                _native_select(
                    e.tax_options,
                    line["tax_id"],
                    lambda v: e.set_line(line["key"], "tax_id", v),
                    "Tax",
                    "line-tax-" + line["key"],
                    "Tax",
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
                    "Second tax",
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


def _label(text: str, html_for: str) -> rx.Component:
    return field_label(text, html_for)


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
                        _label("Client", "invoice-client"),
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
                        _label("Website (optional)", "invoice-website"),
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
                        _label("Issue date", "issue-date"),
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
                        _label("Due date", "due-date"),
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
                                aria_label="Add a line from the catalog",
                                style=NATIVE_SELECT_STYLE,
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
                            _label("Message to the client (optional)", "invoice-message"),
                            _typed(
                                rx.text_area(
                                    value=e.message,
                                    on_change=e.set_message,
                                    placeholder="Thank you for your business!",
                                    rows="4",
                                    width="100%",
                                    id="invoice-message",
                                )
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
            rx.link("← All invoices", href=routes.INVOICES, size="2"),
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
