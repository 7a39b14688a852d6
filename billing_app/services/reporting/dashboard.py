"""Figures for the dashboard landing page, from what exists so far."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice
from billing_app.db.models import Invitation, OutboxEmail, StaffUser
from billing_app.domain.money import Money
from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency.branding import today_at_agency
from billing_app.services.catalog.recurring_revenue import recurring_revenue_by_currency
from billing_app.services.common.actors import require
from billing_app.services.common.audit import AuditRow, list_events
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.listing import ListRequest
from billing_app.services.common.outbox import FAILED_STATUSES, WAITING_STATUSES
from billing_app.services.invoicing.settlement import is_collectible_sql, outstanding_sql


@dataclass(frozen=True)
class RevenueFigures:
    """Per currency: MRR and ARR (both by domain/mrr.py: ARR is the exact MRR x 12 rounded
    once, not the rounded MRR x 12), what clients owe, and what is overdue (agency time
    zone), owed amounts by services/invoicing/settlement.py. What is owed is None for a viewer
    who may not see it (docs/security.md item 43)."""

    mrr: dict[str, Money]
    arr: dict[str, Money]
    outstanding: dict[str, Money] | None
    overdue: dict[str, Money] | None
    overdue_count: int | None
    active_clients: int


def revenue_figures(
    session: Session, viewer: CurrentUser, *, clock: Clock = system_clock
) -> RevenueFigures | None:
    """The revenue block of the dashboard: None without reports.view; receivables only with
    invoices.read too."""
    require(viewer, Permission.DASHBOARD_VIEW)
    if not viewer.can(Permission.REPORTS_VIEW):
        return None
    active = session.exec(
        select(func.count()).select_from(Client).where(col(Client.status) == "active")
    ).one()
    mrr, arr = recurring_revenue_by_currency(session)
    if not viewer.can(Permission.INVOICES_READ):
        return RevenueFigures(mrr, arr, None, None, None, active)
    today = today_at_agency(session, clock=clock)
    due = outstanding_sql()
    outstanding = {
        cur: Money(int(total), cur)
        for cur, total in session.exec(
            select(Invoice.currency, func.sum(due))
            .where(is_collectible_sql())
            .group_by(col(Invoice.currency))
        ).all()
        if total
    }
    overdue_rows = session.exec(
        select(Invoice.currency, func.count(), func.sum(due))
        .where(is_collectible_sql())
        .where(col(Invoice.due_date) < today)
        .group_by(col(Invoice.currency))
    ).all()
    return RevenueFigures(
        mrr=mrr,
        arr=arr,
        outstanding=outstanding,
        overdue={cur: Money(int(total or 0), cur) for cur, _, total in overdue_rows},
        overdue_count=sum(int(n) for _, n, _ in overdue_rows),
        active_clients=active,
    )


@dataclass(frozen=True)
class DashboardFigures:
    active_members: int
    pending_invitations: int
    emails_waiting: int
    emails_failed: int
    recent_activity: list[AuditRow]


def dashboard_figures(
    session: Session, viewer: CurrentUser, *, clock: Clock = system_clock
) -> DashboardFigures:
    """The team and email counts of the dashboard (any signed-in member), and the latest
    activity for those who may read the audit log."""
    require(viewer, Permission.DASHBOARD_VIEW)
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
        .where(col(OutboxEmail.status).in_(WAITING_STATUSES))
    ).one()
    failed = session.exec(
        select(func.count())
        .select_from(OutboxEmail)
        .where(col(OutboxEmail.status).in_(FAILED_STATUSES))
    ).one()
    activity: list[AuditRow] = []
    if viewer.can(Permission.AUDIT_VIEW):
        activity = list_events(session, viewer, ListRequest(per_page=8)).rows
    return DashboardFigures(members, invitations, waiting, failed, activity)
