"""Guarded handlers driven over the real websocket (docs/security.md items 21, 22, 26): as an
anonymous caller and as a Viewer they are refused and change nothing; a foreign Origin cannot
connect."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import socketio
from sqlmodel import Session, col, func, select

from billing_app.db.card_payments import PaymentSettings
from billing_app.db.models import (
    AuditEvent,
    CustomRole,
    Invitation,
    OutboxEmail,
    StaffUser,
)
from billing_app.services.access import roles, team
from billing_app.services.access.identity import current_user_from
from billing_app.services.common import outbox
from billing_app.settings import Settings
from billing_app.ui.admin.audit.audit_log import AuditState
from billing_app.ui.admin.clients.import_stripe import StripeImportState
from billing_app.ui.admin.dashboard.dashboard import DashboardState
from billing_app.ui.admin.emails.emails import EmailsState
from billing_app.ui.admin.settings.payments import PaymentsSettingsState
from billing_app.ui.admin.settings.stripe_events import StripeEventsState
from billing_app.ui.admin.team.roles import RolesState
from billing_app.ui.admin.team.team import TeamState

from .conftest import AppServer, emailed_link, ensure_owner, session_token
from .sockets import NAMESPACE, exchange, run_async
from .test_clients_journeys import customer_attempts, customer_snapshot
from .test_invoice_journey import invoice_attempts, invoice_snapshot

pytestmark = pytest.mark.e2e

PASSWORD = "viewer sees but never touches"


def call(
    server: AppServer, cookie: str | None, name: str, payload: dict[str, Any], path: str = "/team"
) -> list[dict[str, Any]]:
    """Send one event from a new tab, as the browser would, and collect its updates."""
    return exchange(
        server, token=str(uuid.uuid4()), cookie=cookie, events=[(name, payload, path)], quiet=0.6
    )


def events_of(updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for u in updates for e in u.get("events") or []]


def delta_values(updates: list[dict[str, Any]], state: type) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for u in updates:
        for key, value in (u.get("delta") or {}).get(state.get_full_name(), {}).items():  # type: ignore[attr-defined]
            merged[key.removesuffix("_rx_state_")] = value
    return merged


@pytest.fixture(scope="module")
def world(app_server: AppServer) -> dict[str, Any]:
    """An owner, a Viewer with an open session, a custom role and a dead email to act upon."""
    settings = Settings(base_url=app_server.base_url)
    ensure_owner(app_server)
    with Session(app_server.engine, expire_on_commit=False) as session:
        owner_row = session.exec(
            select(StaffUser).where(col(StaffUser.role_key) == "owner")
        ).first()
        assert owner_row is not None and owner_row.id is not None
        owner = current_user_from(session, owner_row)
        team.invite(session, owner, email="vic@studio-nord.test", role="viewer", settings=settings)
        session.commit()
        link = emailed_link(app_server, "vic@studio-nord.test", "/accept-invite")
        team.accept_invitation(
            session, token=link.split("token=")[1], name="Vic Viewer", password=PASSWORD
        )
        role_id = roles.create_role(
            session,
            owner,
            name=f"Temp {uuid.uuid4().hex[:6]}",
            description="",
            permissions=["clients.read"],
        )
        dead = outbox.enqueue_email(
            session,
            "password_changed",
            "nobody@studio-nord.test",
            {"name": "N"},
            settings=settings,
        )
        dead.status = "dead"
        session.add(dead)
        session.commit()
    viewer_token = session_token(app_server, "vic@studio-nord.test", PASSWORD)
    return {
        "owner_id": owner_row.id,
        "role_id": role_id,
        "dead_email_id": dead.id,
        "viewer_cookie": f"billing_session={viewer_token}",
    }


def snapshot(server: AppServer) -> dict[str, Any]:
    with Session(server.engine) as session:
        return {
            "users": sorted(
                (u.email, u.role_key, u.is_active) for u in session.exec(select(StaffUser))
            ),
            "invitations": session.exec(select(func.count()).select_from(Invitation)).one(),
            "roles": sorted(r.name for r in session.exec(select(CustomRole))),
            # Delivery by the periodic job (queued -> sent) may happen meanwhile; what must not
            # happen is a refused handler reviving a dead email or queuing a new one.
            "emails": sorted(
                (e.id, "dead" if e.status == "dead" else "live")
                for e in session.exec(select(OutboxEmail))
            ),
            # The job handles events meanwhile; a replay is what must not happen (audited).
            "stripe_replays": session.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(col(AuditEvent.action) == "stripe.event_replayed")
            ).one(),
            "stripe_keys": [
                (p.stripe_publishable_key, p.stripe_secret_key)
                for p in session.exec(select(PaymentSettings))
            ],
            **customer_snapshot(session),
            **invoice_snapshot(session),
        }


def attempts(world: dict[str, Any]) -> list[tuple[type, str, dict[str, Any], str]]:
    return [
        (TeamState, "invite", {"form": {"email": "intruder@evil.test", "role": "owner"}}, "/team"),
        (TeamState, "set_active", {"user_id": str(world["owner_id"]), "active": False}, "/team"),
        (TeamState, "change_role", {"user_id": str(world["owner_id"]), "role": "viewer"}, "/team"),
        (RolesState, "delete_role", {"role_id": str(world["role_id"])}, "/roles"),
        (RolesState, "new_role", {}, "/roles"),
        (EmailsState, "retry", {"email_id": str(world["dead_email_id"])}, "/emails"),
        (
            PaymentsSettingsState,
            "save",
            {
                "form": {
                    "publishable_key": "pk_test_attackerPublishable",
                    "secret_key": "sk_test_attackerSecret01",
                    "webhook_secret": "whsec_attackerSecret01",
                }
            },
            "/settings/payments",
        ),
        (PaymentsSettingsState, "test", {}, "/settings/payments"),
        (StripeEventsState, "replay", {"row_id": "1"}, "/settings/payments/events"),
        (StripeImportState, "run_import", {}, "/clients/import-stripe"),
        *customer_attempts(),
        *invoice_attempts(),
    ]


@pytest.mark.parametrize("who", ["anonymous", "viewer"])
def test_changes_are_refused_and_nothing_changes(
    app_server: AppServer, world: dict[str, Any], who: str
) -> None:
    cookie = world["viewer_cookie"] if who == "viewer" else None
    before = snapshot(app_server)
    for state, handler, payload, path in attempts(world):
        updates = call(app_server, cookie, f"{state.get_full_name()}.{handler}", payload, path)
        events = events_of(updates)
        if who == "anonymous":
            assert any(
                e["name"] == "_redirect" and e["payload"]["path"].startswith("/login")
                for e in events
            ), f"{handler}: {events}"
        else:
            assert any("not allowed" in json.dumps(e) for e in events), f"{handler}: {events}"
        assert snapshot(app_server) == before, f"{who} changed something with {handler}"


def test_viewer_denials_are_audited(app_server: AppServer, world: dict[str, Any]) -> None:
    call(
        app_server,
        world["viewer_cookie"],
        f"{TeamState.get_full_name()}.invite",
        {"form": {"email": "x@evil.test", "role": "admin"}},
    )
    with Session(app_server.engine) as session:
        denial = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action) == "permission.denied")
            .where(col(AuditEvent.actor_label) == "vic@studio-nord.test")
            .order_by(col(AuditEvent.id).desc())
        ).first()
    assert denial is not None
    assert denial.target == "team.TeamState.invite"
    assert denial.details == "needs team.manage"


@pytest.mark.parametrize(
    ("state", "path", "secret_var"),
    [
        (TeamState, "/team", "members"),
        (AuditState, "/audit", "rows"),
        (EmailsState, "/emails", "rows"),
        (PaymentsSettingsState, "/settings/payments", "webhook_url"),
        (StripeEventsState, "/settings/payments/events", "rows"),
    ],
)
def test_pages_a_viewer_may_not_see_send_no_data(
    app_server: AppServer, world: dict[str, Any], state: type, path: str, secret_var: str
) -> None:
    updates = call(app_server, world["viewer_cookie"], f"{state.get_full_name()}.load", {}, path)
    values = delta_values(updates, state)
    assert values.get("status") == "denied"
    assert not values.get(secret_var)


def test_a_viewer_may_load_the_dashboard(app_server: AppServer, world: dict[str, Any]) -> None:
    updates = call(
        app_server, world["viewer_cookie"], f"{DashboardState.get_full_name()}.load", {}, "/"
    )
    values = delta_values(updates, DashboardState)
    assert values.get("status") == "ok"
    assert values.get("activity") in (None, [])  # the audit excerpt needs audit.view


def test_a_forged_or_revoked_session_is_anonymous(
    app_server: AppServer, world: dict[str, Any]
) -> None:
    forged = call(app_server, "billing_session=forged", f"{TeamState.get_full_name()}.load", {})
    assert any(e["name"] == "_redirect" for e in events_of(forged))


def test_a_foreign_origin_cannot_open_the_websocket(app_server: AppServer) -> None:
    async def connect(origin: str) -> bool:
        client = socketio.AsyncClient(reconnection=False)
        try:
            await client.connect(
                f"{app_server.base_url}?token={uuid.uuid4()}",
                socketio_path="/_event",
                transports=["websocket"],
                headers={"Origin": origin},
                wait_timeout=5,
                namespaces=[NAMESPACE],
            )
        except socketio.exceptions.ConnectionError:
            return False
        await client.disconnect()
        return True

    assert run_async(connect(app_server.base_url)) is True
    assert run_async(connect("https://evil.example")) is False
