"""The client portal's sign-in, sessions and security page (docs/security.md item 45).

The portal is its own identity realm (``realms.PORTAL``): its users, sessions, tickets, recovery
codes and resets live in their own tables, so a staff session token never resolves here and a
portal one never resolves as staff. Sign-in, throttling, the second factor, password changes and
resets are the staff rules (``auth``, ``account``, ``password_reset`` with ``realm=PORTAL``);
what is the portal's own is here: a client user signs in only while they belong to a client, a
session looks at one of their clients (``PortalSession.client_id``, checked on every event), the
agency may require two-factor sign-in of every client user, and emails carry a client's brand.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from sqlmodel import Session

from billing_app.db.invoicing import AgencySettings
from billing_app.db.portal import PortalSession, PortalUser
from billing_app.services.access import account, password_reset, sessions, tickets
from billing_app.services.access.auth import LoginOutcome, authenticate
from billing_app.services.access.portal_identity import (
    NOT_FOUND,
    ClientUser,
    client_user_from,
    memberships_of,
    require_own_account,
)
from billing_app.services.access.realms import PORTAL
from billing_app.services.agency import agency_cache
from billing_app.services.agency.portal_brand import portal_look
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import NotFound
from billing_app.settings import Settings

# The job answering portal "forgot password" requests (jobs/tasks.py).
WAKE_PORTAL_RESET_REQUESTS = PORTAL.wake_resets


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    ip: str = "",
    browser: str = "",
    client_id: int | None = None,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> LoginOutcome:
    """The portal's password step: a ticket, the second-factor step, or a message (the same
    "Email or password is incorrect." for an unknown address, a wrong password, a deactivated
    user and a user who belongs to no client any more). ``client_id``: the client to open
    after sign-in (a link to one of their invoices), else their first. The caller commits
    even when the outcome is an error."""
    return authenticate(
        session,
        email=email,
        password=password,
        ip=ip,
        browser=browser,
        clock=clock,
        settings=settings,
        realm=PORTAL,
        client_id=client_id,
    )


def resolve_portal_session(
    session: Session,
    token: str | None,
    *,
    ip: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> ClientUser | None:
    """The signed-in client user of a portal session token, or None when it is missing,
    revoked, expired (idle or absolute), the user is deactivated, or they belong to no client
    any more. When the client the session looked at is no longer theirs, the session falls
    back to another of their clients. Checked on every event."""
    live = sessions.live_session(session, token, clock=clock, settings=settings, realm=PORTAL)
    if live is None:
        return None
    row, user = live
    assert isinstance(row, PortalSession) and isinstance(user, PortalUser)
    client_user = client_user_from(session, user, row.client_id, ip=ip, session_id=row.id)
    if client_user is None:
        return None
    if client_user.client_id != row.client_id:
        row.client_id = client_user.client_id
        session.add(row)
    return client_user


def switch_client(session: Session, actor: ClientUser, client_id: int) -> ClientUser:
    """Make the actor's session look at another of their clients. Any other id, theirs no
    more or never theirs, is "not found" (the same answer as an id that does not exist)."""
    require_own_account(actor)
    memberships = memberships_of(session, actor.id)
    row = session.get(PortalSession, actor.session_id) if actor.session_id else None
    if row is None or row.revoked_at is not None or row.user_id != actor.id:
        raise NotFound(NOT_FOUND)
    if not any(m.client_id == client_id for m in memberships):
        raise NotFound(NOT_FOUND)
    row.client_id = client_id
    session.add(row)
    return replace(actor, memberships=memberships, client_id=client_id)


def end_session(
    session: Session, actor: ClientUser, *, ip: str = "", clock: Clock = system_clock
) -> None:
    """Sign out: end the session the actor acts through."""
    if actor.session_id is not None:
        sessions.end_session(session, actor.session_id, ip=ip, clock=clock, realm=PORTAL)


def logout(
    session: Session, token: str | None, *, ip: str = "", clock: Clock = system_clock
) -> None:
    """End the portal session of this cookie token (no-op if unknown)."""
    sessions.logout(session, token, ip=ip, clock=clock, realm=PORTAL)


def sign_out_everywhere_else(
    session: Session, actor: ClientUser, *, clock: Clock = system_clock
) -> int:
    """End every portal session of the actor but this one; returns how many."""
    require_own_account(actor)
    return account.sign_out_other_sessions(
        session, actor, keep_session_id=actor.session_id, clock=clock, realm=PORTAL
    )


def other_session_count(session: Session, actor: ClientUser, *, clock: Clock = system_clock) -> int:
    return account.other_session_count(session, actor, actor.session_id, clock=clock, realm=PORTAL)


def two_factor_setup_required(session: Session, actor: ClientUser) -> bool:
    """Whether the agency requires two-factor sign-in of client users
    (``AgencySettings.client_require_2fa``) and the actor has not turned it on yet: the portal
    then sends them to their Security page."""
    if actor.preview:
        return False
    kept = agency_cache.snapshot(session)
    if kept is not None:
        required = kept.client_require_2fa
    else:
        agency = session.get(AgencySettings, 1)
        required = agency is not None and agency.client_require_2fa
    return required and not account.two_factor_enabled(session, actor, PORTAL)


def change_password(
    session: Session,
    actor: ClientUser,
    *,
    current_password: str,
    new_password: str,
    confirm: str | None = None,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> int:
    """A new password (the current one needed); ends the actor's other sessions and reset
    links sent before, and emails a notice under their client's brand. Returns how many
    sessions were ended."""
    require_own_account(actor)
    return account.change_password(
        session,
        actor,
        current_password=current_password,
        new_password=new_password,
        confirm=confirm,
        keep_session_id=actor.session_id,
        clock=clock,
        settings=settings,
        realm=PORTAL,
    )


def begin_totp_setup(
    session: Session, actor: ClientUser, *, settings: Settings | None = None
) -> account.TotpSetup:
    """A new authenticator secret and its QR code, named after the client's brand in the
    app; shown once, used once confirmed with a code (``account.confirm_totp``)."""
    require_own_account(actor)
    issuer = portal_look(session, client_id=actor.client_id, settings=settings).name
    return account.begin_totp_setup(session, actor, issuer=issuer, realm=PORTAL)


def request_password_reset(
    session: Session,
    *,
    email: str,
    ip: str = "",
    brand_id: int | None = None,
    clock: Clock = system_clock,
) -> None:
    """The portal's "forgot password": the same work for any address (only a queued request,
    remembering the brand of the page); ``answer_reset_requests`` (a job) answers it."""
    password_reset.request_password_reset(
        session, email=email, ip=ip, clock=clock, realm=PORTAL, brand_id=brand_id
    )


def answer_reset_requests(
    session: Session, *, clock: Clock = system_clock, settings: Settings | None = None
) -> int:
    """The job: answer queued portal reset requests with the brand's email (1 h, single use)."""
    return password_reset.answer_reset_requests(
        session, clock=clock, settings=settings, realm=PORTAL
    )


def confirm_totp(session: Session, actor: ClientUser, *args: Any, **kwargs: Any) -> Any:
    require_own_account(actor)
    return account.confirm_totp(session, actor, *args, realm=PORTAL, **kwargs)


def disable_totp(session: Session, actor: ClientUser, *args: Any, **kwargs: Any) -> Any:
    require_own_account(actor)
    return account.disable_totp(session, actor, *args, realm=PORTAL, **kwargs)


def regenerate_recovery_codes(
    session: Session, actor: ClientUser, *args: Any, **kwargs: Any
) -> Any:
    require_own_account(actor)
    return account.regenerate_recovery_codes(session, actor, *args, realm=PORTAL, **kwargs)


# The staff rules, bound to the portal realm (so a portal page can never forget ``realm``).
complete_second_factor = partial(account.complete_second_factor, realm=PORTAL)
recovery_codes_left = partial(account.recovery_codes_left, realm=PORTAL)
two_factor_enabled = partial(account.two_factor_enabled, realm=PORTAL)
check_reset_token = partial(password_reset.check_reset_token, realm=PORTAL)
reset_password = partial(password_reset.reset_password, realm=PORTAL)
issue_ticket = partial(tickets.issue_ticket, realm=PORTAL)
# A portal ticket opens a portal session looking at the ticket's client when it is one of the
# user's, else their first.
redeem_ticket = partial(sessions.redeem_ticket, realm=PORTAL)
