"""Staff single sign-on (docs/architecture.md "Staff single sign-on", docs/security.md item 61):
the authorization code flow with PKCE (S256), state and nonce against the agency's OpenID
Connect provider, ending in our own one-time ticket and the same session hand-off as the
password sign-in.

Who may come in: the staff member linked to the provider's subject; else, on first sign-in,
the active member whose email matches (the subject is then linked, so a later email change at
the provider cannot take over another account), one with a pending invitation, or (when the
owner allows it) a new member of an allowed domain. A deactivated member is refused whatever
the provider says. Every sign-in and every refusal (with its reason) is audited; a refusal
writes nothing else. No token, code or secret is logged or stored."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters import oidc
from billing_app.db.models import Invitation, StaffUser
from billing_app.db.sso import SsoIdentity, SsoRequest
from billing_app.domain.permissions import BuiltinRole
from billing_app.services.access.sso_config import SsoConfig, callback_url, sso_config
from billing_app.services.access.tickets import browser_digest, issue_mfa_ticket, issue_ticket
from billing_app.services.common import audit
from billing_app.services.common.actors import Actor
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.tokens import hash_password, new_token, token_digest
from billing_app.settings import Settings, get_settings

REQUEST_TTL = timedelta(minutes=10)
# What an ``amr`` claim must hold for the provider's sign-in to count as two-factor.
MFA_METHODS = frozenset({"mfa", "otp", "hwk"})

# What the error page says for each reason (anything else: REFUSED_DEFAULT).
MESSAGES = {
    "provider_down": "The sign-in provider cannot be reached right now. Try again in a few "
    "minutes, or sign in with your password if your agency allows it.",
    "cancelled": "The sign-in was cancelled at the provider. You can start again.",
    "not_member": "This account is not a member of the team. Ask the owner for an invitation.",
    "domain": "Accounts of this email domain may not sign in here. Use your work account.",
    "deactivated": "This account has been deactivated. Ask the owner if you need access again.",
    "email_unverified": "The provider has not verified this account's email address. Verify it "
    "at the provider, then try again.",
    "linked_elsewhere": "This team member is already linked to another account at the provider. "
    "Sign in with that account.",
    "state": "This sign-in has expired or was started in another browser. Start again.",
    "not_configured": "Single sign-on is not set up. Sign in with your password.",
    "cookies": "Your browser did not keep the cookie this page needs to sign you in. Allow "
    "cookies for this site, then try again.",
}
REFUSED_DEFAULT = (
    "The provider's answer could not be trusted, so you were not signed in. Start again; if it "
    "keeps happening, tell the owner."
)


def message_for(reason: str) -> str:
    return MESSAGES.get(reason, REFUSED_DEFAULT)


class SsoRefused(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class SsoOutcome:
    """A one-time ticket (signed in), a second-factor ticket (our TOTP step still to do), or
    the reason of a refusal; ``next_path`` is where the sign-in was started for."""

    ticket: str | None = None
    mfa_ticket_id: int | None = None
    reason: str = ""
    next_path: str = "/"


def start(
    session: Session,
    *,
    browser: str,
    next_path: str = "/",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> str:
    """The provider's authorization URL for a new sign-in from ``browser`` (its browser
    cookie), or SsoRefused. Waits for the network: call it off the event loop."""
    settings = settings or get_settings()
    config = sso_config(session, settings=settings)
    if config is None:
        raise SsoRefused("not_configured")
    if not browser:
        raise SsoRefused("cookies")
    session.rollback()  # nothing held while the provider answers
    try:
        meta = oidc.discover(config.issuer_url)
    except oidc.OidcError as exc:
        raise SsoRefused("provider_down", exc.message) from exc
    state, nonce, verifier = new_token(), new_token(), secrets.token_urlsafe(48)
    now = clock.now()
    session.execute(sa.delete(SsoRequest).where(col(SsoRequest.expires_at) <= now))
    session.add(
        SsoRequest(
            state_hash=token_digest(state),
            nonce=nonce,
            code_verifier=verifier,
            browser_hash=browser_digest(browser),
            next_path=next_path[:500],
            expires_at=now + REQUEST_TTL,
        )
    )
    return oidc.authorization_url(
        meta,
        client_id=config.client_id,
        redirect_uri=callback_url(settings),
        state=state,
        nonce=nonce,
        code_verifier=verifier,
    )


def _claim_request(session: Session, state: str, browser: str, now: Any) -> SsoRequest:
    """The sign-in ``state`` names, used once, by the browser that started it."""
    if not state or not browser:
        raise SsoRefused("state", "no state" if not state else "no browser cookie")
    row = session.exec(
        select(SsoRequest).where(col(SsoRequest.state_hash) == token_digest(state))
    ).first()
    if row is None:
        raise SsoRefused("state", "unknown or already used state")
    if row.browser_hash != browser_digest(browser):
        raise SsoRefused("state", "state of another browser")
    deleted = session.execute(sa.delete(SsoRequest).where(col(SsoRequest.id) == row.id))
    if deleted.rowcount != 1:  # type: ignore[attr-defined]
        raise SsoRefused("state", "already used state")
    if row.expires_at <= now:
        raise SsoRefused("state", "expired state")
    return row


def _pending_invitation(session: Session, email: str, now: Any) -> Invitation | None:
    return session.exec(
        select(Invitation)
        .where(col(Invitation.email) == email)
        .where(col(Invitation.accepted_at).is_(None))
        .where(col(Invitation.revoked_at).is_(None))
        .where(col(Invitation.expires_at) > now)
        .order_by(col(Invitation.id).desc())
    ).first()


def _new_member(
    session: Session, email: str, name: str, role_key: str, custom_role_id: int | None, now: Any
) -> StaffUser:
    # No password anyone knows: a random one, hashed (password reset can set one later).
    user = StaffUser(
        email=email,
        name=(" ".join(name.split()) or email.partition("@")[0])[:200],
        password_hash=hash_password(new_token()),
        role_key=role_key,
        custom_role_id=custom_role_id,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def _member_for(
    session: Session, config: SsoConfig, issuer: str, claims: dict[str, Any], now: Any
) -> tuple[StaffUser, SsoIdentity | None, str]:
    """The staff member these claims sign in, with their link and how they were found;
    SsoRefused (nothing written) when nobody may."""
    subject = str(claims["sub"])
    email = str(claims.get("email") or "").strip().lower()
    if not config.trust_email and claims.get("email_verified") is not True:
        raise SsoRefused("email_unverified")
    domain = email.rpartition("@")[2]
    if config.domains and domain not in config.domains:
        raise SsoRefused("domain", f"domain {domain or 'none'}")
    link = session.exec(
        select(SsoIdentity)
        .where(col(SsoIdentity.issuer) == issuer)
        .where(col(SsoIdentity.subject) == subject)
    ).first()
    if link is not None:
        user = session.get(StaffUser, link.staff_user_id)
        assert user is not None
        return user, link, "linked"
    if not email:
        raise SsoRefused("not_member", "no email")
    user = session.exec(select(StaffUser).where(col(StaffUser.email) == email)).first()
    if user is not None:
        other = session.exec(
            select(SsoIdentity).where(col(SsoIdentity.staff_user_id) == user.id)
        ).first()
        if other is not None:
            raise SsoRefused("linked_elsewhere")
        return user, None, "email"
    if _pending_invitation(session, email, now) is not None:
        return StaffUser(email=email, name="", password_hash="", created_at=now), None, "invited"
    if config.jit_enabled and config.domains and domain in config.domains:
        return StaffUser(email=email, name="", password_hash="", created_at=now), None, "jit"
    raise SsoRefused("not_member")


def _refuse(
    session: Session,
    reason: str,
    detail: str,
    label: str,
    ip: str,
    clock: Clock,
    user_id: int | None,
) -> SsoOutcome:
    session.rollback()
    audit.record(
        session,
        "sso.login_refused",
        Actor(user_id, label or "unknown", ip),
        target=label or "unknown",
        details=f"reason: {reason}" + (f" ({detail})" if detail else ""),
        clock=clock,
    )
    return SsoOutcome(reason=reason)


def complete(
    session: Session,
    *,
    state: str,
    code: str,
    error: str = "",
    browser: str,
    ip: str = "",
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> SsoOutcome:
    """The browser came back from the provider (``state``, ``code``, or ``error``): check
    everything, then issue our ticket (or a second-factor ticket). The sign-in under way is
    used up (and committed) before the provider is asked, so a replayed callback is refused;
    no transaction is held while the provider answers. Call it off the event loop."""
    settings = settings or get_settings()
    now = clock.now()
    try:
        request = _claim_request(session, state, browser, now)
    except SsoRefused as exc:
        return _refuse(session, exc.reason, exc.detail, "", ip, clock, None)
    session.commit()
    next_path = request.next_path
    if error:
        reason = "cancelled" if error == "access_denied" else "provider_error"
        return _refuse(session, reason, error[:60], "", ip, clock, None)
    config = sso_config(session, settings=settings)
    session.rollback()
    if config is None:
        return _refuse(session, "not_configured", "", "", ip, clock, None)
    try:
        meta = oidc.discover(config.issuer_url)
        token = oidc.exchange_code(
            meta,
            client_id=config.client_id,
            client_secret=config.client_secret,
            redirect_uri=callback_url(settings),
            code=code,
            code_verifier=request.code_verifier,
        )
        claims = oidc.validate_id_token(
            str(token["id_token"]),
            meta=meta,
            client_id=config.client_id,
            nonce=request.nonce,
            access_token=str(token.get("access_token") or ""),
            now=now.timestamp(),
        )
    except oidc.OidcError as exc:
        return _refuse(session, exc.reason, exc.message[:200], "", ip, clock, None)
    label = str(claims.get("email") or "").strip().lower() or f"subject {claims['sub']}"[:100]
    try:
        user, link, found = _member_for(session, config, meta.issuer, claims, now)
        if found in ("email", "linked") and not user.is_active:
            raise SsoRefused("deactivated")
    except SsoRefused as exc:
        user_id = None
        if exc.reason == "deactivated":
            user_id = user.id
        return _refuse(session, exc.reason, exc.detail, label, ip, clock, user_id)
    if found in ("invited", "jit"):
        user = _create_member(session, config, user.email, claims, found, clock)
    assert user.id is not None
    if link is None:
        session.add(
            SsoIdentity(
                staff_user_id=user.id,
                issuer=meta.issuer,
                subject=str(claims["sub"]),
                created_at=now,
            )
        )
    amr_claim = claims.get("amr")
    amr: list[Any] = amr_claim if isinstance(amr_claim, list) else []
    provider_mfa = bool(MFA_METHODS & {str(m) for m in amr})
    mfa = (
        "provider (amr)"
        if provider_mfa
        else "agency states provider MFA"
        if config.provider_mfa
        else ""
    )
    if not mfa:
        mfa = "our second factor" if user.totp_secret else "none"
    audit.record(
        session,
        "sso.login",
        Actor(user.id, user.email, ip),
        target=user.email,
        details=f"{'linked on first sign-in, ' if link is None else ''}found by {found}; "
        f"two-factor: {mfa}",
        clock=clock,
    )
    if mfa == "our second factor":
        ticket_id = issue_mfa_ticket(session, user.id, ip=ip, browser=browser, clock=clock)
        return SsoOutcome(mfa_ticket_id=ticket_id, next_path=next_path)
    ticket = issue_ticket(session, user.id, ip=ip, browser=browser, clock=clock)
    return SsoOutcome(ticket=ticket, next_path=next_path)


def _create_member(
    session: Session,
    config: SsoConfig,
    email: str,
    claims: dict[str, Any],
    found: str,
    clock: Clock,
) -> StaffUser:
    """A new member from a pending invitation (its role) or just in time (the default role)."""
    name, now = str(claims.get("name") or ""), clock.now()
    if found == "invited":
        invitation = _pending_invitation(session, email, now)
        assert invitation is not None
        invitation.accepted_at = now
        session.add(invitation)
        user = _new_member(
            session, email, name, invitation.role_key, invitation.custom_role_id, now
        )
        action = "team.invitation_accepted"
    else:
        role = config.jit_role_key if config.jit_role_key != BuiltinRole.OWNER else "viewer"
        user = _new_member(session, email, name, role, None, now)
        action = "sso.member_created"
    audit.record(
        session,
        action,
        Actor(user.id, email),
        target=email,
        details="through single sign-on",
        clock=clock,
    )
    return user
