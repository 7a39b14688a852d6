"""The append-only audit log (docs/security.md item 27). Never pass secrets in ``details``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.models import AuditEvent
from billing_app.domain.permissions import Permission
from billing_app.services.common.actors import Acting, Actor, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.listing import ListRequest, Page, keyset_page, like_pattern

__all__ = ["ANONYMOUS", "SYSTEM", "Actor", "AuditRow", "distinct_actions", "list_events", "record"]


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


def list_events(session: Session, viewer: Acting, request: ListRequest) -> Page[AuditRow]:
    """A page of audit events, newest first (filter "action"; search by who, what, details)."""
    require(viewer, Permission.AUDIT_VIEW)
    conditions: list[Any] = []
    action = request.filter("action")
    if action and action != "all":
        conditions.append(col(AuditEvent.action) == action)
    if request.term:
        like = like_pattern(request.term)
        conditions.append(
            sa.or_(
                func.lower(col(AuditEvent.actor_label)).like(like, escape="\\"),
                func.lower(col(AuditEvent.target)).like(like, escape="\\"),
                func.lower(col(AuditEvent.details)).like(like, escape="\\"),
            )
        )
    page = keyset_page(
        session,
        sa.select(AuditEvent).where(*conditions),
        sa.select(func.count()).select_from(AuditEvent).where(*conditions),
        [col(AuditEvent.id)],
        replace(request, descending=True),
    )
    return page.map(
        lambda r: AuditRow(
            id=r.id or 0,
            at=r.at,
            action=r.action,
            actor=r.actor_label,
            target=r.target,
            ip=r.ip,
            details=r.details,
        )
    )


def distinct_actions(session: Session, viewer: Acting) -> list[str]:
    require(viewer, Permission.AUDIT_VIEW)
    return list(session.exec(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
