"""A staff member previews a client's portal to help them on the phone (docs/security.md item
52): from the client's page, in a new tab, under the client's brand, with a banner saying it is
read-only; the raw websocket of that tab can change nothing; leaving goes back to the client."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.models import AuditEvent
from billing_app.db.portal import CancellationRequest
from billing_app.ui.portal.account import PortalAccountState
from billing_app.ui.portal.security import PortalSecurityState
from billing_app.ui.portal.services import PortalServicesState

from .axe import assert_accessible
from .conftest import AppServer, ensure_owner
from .sockets import exchange
from .test_hardening import handler
from .test_invoice_journey import _staff, app_storage
from .test_portal_journeys import PHONE, _shot
from .test_portal_sockets import _client_with_invoice

pytestmark = pytest.mark.e2e
__all__ = ["app_storage"]


@pytest.mark.usefixtures("app_storage")
def test_staff_preview_a_clients_portal_read_only(app_server: AppServer, new_page: Any) -> None:
    ensure_owner(app_server)
    _, admin = _staff(app_server, "preview-admin", "admin")
    world = _client_with_invoice(app_server, admin, f"previewed-{uuid.uuid4().hex[:4]}")
    # An accountant helps the client on the phone.
    token, actor = _staff(app_server, "preview-accountant", "accountant")
    staff = new_page()
    staff.context.add_cookies(
        [{"name": "billing_session", "value": token, "url": app_server.base_url}]
    )
    staff.goto(f"{app_server.base_url}/clients/{world['client']}")
    with staff.context.expect_page() as opened:
        staff.click("#client-preview-portal")
    portal = opened.value
    banner = portal.locator("#portal-preview-banner")
    banner.wait_for()
    assert "Nothing can be changed here." in banner.inner_text()
    portal.get_by_text("€777.00").first.wait_for()  # what the client owes
    # A preview has no account of its own: no Security page, and the menu leaves the preview.
    assert portal.locator("#portal-nav-security").count() == 0
    assert_accessible(portal, "the portal preview (desktop)")
    _shot(portal, "preview-overview")
    portal.click("#portal-nav-invoices")
    portal.get_by_text(world["number"]).first.wait_for()
    portal.set_viewport_size(PHONE)
    assert_accessible(portal, "the portal preview (phone)")
    _shot(portal, "preview-invoices-phone")

    # The same tab's socket, with the browser's cookies, tries what a client could do.
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in portal.context.cookies())
    tab = portal.evaluate("window.sessionStorage.getItem('token')")
    updates = exchange(
        app_server,
        token=tab,
        cookie=cookie,
        events=[
            (handler(PortalServicesState, "load"), {}, "/portal/services"),
            (handler(PortalServicesState, "open_ask"), {"subscription_id": str(world["sub"])}, "/"),
            (handler(PortalServicesState, "ask"), {"form": {"reason": "from the preview"}}, "/"),
            (handler(PortalAccountState, "save"), {"form": {"company": "Taken over"}}, "/"),
            (handler(PortalSecurityState, "start_two_factor"), {}, "/portal/security"),
        ],
    )
    assert "Taken over" not in json.dumps(updates)
    with Session(app_server.engine) as session:
        asked = session.exec(
            select(CancellationRequest).where(
                col(CancellationRequest.subscription_id) == world["sub"]
            )
        ).all()
        opened_events = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "portal.preview_opened")
        ).all()
    assert asked == []
    assert any(actor.email in event.actor_label for event in opened_events)

    portal.set_viewport_size({"width": 1280, "height": 860})
    portal.click("#portal-leave-preview")
    portal.wait_for_url(f"**/clients/{world['client']}")
    portal.locator("#client-preview-portal").wait_for()  # the staff page, as before
