"""A staff member's read-only preview of a client's portal, to help a client on the phone
(docs/security.md item 52).

The preview runs on the staff member's own session: every event checks that session and the
``clients.portal_preview`` permission again, and the preview cookie only says which client to
show. What the preview acts as is a ``ClientUser`` with ``preview`` set, no portal user behind it
and the view permissions only (invoices, services): every write a portal page offers needs a
permission it lacks, and what concerns one's own account (password, two-factor sign-in,
sessions) refuses a preview (``require_own_account``). Opening it is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from billing_app.db.customers import Client
from billing_app.domain.numbers import parse_id
from billing_app.domain.permissions import ClientPermission, Permission
from billing_app.services.access import auth, portal_auth
from billing_app.services.access.identity import CurrentUser
from billing_app.services.access.portal_identity import NOT_FOUND, ClientUser, Membership
from billing_app.services.common import audit
from billing_app.services.common.actors import require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import NotFound

PREVIEW_PERMISSIONS: frozenset[ClientPermission] = frozenset(
    {ClientPermission.INVOICES_VIEW, ClientPermission.SUBSCRIPTIONS_VIEW}
)
PREVIEW_ROLE = "preview"
PREVIEW_ROLE_LABEL = "Preview (read-only)"


def _previewable(session: Session, client_id: int | None) -> Client | None:
    client = session.get(Client, client_id) if client_id is not None else None
    return client if client is not None and client.status != "archived" else None


def open_preview(
    session: Session, actor: CurrentUser, client_id: int, *, clock: Clock = system_clock
) -> int:
    """Check that the staff member ``actor`` may preview the client's portal, audit it, and
    return the client's id (the preview cookie's value). An archived or unknown client is "not
    found"."""
    require(actor, Permission.CLIENTS_PORTAL_PREVIEW)
    client = _previewable(session, client_id)
    if client is None or client.id is None:
        raise NotFound(NOT_FOUND)
    audit.record(
        session,
        "portal.preview_opened",
        actor.actor(),
        target=client.company,
        details="read-only preview of the client portal",
        clock=clock,
    )
    return client.id


def preview_user(
    session: Session, staff: CurrentUser | None, client_id: int | None
) -> ClientUser | None:
    """What a preview acts as, or None when the staff member may not (any more)."""
    if staff is None or not staff.can(Permission.CLIENTS_PORTAL_PREVIEW):
        return None
    client = _previewable(session, client_id)
    if client is None or client.id is None:
        return None
    membership = Membership(
        client_id=client.id,
        client_name=client.company,
        brand_id=client.brand_id,
        role_key=PREVIEW_ROLE,
        role_label=PREVIEW_ROLE_LABEL,
        permissions=PREVIEW_PERMISSIONS,
    )
    return ClientUser(
        id=0,
        name=staff.name,
        email=staff.email,
        memberships=(membership,),
        client_id=client.id,
        ip=staff.ip,
        preview=True,
    )


def resolve_preview(
    session: Session,
    staff_token: str | None,
    client_id: int | None,
    *,
    ip: str = "",
    clock: Clock = system_clock,
) -> ClientUser | None:
    """The preview of ``client_id`` for the staff session ``staff_token``, checked now."""
    staff = auth.resolve_session(session, staff_token, ip=ip, clock=clock) if staff_token else None
    return preview_user(session, staff, client_id)


@dataclass(frozen=True)
class PortalCredentials:
    """What a portal request carries (api/cookies.py reads it from the cookies): the portal
    session token, and for a staff preview the staff session token and the previewed client."""

    portal_token: str | None = None
    staff_token: str | None = None
    preview: str | None = None


def resolve_client_user(
    session: Session,
    credentials: PortalCredentials,
    *,
    ip: str = "",
    clock: Clock = system_clock,
) -> ClientUser | None:
    """Who a portal request acts as: with a preview cookie, a staff member's preview on their
    staff session, whatever else the browser holds; else the client user of the portal
    session; else nobody."""
    if credentials.preview is not None:
        client_id = parse_id(credentials.preview)
        return resolve_preview(session, credentials.staff_token, client_id, ip=ip, clock=clock)
    if not credentials.portal_token:
        return None
    return portal_auth.resolve_portal_session(session, credentials.portal_token, ip=ip, clock=clock)
