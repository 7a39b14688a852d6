"""Figures for the dashboard landing page, from what exists so far."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from billing_app.db.models import AuditEvent, Invitation, OutboxEmail, StaffUser
from billing_app.services.audit import AuditRow, list_events
from billing_app.services.clock import Clock, system_clock


@dataclass(frozen=True)
class DashboardFigures:
    active_members: int
    pending_invitations: int
    emails_waiting: int
    emails_failed: int
    recent_activity: list[AuditRow]


def dashboard_figures(
    session: Session, *, include_activity: bool, clock: Clock = system_clock
) -> DashboardFigures:
    now = clock.now()
    members = session.exec(
        select(func.count()).select_from(StaffUser).where(col(StaffUser.is_active).is_(True))
    ).one()
    invitations = session.exec(
        select(func.count())
        .select_from(Invitation)
        .where(col(Invitation.accepted_at).is_(None))
        .where(col(Invitation.revoked_at).is_(None))
        .where(col(Invitation.expires_at) > now)
    ).one()
    waiting = session.exec(
        select(func.count())
        .select_from(OutboxEmail)
        .where(col(OutboxEmail.status).in_(("queued", "sending", "failed")))
    ).one()
    failed = session.exec(
        select(func.count())
        .select_from(OutboxEmail)
        .where(col(OutboxEmail.status).in_(("failed", "dead")))
    ).one()
    activity: list[AuditRow] = []
    if include_activity:
        activity, _ = list_events(session, per_page=8)
    _ = AuditEvent
    return DashboardFigures(members, invitations, waiting, failed, activity)
