"""The two realms at the edge (docs/security.md items 22, 45): a staff session never runs a
portal handler and a portal session never runs a staff one, whatever either may do in its own
realm; a portal handler needs its client permission on the client the session looks at."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import billing_app.billing_app  # noqa: F401  (registers every page and state)
from billing_app.domain.permissions import (
    ALL_PERMISSIONS,
    BUILTIN_CLIENT_ROLE_PERMISSIONS,
    BuiltinClientRole,
    ClientPermission,
)
from billing_app.services.access.identity import CurrentUser
from billing_app.services.access.portal_identity import ClientUser, Membership
from billing_app.ui.admin.shell import ShellState
from billing_app.ui.admin.team.team import TeamState
from billing_app.ui.session import portal, staff
from billing_app.ui.session.portal import (
    PortalCaller,
    PortalShellState,
    current_client_user,
    portal_guard,
)


def run_coroutine(coro: Any) -> Any:
    """Run a coroutine to the end in a thread of its own (with this thread's context vars):
    the browser journeys leave an event loop running in this one (asyncio.run refuses to start
    another)."""
    context = contextvars.copy_context()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(context.run, asyncio.run, coro).result()


REFUSED = "refused"
DENIED = "denied"
OWNER = CurrentUser(
    id=1,
    name="Olivia",
    email="owner@agency.test",
    role_key="owner",
    role_label="Owner",
    permissions=ALL_PERMISSIONS,
    session_id=7,
)


def client_user(role: BuiltinClientRole, client_id: int = 3) -> ClientUser:
    membership = Membership(
        client_id=client_id,
        client_name="Acme Oy",
        brand_id=None,
        role_key=role.value,
        role_label=role.value,
        permissions=BUILTIN_CLIENT_ROLE_PERMISSIONS[role],
    )
    return ClientUser(
        id=1,  # the same id as the staff owner: the realms never mix them up
        name="Jürgen",
        email="owner@agency.test",
        memberships=(membership,),
        client_id=client_id,
        session_id=7,
    )


class FakeState:
    """What a guard asks of the state it runs on."""

    def __init__(self) -> None:
        self.shown: list[Any] = []

    def _refuse_anonymous(self, is_page_load: bool) -> str:
        return REFUSED

    def _refuse(self, is_page_load: bool) -> str:
        return DENIED

    def _show_user(self, user: Any) -> None:
        self.shown.append(user)


@pytest.fixture
def callers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set who calls in each realm for the handler about to run (as the bindings do)."""
    monkeypatch.setattr(staff, "_record_denial", lambda *args: None)
    tokens: list[Any] = []

    def set_callers(staff_user: CurrentUser | None, client: ClientUser | None) -> None:
        tokens.append(staff._caller.set(staff.Caller(user=staff_user, browser_id="b")))
        tokens.append(portal._portal_caller.set(PortalCaller(user=client, browser_id="b")))

    yield set_callers
    for token in reversed(tokens):
        token.var.reset(token)


def call(handler: Any, *args: Any) -> Any:
    return run_coroutine(handler(FakeState(), *args))


def test_a_staff_session_never_runs_a_portal_handler(callers: Any) -> None:
    callers(OWNER, None)  # the owner holds every staff permission
    for name in ("sign_out", "switch_client"):
        handler = PortalShellState.event_handlers[name].fn
        args = ("3",) if name == "switch_client" else ()
        assert call(handler, *args) == REFUSED, name


def test_a_portal_session_never_runs_a_staff_handler(callers: Any) -> None:
    callers(None, client_user(BuiltinClientRole.FULL))
    assert call(ShellState.event_handlers["sign_out"].fn) == REFUSED
    assert call(TeamState.event_handlers["load"].fn) == REFUSED


def test_a_portal_handler_needs_its_client_permission(callers: Any) -> None:
    def pay(state: Any) -> int:
        return current_client_user().client_id

    guarded = portal_guard(ClientPermission.INVOICES_PAY)(pay)
    callers(OWNER, client_user(BuiltinClientRole.VIEW))
    assert call(guarded) == DENIED
    callers(None, client_user(BuiltinClientRole.BILLING, client_id=9))
    assert call(guarded) == 9
    callers(OWNER, None)
    assert call(guarded) == REFUSED
