"""The client portal's settings (Settings page): the role new client users get unless staff pick
another, and whether every client user must turn on two-factor sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from billing_app.domain.permissions import Permission
from billing_app.services.access.client_roles import default_client_role, parse_client_role
from billing_app.services.agency.branding import get_agency
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import FieldChecks


@dataclass(frozen=True)
class PortalSettings:
    default_role: str  # "full" ... or "custom:<id>"
    require_2fa: bool
    changes_prorate: bool = True  # clients' own subscription changes prorated now


def portal_settings(
    session: Session, viewer: Acting, *, clock: Clock = system_clock
) -> PortalSettings:
    require(viewer, Permission.SETTINGS_READ)
    agency = get_agency(session, clock=clock)
    return PortalSettings(
        default_role=default_client_role(session),
        require_2fa=agency.client_require_2fa,
        changes_prorate=agency.client_changes_prorate,
    )


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def update_portal_settings(
    session: Session,
    actor: Acting,
    *,
    default_role: str,
    require_2fa: bool,
    changes_prorate: bool | None = None,
    clock: Clock = system_clock,
) -> None:
    """Save the portal's settings; what changed is audited."""
    require(actor, Permission.SETTINGS_WRITE)
    checks = FieldChecks()
    chosen = checks.value("default_role", None, parse_client_role, session, default_role)
    checks.raise_if_failed()
    assert chosen is not None
    ref, label, _ = chosen
    agency = get_agency(session, clock=clock)
    _, before, _ = parse_client_role(session, default_client_role(session))
    changes = []
    if ref.value != default_client_role(session):
        changes.append(f"default client role: {before} -> {label}")
    if require_2fa != agency.client_require_2fa:
        changes.append(
            f"two-factor for client users: {_on_off(agency.client_require_2fa)} -> "
            f"{_on_off(require_2fa)}"
        )
    if changes_prorate is not None and changes_prorate != agency.client_changes_prorate:
        timing = {True: "prorated now", False: "from the next period"}
        before_timing, after_timing = timing[agency.client_changes_prorate], timing[changes_prorate]
        changes.append(f"clients' changes: {before_timing} -> {after_timing}")
        agency.client_changes_prorate = changes_prorate
    if not changes:
        return
    agency.client_default_role = ref.value
    agency.client_require_2fa = require_2fa
    agency.updated_at = clock.now()
    session.add(agency)
    audit.record(
        session,
        "settings.portal_updated",
        actor.actor(),
        target="client portal",
        details="; ".join(changes),
        clock=clock,
    )
