"""The frame around every signed-in portal page, read in one transaction: the brand's look, the
unpaid badge only for roles that see invoices, and the agency's two-factor requirement."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlmodel import Session

from billing_app.db.invoicing import AgencySettings
from billing_app.domain.permissions import ClientPermission
from billing_app.services.access.portal_frame import portal_frame
from billing_app.services.agency import branding
from billing_app.services.common.clock import FixedClock

from .test_invoicing import draft, send, world
from .test_portal_invoices import client_user
from .test_portal_services import portal_user

__all__ = ["world"]


def test_the_frame_shows_the_brand_the_unpaid_badge_and_the_two_factor_gate(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    client_id = world["client"].id
    for _ in range(2):
        send(session, world, draft(session, world, clock), clock)
    draft(session, world, clock)  # a draft is never counted
    actor = client_user(client_id, user_id=portal_user(session, clock))

    frame = portal_frame(session, actor)
    assert frame.look.name == branding.default_brand(session).name
    assert frame.unpaid == 2
    assert not frame.two_factor_required

    membership = dataclasses.replace(
        actor.memberships[0], permissions=frozenset({ClientPermission.SUBSCRIPTIONS_VIEW})
    )
    services_only = dataclasses.replace(actor, memberships=(membership,))
    assert portal_frame(session, services_only).unpaid == 0  # no invoices, no badge

    agency = session.get(AgencySettings, 1)
    assert agency is not None
    agency.client_require_2fa = True
    session.add(agency)
    session.commit()
    assert portal_frame(session, actor).two_factor_required
