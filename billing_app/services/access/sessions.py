"""Signed-in sessions of either realm (docs/security.md items 20, 21): a random token goes into
an HttpOnly cookie and only its SHA-256 is stored; a ticket is exchanged for a brand-new
session (never reused); idle and absolute expiry are enforced here, on every event.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.models import StaffUser
from billing_app.db.portal import PortalUser
from billing_app.services.access.identity import CurrentUser, current_user_from
from billing_app.services.access.portal_identity import client_user_from, memberships_of
from billing_app.services.access.realms import STAFF, Realm, SessionRow, TicketRow, UserRow
from billing_app.services.access.tickets import claim_ticket
from billing_app.services.common import audit
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.tokens import new_token, token_digest
from billing_app.settings import Settings, get_settings

TOUCH_EVERY = timedelta(seconds=60)


def may_sign_in(session: Session, realm: Realm, user: UserRow) -> bool:
    """Whether ``user`` may sign in: active and, for a client user, still a member of one of
    the agency's clients."""
    if not user.is_active:
        return False
    return not realm.for_clients or bool(memberships_of(session, user.id or 0))


def _looks_at(session: Session, realm: Realm, user: UserRow, ticket: TicketRow) -> dict[str, Any]:
    """What a new session looks at: for a portal session, the client the ticket names when it
    is one of the user's, else their first (docs/security.md item 45)."""
    if not realm.for_clients:
        return {}
    assert isinstance(user, PortalUser)
    looking = client_user_from(session, user, getattr(ticket, "client_id", None))
    return {"client_id": looking.client_id if looking else None}


def redeem_ticket(
    session: Session,
    ticket: str,
    *,
    browser: str,
    ip: str = "",
    user_agent: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
    realm: Realm = STAFF,
) -> str | None:
    """Exchange a login ticket for a brand-new session token (None if invalid, used,
    presented by another browser than the one it was issued to, or its user may no longer
    sign in)."""
    settings = settings or get_settings()
    claimed = claim_ticket(session, ticket, browser=browser, clock=clock, realm=realm)
    if claimed is None:
        return None
    user = session.get(realm.user, claimed.user_id)
    if user is None or not may_sign_in(session, realm, user):
        return None
    now = clock.now()
    token = new_token()
    row = realm.session(
        token_hash=token_digest(token),
        user_id=claimed.user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + realm.absolute(settings),
        ip=ip[:64],
        user_agent=user_agent[:300],
        **_looks_at(session, realm, user, claimed),
    )
    session.add(row)
    user.last_login_at = now
    session.add(user)
    audit.record(
        session,
        realm.action("login.succeeded"),
        realm.actor(user.id, user.email, ip),
        target=user.email,
        clock=clock,
    )
    return token


def _by_token(session: Session, realm: Realm, token: str) -> SessionRow | None:
    row: SessionRow | None = (
        session.execute(_session_of_digest(realm.session), {"digest": token_digest(token)})
        .scalars()
        .first()
    )
    return row


@cache
def _session_of_digest(table: type[SessionRow]) -> sa.Select[Any]:
    """The session row of a token digest; built once per realm (every event asks)."""
    return sa.select(table).where(
        col(table.token_hash) == sa.bindparam("digest", type_=sa.String())
    )


def live_session(
    session: Session,
    token: str | None,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    realm: Realm = STAFF,
) -> tuple[SessionRow, UserRow] | None:
    """The session of a cookie token and its user, or None when the token is missing or
    unknown, the session revoked or expired (idle or absolute), or its user deactivated.
    Marks the session as used (at most once a minute)."""
    if not token:
        return None
    settings = settings or get_settings()
    now = clock.now()
    row = _by_token(session, realm, token)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + realm.idle(settings) <= now:
        return None
    user = session.get(realm.user, row.user_id)
    if user is None or not user.is_active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return row, user


def resolve_session(
    session: Session,
    token: str | None,
    *,
    ip: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> CurrentUser | None:
    """The signed-in staff member for a session token, or None when it is missing, revoked,
    expired (idle or absolute), or its user is deactivated. Checked on every event."""
    live = live_session(session, token, clock=clock, settings=settings, realm=STAFF)
    if live is None:
        return None
    row, _ = live
    user = session.get(StaffUser, row.user_id)  # the row live_session loaded, as a StaffUser
    assert user is not None
    return current_user_from(session, user, ip=ip, session_id=row.id)


def logout(
    session: Session,
    token: str | None,
    *,
    ip: str = "",
    clock: Clock = system_clock,
    realm: Realm = STAFF,
) -> None:
    """End the session of this cookie token (no-op if unknown)."""
    if not token:
        return
    row = _by_token(session, realm, token)
    if row is not None and row.id is not None:
        end_session(session, row.id, ip=ip, clock=clock, realm=realm)


def end_session(
    session: Session,
    session_id: int,
    *,
    ip: str = "",
    clock: Clock = system_clock,
    realm: Realm = STAFF,
) -> None:
    """Sign out: revoke one session (no-op if unknown or already ended)."""
    row = session.get(realm.session, session_id)
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = clock.now()
    session.add(row)
    user = session.get(realm.user, row.user_id)
    label = user.email if user else ""
    audit.record(
        session,
        realm.action("logout"),
        realm.actor(row.user_id, label, ip),
        target=label,
        clock=clock,
    )


def _not_ended(realm: Realm, user_id: int, except_session_id: int | None) -> list[Any]:
    """The conditions of a user's sessions not revoked (but ``except_session_id``)."""
    table = realm.session
    conditions = [col(table.user_id) == user_id, col(table.revoked_at).is_(None)]
    if except_session_id is not None:
        conditions.append(col(table.id) != except_session_id)
    return conditions


def revoke_sessions(
    session: Session,
    user_id: int,
    *,
    except_session_id: int | None = None,
    clock: Clock = system_clock,
    realm: Realm = STAFF,
) -> int:
    """End every open session of a user (but the one given); returns how many."""
    result = session.execute(
        sa.update(realm.session)
        .where(*_not_ended(realm, user_id, except_session_id))
        .values(revoked_at=clock.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def count_active_sessions(
    session: Session,
    user_id: int,
    *,
    except_session_id: int | None = None,
    clock: Clock = system_clock,
    realm: Realm = STAFF,
) -> int:
    """How many sessions of a user are open (but the one given)."""
    return session.exec(
        select(func.count())
        .select_from(realm.session)
        .where(*_not_ended(realm, user_id, except_session_id))
        .where(col(realm.session.expires_at) > clock.now())
    ).one()
