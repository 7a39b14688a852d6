"""The agency team: members, invitations, role changes, deactivation.

The owner cannot be locked out: the last active owner cannot be deactivated or demoted, only an
owner can make or unmake owners, and nobody can deactivate or demote themselves. Nobody grants
a role holding a permission they lack, nor changes or deactivates a member whose role holds
one (docs/security.md item 42, services/access/roles.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.models import CustomRole, Invitation, StaffUser
from billing_app.domain.permissions import BuiltinRole, Permission
from billing_app.domain.timestamps import as_utc
from billing_app.services.access.auth import clean_name, revoke_sessions
from billing_app.services.access.identity import (
    CurrentUser,
    normalize_email,
    parse_role_ref,
    role_of,
)
from billing_app.services.access.password_reset import revoke_password_resets
from billing_app.services.access.passwords import check_new_password
from billing_app.services.access.roles import check_grantable, lacking, role_permissions
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.audit import Actor
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import Conflict, FieldChecks, NotFound, ValidationFailed
from billing_app.services.common.listing import ListRequest, Page, keyset_page, like_pattern
from billing_app.services.common.outbox import SECRET_PLACEHOLDER, enqueue_email
from billing_app.services.common.tokens import hash_password, new_token, token_digest
from billing_app.settings import Settings, get_settings

INVITATION_TTL = timedelta(days=7)
INVITATION_INVALID = "This invitation link is not valid. Ask your team's owner for a new one."
INVITATION_EXPIRED = "This invitation has expired. Ask your team's owner to invite you again."
INVITATION_USED = "This invitation was already accepted. Sign in instead."


@dataclass(frozen=True)
class MemberRow:
    id: int
    name: str
    email: str
    role_value: str
    role_label: str
    permissions: frozenset[Permission]
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class InvitationRow:
    id: int
    email: str
    role_label: str
    invited_by: str
    created_at: datetime
    expires_at: datetime
    expired: bool


def list_members(session: Session, viewer: CurrentUser, request: ListRequest) -> Page[MemberRow]:
    """The team by name (filter "status": active, inactive or all; search name or email)."""
    require(viewer, Permission.TEAM_READ)
    conditions: list[sa.ColumnElement[bool]] = []
    status = request.filter("status", "all")
    if status in ("active", "inactive"):
        conditions.append(col(StaffUser.is_active).is_(status == "active"))
    if request.term:
        like = like_pattern(request.term)
        conditions.append(
            sa.or_(
                func.lower(col(StaffUser.name)).like(like, escape="\\"),
                func.lower(col(StaffUser.email)).like(like, escape="\\"),
            )
        )
    page = keyset_page(
        session,
        sa.select(StaffUser).where(*conditions),
        sa.select(func.count()).select_from(StaffUser).where(*conditions),
        [func.lower(col(StaffUser.name)), col(StaffUser.id)],
        replace(request, descending=False),
    )

    def row(user: StaffUser) -> MemberRow:
        label, permissions = role_of(session, user)
        assert user.id is not None
        return MemberRow(
            id=user.id,
            name=user.name,
            email=user.email,
            role_value=f"custom:{user.custom_role_id}" if user.custom_role_id else user.role_key,
            role_label=label,
            permissions=permissions,
            is_active=user.is_active,
            last_login_at=user.last_login_at,
            created_at=user.created_at,
        )

    return page.map(row)


def list_pending_invitations(
    session: Session, viewer: CurrentUser, request: ListRequest, *, clock: Clock = system_clock
) -> Page[InvitationRow]:
    """Invitations neither accepted nor revoked, newest first (expired ones say so)."""
    require(viewer, Permission.TEAM_READ)
    now = clock.now()
    pending = [col(Invitation.accepted_at).is_(None), col(Invitation.revoked_at).is_(None)]
    page = keyset_page(
        session,
        sa.select(Invitation).where(*pending),
        sa.select(func.count()).select_from(Invitation).where(*pending),
        [col(Invitation.created_at), col(Invitation.id)],
        replace(request, descending=True),
    )

    def row(inv: Invitation) -> InvitationRow:
        inviter = session.get(StaffUser, inv.invited_by_id) if inv.invited_by_id else None
        assert inv.id is not None
        return InvitationRow(
            id=inv.id,
            email=inv.email,
            role_label=_role_label(session, inv.role_key, inv.custom_role_id),
            invited_by=inviter.name if inviter else "",
            created_at=inv.created_at,
            expires_at=inv.expires_at,
            expired=as_utc(inv.expires_at) <= now,
        )

    return page.map(row)


def _role_label(session: Session, role_key: str, custom_role_id: int | None) -> str:
    value = f"custom:{custom_role_id}" if custom_role_id else role_key
    try:
        return parse_role_ref(session, value)[1]
    except ValidationFailed:
        return "No role"


def _active_owner_count(session: Session) -> int:
    return session.exec(
        select(func.count())
        .select_from(StaffUser)
        .where(col(StaffUser.role_key) == BuiltinRole.OWNER.value)
        .where(col(StaffUser.is_active).is_(True))
    ).one()


def invite(
    session: Session,
    actor: CurrentUser,
    *,
    email: str,
    role: str,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> int:
    """Invite someone by email; a pending invitation to the same address is replaced."""
    require(actor, Permission.TEAM_MANAGE)
    settings = settings or get_settings()
    checks = FieldChecks()
    email = checks.value("email", "", normalize_email, email)
    if email:
        existing = session.exec(select(StaffUser).where(col(StaffUser.email) == email)).first()
        if existing is not None:
            checks.add("email", f"{email} is already a member of the team.")
    role_label = ""
    with checks.check("role"):
        ref, role_label = parse_role_ref(session, role)
        if ref.role_key == BuiltinRole.OWNER and not actor.is_owner:
            msg = "Only an owner can invite another owner."
            raise ValidationFailed(msg, field="role")
        check_grantable(
            actor, role_label, role_permissions(session, ref.role_key, ref.custom_role_id)
        )
    checks.raise_if_failed()
    now = clock.now()
    session.execute(
        sa.update(Invitation)
        .where(col(Invitation.email) == email)
        .where(col(Invitation.accepted_at).is_(None))
        .where(col(Invitation.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    invitation = Invitation(
        # Unusable until the email is delivered: delivery mints the token (outbox).
        token_hash=token_digest(new_token()),
        email=email,
        role_key=ref.role_key,
        custom_role_id=ref.custom_role_id,
        invited_by_id=actor.id,
        created_at=now,
        expires_at=now + INVITATION_TTL,
    )
    session.add(invitation)
    session.flush()
    enqueue_email(
        session,
        "invitation",
        email,
        {
            "inviter_name": actor.name,
            "role_label": role_label,
            "accept_url": f"{settings.public_base_url}/accept-invite?token={SECRET_PLACEHOLDER}",
            "expires_on": invitation.expires_at.strftime("%d %B %Y"),
        },
        clock=clock,
        settings=settings,
        secret=("invitation", invitation.id),
    )
    audit.record(
        session,
        "team.invited",
        actor.actor(),
        target=email,
        details=f"role: {role_label}",
        clock=clock,
    )
    assert invitation.id is not None
    return invitation.id


def revoke_invitation(
    session: Session, actor: Acting, invitation_id: int, *, clock: Clock = system_clock
) -> None:
    require(actor, Permission.TEAM_MANAGE)
    inv = session.get(Invitation, invitation_id)
    if inv is None or inv.accepted_at is not None or inv.revoked_at is not None:
        msg = "That invitation is no longer pending."
        raise NotFound(msg)
    inv.revoked_at = clock.now()
    session.add(inv)
    audit.record(session, "team.invitation_revoked", actor.actor(), target=inv.email, clock=clock)


@dataclass(frozen=True)
class InvitationView:
    email: str
    role_label: str


def _find_invitation(session: Session, token: str, clock: Clock) -> Invitation:
    inv = session.exec(
        select(Invitation).where(col(Invitation.token_hash) == token_digest(token))
    ).first()
    if inv is None or inv.revoked_at is not None:
        raise ValidationFailed(INVITATION_INVALID, field="token")
    if inv.accepted_at is not None:
        raise ValidationFailed(INVITATION_USED, field="token")
    if inv.expires_at <= clock.now():
        raise ValidationFailed(INVITATION_EXPIRED, field="token")
    return inv


def check_invitation(
    session: Session, token: str, *, clock: Clock = system_clock
) -> InvitationView:
    """What the accept page shows; ValidationFailed with a clear message if it cannot be used."""
    inv = _find_invitation(session, token, clock)
    return InvitationView(
        email=inv.email, role_label=_role_label(session, inv.role_key, inv.custom_role_id)
    )


def accept_invitation(
    session: Session,
    *,
    token: str,
    name: str,
    password: str,
    confirm: str | None = None,
    ip: str = "",
    clock: Clock = system_clock,
) -> int:
    """Create the member's account from an invitation; returns the new user's id.
    ``confirm`` is the password typed again (None when not asked); every field's problem is
    reported at once."""
    inv = _find_invitation(session, token, clock)
    checks = FieldChecks()
    name = checks.value("name", "", clean_name, name)
    check_new_password(checks, password, confirm, email=inv.email, name=name)
    checks.raise_if_failed()
    if session.exec(select(StaffUser).where(col(StaffUser.email) == inv.email)).first():
        raise ValidationFailed(INVITATION_USED, field="token")
    now = clock.now()
    claimed = session.execute(
        sa.update(Invitation)
        .where(col(Invitation.id) == inv.id)
        .where(col(Invitation.accepted_at).is_(None))
        .values(accepted_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ValidationFailed(INVITATION_USED, field="token")
    role_key, custom_role_id = inv.role_key, inv.custom_role_id
    if custom_role_id is not None and session.get(CustomRole, custom_role_id) is None:
        role_key, custom_role_id = BuiltinRole.VIEWER.value, None
    user = StaffUser(
        email=inv.email,
        name=name,
        password_hash=hash_password(password),
        role_key=role_key,
        custom_role_id=custom_role_id,
        created_at=now,
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    audit.record(
        session,
        "team.invitation_accepted",
        Actor(user.id, user.email, ip),
        target=user.email,
        clock=clock,
    )
    return user.id


def _member(session: Session, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        msg = "That team member does not exist."
        raise NotFound(msg)
    return user


def _check_manageable(session: Session, actor: CurrentUser, user: StaffUser, what: str) -> None:
    """Refuse acting on a member whose role holds a permission the actor lacks (a team.manage
    role could otherwise demote or deactivate the Admin)."""
    label, permissions = role_of(session, user)
    missing = lacking(actor, permissions)
    if missing:
        msg = (
            f"You can't {what} {user.name}: their role ({label}) has permissions "
            f"you don't have ({missing})."
        )
        raise ValidationFailed(msg, field="member")


def change_role(
    session: Session, actor: CurrentUser, user_id: int, *, role: str, clock: Clock = system_clock
) -> None:
    """Give a member another role; it applies to their very next action."""
    require(actor, Permission.TEAM_MANAGE)
    user = _member(session, user_id)
    ref, label = parse_role_ref(session, role)
    if user.id == actor.id:
        msg = "You cannot change your own role."
        raise ValidationFailed(msg, field="role")
    touches_owner = BuiltinRole.OWNER in (user.role_key, ref.role_key)
    if touches_owner and not actor.is_owner:
        msg = "Only an owner can make someone an owner or change an owner's role."
        raise ValidationFailed(msg, field="role")
    _check_manageable(session, actor, user, "change the role of")
    check_grantable(actor, label, role_permissions(session, ref.role_key, ref.custom_role_id))
    if (
        user.role_key == BuiltinRole.OWNER
        and ref.role_key != BuiltinRole.OWNER
        and user.is_active
        and _active_owner_count(session) <= 1
    ):
        msg = "The team must keep at least one active owner."
        raise Conflict(msg)
    old_label, _ = role_of(session, user)
    user.role_key = ref.role_key
    user.custom_role_id = ref.custom_role_id
    session.add(user)
    audit.record(
        session,
        "team.role_changed",
        actor.actor(),
        target=user.email,
        details=f"{old_label} -> {label}",
        clock=clock,
    )


def set_active(
    session: Session, actor: CurrentUser, user_id: int, *, active: bool, clock: Clock = system_clock
) -> None:
    """Deactivate (their sessions end at once) or reactivate a member."""
    require(actor, Permission.TEAM_MANAGE)
    user = _member(session, user_id)
    if user.id == actor.id:
        msg = "You cannot deactivate yourself."
        raise ValidationFailed(msg, field="member")
    if user.role_key == BuiltinRole.OWNER and not actor.is_owner:
        msg = "Only an owner can deactivate or reactivate an owner."
        raise ValidationFailed(msg, field="member")
    _check_manageable(session, actor, user, "reactivate" if active else "deactivate")
    if user.is_active == active:
        return
    if not active and user.role_key == BuiltinRole.OWNER and _active_owner_count(session) <= 1:
        msg = "The team must keep at least one active owner."
        raise Conflict(msg)
    user.is_active = active
    session.add(user)
    assert user.id is not None
    if not active:
        revoke_sessions(session, user.id, clock=clock)
        revoke_password_resets(session, user.id, clock=clock)
    audit.record(
        session,
        "team.reactivated" if active else "team.deactivated",
        actor.actor(),
        target=user.email,
        clock=clock,
    )
