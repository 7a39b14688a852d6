"""Authorization twice (docs/security.md item 22, docs/architecture.md "Layers"): each use case
refuses, by itself and before writing anything, an actor whose role lacks its permission - what
the page's guard also does, but the client portal, webhooks and jobs have no page - and lets
SYSTEM (jobs, the CLI, webhooks) through. One representative set of calls per area;
tests/unit/test_service_actors.py checks every use case a page calls on the source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Client, Product, Subscription, SubscriptionEvent, TaxRateRow
from billing_app.db.invoicing import AgencySettings, Brand
from billing_app.db.models import AuditEvent, CustomRole, Invitation, StaffUser
from billing_app.domain.permissions import BUILTIN_ROLE_PERMISSIONS, BuiltinRole, Permission
from billing_app.services.access import roles, team
from billing_app.services.access.identity import CurrentUser
from billing_app.services.agency import branding
from billing_app.services.catalog import (
    product_queries,
    subscription_queries,
    subscriptions,
    tax_rates,
)
from billing_app.services.catalog import products as catalog
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed
from billing_app.services.customers import client_queries, clients, imports
from billing_app.services.reporting import dashboard
from billing_app.settings import Settings

from .test_auth import make_owner
from .test_clients import add_client, add_product, client_input
from .test_team import as_user

CSV = b"company,email\nAtelier Nord,hello@atelier-nord.test\n"

BRAND = branding.BrandInput(
    name="Nord Hosting",
    primary_color="#0f766e",
    accent_color="#f59e0b",
    sender_name="",
    reply_to="",
    support_email="",
    support_url="",
    email_footer="",
    custom_domain="",
)

AGENCY = branding.AgencyInput(
    legal_name="Studio Nord Oy",
    address="Mannerheimintie 1, Helsinki",
    tax_id="",
    email="billing@studio-nord.test",
    default_currency="EUR",
    locale="en",
    time_zone="Europe/Helsinki",
    payment_terms_days="14",
    number_format="INV-{YYYY}-{SEQ:4}",
    number_reset="yearly",
)


def member(*permissions: Permission, role: BuiltinRole | None = None) -> CurrentUser:
    """A staff member holding a built-in role's permissions, or exactly ``permissions``."""
    held = BUILTIN_ROLE_PERMISSIONS[role] if role else frozenset(permissions)
    return CurrentUser(
        id=999,
        name="Morgan Member",
        email="morgan@agency.test",
        role_key=role.value if role else "custom",
        role_label=role.value.capitalize() if role else "Custom",
        permissions=held,
    )


VIEWER = member(role=BuiltinRole.VIEWER)  # reads; changes nothing
ACCOUNTANT = member(role=BuiltinRole.ACCOUNTANT)  # no catalog, settings, branding or team
ADMIN = member(role=BuiltinRole.ADMIN)  # everything but roles.manage
NOBODY = member()  # a custom role with no permission ticked


@dataclass(frozen=True)
class Stock:
    owner: CurrentUser
    client_id: int
    product_id: int
    tax_rate_id: int
    subscription_id: int
    brand_id: int
    invitation_id: int
    member_id: int


@pytest.fixture
def stock(session: Session, clock: FixedClock, settings: Settings) -> Stock:
    owner = as_user(session, make_owner(session, clock))
    client = add_client(session, clock)
    product_id = add_product(session, clock)
    rate = tax_rates.create_tax_rate(session, SYSTEM, name="VAT", percent="20", clock=clock)
    sub = subscriptions.attach(
        session,
        SYSTEM,
        subscriptions.AttachInput(
            client_id=client.id or 0, product_id=product_id, start_date=date(2026, 3, 1)
        ),
        clock=clock,
    )
    brand_id = branding.create_brand(session, SYSTEM, BRAND, clock=clock)
    invitation_id = team.invite(
        session, owner, email="new@agency.test", role="viewer", clock=clock, settings=settings
    )
    session.commit()
    return Stock(
        owner=owner,
        client_id=client.id or 0,
        product_id=product_id,
        tax_rate_id=rate.id or 0,
        subscription_id=sub.id or 0,
        brand_id=brand_id,
        invitation_id=invitation_id,
        member_id=owner.id,
    )


Call = Callable[[Session, Stock, FixedClock], Any]

# area -> (actor lacking the permission, the call), for each use case tried.
REFUSED: dict[str, list[tuple[CurrentUser, Call]]] = {
    "clients": [
        (VIEWER, lambda s, k, c: clients.create_client(s, VIEWER, client_input(email="x@y.test"))),
        (VIEWER, lambda s, k, c: clients.update_client(s, VIEWER, k.client_id, client_input())),
        (VIEWER, lambda s, k, c: clients.archive_client(s, VIEWER, k.client_id, clock=c)),
        (NOBODY, lambda s, k, c: client_queries.client_overview(s, NOBODY, k.client_id)),
        (NOBODY, lambda s, k, c: client_queries.export_csv(s, NOBODY)),
        (
            member(Permission.CLIENTS_READ),
            lambda s, k, c: client_queries.client_payments(
                s, member(Permission.CLIENTS_READ), k.client_id
            ),
        ),
    ],
    "imports": [
        (VIEWER, lambda s, k, c: imports.preview(s, VIEWER, CSV)),
        (VIEWER, lambda s, k, c: imports.import_valid(s, VIEWER, CSV, clock=c)),
    ],
    "catalog": [
        (
            ACCOUNTANT,
            lambda s, k, c: catalog.create_product(
                s, ACCOUNTANT, catalog.ProductInput(name="Care", price="9", currency="EUR")
            ),
        ),
        (
            ACCOUNTANT,
            lambda s, k, c: catalog.set_product_archived(s, ACCOUNTANT, k.product_id, True),
        ),
        (ACCOUNTANT, lambda s, k, c: catalog.delete_product(s, ACCOUNTANT, k.product_id)),
        (NOBODY, lambda s, k, c: product_queries.product_row(s, NOBODY, k.product_id)),
    ],
    "tax rates": [
        (
            ACCOUNTANT,
            lambda s, k, c: tax_rates.create_tax_rate(s, ACCOUNTANT, name="GST", percent="10"),
        ),
        (
            ACCOUNTANT,
            lambda s, k, c: tax_rates.set_tax_rate_archived(s, ACCOUNTANT, k.tax_rate_id, True),
        ),
        (NOBODY, lambda s, k, c: tax_rates.get_tax_rate(s, NOBODY, k.tax_rate_id)),
        (NOBODY, lambda s, k, c: tax_rates.tax_rate_choices(s, NOBODY)),
    ],
    "subscriptions": [
        (
            VIEWER,
            lambda s, k, c: subscriptions.attach(
                s,
                VIEWER,
                subscriptions.AttachInput(
                    client_id=k.client_id, product_id=k.product_id, start_date=date(2026, 3, 1)
                ),
                clock=c,
            ),
        ),
        (VIEWER, lambda s, k, c: subscriptions.pause(s, VIEWER, k.subscription_id, clock=c)),
        (VIEWER, lambda s, k, c: subscriptions.cancel_now(s, VIEWER, k.subscription_id, clock=c)),
        (VIEWER, lambda s, k, c: subscription_queries.attach_options(s, VIEWER, k.client_id)),
        (
            NOBODY,
            lambda s, k, c: subscription_queries.subscription_detail(s, NOBODY, k.subscription_id),
        ),
        (NOBODY, lambda s, k, c: subscription_queries.tab_counts(s, NOBODY, k.client_id)),
    ],
    "settings and branding": [
        (ACCOUNTANT, lambda s, k, c: branding.update_agency(s, ACCOUNTANT, AGENCY, clock=c)),
        (ACCOUNTANT, lambda s, k, c: branding.create_brand(s, ACCOUNTANT, BRAND, clock=c)),
        (ACCOUNTANT, lambda s, k, c: branding.make_default(s, ACCOUNTANT, k.brand_id, clock=c)),
        (ACCOUNTANT, lambda s, k, c: branding.delete_brand(s, ACCOUNTANT, k.brand_id, clock=c)),
        (VIEWER, lambda s, k, c: branding.assign_client_brand(s, VIEWER, k.client_id, k.brand_id)),
        (NOBODY, lambda s, k, c: branding.agency_settings(s, NOBODY)),
        (NOBODY, lambda s, k, c: branding.brands_page(s, NOBODY)),
        (NOBODY, lambda s, k, c: branding.brand_detail(s, NOBODY, k.brand_id)),
        (NOBODY, lambda s, k, c: branding.brand_choices(s, NOBODY)),
    ],
    "team and roles": [
        (
            VIEWER,
            lambda s, k, c: team.invite(s, VIEWER, email="v@agency.test", role="viewer", clock=c),
        ),
        (VIEWER, lambda s, k, c: team.revoke_invitation(s, VIEWER, k.invitation_id, clock=c)),
        (VIEWER, lambda s, k, c: team.set_active(s, VIEWER, k.member_id, active=False, clock=c)),
        (VIEWER, lambda s, k, c: team.change_role(s, VIEWER, k.member_id, role="viewer", clock=c)),
        (
            ADMIN,
            lambda s, k, c: roles.create_role(
                s, ADMIN, name="Support", description="", permissions=["clients.read"], clock=c
            ),
        ),
        (NOBODY, lambda s, k, c: roles.role_options(s, NOBODY)),
    ],
    "dashboard": [
        (NOBODY, lambda s, k, c: dashboard.dashboard_figures(s, NOBODY, clock=c)),
        (NOBODY, lambda s, k, c: dashboard.revenue_figures(s, NOBODY, clock=c)),
    ],
}


def written(session: Session) -> tuple[int, ...]:
    """How many rows the tables these use cases write hold, and the agency's legal name."""
    tables = (
        AuditEvent,
        Client,
        Product,
        TaxRateRow,
        Subscription,
        SubscriptionEvent,
        Brand,
        Invitation,
        CustomRole,
    )
    counts = [session.exec(select(func.count()).select_from(t)).one() for t in tables]
    active = session.exec(
        select(func.count()).select_from(StaffUser).where(col(StaffUser.is_active).is_(True))
    ).one()
    revoked = session.exec(
        select(func.count()).select_from(Invitation).where(col(Invitation.revoked_at).is_not(None))
    ).one()
    archived = session.exec(
        select(func.count()).select_from(Client).where(col(Client.status) == "archived")
    ).one()
    defaults = session.exec(
        select(func.count()).select_from(Brand).where(col(Brand.is_default).is_(True))
    ).one()
    agency = session.get(AgencySettings, 1)
    named = 1 if agency is not None and agency.legal_name == AGENCY.legal_name else 0
    return (*counts, active, revoked, archived, defaults, named)


@pytest.mark.parametrize("area", list(REFUSED))
def test_a_role_lacking_the_permission_is_refused_by_the_service(
    session: Session, clock: FixedClock, stock: Stock, area: str
) -> None:
    before = written(session)
    for actor, call in REFUSED[area]:
        assert actor.permissions != frozenset(Permission)
        with pytest.raises(NotAllowed):
            call(session, stock, clock)
        assert written(session) == before, f"{area}: a refused call wrote something"


def _system_rows(session: Session, action: str) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action) == action)
            .where(col(AuditEvent.actor_label) == "system")
            .where(col(AuditEvent.actor_id).is_(None))
        ).all()
    )


def test_system_may_change_clients_and_import_them(session: Session, clock: FixedClock) -> None:
    client = clients.create_client(session, SYSTEM, client_input(), clock=clock)
    clients.archive_client(session, SYSTEM, client.id or 0, clock=clock)
    clients.restore_client(session, SYSTEM, client.id or 0, clock=clock)
    assert [r.ok for r in imports.preview(session, SYSTEM, CSV).rows] == [True]
    assert imports.import_valid(session, SYSTEM, CSV, clock=clock) == 1
    session.commit()
    assert len(_system_rows(session, "client.created")) == 2
    assert len(_system_rows(session, "client.restored")) == 1


def test_system_may_change_the_catalog_and_tax_rates(session: Session, clock: FixedClock) -> None:
    rate = tax_rates.create_tax_rate(session, SYSTEM, name="VAT", percent="24", clock=clock)
    tax_rates.update_tax_rate(
        session, SYSTEM, rate.id or 0, name="VAT", percent="25.5", clock=clock
    )
    product = catalog.create_product(
        session,
        SYSTEM,
        catalog.ProductInput(name="Care", price="9", currency="EUR", tax_rate_ids=[rate.id or 0]),
        clock=clock,
    )
    catalog.duplicate_product(session, SYSTEM, product.id or 0, clock=clock)
    session.commit()
    assert len(_system_rows(session, "tax_rate.updated")) == 1
    assert len(_system_rows(session, "product.duplicated")) == 1


def test_system_may_change_subscriptions_and_is_named_in_their_history(
    session: Session, clock: FixedClock
) -> None:
    client = add_client(session, clock)
    product_id = add_product(session, clock)
    sub = subscriptions.attach(
        session,
        SYSTEM,
        subscriptions.AttachInput(
            client_id=client.id or 0, product_id=product_id, start_date=date(2026, 3, 1)
        ),
        clock=clock,
    )
    subscriptions.pause(session, SYSTEM, sub.id or 0, clock=clock)
    subscriptions.unpause(session, SYSTEM, sub.id or 0, clock=clock)
    session.commit()
    events = session.exec(
        select(SubscriptionEvent).where(col(SubscriptionEvent.subscription_id) == sub.id)
    ).all()
    assert {(e.actor_id, e.actor_label) for e in events} == {(None, "system")}
    assert len(_system_rows(session, "subscription.paused")) == 1


def test_system_may_change_settings_brands_and_invitations(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    owner = as_user(session, make_owner(session, clock))
    branding.update_agency(session, SYSTEM, AGENCY, clock=clock)
    brand_id = branding.create_brand(session, SYSTEM, BRAND, clock=clock)
    branding.make_default(session, SYSTEM, brand_id, clock=clock)
    invitation_id = team.invite(
        session, owner, email="new@agency.test", role="viewer", clock=clock, settings=settings
    )
    team.revoke_invitation(session, SYSTEM, invitation_id, clock=clock)
    session.commit()
    assert branding.get_agency(session).legal_name == AGENCY.legal_name
    assert len(_system_rows(session, "brand.made_default")) == 1
    assert len(_system_rows(session, "team.invitation_revoked")) == 1
