"""A staff member's read-only preview of a client's portal: it needs its permission, is
audited, shows what a view-only user sees, changes nothing, and ends with the staff session or
the permission."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.models import AuditEvent, StaffUser
from billing_app.domain.permissions import BuiltinRole, Permission
from billing_app.services.access import auth, colleagues, portal_auth, portal_preview
from billing_app.services.access.portal_identity import PREVIEW_READ_ONLY
from billing_app.services.catalog import portal_services
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed, NotFound
from billing_app.services.common.listing import ListRequest
from billing_app.services.customers import portal_account
from billing_app.services.invoicing import portal_invoices
from billing_app.settings import Settings

from .test_auth import PASSWORD, sign_in
from .test_invoicing import draft, send, world
from .test_portal_invitations import staff_with

__all__ = ["world"]


def preview_of(session: Session, client_id: int) -> Any:
    user = portal_preview.preview_user(session, staff_with(role=BuiltinRole.ACCOUNTANT), client_id)
    assert user is not None and user.preview and user.id == 0
    return user


def test_opening_a_preview_needs_the_permission_and_is_audited(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    client_id = world["client"].id
    with pytest.raises(NotAllowed):
        portal_preview.open_preview(session, staff_with(role=BuiltinRole.VIEWER), client_id)
    with pytest.raises(NotFound):
        portal_preview.open_preview(session, world["actor"], client_id + 999)
    assert portal_preview.open_preview(session, world["actor"], client_id, clock=clock) == (
        client_id
    )
    event = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "portal.preview_opened")
    ).one()
    assert event.target == world["client"].company
    # A viewer gets no preview even with the cookie in hand.
    viewer = staff_with(role=BuiltinRole.VIEWER)
    assert portal_preview.preview_user(session, viewer, client_id) is None


def test_the_preview_shows_what_a_view_only_user_sees(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    send(session, world, invoice_id, clock)
    user = preview_of(session, world["client"].id)
    page = portal_invoices.list_client_invoices(session, user, ListRequest(), clock=clock)
    assert [row.id for row in page.rows] == [invoice_id]
    assert portal_invoices.client_invoice(session, user, invoice_id, clock=clock).id == invoice_id
    assert portal_invoices.client_invoice_pdf(session, user, invoice_id).data.startswith(b"%PDF")
    assert portal_account.billing_details(session, user).company == world["client"].company
    assert portal_services.list_client_services(session, user, ListRequest()).rows == []


def test_the_preview_changes_nothing(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    user = preview_of(session, world["client"].id)
    before = session.exec(select(AuditEvent.id)).all()
    refused = [
        lambda: portal_services.request_cancellation(session, user, 1, "", clock=clock),
        lambda: portal_account.update_billing_details(
            session, user, portal_account.billing_details(session, user), clock=clock
        ),
        lambda: colleagues.invite_colleague(
            session, user, email="x@cafe.test", name="X", role="full", clock=clock
        ),
        lambda: portal_auth.change_password(
            session, user, current_password=PASSWORD, new_password=PASSWORD + "!"
        ),
        lambda: portal_auth.begin_totp_setup(session, user),
        lambda: portal_auth.confirm_totp(session, user, code="123456", current_password=PASSWORD),
        lambda: portal_auth.disable_totp(session, user, current_password=PASSWORD),
        lambda: portal_auth.regenerate_recovery_codes(session, user, current_password=PASSWORD),
        lambda: portal_auth.sign_out_everywhere_else(session, user, clock=clock),
        lambda: portal_auth.switch_client(session, user, world["client"].id),
    ]
    for attempt in refused:
        with pytest.raises(NotAllowed):
            attempt()
    assert session.exec(select(AuditEvent.id)).all() == before
    with pytest.raises(NotAllowed) as caught:
        portal_auth.begin_totp_setup(session, user)
    assert caught.value.message == PREVIEW_READ_ONLY


def test_the_preview_ends_with_the_staff_session_or_the_permission(
    session: Session, clock: FixedClock, settings: Settings, world: dict[str, Any]
) -> None:
    email = world["actor"].email
    token = sign_in(session, clock, settings, email, PASSWORD)
    client_id = world["client"].id
    user = portal_preview.resolve_preview(session, token, client_id, clock=clock)
    assert user is not None and user.email == email
    assert portal_preview.resolve_preview(session, token, client_id + 999, clock=clock) is None
    assert portal_preview.resolve_preview(session, None, client_id, clock=clock) is None

    owner = session.get(StaffUser, world["actor"].id)
    assert owner is not None
    owner.role_key = BuiltinRole.VIEWER.value  # demoted: no preview any more
    session.add(owner)
    session.commit()
    assert portal_preview.resolve_preview(session, token, client_id, clock=clock) is None
    owner.role_key = BuiltinRole.OWNER.value
    session.add(owner)
    session.commit()
    assert portal_preview.resolve_preview(session, token, client_id, clock=clock) is not None
    auth.logout(session, token, clock=clock)
    session.commit()
    assert portal_preview.resolve_preview(session, token, client_id, clock=clock) is None


def test_accountants_may_preview_viewers_may_not() -> None:
    assert staff_with(role=BuiltinRole.ACCOUNTANT).can(Permission.CLIENTS_PORTAL_PREVIEW)
    assert not staff_with(role=BuiltinRole.VIEWER).can(Permission.CLIENTS_PORTAL_PREVIEW)


def test_a_preview_cookie_decides_who_a_portal_request_is(
    session: Session, clock: FixedClock, settings: Settings, world: dict[str, Any]
) -> None:
    token = sign_in(session, clock, settings, world["actor"].email, PASSWORD)
    client_id = str(world["client"].id)
    resolve = portal_preview.resolve_client_user
    assert resolve(session, portal_preview.PortalCredentials(), clock=clock) is None
    previewed = resolve(
        session, portal_preview.PortalCredentials(staff_token=token, preview=client_id), clock=clock
    )
    assert previewed is not None and previewed.preview
    # A preview cookie without the staff session is nobody, whatever portal cookie comes along.
    lone = portal_preview.PortalCredentials(portal_token="x", preview=client_id)
    assert resolve(session, lone, clock=clock) is None
