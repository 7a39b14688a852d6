"""Reports > MRR (/reports/mrr): MRR and ARR history, the movements of each month, customers,
ARPA and the rates, per currency, filtered by period, brand and currency; CSV export. Needs
reports.view (services/reporting/mrr_reports.py)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.domain.revenue import MonthFigures, percent
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.services.reporting import mrr_reports
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import money, optional_int
from billing_app.ui.kit import charts
from billing_app.ui.session.staff import SessionState, current_user, guard

PERIODS = ("3", "6", "12", "24")
ALL = "all"


def _rate(value: Any) -> str:
    return "—" if value is None else f"{percent(value)} %"


def _row(f: MonthFigures) -> dict[str, str]:
    m = f.movements
    return {
        "key": f"{f.month.isoformat()}-{f.currency}",
        "month": f.month.strftime("%b %Y"),
        "currency": f.currency,
        "mrr": money(f.mrr),
        "arr": money(f.arr),
        "new": money(m.new),
        "reactivation": money(m.reactivation),
        "expansion": money(m.expansion),
        "contraction": money(m.contraction),
        "churn": money(m.churn),
        "net": money(m.net),
        "customers": str(f.customers),
        "arpa": money(f.arpa) if f.arpa is not None else "—",
        "logo_churn": _rate(f.logo_churn),
        "revenue_churn": _rate(f.revenue_churn),
        "nrr": _rate(f.net_revenue_retention),
    }


class MrrReportState(SessionState):
    status: str = "loading"
    months: str = "12"
    brand: str = ALL
    currency: str = ALL
    brands: list[dict[str, str]] = []
    currencies: list[str] = []
    chart_currency: str = ""
    rows: list[dict[str, str]] = []
    history: list[dict[str, Any]] = []
    movements: list[dict[str, Any]] = []
    headline: dict[str, str] = {}

    def _filters(self) -> mrr_reports.MrrFilters:
        return mrr_reports.MrrFilters(
            months=int(self.months) if self.months in PERIODS else 12,
            brand_id=optional_int(self.brand),
            currency=self.currency if self.currency in self.currencies else None,
        )

    def _refresh(self) -> Any:
        user = current_user()
        choices = run(mrr_reports.report_choices, user)
        self.brands = [{"id": str(i), "name": name} for i, name in choices.brands]
        self.currencies = choices.currencies
        try:
            figures = run(mrr_reports.mrr_report, user, self._filters())
        except ServiceError as exc:
            self.brand = ALL
            self.status = "ok"
            return rx.toast.error(exc.message)
        self.rows = [_row(f) for f in reversed(figures)]
        shown = sorted({f.currency for f in figures})
        self.chart_currency = self.currency if self.currency in shown else (shown or [""])[0]
        mine = [f for f in figures if f.currency == self.chart_currency]
        self.history = [
            charts.point({"mrr": f.mrr, "arr": f.arr}, month=f.month.strftime("%b %Y"))
            for f in mine
        ]
        self.movements = [
            charts.point(
                {
                    "new": f.movements.new,
                    "reactivation": f.movements.reactivation,
                    "expansion": f.movements.expansion,
                    "contraction": -f.movements.contraction,
                    "churn": -f.movements.churn,
                },
                month=f.month.strftime("%b %Y"),
            )
            for f in mine
        ]
        last = mine[-1] if mine else None
        self.headline = _row(last) if last is not None else {}
        self.status = "ok"
        return None

    @guard(Permission.REPORTS_VIEW)
    def load(self) -> Any:
        return self._refresh()

    @guard(Permission.REPORTS_VIEW)
    def choose_months(self, value: str) -> Any:
        self.months = value if value in PERIODS else "12"
        return self._refresh()

    @guard(Permission.REPORTS_VIEW)
    def choose_brand(self, value: str) -> Any:
        self.brand = value if optional_int(value) is not None else ALL
        return self._refresh()

    @guard(Permission.REPORTS_VIEW)
    def choose_currency(self, value: str) -> Any:
        self.currency = value if value in self.currencies else ALL
        return self._refresh()

    @guard(Permission.REPORTS_VIEW)
    def export_csv(self) -> Any:
        try:
            data = run(mrr_reports.mrr_report_csv, current_user(), self._filters())
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        return rx.download(data=data, filename="mrr.csv", mime_type="text/csv;charset=utf-8")


def _filter(label: str, control: rx.Component) -> rx.Component:
    return rx.vstack(rx.text(label, size="2", weight="medium"), control, spacing="1")


def _filters() -> rx.Component:
    s = MrrReportState
    return rx.hstack(
        _filter(
            "Period",
            rx.select.root(
                rx.select.trigger(aria_label="Period", id="mrr-period"),
                rx.select.content(
                    *(rx.select.item(f"Last {n} months", value=n) for n in PERIODS),
                ),
                value=s.months,
                on_change=s.choose_months,
            ),
        ),
        _filter(
            "Brand",
            rx.select.root(
                rx.select.trigger(aria_label="Brand", id="mrr-brand"),
                rx.select.content(
                    rx.select.item("All brands", value=ALL),
                    rx.foreach(s.brands, lambda b: rx.select.item(b["name"], value=b["id"])),
                ),
                value=s.brand,
                on_change=s.choose_brand,
            ),
        ),
        _filter(
            "Currency",
            rx.select.root(
                rx.select.trigger(aria_label="Currency", id="mrr-currency"),
                rx.select.content(
                    rx.select.item("All currencies", value=ALL),
                    rx.foreach(s.currencies, lambda c: rx.select.item(c, value=c)),
                ),
                value=s.currency,
                on_change=s.choose_currency,
            ),
        ),
        spacing="4",
        align="end",
        wrap="wrap",
    )


def _figure(label: str, key: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color_scheme="gray"),
            rx.text(MrrReportState.headline[key], size="6", weight="bold"),
            spacing="1",
        ),
        id=f"mrr-figure-{key}",
    )


def _headline() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Latest month in ",
            MrrReportState.chart_currency,
            ": ",
            MrrReportState.headline["month"],
            size="2",
            color_scheme="gray",
        ),
        rx.grid(
            _figure("MRR", "mrr"),
            _figure("ARR", "arr"),
            _figure("Customers", "customers"),
            _figure("ARPA", "arpa"),
            _figure("Net revenue retention", "nrr"),
            columns=rx.breakpoints(initial="2", md="5"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        spacing="2",
    )


def _history_chart() -> rx.Component:
    s = MrrReportState
    return rx.card(
        rx.vstack(
            rx.heading("MRR and ARR history", size="4", as_="h2"),
            rx.box(
                rx.recharts.composed_chart(
                    rx.recharts.area(
                        type_="linear",
                        data_key="mrr",
                        name="MRR",
                        y_axis_id="left",
                        stroke=rx.color("accent", 9),
                        fill=rx.color("accent", 4),
                        is_animation_active=False,
                    ),
                    rx.recharts.line(
                        type_="linear",
                        data_key="arr",
                        name="ARR",
                        y_axis_id="right",
                        stroke=rx.color("grass", 9),
                        is_animation_active=False,
                    ),
                    charts.x_axis(),
                    charts.y_axis("MRR (" + s.chart_currency + ")"),
                    charts.y_axis("ARR (" + s.chart_currency + ")", "right", "right"),
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                    charts.tooltip(),
                    rx.recharts.legend(vertical_align="top"),
                    data=s.history,
                    width="100%",
                    height=300,
                    margin={"left": 8, "right": 8, "bottom": 8},
                ),
                width="100%",
                role="img",
                aria_label="MRR and ARR history chart in " + s.chart_currency,
                id="mrr-history-chart",
            ),
            width="100%",
        ),
        width="100%",
    )


def _movements_chart() -> rx.Component:
    s = MrrReportState
    bars = (
        ("new", "New", "grass"),
        ("reactivation", "Reactivation", "teal"),
        ("expansion", "Expansion", "blue"),
        ("contraction", "Contraction", "amber"),
        ("churn", "Churn", "red"),
    )
    return rx.card(
        rx.vstack(
            rx.heading("Movements per month", size="4", as_="h2"),
            rx.box(
                rx.recharts.bar_chart(
                    *(
                        rx.recharts.bar(
                            data_key=key,
                            name=name,
                            stack_id="moves",
                            fill=rx.color(color, 9),
                            y_axis_id="left",
                            is_animation_active=False,
                        )
                        for key, name, color in bars
                    ),
                    charts.x_axis(),
                    charts.y_axis("Change (" + s.chart_currency + ")"),
                    rx.recharts.reference_line(y=0, y_axis_id="left", stroke=rx.color("gray", 9)),
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                    charts.tooltip(),
                    rx.recharts.legend(vertical_align="top"),
                    data=s.movements,
                    custom_attrs={"stackOffset": "sign"},
                    width="100%",
                    height=280,
                    margin={"left": 8, "right": 8, "bottom": 8},
                ),
                width="100%",
                role="img",
                aria_label="Movements per month chart in " + s.chart_currency,
                id="mrr-movements-chart",
            ),
            width="100%",
        ),
        width="100%",
    )


COLUMNS = (
    ("Month", "month"),
    ("Currency", "currency"),
    ("MRR", "mrr"),
    ("New", "new"),
    ("Reactivation", "reactivation"),
    ("Expansion", "expansion"),
    ("Contraction", "contraction"),
    ("Churn", "churn"),
    ("Customers", "customers"),
    ("ARPA", "arpa"),
    ("Logo churn", "logo_churn"),
    ("Revenue churn", "revenue_churn"),
    ("NRR", "nrr"),
)


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *(
                        rx.table.column_header_cell(
                            label, text_align="left" if key in ("month", "currency") else "right"
                        )
                        for label, key in COLUMNS
                    )
                )
            ),
            rx.table.body(
                rx.foreach(
                    MrrReportState.rows,
                    lambda r: rx.table.row(
                        *(
                            rx.table.cell(
                                r[key],
                                text_align="left" if key in ("month", "currency") else "right",
                                white_space="nowrap",
                            )
                            for _, key in COLUMNS
                        )
                    ),
                )
            ),
            variant="surface",
            size="1",
            min_width="100%",
            width="max-content",
            id="mrr-table",
        ),
        # The table keeps its width; this region scrolls, and takes the keyboard's focus to.
        overflow_x="auto",
        width="100%",
        tab_index=0,
        role="region",
        aria_label="Month by month",
    )


def _content() -> rx.Component:
    s = MrrReportState
    return rx.vstack(
        _filters(),
        rx.cond(
            s.rows.length() > 0,
            rx.vstack(
                _headline(),
                _history_chart(),
                _movements_chart(),
                rx.heading("Month by month", size="4", as_="h2"),
                rx.text(
                    "Logo churn: customers lost over customers at the start of the month. "
                    "Revenue churn: churn and contraction over MRR at the start. NRR: MRR kept "
                    "from the customers at the start, with their expansion.",
                    size="2",
                    color_scheme="gray",
                ),
                _table(),
                width="100%",
                spacing="4",
            ),
            rx.callout(
                "No recurring revenue in this period yet.",
                icon="info",
                high_contrast=True,
                id="mrr-empty",
            ),
        ),
        width="100%",
        spacing="4",
    )


def mrr_report_page() -> rx.Component:
    return admin_page(
        "MRR report",
        MrrReportState.status,
        _content,
        rx.button(
            rx.icon("download", size=16),
            "Export CSV",
            variant="soft",
            on_click=MrrReportState.export_csv,
            id="mrr-export",
        ),
    )
