"""Clients' own subscription changes attacked over the raw websocket (docs/security.md item 58):
an anonymous socket, a client user whose role may not change subscriptions, and another
client's user can neither preview nor change nor keep a client's subscription; a product's
self-service settings change only for staff who may write the catalog."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Product, ProductAlternative, Subscription, SubscriptionChange
from billing_app.db.invoicing import Invoice
from billing_app.db.portal import ClientMembership, PortalUser
from billing_app.services.access import portal_auth
from billing_app.services.billing.renewals import billing_run
from billing_app.services.catalog import product_self_service, subscriptions
from billing_app.services.common.tokens import hash_password
from billing_app.ui.admin.catalog.product_self_service import ProductSelfServiceState
from billing_app.ui.admin.catalog.products import ProductsState
from billing_app.ui.portal.service_change import PortalChangeState
from tests.support import BROWSER

from .conftest import AppServer
from .sockets import exchange
from .test_hardening import make_staff
from .test_invoice_journey import _catalog, _staff, app_storage

pytestmark = pytest.mark.e2e
__all__ = ["app_storage"]

RUN = uuid.uuid4().hex[:6]
PASSWORD = "Portal-Changes-Attacked-9"


def _handler(name: str, state: type = PortalChangeState) -> str:
    return f"{state.get_full_name()}.{name}"  # type: ignore[attr-defined]


def _client(server: AppServer, actor: Any, tag: str) -> dict[str, Any]:
    """A client with a billed subscription to a product clients may change (quantity 1 to 10,
    or the other product), and a subscription set to end."""
    world = _catalog(server, actor, f"change-{tag}")
    care, hosting = world["care"], world["hosting"]
    with Session(server.engine, expire_on_commit=False) as session:
        product_self_service.update_self_service(
            session,
            actor,
            care.id,
            client_quantity=True,
            quantity_min="1",
            quantity_max="10",
            alternative_ids=[hosting.id],
        )
        sub = subscriptions.attach(
            session,
            actor,
            subscriptions.AttachInput(
                client_id=world["client"].id, product_id=care.id, start_date=date.today()
            ),
        )
        ending = subscriptions.attach(
            session,
            actor,
            subscriptions.AttachInput(
                client_id=world["client"].id, product_id=hosting.id, start_date=date.today()
            ),
        )
        session.commit()
    billing_run(server.engine, today=date.today())
    with Session(server.engine) as session:
        assert ending.id is not None
        subscriptions.cancel_at_period_end(session, actor, ending.id)
        session.commit()
    return {"client": world["client"].id, "sub": sub.id, "ending": ending.id, "care": care.id}


def _portal_cookie(server: AppServer, client_id: int, tag: str, role: str) -> str:
    """A signed-in user of the client with a built-in ``role``: their session's cookie."""
    email = f"{tag}-{RUN}@portal-changes.test"
    with Session(server.engine) as session:
        user = PortalUser(
            email=email,
            name=tag.capitalize(),
            password_hash=hash_password(PASSWORD),
            created_at=datetime.now(UTC),
        )
        session.add(user)
        session.flush()
        assert user.id is not None
        session.add(
            ClientMembership(
                portal_user_id=user.id,
                client_id=client_id,
                role_key=role,
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
        outcome = portal_auth.sign_in(
            session, email=email, password=PASSWORD, browser=BROWSER, settings=server.settings
        )
        session.commit()
        assert outcome.ticket, outcome.error
        token = portal_auth.redeem_ticket(
            session, outcome.ticket, browser=BROWSER, settings=server.settings
        )
        session.commit()
    assert token
    return f"billing_portal={token}"


def _state(server: AppServer, world: dict[str, Any]) -> dict[str, Any]:
    """Everything an attack could change: the subscriptions, their changes, the invoices."""
    with Session(server.engine) as session:
        subs = [session.get(Subscription, world[k]) for k in ("sub", "ending")]
        return {
            "subs": [
                (s.quantity, s.product_id, s.status, s.cancel_at_period_end) for s in subs if s
            ],
            "changes": session.exec(
                select(func.count())
                .select_from(SubscriptionChange)
                .where(col(SubscriptionChange.subscription_id).in_([world["sub"], world["ending"]]))
            ).one(),
            "invoices": session.exec(
                select(func.count())
                .select_from(Invoice)
                .where(col(Invoice.client_id) == world["client"])
            ).one(),
        }


def _attack(world: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """Open the change dialog, preview a new quantity and plan, confirm, keep the ending one."""
    sub, ending = str(world["sub"]), str(world["ending"])
    path = "/portal/services"
    return [
        (_handler("open_change"), {"subscription_id": sub}, path),
        (_handler("pick_quantity"), {"value": "4"}, path),
        (_handler("pick_plan"), {"value": "0"}, path),
        (_handler("confirm"), {}, path),
        (_handler("set_change_open"), {"value": True}, path),
        (_handler("keep"), {"subscription_id": ending}, path),
    ]


def _previews(updates: list[dict[str, Any]]) -> list[Any]:
    """The previews the server sent to this tab (what is paid now, the new price)."""
    name = PortalChangeState.get_full_name()
    found = []
    for update in updates:
        for key, value in (update.get("delta") or {}).get(name, {}).items():
            if key.startswith("quote_view") and value:
                found.append(value)
    return found


@pytest.mark.usefixtures("app_storage")
def test_nobody_but_the_clients_own_changer_previews_or_changes_its_subscriptions(
    app_server: AppServer,
) -> None:
    _, actor = _staff(app_server, "change-socket", "admin")
    mine = _client(app_server, actor, "mine")
    theirs = _client(app_server, actor, "theirs")
    billing_only = _portal_cookie(app_server, mine["client"], "billing", "billing")
    other = _portal_cookie(app_server, theirs["client"], "other", "full")
    before = _state(app_server, mine)

    for cookie in (None, billing_only, other):
        updates = exchange(app_server, token=str(uuid.uuid4()), cookie=cookie, events=_attack(mine))
        assert _previews(updates) == [], cookie
        assert "per period" not in json.dumps(updates)
        assert _state(app_server, mine) == before, cookie

    # The client's own user with the permission does see the preview (and changes nothing
    # without confirming): the attacks above were refused, not broken.
    owner = _portal_cookie(app_server, mine["client"], "owner", "full")
    updates = exchange(app_server, token=str(uuid.uuid4()), cookie=owner, events=_attack(mine)[:2])
    assert _previews(updates), "the client's own user sees the preview"
    assert _state(app_server, mine) == before


@pytest.mark.usefixtures("app_storage")
def test_only_catalog_writers_change_a_products_self_service(app_server: AppServer) -> None:
    _, actor = _staff(app_server, "self-service-socket", "admin")
    world = _client(app_server, actor, "catalog")
    _, viewer = make_staff(app_server, "self-service-viewer", "viewer")
    portal_user = _portal_cookie(app_server, world["client"], "portal-admin", "full")
    product_id = str(world["care"])

    def settings() -> tuple[Any, ...]:
        with Session(app_server.engine) as session:
            product = session.get(Product, world["care"])
            assert product is not None
            alternatives = session.exec(
                select(ProductAlternative.alternative_id).where(
                    col(ProductAlternative.product_id) == world["care"]
                )
            ).all()
            return (
                product.client_quantity,
                product.client_quantity_min,
                product.client_quantity_max,
                sorted(alternatives),
            )

    before = settings()
    for cookie in (None, viewer, portal_user):
        updates = exchange(
            app_server,
            token=str(uuid.uuid4()),
            cookie=cookie,
            events=[
                (_handler("open_self_service", ProductsState), {"product_id": product_id}, "/"),
                (_handler("open_for", ProductSelfServiceState), {"product_id": product_id}, "/"),
                (_handler("set_client_quantity", ProductSelfServiceState), {"value": False}, "/"),
                (
                    _handler("save", ProductSelfServiceState),
                    {"form": {"quantity_min": "2", "quantity_max": "3"}},
                    "/",
                ),
            ],
        )
        opened = [
            u
            for u in updates
            for k, v in (u.get("delta") or {})
            .get(ProductSelfServiceState.get_full_name(), {})
            .items()
            if k.startswith(("dialog_open", "choices")) and v
        ]
        assert opened == [], cookie
        assert settings() == before, cookie
