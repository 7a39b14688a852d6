"""Authorization twice (docs/architecture.md, "Layers" and "Adding things"; docs/security.md
item 22), enforced on the source: every service function a page (billing_app/ui) or an HTTP
route (billing_app/api) calls takes the actor right after the session, named ``actor`` or
``viewer``, and checks it itself with ``require(actor, Permission.X)``. The guard of the page
has checked the same, but the client portal, webhooks and jobs call the same use cases without
a page in front of them.

A call is any use of a services function from ui/ or api/: ``run(module.func, ...)``,
``module.func(...)``, an imported name (aliases resolved), or the function handed on as a value;
re-exports are followed to the module that defines the function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "billing_app"
SERVICES = "billing_app.services"
ACTOR_NAMES = ("actor", "viewer")
# The transaction runner the use cases are called through (services/common/transactions.py).
RUNNER = "common.transactions.run"

# Called before anyone is signed in, or the sign-in and sign-out machinery itself: there is no
# actor yet (or it is what is being established or ended), so there is nothing to require.
PUBLIC = {
    "card_payments.webhooks.receive_webhooks": "Stripe's webhook: its signature is the check",
    "access.auth.setup_required": "first run: is there an owner yet",
    "access.auth.create_owner": "first run: creates the owner",
    "access.auth.authenticate": "sign-in",
    "access.account.complete_second_factor": "sign-in, second step",
    "access.tickets.issue_ticket": "sign-in hand-off after setup or an accepted invitation",
    "access.sessions.redeem_ticket": "sign-in hand-off: the ticket becomes the session cookie",
    "access.sessions.resolve_session": "who the caller is: what the guard itself runs on",
    "access.sessions.logout": "sign-out",
    "access.sessions.end_session": "sign-out of the current session",
    "access.portal_preview.resolve_client_user": "who a portal request acts as: the portal guard",
    "access.portal_auth.logout": "portal sign-out",
    "access.password_reset.request_password_reset": "forgot password",
    "access.password_reset.check_reset_token": "reset link",
    "access.password_reset.reset_password": "reset link",
    "access.team.check_invitation": "invitation link",
    "access.team.accept_invitation": "invitation link",
    "access.secrets_check.check_secret_key": "startup check, before any request",
    "common.audit.record": "the guard recording its own refusal of an event",
    "access.portal_auth.sign_in": "portal sign-in",
    "access.portal_accept.check_portal_invitation": "portal invitation link",
    "access.portal_accept.accept_portal_invitation": "portal invitation link",
    "access.portal_auth.request_password_reset": "portal forgot password",
    "agency.portal_brand.portal_look": "a brand's public look (logo, colours), before sign-in",
    "agency.portal_brand.custom_domains": "the websocket's origin check, before anyone is known",
    "card_payments.pay_by_link.open_link": "an invoice's pay link: its token is the credential",
    "card_payments.pay_by_link.start_link_card": "pay link: its token is the credential",
    "card_payments.pay_by_link.pay_by_link": "pay link: its token is the credential",
    "card_payments.pay_by_link.finish_link_payment": "pay link: its token is the credential",
    "access.sso.start": "single sign-on: sends the browser to the provider",
    "access.sso.complete": "single sign-on: the provider's answer is the credential",
    "access.sso_config.sign_in_button": 'the sign-in page\'s "Sign in with" label',
    "access.tickets.pending_mfa_ticket": "sign-in, second step after single sign-on",
}

# Self-service: a signed-in member acting on their own account (services/access/account.py).
# They need no permission, but the account must be the actor's: the actor is the parameter.
SELF_SERVICE = {
    "access.account.change_password",
    "access.account.begin_totp_setup",
    "access.account.confirm_totp",
    "access.account.disable_totp",
    "access.account.regenerate_recovery_codes",
    "access.account.sign_out_other_sessions",
    "access.account.other_session_count",
    "access.account.two_factor_enabled",
    "access.account.recovery_codes_left",
    "card_payments.notices.payment_notices_choice",
    "card_payments.notices.set_payment_notices",
    # A client user on their own portal session (services/access/portal_auth.py): the client
    # they switch to must be one of their own memberships, checked there ("not found" else).
    "access.portal_auth.end_session",
    "access.portal_auth.switch_client",
    "access.portal_auth.two_factor_setup_required",
    "access.portal_auth.begin_totp_setup",
    "access.portal_auth.change_password",
    "access.portal_auth.other_session_count",
    "access.portal_auth.sign_out_everywhere_else",
    "access.portal_auth.confirm_totp",
    "access.portal_auth.disable_totp",
    "access.portal_auth.regenerate_recovery_codes",
}

# The checks a use case makes of its actor: a staff permission (services/common/actors.py), a
# client permission on the client the portal session looks at, or being a member of it
# (services/access/portal_identity.py).
CHECKS = {"require", "require_client", "require_member"}

# Pure helpers: they take no database session and read nothing stored.
PURE = {
    "access.roles.lacking": "which of a role's permissions an actor lacks",
    "agency.branding.time_zones": "the names of the time zones",
    "catalog.tax_rates.tax_rate_of": "a stored rate as a domain TaxRate",
    "common.tokens.new_token": "a random token",
    "invoicing.views.status_label": "an invoice status in words",
    "access.sso.message_for": "why single sign-on refused, in words",
    "access.sso_config.role_choices": "the roles just-in-time members may get",
    "agency.portal_brand.theme_css": "a public look's colours as a stylesheet",
}

# Not yet checked: services/invoicing (being changed by another engineer). Remove each entry
# once its function takes the actor and requires its permission.
NOT_YET_CHECKED: dict[str, str] = {}  # every use case of a page or route is checked


@dataclass(frozen=True)
class Use:
    """A services function used by a page or a route, and where."""

    name: str  # dotted below billing_app.services: "customers.clients.create_client"
    node: ast.FunctionDef | ast.AsyncFunctionDef
    where: str


def _module_path(module: str) -> Path | None:
    base = ROOT.parent / module.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _definition(
    module: str, name: str, seen: frozenset[str] = frozenset()
) -> tuple[str, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    """The module defining ``module.name`` and the function, re-exports followed; None for
    anything that is not a function (a class, a constant)."""
    path = _module_path(module)
    if path is None or f"{module}.{name}" in seen:
        return None
    for node in _tree(path).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return module, node
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    return _definition(node.module, alias.name, seen | {f"{module}.{name}"})
    return None


def _imports(tree: ast.Module) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Local names bound to services modules, and to names imported from them (aliases
    resolved), wherever the import is (local imports too)."""
    modules: dict[str, str] = {}
    names: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(SERVICES + ".") and alias.asname:
                    modules[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(SERVICES):
            assert node.module is not None
            for alias in node.names:
                local = alias.asname or alias.name
                full = f"{node.module}.{alias.name}"
                if _module_path(full) is not None:
                    modules[local] = full
                else:
                    names[local] = (node.module, alias.name)
    return modules, names


def _uses_in(path: Path) -> Iterator[Use]:
    tree = _tree(path)
    modules, names = _imports(tree)
    for node in ast.walk(tree):
        target: tuple[str, str] | None = None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in modules:
                target = (modules[node.value.id], node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names:
            target = names[node.id]
        if target is None:
            continue
        found = _definition(*target)
        if found is None:
            continue
        module, function = found
        name = f"{module.removeprefix(SERVICES + '.')}.{function.name}"
        if name != RUNNER:
            where = f"{path.relative_to(ROOT.parent).as_posix()}:{node.lineno}"
            yield Use(name, function, where)


@cache
def used_by_pages_and_routes() -> dict[str, Use]:
    """Every services function ui/ and api/ use, with the first place each is used."""
    uses: dict[str, Use] = {}
    for package in ("ui", "api"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for use in _uses_in(path):
                uses.setdefault(use.name, use)
    return uses


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [a.arg for a in [*node.args.posonlyargs, *node.args.args]]


def takes_actor(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    params = _parameters(node)
    return len(params) >= 2 and params[0] == "session" and params[1] in ACTOR_NAMES


def calls_require(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            if (isinstance(func, ast.Name) and func.id in CHECKS) or (
                isinstance(func, ast.Attribute) and func.attr in CHECKS
            ):
                return True
    return False


def problems(use: Use) -> list[str]:
    found = []
    if not takes_actor(use.node):
        found.append(f"takes ({', '.join(_parameters(use.node)[:2])}), not (session, actor)")
    if not calls_require(use.node):
        found.append("never calls require(actor, Permission.X)")
    return found


def _report(lines: list[str]) -> str:
    return "\n  " + "\n  ".join(lines)


def test_the_pages_and_routes_are_read() -> None:
    """The collector sees calls through run(), direct calls, imported names and aliases."""
    uses = used_by_pages_and_routes()
    for name in (
        "customers.client_queries.list_clients",  # run(client_queries.list_clients, ...)
        "reporting.dashboard.dashboard_figures",  # from ... import dashboard_figures
        "catalog.products.create_product",  # from ... import products as catalog_service
        "catalog.subscriptions.pause",  # handed on as a value
        "access.sessions.redeem_ticket",  # api/, through its re-export access.auth
        "invoicing.queries.list_invoices",  # a local import inside a method
    ):
        assert name in uses, f"{name} is not found among the calls of ui/ and api/"
    assert RUNNER not in uses


def test_every_use_case_of_a_page_or_route_takes_and_checks_the_actor() -> None:
    exempt = PUBLIC.keys() | SELF_SERVICE | PURE.keys() | NOT_YET_CHECKED.keys()
    offenders = [
        f"{use.name}: {'; '.join(found)}  (used at {use.where})"
        for use in sorted(used_by_pages_and_routes().values(), key=lambda u: u.name)
        if use.name not in exempt and (found := problems(use))
    ]
    assert not offenders, (
        "These services functions are called by ui/ or api/ but do not take the actor after the "
        "session and check it with require() (docs/architecture.md, 'Layers'):" + _report(offenders)
    )


def test_self_service_account_actions_take_the_actor() -> None:
    uses = used_by_pages_and_routes()
    offenders = [
        f"{name}: takes ({', '.join(_parameters(uses[name].node)[:2])})  (used at "
        f"{uses[name].where})"
        for name in sorted(SELF_SERVICE & uses.keys())
        if not takes_actor(uses[name].node)
    ]
    assert not offenders, (
        "A self-service action acts on the actor's own account, so it takes the actor:"
        + _report(offenders)
    )


def test_pure_helpers_take_no_database_session() -> None:
    uses = used_by_pages_and_routes()
    offenders = [
        f"{name} takes a session: it is not a pure helper"
        for name in sorted(PURE.keys() & uses.keys())
        if "session" in _parameters(uses[name].node)
    ]
    assert not offenders, _report(offenders)


def test_the_allow_lists_are_current() -> None:
    """Every exemption is still used by a page or a route, and an invoicing function that now
    takes and checks its actor leaves the not-yet list."""
    uses = used_by_pages_and_routes()
    listed = [*PUBLIC, *SELF_SERVICE, *PURE, *NOT_YET_CHECKED]
    assert len(listed) == len(set(listed)), "a function is on two lists"
    stale = [f"{name}: no longer used by ui/ or api/" for name in listed if name not in uses]
    stale += [
        f"{name}: now takes and checks its actor; remove it from NOT_YET_CHECKED"
        for name in NOT_YET_CHECKED
        if name in uses and not problems(uses[name])
    ]
    assert not stale, _report(stale)
