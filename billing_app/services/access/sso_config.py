"""Settings > Sign-in: the agency's OpenID Connect provider for staff (docs/security.md item
61). Only the owner configures it; the client secret is encrypted at rest like the Stripe
secrets and never shown again; every change is audited without the secret. "Test" runs
discovery and says what is wrong in plain words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlmodel import Session

from billing_app.adapters import crypto, oidc
from billing_app.db.sso import SsoSettings
from billing_app.domain.permissions import BUILTIN_ROLE_LABELS, BuiltinRole, Permission
from billing_app.services.common import audit
from billing_app.services.common.actors import NOT_ALLOWED, Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import FieldChecks, NotAllowed
from billing_app.settings import Settings

SECRET_PURPOSE = "oidc-secret"
CALLBACK_PATH = "/api/auth/sso/callback"
START_PATH = "/api/auth/sso/start"
# Roles just-in-time members may get: never the owner.
JIT_ROLES = (BuiltinRole.VIEWER, BuiltinRole.ACCOUNTANT, BuiltinRole.ADMIN)
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def require_owner(actor: Acting) -> None:
    """Sign-in settings are the owner's alone: they decide who can come in. (Callers first
    ``require(actor, Permission.ROLES_MANAGE)``, what the page's guard asks, then this.)"""
    if not getattr(actor, "is_owner", False):
        raise NotAllowed(NOT_ALLOWED)


@dataclass(frozen=True)
class SsoForm:
    issuer_url: str
    client_id: str
    button_label: str
    allowed_domains: str
    client_secret: str = field(default="", repr=False)  # "" keeps the stored one
    password_allowed: bool = True
    jit_enabled: bool = False
    jit_role_key: str = BuiltinRole.VIEWER.value
    trust_email: bool = False
    provider_mfa: bool = False


@dataclass(frozen=True)
class SsoView:
    configured: bool
    issuer_url: str
    client_id: str
    secret_hint: str
    button_label: str
    allowed_domains: str
    password_allowed: bool
    jit_enabled: bool
    jit_role_key: str
    trust_email: bool
    provider_mfa: bool
    callback_url: str


@dataclass(frozen=True)
class SsoConfig:
    """What a sign-in needs (the secret in clear): for the sign-in use cases only."""

    issuer_url: str
    client_id: str
    client_secret: str = field(repr=False)
    button_label: str
    domains: tuple[str, ...]
    password_allowed: bool
    jit_enabled: bool
    jit_role_key: str
    trust_email: bool
    provider_mfa: bool


def parse_domains(raw: str) -> tuple[list[str], list[str]]:
    """(domains, wrong ones) from text separated by spaces, commas or new lines."""
    words = [w.strip().lower().lstrip("@") for w in re.split(r"[\s,;]+", raw) if w.strip()]
    good = list(dict.fromkeys(w for w in words if _DOMAIN.fullmatch(w)))
    return good, [w for w in words if not _DOMAIN.fullmatch(w)]


def _row(session: Session) -> SsoSettings | None:
    return session.get(SsoSettings, 1)


def _secret(row: SsoSettings, settings: Settings | None) -> str:
    if not row.client_secret:
        return ""
    return crypto.decrypt(row.client_secret, purpose=SECRET_PURPOSE, settings=settings)


def callback_url(settings: Settings) -> str:
    return f"{settings.public_base_url}{CALLBACK_PATH}"


def sso_config(session: Session, *, settings: Settings | None = None) -> SsoConfig | None:
    """The provider, or None when single sign-on is not set up."""
    row = _row(session)
    if row is None or not (row.issuer_url and row.client_id and row.client_secret):
        return None
    return SsoConfig(
        issuer_url=row.issuer_url,
        client_id=row.client_id,
        client_secret=_secret(row, settings),
        button_label=row.button_label,
        domains=tuple(row.allowed_domains.split()),
        password_allowed=row.password_allowed,
        jit_enabled=row.jit_enabled,
        jit_role_key=row.jit_role_key,
        trust_email=row.trust_email,
        provider_mfa=row.provider_mfa,
    )


def sign_in_button(session: Session) -> str:
    """The label of the "Sign in with ..." button, or "" when there is none (public)."""
    row = _row(session)
    if row is None or not (row.issuer_url and row.client_id and row.client_secret):
        return ""
    return row.button_label


def password_sign_in_allowed(session: Session, role_key: str) -> bool:
    """Whether a staff member of ``role_key`` may sign in with a password: always the owner
    (break-glass), the others unless single sign-on is on and password sign-in turned off."""
    if role_key == BuiltinRole.OWNER:
        return True
    row = _row(session)
    return row is None or not row.client_secret or row.password_allowed


def sso_view(session: Session, viewer: Acting, *, settings: Settings) -> SsoView:
    require(viewer, Permission.ROLES_MANAGE)
    require_owner(viewer)
    row = _row(session)
    secret = _secret(row, settings) if row else ""
    return SsoView(
        configured=bool(row and row.issuer_url and row.client_id and secret),
        issuer_url=row.issuer_url if row else "",
        client_id=row.client_id if row else "",
        secret_hint=f"…{secret[-4:]}" if len(secret) >= 12 else ("saved" if secret else ""),
        button_label=row.button_label if row else "",
        allowed_domains=" ".join(row.allowed_domains.split()) if row else "",
        password_allowed=row.password_allowed if row else True,
        jit_enabled=row.jit_enabled if row else False,
        jit_role_key=row.jit_role_key if row else BuiltinRole.VIEWER.value,
        trust_email=row.trust_email if row else False,
        provider_mfa=row.provider_mfa if row else False,
        callback_url=callback_url(settings),
    )


def role_choices() -> list[tuple[str, str]]:
    return [(role.value, BUILTIN_ROLE_LABELS[role]) for role in JIT_ROLES]


def save_sso(
    session: Session,
    actor: Acting,
    form: SsoForm,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> None:
    """Check and store the provider; nothing is written when any field is wrong."""
    require(actor, Permission.ROLES_MANAGE)
    require_owner(actor)
    row = _row(session)
    checks = FieldChecks()
    issuer = oidc.normalize_issuer(form.issuer_url)
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", issuer) or len(issuer) > 500:
        checks.add("issuer_url", "Enter the issuer URL, such as https://accounts.google.com.")
    client_id = form.client_id.strip()
    if not client_id or len(client_id) > 255:
        checks.add("client_id", "Enter the client ID the provider gave you.")
    secret = form.client_secret.strip()
    if not secret and not (row and row.client_secret):
        checks.add("client_secret", "Paste the client secret.")
    if len(secret) > 1000:
        checks.add("client_secret", "This is too long for a client secret.")
    label = " ".join(form.button_label.split())
    if not label or len(label) > 60:
        checks.add("button_label", "Name the button (at most 60 characters), such as Acme SSO.")
    domains, wrong = parse_domains(form.allowed_domains)
    if wrong:
        checks.add("allowed_domains", "Not a domain: " + ", ".join(wrong[:3]) + ".")
    if form.jit_enabled and not domains:
        checks.add(
            "allowed_domains",
            "List the allowed domains: new members are only created for these domains.",
        )
    if form.jit_role_key not in {r.value for r in JIT_ROLES}:
        checks.add("jit_role_key", "Choose a role.")
    checks.raise_if_failed()
    before = sso_view(session, actor, settings=settings) if row and settings else None
    if row is None:
        row = SsoSettings(id=1, updated_at=clock.now())
    row.issuer_url, row.client_id, row.button_label = issuer, client_id, label
    if secret:
        row.client_secret = crypto.encrypt(secret, purpose=SECRET_PURPOSE, settings=settings)
    row.allowed_domains = " ".join(domains)
    row.password_allowed = form.password_allowed
    row.jit_enabled = form.jit_enabled
    row.jit_role_key = form.jit_role_key
    row.trust_email = form.trust_email
    row.provider_mfa = form.provider_mfa
    row.updated_at = clock.now()
    row.updated_by_id = actor.actor().user_id
    session.add(row)
    details = (
        f"issuer {issuer}; client id {client_id}; label {label}; "
        f"domains {row.allowed_domains or 'any'}; password sign-in "
        f"{'allowed' if form.password_allowed else 'owner only'}; just-in-time "
        f"{'on as ' + form.jit_role_key if form.jit_enabled else 'off'}; provider email "
        f"{'trusted' if form.trust_email else 'must be verified'}; provider MFA "
        f"{'stated' if form.provider_mfa else 'not stated'}"
        + ("; new client secret" if secret else "")
    )
    if before is not None and not before.configured:
        details = "first set up: " + details
    audit.record(
        session, "sso.settings_saved", actor.actor(), target=label, details=details, clock=clock
    )


def remove_sso(session: Session, actor: Acting, *, clock: Clock = system_clock) -> None:
    """Turn single sign-on off: the button goes, everyone signs in with a password again.
    Linked subjects are kept, so turning it back on signs the same people in."""
    require(actor, Permission.ROLES_MANAGE)
    require_owner(actor)
    row = _row(session)
    if row is None:
        return
    session.delete(row)
    audit.record(
        session, "sso.settings_removed", actor.actor(), target=row.button_label, clock=clock
    )


@dataclass(frozen=True)
class CheckOutcome:
    ok: bool
    message: str


def check_provider(session: Session, actor: Acting, *, settings: Settings) -> CheckOutcome:
    """Run discovery against the saved issuer and say in plain words what is wrong. Called
    off the event loop (it waits for the network)."""
    require(actor, Permission.ROLES_MANAGE)
    require_owner(actor)
    row = _row(session)
    if row is None or not row.issuer_url:
        return CheckOutcome(False, "Save the issuer URL first.")
    issuer = row.issuer_url
    session.rollback()  # no transaction held while the network answers
    try:
        meta = oidc.discover(issuer)
    except oidc.OidcError as exc:
        return CheckOutcome(False, exc.message)
    keys = len(meta.jwks.get("keys", []))
    return CheckOutcome(
        True,
        f"The provider answered: issuer {meta.issuer}, {keys} signing key"
        f"{'' if keys == 1 else 's'}. Add {callback_url(settings)} as a redirect URI there.",
    )
