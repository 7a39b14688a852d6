"""Invitations to a client's portal (docs/security.md item 16, as for the team's invitations).

Staff holding clients.users (or, in the portal, a client user allowed to manage the client's
users: colleagues.py) invite a person by email with a client role. The client's brand sends the
invitation: its colours, sender, reply-to and footer, in the client's language, with a link on
the brand's portal address (its custom domain when it has one). The token is random, stored as
its SHA-256 only, single use, and expires after 7 days; the outbox never holds it: the link is
minted when the email is delivered (services/common/outbox.py, secret kind
``portal_invitation``), so resending mints a new link and the old one stops working, and a
revoked invitation is never delivered.

Someone who already has a portal account (same email) is simply given access: the membership is
made at once and an email tells them; there is no token. The accept page: portal_accept.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.portal import ClientMembership, PortalInvitation, PortalUser
from billing_app.domain.permissions import ClientPermission, Permission
from billing_app.services.access.auth import clean_name
from billing_app.services.access.client_roles import parse_client_role, role_label_in
from billing_app.services.access.client_users import ChosenRole, client_of
from billing_app.services.access.identity import normalize_email
from billing_app.services.access.portal_identity import client_role_of
from billing_app.services.access.team import INVITATION_TTL
from billing_app.services.agency.brand_mail import agency_date, brand_of_client, queue_brand_email
from billing_app.services.agency.portal_brand import portal_base_url
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, Actor, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import (
    Conflict,
    FieldChecks,
    NotFound,
    ValidationFailed,
)
from billing_app.services.common.outbox import SECRET_PLACEHOLDER
from billing_app.services.common.tokens import new_token, token_digest
from billing_app.settings import Settings

SECRET_KIND = "portal_invitation"
ACCEPT_PATH = "/accept-invite"  # below the portal's address (portal_brand.portal_base_url)
NOT_PENDING = "That invitation is no longer pending."
# Refuses a role a client user may not give (colleagues.py); staff give any client role.
GrantCheck = Callable[[str, frozenset[ClientPermission]], None]


@dataclass(frozen=True)
class InviteOutcome:
    email: str
    # The invitation sent; None when the person already had an account and was given access.
    invitation_id: int | None

    @property
    def granted_at_once(self) -> bool:
        return self.invitation_id is None


def _optional_name(raw: str) -> str:
    return clean_name(raw) if raw.strip() else ""


def _grantable(session: Session, role: str, grant: GrantCheck | None) -> ChosenRole:
    chosen = parse_client_role(session, role)
    if grant is not None:
        grant(chosen[1], chosen[2])
    return chosen


def user_by_email(session: Session, email: str) -> PortalUser | None:
    return session.exec(select(PortalUser).where(col(PortalUser.email) == email)).first()


def is_member(session: Session, user_id: int | None, client_id: int | None) -> bool:
    found = session.exec(
        select(ClientMembership.id)
        .where(col(ClientMembership.portal_user_id) == user_id)
        .where(col(ClientMembership.client_id) == client_id)
    ).first()
    return found is not None


def checked_invite(
    session: Session,
    client: Client,
    *,
    email: str,
    name: str,
    role: str,
    grant: GrantCheck | None = None,
) -> tuple[str, str, ChosenRole]:
    """The invitation form: email, name (optional) and role; every field's problem at once."""
    checks = FieldChecks()
    email = checks.value("email", "", normalize_email, email)
    existing = user_by_email(session, email) if email else None
    if existing is not None and is_member(session, existing.id, client.id):
        checks.add("email", f"{email} already has access to {client.company}.")
    name = checks.value("name", "", _optional_name, name)
    chosen = checks.value("role", None, _grantable, session, role, grant)
    checks.raise_if_failed()
    assert chosen is not None
    return email, name, chosen


def _revoke_pending(session: Session, email: str, client_id: int | None, clock: Clock) -> None:
    session.execute(
        sa.update(PortalInvitation)
        .where(col(PortalInvitation.email) == email)
        .where(col(PortalInvitation.client_id) == client_id)
        .where(col(PortalInvitation.accepted_at).is_(None))
        .where(col(PortalInvitation.revoked_at).is_(None))
        .values(revoked_at=clock.now())
    )


def _email_context(client: Client, role_label: str, name: str, inviter: str) -> dict[str, str]:
    return {
        "name": name,
        "client_name": client.company,
        "inviter_name": inviter,
        "role_label": role_label_in(role_label, client.locale),
    }


def _queue_invitation_email(
    session: Session,
    invitation: PortalInvitation,
    client: Client,
    inviter: str,
    clock: Clock,
    settings: Settings | None,
) -> None:
    brand = brand_of_client(session, client)
    label, _ = client_role_of(session, invitation.role_key, invitation.client_role_id)
    queue_brand_email(
        session,
        brand,
        "portal_invitation",
        invitation.email,
        {
            **_email_context(client, label, invitation.name, inviter),
            "accept_url": (
                f"{portal_base_url(brand, settings)}{ACCEPT_PATH}?token={SECRET_PLACEHOLDER}"
            ),
            "expires_on": agency_date(session, invitation.expires_at, client.locale),
        },
        locale=client.locale,
        clock=clock,
        settings=settings,
        secret=(SECRET_KIND, invitation.id),
    )


def send_invitation(
    session: Session,
    client: Client,
    who: Actor,
    *,
    email: str,
    name: str,
    chosen: ChosenRole,
    inviter: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> InviteOutcome:
    """Invite a checked address (checked_invite) to ``client``: a pending invitation to the
    same address is replaced; an existing account is given access at once. ``inviter`` is who
    the email names as inviting ("" for staff: the brand invites)."""
    ref, label, _ = chosen
    assert client.id is not None
    _revoke_pending(session, email, client.id, clock)
    now = clock.now()
    existing = user_by_email(session, email)
    if existing is not None:
        return _grant_at_once(session, client, existing, who, chosen, inviter, clock, settings)
    invitation = PortalInvitation(
        # Unusable until the email is delivered: delivery mints the token (outbox).
        token_hash=token_digest(new_token()),
        client_id=client.id,
        email=email,
        name=name,
        role_key=ref.role_key,
        client_role_id=ref.custom_role_id,
        invited_by=who.label[:320],
        created_at=now,
        expires_at=now + INVITATION_TTL,
    )
    session.add(invitation)
    session.flush()
    _queue_invitation_email(session, invitation, client, inviter, clock, settings)
    audit.record(
        session,
        "client_user.invited",
        who,
        target=email,
        details=f"{client.company} ({label})",
        clock=clock,
    )
    return InviteOutcome(email=email, invitation_id=invitation.id)


def _grant_at_once(
    session: Session,
    client: Client,
    user: PortalUser,
    who: Actor,
    chosen: ChosenRole,
    inviter: str,
    clock: Clock,
    settings: Settings | None,
) -> InviteOutcome:
    ref, label, _ = chosen
    assert user.id is not None and client.id is not None
    session.add(
        ClientMembership(
            portal_user_id=user.id,
            client_id=client.id,
            role_key=ref.role_key,
            client_role_id=ref.custom_role_id,
            created_at=clock.now(),
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:  # the same person added twice at once
        msg = f"{user.email} already has access to {client.company}."
        raise ValidationFailed(msg, field="email") from exc
    brand = brand_of_client(session, client)
    queue_brand_email(
        session,
        brand,
        "portal_access_granted",
        user.email,
        {
            **_email_context(client, label, user.name, inviter),
            "portal_url": portal_base_url(brand, settings),
        },
        locale=client.locale,
        clock=clock,
        settings=settings,
    )
    audit.record(
        session,
        "client_user.access_granted",
        who,
        target=user.email,
        details=f"{client.company} ({label})",
        clock=clock,
    )
    return InviteOutcome(email=user.email, invitation_id=None)


def invite_client_user(
    session: Session,
    actor: Acting,
    client_id: int,
    *,
    email: str,
    name: str,
    role: str,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> InviteOutcome:
    """Invite someone to a client's portal (staff, from the client's Users tab or an import)."""
    require(actor, Permission.CLIENTS_USERS)
    client = client_of(session, client_id)
    if client.status == "archived":
        msg = f"{client.company} is archived. Restore it before inviting its people."
        raise Conflict(msg)
    email, name, chosen = checked_invite(session, client, email=email, name=name, role=role)
    return send_invitation(
        session,
        client,
        actor.actor(),
        email=email,
        name=name,
        chosen=chosen,
        clock=clock,
        settings=settings,
    )


def pending_invitation(
    session: Session, invitation_id: int, client_id: int | None = None
) -> PortalInvitation:
    """A pending invitation (of ``client_id`` when given); NotFound otherwise."""
    invitation = session.get(PortalInvitation, invitation_id)
    if (
        invitation is None
        or (client_id is not None and invitation.client_id != client_id)
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
    ):
        raise NotFound(NOT_PENDING)
    return invitation


def resend(
    session: Session,
    invitation: PortalInvitation,
    who: Actor,
    *,
    inviter: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> None:
    """Send a pending invitation again with a fresh 7 days: the link sent before stops working
    once the new one is delivered."""
    client = client_of(session, invitation.client_id)
    invitation.expires_at = clock.now() + INVITATION_TTL
    session.add(invitation)
    _queue_invitation_email(session, invitation, client, inviter, clock, settings)
    audit.record(
        session,
        "client_user.invitation_resent",
        who,
        target=invitation.email,
        details=client.company,
        clock=clock,
    )


def revoke(
    session: Session, invitation: PortalInvitation, who: Actor, *, clock: Clock = system_clock
) -> None:
    """Withdraw a pending invitation: its link stops working now (and is never delivered if
    its email is still waiting)."""
    client = client_of(session, invitation.client_id)
    invitation.revoked_at = clock.now()
    session.add(invitation)
    audit.record(
        session,
        "client_user.invitation_revoked",
        who,
        target=invitation.email,
        details=client.company,
        clock=clock,
    )


def resend_portal_invitation(
    session: Session,
    actor: Acting,
    invitation_id: int,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> None:
    require(actor, Permission.CLIENTS_USERS)
    invitation = pending_invitation(session, invitation_id)
    resend(session, invitation, actor.actor(), clock=clock, settings=settings)


def revoke_portal_invitation(
    session: Session, actor: Acting, invitation_id: int, *, clock: Clock = system_clock
) -> None:
    require(actor, Permission.CLIENTS_USERS)
    revoke(session, pending_invitation(session, invitation_id), actor.actor(), clock=clock)
