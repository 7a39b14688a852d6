"""One transaction per use case, and the background work it asks for once it has committed
(docs/architecture.md, "How a request flows").

Pages, routes, jobs and the CLI call a use case through ``run(use_case, ...)``: it opens a
session, calls ``use_case(session, ...)``, commits (or rolls everything back on any error), and
returns the result. A use case that leaves work for a job (an email to deliver, reset requests to
answer) says so with ``wake(session, "outbox")``; the job is woken only after the commit, never
when the transaction rolls back, so a worker never looks for rows that are not there yet. Which
job a name wakes is registered by billing_app/jobs (services never import jobs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from billing_app.db.engine import session_scope

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_WAKE_KEY = "billing_wake"
_wakers: dict[str, Callable[[], None]] = {}


def register_waker(name: str, waker: Callable[[], None]) -> None:
    """Say which job ``wake(session, name)`` wakes (called by billing_app/jobs at import)."""
    _wakers[name] = waker


def wake(session: Session, name: str) -> None:
    """Wake the job ``name`` once this session's transaction has committed."""
    pending: list[str] = session.info.setdefault(_WAKE_KEY, [])
    if name not in pending:
        pending.append(name)


@event.listens_for(OrmSession, "after_commit")
def _after_commit(session: OrmSession) -> None:
    for name in session.info.pop(_WAKE_KEY, []):
        waker = _wakers.get(name)
        if waker is None:
            continue  # no job runner in this process (tests, CLI): the periodic task catches up
        try:
            waker()
        except Exception:
            log.exception("could not wake %s; its periodic task will catch up", name)


@event.listens_for(OrmSession, "after_rollback")
def _after_rollback(session: OrmSession) -> None:
    session.info.pop(_WAKE_KEY, None)


def run(use_case: Callable[Concatenate[Session, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call ``use_case(session, *args, **kwargs)`` in its own transaction."""
    with session_scope() as session:
        return use_case(session, *args, **kwargs)
