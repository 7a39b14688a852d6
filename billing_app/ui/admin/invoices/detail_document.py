"""The invoice as a sheet of paper on its detail page: parties, lines, totals, what is due."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.admin.invoices.detail_state import InvoiceDetailState


def paper() -> rx.Component:
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
                    amount_row("Subtotal", d.amounts["subtotal"]),
                    rx.cond(
                        d.amounts["discount"] != "",
                        amount_row("Discounts", "− " + d.amounts["discount"]),
                    ),
                    rx.foreach(d.tax_rows, lambda t: amount_row(t["label"], t["amount"])),
                    rx.divider(),
                    amount_row("Total", d.amounts["total"], bold=True),
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


def amount_row(label: str | rx.Var[str], value: rx.Var[str], *, bold: bool = False) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray", weight="bold" if bold else "regular"),
        rx.spacer(),
        rx.text(value, size="3" if bold else "2", weight="bold" if bold else "regular"),
        width="100%",
    )
