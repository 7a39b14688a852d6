"""The dashboard (/): revenue per currency for roles that may see it, team and email figures,
recent activity."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import Permission
from billing_app.services.common.transactions import run
from billing_app.services.reporting.dashboard import dashboard_figures, revenue_figures
from billing_app.services.reporting.mrr_reports import MrrFilters, mrr_report
from billing_app.ui import routes
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import format_timestamp
from billing_app.ui.kit import charts
from billing_app.ui.session.staff import SessionState, current_user, guard


class DashboardState(SessionState):
    status: str = "loading"
    active_members: int = 0
    pending_invitations: int = 0
    emails_waiting: int = 0
    emails_failed: int = 0
    activity: list[dict[str, str]] = []
    show_revenue: bool = False
    # What clients owe needs invoices.read besides reports.view (docs/security.md item 43).
    show_receivables: bool = False
    revenue: list[dict[str, Any]] = []  # one row per currency, with its MRR trend
    active_clients: int = 0
    overdue_count: int = 0

    @guard(Permission.DASHBOARD_VIEW)
    def load(self) -> None:
        user = current_user()
        figures = run(dashboard_figures, user)
        revenue = run(revenue_figures, user)
        self.show_revenue = revenue is not None
        self.show_receivables = revenue is not None and revenue.outstanding is not None
        if revenue is not None:
            outstanding = revenue.outstanding or {}
            overdue = revenue.overdue or {}
            currencies = sorted(set(revenue.mrr) | set(outstanding) | set(overdue))
            locale = "en"
            trends: dict[str, list[dict[str, Any]]] = {}
            for f in run(mrr_report, user, MrrFilters(months=12)):
                trends.setdefault(f.currency, []).append(
                    charts.point({"mrr": f.mrr}, month=f.month.strftime("%b %Y"))
                )
            self.revenue = [
                {
                    "currency": cur,
                    "mrr": format_money(revenue.mrr.get(cur, Money.zero(cur)), locale),
                    "arr": format_money(revenue.arr.get(cur, Money.zero(cur)), locale),
                    "outstanding": format_money(outstanding.get(cur, Money.zero(cur)), locale),
                    "overdue": format_money(overdue.get(cur, Money.zero(cur)), locale),
                    "late": "yes" if cur in overdue else "",
                    "trend": trends.get(cur, []),
                }
                for cur in currencies
            ]
            self.active_clients = revenue.active_clients
            self.overdue_count = revenue.overdue_count or 0
        self.active_members = figures.active_members
        self.pending_invitations = figures.pending_invitations
        self.emails_waiting = figures.emails_waiting
        self.emails_failed = figures.emails_failed
        self.activity = [
            {
                "at": format_timestamp(r.at, current_user().time_zone),
                "action": r.action,
                "actor": r.actor,
                "target": r.target,
            }
            for r in figures.recent_activity
        ]
        self.status = "ok"


def _stat(label: str, value: rx.Var[int], icon: str, href: str) -> rx.Component:
    return rx.link(
        rx.card(
            rx.hstack(
                rx.icon(icon, size=22, color=rx.color("accent", 10)),
                rx.vstack(
                    rx.text(label, size="2", color_scheme="gray"),
                    rx.heading(value.to_string(), size="7"),
                    spacing="1",
                ),
                spacing="4",
                align="center",
            ),
            width="100%",
        ),
        href=href,
        underline="none",
        width="100%",
    )


def _revenue() -> rx.Component:
    return rx.cond(
        DashboardState.show_revenue,
        rx.vstack(
            rx.grid(
                _stat(
                    "Active clients", DashboardState.active_clients, "building-2", routes.CLIENTS
                ),
                rx.cond(
                    DashboardState.show_receivables,
                    _stat(
                        "Overdue invoices",
                        DashboardState.overdue_count,
                        "alarm-clock",
                        routes.PAST_DUE,
                    ),
                ),
                columns="4",
                spacing="4",
                width="100%",
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Currency"),
                        rx.table.column_header_cell("MRR", text_align="right"),
                        rx.table.column_header_cell("ARR", text_align="right"),
                        rx.table.column_header_cell("MRR, last 12 months", min_width="140px"),
                        rx.cond(
                            DashboardState.show_receivables,
                            rx.table.column_header_cell("Outstanding", text_align="right"),
                        ),
                        rx.cond(
                            DashboardState.show_receivables,
                            rx.table.column_header_cell("Overdue", text_align="right"),
                        ),
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        DashboardState.revenue,
                        lambda r: rx.table.row(
                            rx.table.cell(rx.badge(r["currency"], variant="soft")),
                            rx.table.cell(rx.text(r["mrr"], weight="bold"), text_align="right"),
                            rx.table.cell(r["arr"], text_align="right"),
                            rx.table.cell(
                                rx.link(
                                    charts.sparkline(
                                        r["trend"].to(list),
                                        label="MRR trend in " + r["currency"].to(str),
                                    ),
                                    href=routes.REPORTS_MRR,
                                    aria_label="MRR report: MRR trend in " + r["currency"].to(str),
                                ),
                                min_width="140px",
                            ),
                            rx.cond(
                                DashboardState.show_receivables,
                                rx.table.cell(r["outstanding"], text_align="right"),
                            ),
                            rx.cond(
                                DashboardState.show_receivables,
                                rx.table.cell(
                                    rx.text(
                                        r["overdue"],
                                        color_scheme=rx.cond(r["late"] == "yes", "red", "gray"),
                                    ),
                                    text_align="right",
                                ),
                            ),
                        ),
                    )
                ),
                width="100%",
                variant="surface",
                id="revenue",
            ),
            rx.link(
                "Open the MRR report",
                href=routes.REPORTS_MRR,
                size="2",
                id="dashboard-mrr-report",
            ),
            rx.cond(
                DashboardState.revenue.length() == 0,
                rx.text(
                    "No recurring revenue yet: attach a product to a client to start.",
                    color_scheme="gray",
                    size="2",
                ),
            ),
            width="100%",
            spacing="3",
        ),
    )


def _dashboard_content() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Signed in as ",
            DashboardState.user_name,
            " (",
            DashboardState.role_label,
            ").",
            color_scheme="gray",
            id="dashboard-welcome",
        ),
        _revenue(),
        rx.grid(
            _stat("Active team members", DashboardState.active_members, "users", routes.TEAM),
            _stat(
                "Pending invitations", DashboardState.pending_invitations, "mail-plus", routes.TEAM
            ),
            _stat("Emails waiting", DashboardState.emails_waiting, "send", routes.EMAILS),
            _stat("Emails failing", DashboardState.emails_failed, "mail-warning", routes.EMAILS),
            columns="4",
            spacing="4",
            width="100%",
        ),
        rx.cond(
            DashboardState.activity.length() > 0,  # type: ignore[operator]
            rx.vstack(
                rx.heading("Recent activity", size="4", padding_top="16px"),
                rx.table.root(
                    rx.table.body(
                        rx.foreach(
                            DashboardState.activity,
                            lambda a: rx.table.row(
                                rx.table.cell(rx.text(a["at"], size="2", color_scheme="gray")),
                                rx.table.cell(rx.code(a["action"])),
                                rx.table.cell(a["actor"]),
                                rx.table.cell(a["target"]),
                            ),
                        )
                    ),
                    width="100%",
                    variant="surface",
                ),
                rx.link("See the whole audit log", href=routes.AUDIT, size="2"),
                width="100%",
            ),
        ),
        width="100%",
        spacing="4",
    )


def dashboard_page() -> rx.Component:
    return admin_page("Dashboard", DashboardState.status, _dashboard_content)
