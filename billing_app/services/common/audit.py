"""The append-only audit log (docs/security.md item 27). Never pass secrets in ``details``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.models import AuditEvent
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.listing import like_pattern


@dataclass(frozen=True)
class Actor:
    """Who did something, as the audit log records it."""

    user_id: int | None
    label: str
    ip: str = ""


ANONYMOUS = Actor(user_id=None, label="anonymous")
SYSTEM = Actor(user_id=None, label="system")


def record(
    session: Session,
    action: str,
    actor: Actor,
    *,
    target: str = "",
    details: str = "",
    clock: Clock = system_clock,
) -> None:
    """Add an audit event to the current transaction."""
    session.add(
        AuditEvent(
            at=clock.now(),
            action=action,
            actor_id=actor.user_id,
            actor_label=actor.label[:320],
            target=target[:320],
            ip=actor.ip[:64],
            details=details[:2000],
        )
    )


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    action: str
    actor: str
    target: str
    ip: str
    details: str


def list_events(
    session: Session, *, search: str = "", action: str = "", page: int = 1, per_page: int = 50
) -> tuple[list[AuditRow], int]:
    """A page of audit events, newest first, and the total matching."""
    query = select(AuditEvent)
    count = select(func.count()).select_from(AuditEvent)
    conditions = []
    if action:
        conditions.append(col(AuditEvent.action) == action)
    if search:
        like = like_pattern(search)
        conditions.append(
            sa.or_(
                func.lower(col(AuditEvent.actor_label)).like(like, escape="\\"),
                func.lower(col(AuditEvent.target)).like(like, escape="\\"),
                func.lower(col(AuditEvent.details)).like(like, escape="\\"),
            )
        )
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    total = session.exec(count).one()
    rows = session.exec(
        query.order_by(col(AuditEvent.id).desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return [
        AuditRow(
            id=r.id or 0,
            at=r.at,
            action=r.action,
            actor=r.actor_label,
            target=r.target,
            ip=r.ip,
            details=r.details,
        )
        for r in rows
    ], total


def distinct_actions(session: Session) -> list[str]:
    return list(session.exec(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
