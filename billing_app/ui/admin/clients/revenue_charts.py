"""A client's MRR history and payments per month on its overview, for roles with reports.view
(payments also need payments.read): the last 12 months, per currency."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.common.transactions import run
from billing_app.services.reporting import mrr_reports
from billing_app.ui.format import to_int
from billing_app.ui.kit import charts
from billing_app.ui.session.staff import SessionState, current_user, guard


def _points(figures: list[mrr_reports.ClientMonthFigure], key: str) -> list[dict[str, Any]]:
    currency = figures[0].currency if figures else ""
    return [
        charts.point({key: f.amount}, month=f.month.strftime("%b %Y"))
        for f in figures
        if f.currency == currency
    ]


class ClientRevenueState(SessionState):
    show: bool = False
    show_payments: bool = False
    mrr: list[dict[str, Any]] = []
    mrr_currency: str = ""
    paid: list[dict[str, Any]] = []
    paid_currency: str = ""

    @guard(Permission.CLIENTS_READ)
    def load(self) -> None:
        user = current_user()
        self.show = user.can(Permission.REPORTS_VIEW)
        self.show_payments = self.show and user.can(Permission.PAYMENTS_READ)
        self.mrr, self.paid = [], []
        if not self.show:
            return
        client_id = to_int(self.router.page.params.get("client_id", ""), 0)
        history = run(mrr_reports.client_mrr_history, user, client_id)
        self.mrr = _points(history, "mrr")
        self.mrr_currency = history[0].currency if history else ""
        if self.show_payments:
            paid = run(mrr_reports.client_payments_by_month, user, client_id)
            self.paid = _points(paid, "paid")
            self.paid_currency = paid[0].currency if paid else ""


def _chart(title: str, chart: rx.Component, label: Any, box_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="3", as_="h2"),
            rx.box(chart, width="100%", role="img", aria_label=label, id=box_id),
            width="100%",
        ),
        width="100%",
    )


def client_revenue_charts() -> rx.Component:
    s = ClientRevenueState
    mrr = rx.recharts.area_chart(
        rx.recharts.area(
            type_="linear",
            data_key="mrr",
            name="MRR",
            y_axis_id="left",
            stroke=rx.color("accent", 9),
            fill=rx.color("accent", 4),
            is_animation_active=False,
        ),
        charts.x_axis(),
        charts.y_axis("MRR (" + s.mrr_currency + ")"),
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        charts.tooltip(),
        data=s.mrr,
        width="100%",
        height=220,
        margin={"left": 8, "right": 8, "bottom": 8},
    )
    paid = rx.recharts.bar_chart(
        rx.recharts.bar(
            data_key="paid",
            name="Paid",
            y_axis_id="left",
            fill=rx.color("grass", 9),
            is_animation_active=False,
        ),
        charts.x_axis(),
        charts.y_axis("Paid (" + s.paid_currency + ")"),
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        charts.tooltip(),
        data=s.paid,
        width="100%",
        height=220,
        margin={"left": 8, "right": 8, "bottom": 8},
    )
    return rx.cond(
        s.show & ((s.mrr.length() > 0) | (s.paid.length() > 0)),  # type: ignore[operator]
        rx.grid(
            rx.cond(
                s.mrr.length() > 0,
                _chart(
                    "MRR, last 12 months",
                    mrr,
                    "MRR history chart in " + s.mrr_currency,
                    "client-mrr-chart",
                ),
            ),
            rx.cond(
                s.paid.length() > 0,
                _chart(
                    "Payments per month",
                    paid,
                    "Payments per month chart in " + s.paid_currency,
                    "client-payments-chart",
                ),
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
    )
