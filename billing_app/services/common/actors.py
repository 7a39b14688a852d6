"""Who acts in a use case, and the check every use case makes itself (docs/security.md item 22:
authorization twice, at the edge and in the service).

A staff member is a ``CurrentUser`` (services/access/identity.py); jobs, the CLI and webhooks
act as ``SYSTEM``. A use case calls ``require(actor, Permission.X)`` before it reads or changes
anything; the page's guard has checked the same, but a webhook or a job has no page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from billing_app.domain.permissions import ALL_PERMISSIONS, Permission
from billing_app.services.common.errors import NotAllowed

NOT_ALLOWED = "You're not allowed to do that."


@dataclass(frozen=True)
class Actor:
    """Who did something, as the audit log records it (services/common/audit.py)."""

    user_id: int | None
    label: str
    ip: str = ""


class Acting(Protocol):
    """What a use case needs of whoever acts."""

    def can(self, permission: Permission) -> bool: ...

    def actor(self) -> Actor: ...


@dataclass(frozen=True)
class SystemActor:
    """Jobs, the CLI and webhooks: every permission, named as such in the audit log."""

    label: str = "system"
    permissions: frozenset[Permission] = ALL_PERMISSIONS

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def actor(self) -> Actor:
        return Actor(user_id=None, label=self.label)


SYSTEM = SystemActor()


def require(actor: Acting, permission: Permission) -> None:
    """Refuse (NotAllowed) unless ``actor`` holds ``permission``."""
    if not actor.can(permission):
        raise NotAllowed(NOT_ALLOWED)
