"""The states of the client's Users tab (ui/admin/clients/users_tab.py): who has access to the
client's portal, pending invitations, and what staff holding clients.users do to them.

The client is the one of the page's URL, read on every event; the services check it exists
and that the caller may see or change its people (docs/security.md item 22)."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.access import client_roles, client_users, portal_invitations
from billing_app.services.access.identity import CurrentUser
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.ui.format import format_timestamp, to_int
from billing_app.ui.kit.list_state import ListSpec, ListState
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

INVITE_FIELDS = ("email", "name", "role")


def _client_id(state: rx.State) -> int:
    """The client of the page's URL."""
    return to_int(state.router.page.params.get("client_id", ""), 0)


def _load(state: ListState) -> None:
    state._defaults()
    try:
        state._first()
    except ServiceError:  # no such client: the overview says so
        state.rows, state.total = [], 0
        state.status = "ok"


class ClientUsersState(ListState, SessionState):
    """The people with access to the client's portal, and the invite form."""

    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.CLIENTS_READ, write=Permission.CLIENTS_USERS, per_page=20
    )

    role_choices: list[dict[str, str]] = []
    default_role: str = ""
    invite_open: bool = False
    invite_errors: dict[str, str] = {}

    def _fetch(self, user: CurrentUser, request: ListRequest) -> Page[Any]:
        return run(client_users.list_client_users, user, _client_id(self), request)

    def _row(self, user: CurrentUser, u: client_users.ClientUserRow) -> dict[str, str]:
        return {
            "id": str(u.user_id),
            "name": u.name,
            "email": u.email,
            "role": u.role_value,
            "role_label": u.role_label,
            "last_login": format_timestamp(u.last_login_at, user.time_zone)
            if u.last_login_at
            else "Never",
            "two_factor": "yes" if u.two_factor else "",
            "since": format_timestamp(u.member_since, user.time_zone),
        }

    def _shown(self, user: CurrentUser, page: Page[Any]) -> None:
        if not self.can_write:
            self.role_choices, self.default_role = [], ""
            return
        choices = run(client_roles.client_role_choices, user)
        self.role_choices = [{"value": v, "label": label} for v, label in choices.options]
        self.default_role = choices.default

    @guard(Permission.CLIENTS_READ)
    def load(self) -> None:
        self.invite_open = False
        self.invite_errors = {}
        _load(self)

    @guard(Permission.CLIENTS_USERS)
    def set_invite_open(self, value: bool) -> None:
        self.invite_errors = {}
        self.invite_open = bool(value)

    @guard(Permission.CLIENTS_USERS)
    def invite(self, form: dict[str, Any]) -> Any:
        self.invite_errors = {}
        try:
            outcome = run(
                portal_invitations.invite_client_user,
                current_user(),
                _client_id(self),
                email=str(form.get("email", "")),
                name=str(form.get("name", "")),
                role=str(form.get("role", "")),
            )
        except ServiceError as exc:
            self.invite_errors = field_errors(exc, fields=INVITE_FIELDS)
            return None
        self.invite_open = False
        if outcome.granted_at_once:
            self._reload()
            return rx.toast.success(
                f"{outcome.email} already has a portal account: they have access now and "
                "were told by email."
            )
        return [
            rx.toast.success(f"Invitation sent to {outcome.email}."),
            ClientInvitationsState.reload,
        ]

    @guard(Permission.CLIENTS_USERS)
    def change_role(self, user_id: str, role: str) -> Any:
        try:
            run(
                client_users.change_client_user_role,
                current_user(),
                _client_id(self),
                to_int(user_id),
                role=str(role),
            )
        except ServiceError as exc:
            self._reload()
            return rx.toast.error(exc.message)
        self._reload()
        return rx.toast.success("Role changed. It applies to their next click.")

    @guard(Permission.CLIENTS_USERS)
    def remove(self, user_id: str) -> Any:
        try:
            run(
                client_users.remove_client_user,
                current_user(),
                _client_id(self),
                to_int(user_id),
            )
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._reload()
        return rx.toast.success("Access removed. They were signed out of this client.")


class ClientInvitationsState(ListState, SessionState):
    """The client's pending invitations, newest first."""

    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.CLIENTS_READ, write=Permission.CLIENTS_USERS, per_page=10
    )

    def _fetch(self, user: CurrentUser, request: ListRequest) -> Page[Any]:
        return run(client_users.list_client_invitations, user, _client_id(self), request)

    def _row(self, user: CurrentUser, i: client_users.PortalInvitationRow) -> dict[str, str]:
        return {
            "id": str(i.id),
            "email": i.email,
            "name": i.name,
            "role_label": i.role_label,
            "invited_by": i.invited_by,
            "sent": format_timestamp(i.created_at, user.time_zone),
            "expires": format_timestamp(i.expires_at, user.time_zone),
            "expired": "yes" if i.expired else "",
        }

    @guard(Permission.CLIENTS_READ)
    def load(self) -> None:
        _load(self)

    @guard(Permission.CLIENTS_USERS)
    def resend(self, invitation_id: str) -> Any:
        try:
            run(portal_invitations.resend_portal_invitation, current_user(), to_int(invitation_id))
        except ServiceError as exc:
            self._reload()
            return rx.toast.error(exc.message)
        self._reload()
        return rx.toast.success("Invitation sent again. It is valid for 7 more days.")

    @guard(Permission.CLIENTS_USERS)
    def revoke(self, invitation_id: str) -> Any:
        try:
            run(portal_invitations.revoke_portal_invitation, current_user(), to_int(invitation_id))
        except ServiceError as exc:
            self._reload()
            return rx.toast.error(exc.message)
        self._reload()
        return rx.toast.success("Invitation revoked. Its link no longer works.")
