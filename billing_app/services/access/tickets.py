"""One-time sign-in tickets of either realm (docs/security.md item 38): the login page never sees
a session token, only a ticket that the cookie route exchanges for a new session within a
minute; a ``mfa`` ticket stands for a correct password while the second factor is asked.
Both are bound to the browser that asked for them (its browser cookie): only that browser can
use them, so a page cannot sign someone else's browser in (no login CSRF).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.services.access.realms import STAFF, Realm, TicketRow
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.tokens import new_token, token_digest

LOGIN_TICKET_TTL = timedelta(seconds=60)


MFA_TICKET_TTL = timedelta(minutes=5)


def browser_digest(browser_id: str) -> str:
    """What a ticket stores of the browser cookie of the browser that asked for it."""
    return token_digest(browser_id) if browser_id else ""


def _new_ticket_row(
    session: Session,
    user_id: int,
    stage: str,
    ip: str,
    browser: str,
    clock: Clock,
    realm: Realm,
    client_id: int | None,
) -> tuple[str, TicketRow]:
    ticket = new_token()
    # The client a portal ticket opens (portal tickets only).
    extra = {"client_id": client_id} if client_id is not None else {}
    row = realm.ticket(
        ticket_hash=token_digest(ticket),
        user_id=user_id,
        expires_at=clock.now() + (MFA_TICKET_TTL if stage == "mfa" else LOGIN_TICKET_TTL),
        ip=ip[:64],
        stage=stage,
        browser_hash=browser_digest(browser),
        **extra,
    )
    session.add(row)
    session.flush()
    return ticket, row


def issue_ticket(
    session: Session,
    user_id: int,
    *,
    ip: str = "",
    browser: str = "",
    clock: Clock = system_clock,
    realm: Realm = STAFF,
    client_id: int | None = None,
) -> str:
    """A one-time ticket for a user who just proved who they are (password, second factor,
    invitation), exchanged for a session cookie within a minute by the browser that asked
    for it (``browser``: its browser cookie). ``client_id``: the client a portal session
    opens on (portal only)."""
    ticket, _ = _new_ticket_row(session, user_id, "login", ip, browser, clock, realm, client_id)
    return ticket


def issue_mfa_ticket(
    session: Session,
    user_id: int,
    *,
    ip: str = "",
    browser: str = "",
    clock: Clock = system_clock,
    realm: Realm = STAFF,
    client_id: int | None = None,
) -> int:
    """A ticket standing for a correct password while the second factor is asked (five
    minutes). The page keeps only its id: it is worth nothing without the browser cookie
    of the browser that typed the password."""
    _, row = _new_ticket_row(session, user_id, "mfa", ip, browser, clock, realm, client_id)
    assert row.id is not None
    return row.id


def _claim_ticket(
    session: Session,
    realm: Realm,
    condition: sa.ColumnElement[bool],
    *,
    stage: str,
    browser: str,
    now: datetime,
) -> TicketRow | None:
    """Use a ticket once; returns it, or None if unknown, used, expired, of another stage or
    asked for by another browser. Of two concurrent uses only one succeeds."""
    binding = browser_digest(browser)
    if not binding:
        return None
    table = realm.ticket
    result = session.execute(
        sa.update(table)
        .where(condition)
        .where(col(table.stage) == stage)
        .where(col(table.used_at).is_(None))
        .where(col(table.expires_at) > now)
        .where(col(table.browser_hash) == binding)
        .values(used_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.exec(select(table).where(condition)).one()


def claim_ticket(
    session: Session,
    ticket: str | int,
    *,
    browser: str,
    clock: Clock = system_clock,
    realm: Realm = STAFF,
) -> TicketRow | None:
    """Use a ticket once, from the browser it was issued to: a login ticket (``str``, its
    token) or a second-factor ticket (``int``, its id). Returns it, or None."""
    table = realm.ticket
    if isinstance(ticket, int):
        condition, stage = col(table.id) == ticket, "mfa"
    else:
        condition, stage = col(table.ticket_hash) == token_digest(ticket), "login"
    return _claim_ticket(session, realm, condition, stage=stage, browser=browser, now=clock.now())


def pending_mfa_ticket(
    session: Session,
    ticket_id: int,
    *,
    browser: str,
    clock: Clock = system_clock,
    realm: Realm = STAFF,
) -> TicketRow | None:
    """The second-factor ticket if it can still be used from this browser."""
    row = session.get(realm.ticket, ticket_id) if ticket_id else None
    if (
        row is None
        or row.stage != "mfa"
        or row.used_at is not None
        or row.expires_at <= clock.now()
        or not browser
        or row.browser_hash != browser_digest(browser)
    ):
        return None
    return row
