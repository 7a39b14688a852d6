"""Reports > Cash (/reports/cash): money collected per month, invoiced against collected, credit
notes issued, what clients owe by age, the top clients, and the renewal forecast; filtered by
period, brand and currency, each report exported as CSV. Needs reports.view; what clients owe
needs invoices.read too."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.admin.reports.cash_state import ALL_BRANDS, CashReportState
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.kit import charts
from billing_app.ui.kit.layout import NATIVE_SELECT_STYLE

S = CashReportState
INPUT_STYLE = {**NATIVE_SELECT_STYLE}


def _labelled(label: str, control: rx.Component, control_id: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=control_id, style={"fontSize": "14px", "fontWeight": "500"}),
        control,
        spacing="1",
    )


def _filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            _labelled(
                "From",
                rx.el.input(
                    type="month",
                    name="start",
                    id="cash-start",
                    default_value=S.start,
                    key=S.start,
                    style=INPUT_STYLE,
                ),
                "cash-start",
            ),
            _labelled(
                "To",
                rx.el.input(
                    type="month",
                    name="end",
                    id="cash-end",
                    default_value=S.end,
                    key=S.end,
                    style=INPUT_STYLE,
                ),
                "cash-end",
            ),
            _labelled(
                "Brand",
                rx.el.select(
                    rx.el.option("All brands", value=ALL_BRANDS),
                    rx.foreach(S.brands, lambda b: rx.el.option(b["name"], value=b["id"])),
                    name="brand",
                    id="cash-brand",
                    default_value=S.brand,
                    key=S.brand + S.brands.length().to_string(),
                    style=NATIVE_SELECT_STYLE,
                ),
                "cash-brand",
            ),
            _labelled(
                "Currency",
                rx.el.select(
                    rx.foreach(S.currencies, lambda c: rx.el.option(c, value=c)),
                    name="currency",
                    id="cash-currency",
                    default_value=S.currency,
                    key=S.currency + S.currencies.length().to_string(),
                    style=NATIVE_SELECT_STYLE,
                ),
                "cash-currency",
            ),
            rx.button("Show", type="submit", id="cash-apply"),
            align="end",
            spacing="4",
            wrap="wrap",
        ),
        on_submit=S.apply,
        reset_on_submit=False,
        width="100%",
    )


def _export(handler: rx.EventHandler, name: str, what: str) -> rx.Component:
    return rx.button(
        rx.icon("download", size=16),
        "Export CSV",
        variant="soft",
        size="2",
        on_click=handler,
        id=f"export-{name}",
        aria_label=f"Export CSV: {what}",
    )


def _section(
    title: str, export: rx.Component, *children: rx.Component, **props: object
) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.heading(title, size="4", as_="h2"), rx.spacer(), export, width="100%"),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        **props,
    )


def _chart(title: str, *series: tuple[str, str]) -> rx.Component:
    """A bar chart of the months, its axes labelled, drawn at once (no animation: what is read
    is what is there)."""
    return rx.box(
        rx.recharts.bar_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
            charts.x_axis(),
            charts.y_axis(S.currency),
            rx.recharts.graphing_tooltip(),
            rx.recharts.legend(vertical_align="top"),
            *(
                rx.recharts.bar(
                    data_key=key, fill=color, name=key, y_axis_id="left", is_animation_active=False
                )
                for key, color in series
            ),
            data=S.chart,
            width="100%",
            height=280,
            margin={"left": 8, "right": 8, "bottom": 8},
        ),
        width="100%",
        role="img",
        aria_label=title + " chart in " + S.currency,
    )


def _cell(value: rx.Var, **props: object) -> rx.Component:
    return rx.table.cell(value, text_align="right", **props)


def _months_table() -> rx.Component:
    head = ("Month", "Collected", "Payments", "Refunds", "Invoiced", "Invoices", "Credit notes")
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *(
                    rx.table.column_header_cell(h, text_align="left" if h == "Month" else "right")
                    for h in head
                )
            )
        ),
        rx.table.body(
            rx.foreach(
                S.months,
                lambda r: rx.table.row(
                    rx.table.cell(r["month"]),
                    _cell(rx.text(r["collected"], weight="bold")),
                    _cell(r["payments"]),
                    _cell(r["refunds"]),
                    _cell(r["invoiced"]),
                    _cell(r["invoices"]),
                    _cell(r["credited"]),
                ),
            )
        ),
        variant="surface",
        size="1",
        width="100%",
        id="cash-months",
    )


def _aging() -> rx.Component:
    return _section(
        "Outstanding by age",
        _export(S.export_aging, "aging", "outstanding by age"),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Days past due"),
                    rx.table.column_header_cell("Outstanding", text_align="right"),
                    rx.table.column_header_cell("Invoices", text_align="right"),
                )
            ),
            rx.table.body(
                rx.foreach(
                    S.aging_rows,
                    lambda r: rx.table.row(
                        rx.table.row_header_cell(r["bucket"]),
                        _cell(
                            rx.text(
                                r["amount"],
                                color_scheme=rx.cond(r["late"] == "yes", "red", "gray"),
                                high_contrast=True,
                            )
                        ),
                        _cell(r["invoices"]),
                    ),
                ),
                rx.table.row(
                    rx.table.row_header_cell(rx.text("Total", weight="bold")),
                    _cell(rx.text(S.aging_total, weight="bold")),
                    rx.table.cell(""),
                ),
            ),
            variant="surface",
            size="1",
            width="100%",
            id="aging",
        ),
        id="aging-section",
    )


def _top(title: str, rows: rx.Var, name: str, figure: str) -> rx.Component:
    return _section(
        title,
        _export(S.export_top(name), f"top-{name}", title.lower()),
        rx.cond(
            rows.length() > 0,  # type: ignore[attr-defined]
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Client"),
                        rx.table.column_header_cell(figure, text_align="right"),
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        rows,
                        lambda r: rx.table.row(
                            rx.table.cell(rx.link(r["company"], href=r["href"])),
                            _cell(r["amount"]),
                        ),
                    )
                ),
                variant="surface",
                size="1",
                width="100%",
                id=f"top-{name}",
            ),
            rx.text("No client in this currency yet.", color_scheme="gray", size="2"),
        ),
    )


def _forecast() -> rx.Component:
    return _section(
        "Renewals coming",
        _export(S.export_forecast, "forecast", "renewals coming"),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("In the next"),
                    rx.table.column_header_cell("Renewals", text_align="right"),
                    rx.table.column_header_cell("Amount before taxes", text_align="right"),
                )
            ),
            rx.table.body(
                rx.foreach(
                    S.forecast,
                    lambda r: rx.table.row(
                        rx.table.row_header_cell(r["days"] + " days"),
                        _cell(r["renewals"]),
                        _cell(r["amount"]),
                    ),
                )
            ),
            variant="surface",
            size="1",
            width="100%",
            id="forecast",
        ),
        rx.text(
            rx.cond(
                S.forecast_at != "",
                "Computed from the renewal schedule at " + S.forecast_at + " (every hour).",
                "Not computed yet: it is computed every hour after the billing run.",
            ),
            color_scheme="gray",
            size="2",
            id="forecast-computed",
        ),
    )


def _content() -> rx.Component:
    return rx.vstack(
        _filters(),
        rx.cond(
            S.error != "",
            rx.callout(
                S.error, icon="triangle-alert", color_scheme="red", role="alert", id="cash-error"
            ),
        ),
        rx.grid(
            rx.card(
                rx.text("Collected", size="2", color_scheme="gray"),
                rx.heading(S.totals["collected"], size="6", id="total-collected"),
            ),
            rx.card(
                rx.text("Invoiced", size="2", color_scheme="gray"),
                rx.heading(S.totals["invoiced"], size="6", id="total-invoiced"),
            ),
            rx.card(
                rx.text("Credit notes", size="2", color_scheme="gray"),
                rx.heading(S.totals["credited"], size="6", id="total-credited"),
            ),
            columns="3",
            spacing="4",
            width="100%",
        ),
        _section(
            "Collected per month",
            _export(S.export_months, "months", "cash per month"),
            rx.text(
                "Payments received less refunds and reversed payments, in whole ",
                S.currency,
                " (exact figures below).",
                size="2",
                color_scheme="gray",
            ),
            rx.box(
                _chart("Collected per month", ("Collected", "#2f7d4f")),
                width="100%",
                id="chart-collected",
            ),
        ),
        _section(
            "Invoiced vs collected",
            rx.fragment(),
            rx.box(
                _chart("Invoiced vs collected", ("Invoiced", "#1f4b99"), ("Collected", "#2f7d4f")),
                width="100%",
                id="chart-invoiced",
            ),
            _months_table(),
        ),
        rx.cond(S.show_receivables, _aging()),
        rx.grid(
            _top("Top clients by MRR", S.top_mrr, "mrr", "MRR"),
            rx.cond(
                S.show_receivables,
                _top("Top clients by outstanding", S.top_owed, "outstanding", "Outstanding"),
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        _forecast(),
        spacing="4",
        width="100%",
    )


def cash_report_page() -> rx.Component:
    return admin_page("Cash", S.status, _content)
