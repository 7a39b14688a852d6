"""The dashboard landing page."""

from __future__ import annotations

import reflex as rx

from billing_app.db.engine import session_scope
from billing_app.domain.permissions import Permission
from billing_app.services.dashboard import dashboard_figures
from billing_app.ui.format import format_timestamp
from billing_app.ui.state.base import SessionState, current_user, guard


class DashboardState(SessionState):
    status: str = "loading"
    active_members: int = 0
    pending_invitations: int = 0
    emails_waiting: int = 0
    emails_failed: int = 0
    activity: list[dict[str, str]] = []

    @guard(Permission.DASHBOARD_VIEW)
    def load(self) -> None:
        user = current_user()
        with session_scope() as session:
            figures = dashboard_figures(session, include_activity=user.can(Permission.AUDIT_VIEW))
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
