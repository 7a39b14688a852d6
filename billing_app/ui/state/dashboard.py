"""The dashboard landing page."""

from __future__ import annotations

import reflex as rx

from billing_app.db.engine import session_scope
from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import Permission
from billing_app.services.dashboard import dashboard_figures, revenue_figures
from billing_app.ui.format import format_timestamp
from billing_app.ui.state.base import SessionState, current_user, guard


class DashboardState(SessionState):
    status: str = "loading"
    active_members: int = 0
    pending_invitations: int = 0
    emails_waiting: int = 0
    emails_failed: int = 0
    activity: list[dict[str, str]] = []
    show_revenue: bool = False
    revenue: list[dict[str, str]] = []  # one row per currency
    active_clients: int = 0
    overdue_count: int = 0

    @guard(Permission.DASHBOARD_VIEW)
    def load(self) -> None:
        user = current_user()
        self.show_revenue = user.can(Permission.REPORTS_VIEW)
        with session_scope() as session:
            figures = dashboard_figures(session, include_activity=user.can(Permission.AUDIT_VIEW))
            revenue = revenue_figures(session) if self.show_revenue else None
        if revenue is not None:
            currencies = sorted(set(revenue.mrr) | set(revenue.outstanding) | set(revenue.overdue))
            locale = "en"
            self.revenue = [
                {
                    "currency": cur,
                    "mrr": format_money(revenue.mrr.get(cur, Money.zero(cur)), locale),
                    "arr": format_money(revenue.mrr.get(cur, Money.zero(cur)) * 12, locale),
                    "outstanding": format_money(
                        revenue.outstanding.get(cur, Money.zero(cur)), locale
                    ),
                    "overdue": format_money(revenue.overdue.get(cur, Money.zero(cur)), locale),
                    "late": "yes" if cur in revenue.overdue else "",
                }
                for cur in currencies
            ]
            self.active_clients = revenue.active_clients
            self.overdue_count = revenue.overdue_count
        self.active_members = figures.active_members
        self.pending_invitations = figures.pending_invitations
        self.emails_waiting = figures.emails_waiting
        self.emails_failed = figures.emails_failed
        self.activity = [
            {"at": format_timestamp(r.at), "action": r.action, "actor": r.actor, "target": r.target}
            for r in figures.recent_activity
        ]
        self.status = "ok"


_ = rx
