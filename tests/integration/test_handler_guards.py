"""Deny by default (docs/architecture.md): every registered event handler of our states is
guarded by a permission, requires a signed-in user, or is on the explicit list of public
handlers below. Staff and portal handlers are guarded by their own realm's guard, on their own
realm's states (docs/security.md item 45)."""

from __future__ import annotations

from collections.abc import Iterator

import reflex as rx

import billing_app.billing_app  # noqa: F401  (registers every page and state)
from billing_app.domain.permissions import ClientPermission, Permission
from billing_app.ui.session.portal import PORTAL_SIGNED_IN, PortalSessionState, portal_marker
from billing_app.ui.session.staff import GUARD_ATTR, PUBLIC, READ_PERMISSION, SIGNED_IN

# Handlers anyone may call: the pages used before signing in. Each relies on the services for
# its checks (one-time setup, throttling, hashed single-use tokens).
PUBLIC_HANDLERS = {
    "SetupState.load",
    "SetupState.submit",
    "LoginState.load",
    "LoginState.submit",
    "LoginState.submit_code",
    "LoginState.cancel_code",
    "ForgotPasswordState.submit",
    "ResetPasswordState.load",
    "ResetPasswordState.submit",
    "AcceptInviteState.load",
    "AcceptInviteState.submit",
    # Why single sign-on did not sign someone in: a fixed sentence picked by a reason word.
    "SsoErrorState.load",
    # The portal's public pages (ui/portal/login.py, accept_invite.py).
    "PortalLoginState.load",
    "PortalLoginState.submit",
    "PortalLoginState.submit_code",
    "PortalLoginState.cancel_code",
    "PortalForgotState.load",
    "PortalForgotState.submit",
    "PortalResetState.load",
    "PortalResetState.submit",
    "PortalAcceptState.load",
    "PortalAcceptState.submit",
    # An invoice's emailed pay link (ui/portal/pay_link.py): its token is the credential,
    # checked by the services on every event.
    "PayLinkState.load",
    "PayLinkState.start",
    "PayLinkState.form_ready",
    "PayLinkState.choose_keep",
    "PayLinkState.pay",
    "PayLinkState.card_ready",
    "PayLinkState.bank_answered",
}
# Reflex's own handlers. `setvar(name, value)` only calls our `set_<name>` handlers, which are
# guarded themselves (checked below).
FRAMEWORK_HANDLERS = {
    "setvar",
    "hydrate",
    "set_is_hydrated",
    "hydrate_and_load",
    "update_vars_internal",
    "on_load_internal",
    "handle_frontend_exception",
}


def all_states(cls: type[rx.State] = rx.State) -> Iterator[type[rx.State]]:
    yield cls
    for sub in cls.get_substates():
        yield from all_states(sub)


def our_states() -> list[type[rx.State]]:
    return [s for s in all_states() if s.__module__.startswith("billing_app.")]


def test_our_states_are_registered() -> None:
    names = {s.__name__ for s in our_states()}
    assert {
        "SessionState",
        "TeamState",
        "RolesState",
        "EmailsState",
        "AuditState",
        "DashboardState",
        "LoginState",
        "ClientUsersState",
        "ClientInvitationsState",
        "ClientRolesState",
        "PortalSettingsState",
        "PortalChangeState",
        "ProductSelfServiceState",
    } <= names


def test_every_handler_is_guarded_or_explicitly_public() -> None:
    permissions = {p.value for p in Permission}
    portal_guards = {PORTAL_SIGNED_IN} | {portal_marker(p) for p in ClientPermission}
    unguarded: list[str] = []
    wrongly_public: list[str] = []
    for state in our_states():
        for name, handler in state.event_handlers.items():
            if name in FRAMEWORK_HANDLERS:
                continue
            label = f"{state.__name__}.{name}"
            marker = getattr(handler.fn, GUARD_ATTR, None)
            if marker == PUBLIC:
                if label not in PUBLIC_HANDLERS:
                    wrongly_public.append(label)
            elif marker == READ_PERMISSION:
                # A list handler (ui/kit/list_state.py): needs the read permission of the
                # state's LIST spec, which must name one.
                spec = getattr(state, "LIST", None)
                if not isinstance(getattr(spec, "read", None), Permission):
                    unguarded.append(label)
            elif marker in portal_guards:
                pass  # portal_guard: a client permission, or any signed-in client user
            elif marker != SIGNED_IN and marker not in permissions:
                unguarded.append(label)
    assert unguarded == [], f"handlers without a permission: {unguarded}"
    assert wrongly_public == [], f"public handlers not on the allow-list: {wrongly_public}"


def test_each_realm_guards_only_its_own_states() -> None:
    """A portal handler is on a portal state and guarded by portal_guard; a staff handler is
    on a staff state and guarded by the staff guard: neither realm's session can run the
    other's handlers, and neither realm's binding leaves the other's states unwiped."""
    portal_guards = {PORTAL_SIGNED_IN} | {portal_marker(p) for p in ClientPermission}
    misplaced: list[str] = []
    for state in our_states():
        on_portal = issubclass(state, PortalSessionState)
        for name, handler in state.event_handlers.items():
            marker = getattr(handler.fn, GUARD_ATTR, None)
            if name in FRAMEWORK_HANDLERS or marker in (None, PUBLIC):
                continue
            if (marker in portal_guards) != on_portal:
                misplaced.append(f"{state.__name__}.{name} ({marker})")
    assert misplaced == [], f"handlers guarded by the other realm's guard: {misplaced}"
    assert {"PortalSessionState", "PortalShellState"} <= {s.__name__ for s in our_states()}


def test_setvar_cannot_reach_an_unguarded_setter() -> None:
    for state in our_states():
        for attr in dir(state):
            if not attr.startswith("set_") or attr in FRAMEWORK_HANDLERS:
                continue
            assert attr in state.event_handlers, f"{state.__name__}.{attr} is not a handler"
            fn = state.event_handlers[attr].fn
            assert getattr(fn, GUARD_ATTR, None) not in (None, PUBLIC), f"{state.__name__}.{attr}"


def test_identity_lives_only_in_backend_vars_or_the_database() -> None:
    for state in our_states():
        for var in state.base_vars:
            assert var not in {"user_id", "role_key", "token", "session_token", "permissions"}, (
                f"{state.__name__}.{var} would let the browser hold identity"
            )


def test_no_class_setting_became_a_var_the_browser_sees() -> None:
    """Reflex turns an unannotated class attribute of a state into a var sent to the browser:
    settings such as a list's spec must be ClassVars."""
    for state in our_states():
        shouted = [name for name in state.base_vars if name.isupper()]
        assert shouted == [], f"{state.__name__}: {shouted}"


def test_no_state_of_ours_has_a_computed_var() -> None:
    """The realm bindings leave Reflex's page-load bookkeeping events unbound
    (ui/session/staff.py, PAGE_LOAD_BOOKKEEPING): safe only while their deltas can carry
    nothing of ours. A computed var is recomputed into any event's delta, so a signed-out tab
    reused by a cookieless socket could read one: none may exist."""
    computed = {
        f"{state.__name__}.{name}" for state in our_states() for name in state.computed_vars
    }
    assert not computed
