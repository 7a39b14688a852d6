"""The portal attacked over the raw websocket (docs/security.md items 23, 36, 45): another
client's user, an anonymous socket and a socket reusing a signed-out tab get nothing of a
client's invoices, and can change nothing of its subscriptions."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.portal import CancellationRequest, ClientMembership, PortalUser
from billing_app.services.access import portal_auth
from billing_app.services.catalog import subscriptions
from billing_app.services.common.tokens import hash_password
from billing_app.services.invoicing import drafts, sending
from billing_app.ui.portal.invoice import PortalInvoiceState
from billing_app.ui.portal.invoices import PortalInvoicesState
from billing_app.ui.portal.services import PortalServicesState
from billing_app.ui.session.portal import PortalShellState
from tests.support import BROWSER

from .conftest import AppServer
from .sockets import exchange
from .test_hardening import HYDRATE, every_handler, handler
from .test_invoice_journey import _catalog, _staff, app_storage

pytestmark = pytest.mark.e2e
__all__ = ["app_storage"]

RUN = uuid.uuid4().hex[:6]
PASSWORD = "Portal-Under-Attack-7"


def _client_with_invoice(server: AppServer, actor: Any, tag: str) -> dict[str, Any]:
    # Its own names: test_portal_journeys makes a "first" and a "second" client in the same run.
    world = _catalog(server, actor, f"socket-{tag}")
    with Session(server.engine, expire_on_commit=False) as session:
        sub = subscriptions.attach(
            session,
            actor,
            subscriptions.AttachInput(
                client_id=world["client"].id, product_id=world["care"].id, start_date=date.today()
            ),
        )
        invoice_id = drafts.save_draft(
            session,
            actor,
            drafts.DraftForm(
                client_id=world["client"].id,
                lines=(drafts.LineForm(f"Secret work {tag}", "1", "777"),),
            ),
        )
        number = sending.send_invoice(session, actor, invoice_id).number
        session.commit()
    return {"client": world["client"].id, "sub": sub.id, "invoice": invoice_id, "number": number}


def _portal_cookie(server: AppServer, client_id: int, tag: str) -> str:
    """A portal user of the client, signed in: the cookie header of their session."""
    email = f"{tag}-{RUN}@portal.test"
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
                role_key="full",
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


def _invoice_page(invoice_id: int) -> tuple[str, dict[str, Any], str]:
    path = f"/portal/invoices/{invoice_id}?invoice_id={invoice_id}"
    return (handler(PortalInvoiceState, "load"), {}, path)


@pytest.mark.usefixtures("app_storage")
def test_another_clients_user_gets_nothing_and_changes_nothing(app_server: AppServer) -> None:
    _, actor = _staff(app_server, "portal-socket", "admin")
    first = _client_with_invoice(app_server, actor, "first")
    second = _client_with_invoice(app_server, actor, "second")
    other = _portal_cookie(app_server, second["client"], "other")

    updates = exchange(
        app_server,
        token=str(uuid.uuid4()),
        cookie=other,
        events=[
            _invoice_page(first["invoice"]),
            (handler(PortalInvoicesState, "load"), {}, "/portal/invoices"),
            (handler(PortalShellState, "switch_client"), {"client_id": str(first["client"])}, "/"),
            (handler(PortalServicesState, "load"), {}, "/portal/services"),
            (handler(PortalServicesState, "open_ask"), {"subscription_id": str(first["sub"])}, "/"),
            (handler(PortalServicesState, "ask"), {"form": {"reason": "mine now"}}, "/"),
        ],
    )
    seen = json.dumps(updates)
    assert first["number"] not in seen and "Secret work first" not in seen
    assert second["number"] in seen  # their own invoices do show
    with Session(app_server.engine) as session:
        asked = session.exec(
            select(CancellationRequest).where(
                col(CancellationRequest.subscription_id) == first["sub"]
            )
        ).all()
    assert asked == []


@pytest.mark.usefixtures("app_storage")
def test_anonymous_and_signed_out_sockets_get_nothing_of_the_client(
    app_server: AppServer,
) -> None:
    _, actor = _staff(app_server, "portal-socket2", "admin")
    world = _client_with_invoice(app_server, actor, "third")
    cookie = _portal_cookie(app_server, world["client"], "owner")
    tab = str(uuid.uuid4())
    before = exchange(
        app_server, token=tab, cookie=cookie, events=[_invoice_page(world["invoice"])]
    )
    assert world["number"] in json.dumps(before)

    anonymous = exchange(
        app_server,
        token=str(uuid.uuid4()),
        cookie=None,
        events=[_invoice_page(world["invoice"]), *every_handler()],
    )
    assert world["number"] not in json.dumps(anonymous)

    exchange(
        app_server,
        token=tab,
        cookie=cookie,
        events=[(handler(PortalShellState, "sign_out"), {}, "/")],
    )
    after = exchange(
        app_server,
        token=tab,
        cookie=None,
        events=[(HYDRATE, {}, "/portal"), _invoice_page(world["invoice"]), *every_handler()],
    )
    assert world["number"] not in json.dumps(after)
    with Session(app_server.engine) as session:
        asked = select(CancellationRequest).where(
            col(CancellationRequest.subscription_id) == world["sub"]
        )
        assert session.exec(asked).all() == []
