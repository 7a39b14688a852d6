"""The dashboard landing page."""

from __future__ import annotations

import reflex as rx

from billing_app.db.engine import session_scope
from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import Permission
from billing_app.services.reporting.dashboard import dashboard_figures, revenue_figures
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
    # What clients owe needs invoices.read besides reports.view (docs/security.md item 43).
    show_receivables: bool = False
    revenue: list[dict[str, str]] = []  # one row per currency
    active_clients: int = 0
    overdue_count: int = 0

    @guard(Permission.DASHBOARD_VIEW)
    def load(self) -> None:
        user = current_user()
        with session_scope() as session:
            figures = dashboard_figures(session, include_activity=user.can(Permission.AUDIT_VIEW))
            revenue = revenue_figures(session, user)
        self.show_revenue = revenue is not None
        self.show_receivables = revenue is not None and revenue.outstanding is not None
        if revenue is not None:
            outstanding = revenue.outstanding or {}
            overdue = revenue.overdue or {}
            currencies = sorted(set(revenue.mrr) | set(outstanding) | set(overdue))
            locale = "en"
            self.revenue = [
                {
                    "currency": cur,
                    "mrr": format_money(revenue.mrr.get(cur, Money.zero(cur)), locale),
                    "arr": format_money(revenue.mrr.get(cur, Money.zero(cur)) * 12, locale),
                    "outstanding": format_money(outstanding.get(cur, Money.zero(cur)), locale),
                    "overdue": format_money(overdue.get(cur, Money.zero(cur)), locale),
                    "late": "yes" if cur in overdue else "",
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
            {"at": format_timestamp(r.at), "action": r.action, "actor": r.actor, "target": r.target}
            for r in figures.recent_activity
        ]
        self.status = "ok"


_ = rx
