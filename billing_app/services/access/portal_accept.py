"""The accept page of a portal invitation (services/access/portal_invitations.py): what it
shows, and accepting it (docs/security.md item 16).

Accepting makes the portal account (name and password, policy as for staff) or, when the email
already has one, asks its password; then the membership, in one transaction. The invitation is
claimed by a conditional update, so of two accepts at once one wins and the other is told it
was already accepted. Messages are in the client's language.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.portal import ClientMembership, ClientRole, PortalInvitation, PortalUser
from billing_app.domain.permissions import BuiltinClientRole
from billing_app.domain.timestamps import as_utc
from billing_app.i18n import N_, gettext
from billing_app.services.access.auth import clean_name
from billing_app.services.access.client_roles import role_label_in
from billing_app.services.access.passwords import check_new_password
from billing_app.services.access.portal_identity import client_role_of
from billing_app.services.access.portal_invitations import is_member, user_by_email
from billing_app.services.agency.brand_mail import brand_of_client
from billing_app.services.common import audit
from billing_app.services.common.actors import Actor
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import FieldChecks, ValidationFailed
from billing_app.services.common.tokens import hash_password, token_digest, verify_password

# What the accept page says, in the client's language.
INVALID = N_("This invitation link is not valid. Ask for a new invitation.")
REVOKED = N_("This invitation was withdrawn. Ask for a new one if you still need access.")
USED = N_("This invitation was already accepted. Sign in instead.")
EXPIRED = N_("This invitation has expired. Ask for a new one.")
ACCOUNT_PASSWORD = N_("This email address already has an account here: enter its password.")
ACCOUNT_JUST_MADE = N_("An account was just made for this email address. Sign in instead.")


@dataclass(frozen=True)
class PortalInvitationView:
    """What the accept page shows (and the brand it is drawn in)."""

    brand_id: int
    client_id: int
    client_name: str
    email: str
    invited_name: str
    role_label: str  # in the client's language
    locale: str
    # The email already has a portal account: accepting asks for its password only.
    has_account: bool


def _refused(message: str, locale: str | None) -> ValidationFailed:
    return ValidationFailed(gettext(message, locale=locale), field="token")


def _usable(session: Session, token: str, clock: Clock) -> tuple[PortalInvitation, Client]:
    invitation = session.exec(
        select(PortalInvitation).where(col(PortalInvitation.token_hash) == token_digest(token))
    ).first()
    client = session.get(Client, invitation.client_id) if invitation is not None else None
    if invitation is None or client is None:
        raise _refused(INVALID, None)
    if invitation.revoked_at is not None:
        raise _refused(REVOKED, client.locale)
    if invitation.accepted_at is not None:
        raise _refused(USED, client.locale)
    if as_utc(invitation.expires_at) <= clock.now():
        raise _refused(EXPIRED, client.locale)
    return invitation, client


def check_portal_invitation(
    session: Session, token: str, *, clock: Clock = system_clock
) -> PortalInvitationView:
    """What the accept page shows; ValidationFailed (field ``token``) with a clear message in
    the client's language when the link is invalid, revoked, used or expired."""
    invitation, client = _usable(session, token, clock)
    brand = brand_of_client(session, client)
    assert brand.id is not None and client.id is not None
    label, _ = client_role_of(session, invitation.role_key, invitation.client_role_id)
    return PortalInvitationView(
        brand_id=brand.id,
        client_id=client.id,
        client_name=client.company,
        email=invitation.email,
        invited_name=invitation.name,
        role_label=role_label_in(label, client.locale),
        locale=client.locale,
        has_account=user_by_email(session, invitation.email) is not None,
    )


def _claim(session: Session, invitation: PortalInvitation, token: str, clock: Clock) -> None:
    """Mark the invitation used, if nobody did first (one of two simultaneous accepts wins:
    the update is conditional and the loser finds it used)."""
    now = clock.now()
    claimed = session.execute(
        sa.update(PortalInvitation)
        .where(col(PortalInvitation.id) == invitation.id)
        .where(col(PortalInvitation.accepted_at).is_(None))
        .where(col(PortalInvitation.revoked_at).is_(None))
        .where(col(PortalInvitation.expires_at) > now)
        .values(accepted_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.expire_all()
        _usable(session, token, clock)  # says why (used, revoked or expired)
        raise _refused(USED, None)


def _new_account(
    session: Session, invitation: PortalInvitation, name: str, password_hash: str, clock: Clock
) -> PortalUser:
    user = PortalUser(
        email=invitation.email, name=name, password_hash=password_hash, created_at=clock.now()
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # another invitation to this address accepted just now
        raise _refused(ACCOUNT_JUST_MADE, None) from exc
    return user


def accept_portal_invitation(
    session: Session,
    token: str,
    *,
    name: str,
    password: str,
    confirm: str | None = None,
    ip: str = "",
    clock: Clock = system_clock,
) -> tuple[int, int]:
    """Accept an invitation: the portal account is made (name and password; ``confirm`` is the
    password typed again, None when not asked) or, when the email already has one, its
    password is asked; the membership is made and the invitation used. Every field's problem
    at once. Returns (portal user id, client id)."""
    invitation, client = _usable(session, token, clock)
    user = user_by_email(session, invitation.email)
    checks = FieldChecks()
    if user is None:
        name = checks.value("name", "", clean_name, name)
        check_new_password(checks, password, confirm, email=invitation.email, name=name)
    elif not verify_password(user.password_hash, password):
        checks.add("password", gettext(ACCOUNT_PASSWORD, locale=client.locale))
    checks.raise_if_failed()
    password_hash = hash_password(password) if user is None else ""  # before any lock is held
    _claim(session, invitation, token, clock)
    if user is None:
        user = _new_account(session, invitation, name, password_hash, clock)
    role_key, role_id = invitation.role_key, invitation.client_role_id
    if role_id is not None and session.get(ClientRole, role_id) is None:
        role_key, role_id = BuiltinClientRole.VIEW.value, None  # the role went meanwhile
    assert user.id is not None and client.id is not None
    if not is_member(session, user.id, client.id):
        session.add(
            ClientMembership(
                portal_user_id=user.id,
                client_id=client.id,
                role_key=role_key,
                client_role_id=role_id,
                created_at=clock.now(),
            )
        )
    audit.record(
        session,
        "client_user.invitation_accepted",
        Actor(None, f"{user.email} (client user)", ip),
        target=user.email,
        details=f"{client.company} ({client_role_of(session, role_key, role_id)[0]})",
        clock=clock,
    )
    return user.id, client.id
