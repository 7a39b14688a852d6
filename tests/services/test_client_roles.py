"""Client roles: the built-in ones, custom ones from permission checkboxes (roles.manage), and
the portal settings: the default role of new client users and two-factor for all of them."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from billing_app.db.invoicing import AgencySettings
from billing_app.db.models import AuditEvent
from billing_app.db.portal import ClientRole
from billing_app.domain.permissions import (
    BUILTIN_CLIENT_ROLE_LABELS,
    BuiltinRole,
    ClientPermission,
    Permission,
)
from billing_app.services.access import client_roles, client_users
from billing_app.services.agency import portal_settings
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, ValidationFailed
from billing_app.services.common.listing import ListRequest
from billing_app.settings import Settings

from .test_clients import ADMIN
from .test_portal_invitations import as_client_user, count, join_portal, nord_client, staff_with

OWNER = staff_with(role=BuiltinRole.OWNER)


def roles_listed(session: Session) -> list[tuple[str, str, int, bool]]:
    page = client_roles.list_client_roles(session, OWNER, ListRequest(per_page=200))
    return [(r.value, r.name, r.member_count, r.is_default) for r in page.rows]


def test_built_in_roles_first_then_custom_ones_made_of_checkboxes(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    assert roles_listed(session) == [
        ("full", "Full access", 0, True),
        ("billing", "Billing only", 0, False),
        ("view", "View only", 0, False),
    ]
    role_id = client_roles.create_client_role(
        session,
        OWNER,
        name="  Accounts   payable ",
        description="Pays, sees nothing else",
        permissions=["invoices.pay", "invoices.view"],
        clock=clock,
    )
    session.commit()
    value = f"custom:{role_id}"
    client_id = nord_client(session, clock)
    user_id = join_portal(session, clock, settings, client_id, "ap@acme.test", value)
    row = client_roles.list_client_roles(session, OWNER, ListRequest()).rows[-1]
    assert (row.value, row.name, row.member_count, row.builtin) == (
        value,
        "Accounts payable",
        1,
        False,
    )
    assert row.permissions == ("invoices.view", "invoices.pay")  # catalogue order
    member = as_client_user(session, user_id, client_id)
    assert member.membership.role_label == "Accounts payable"
    assert member.may(ClientPermission.INVOICES_PAY)
    assert not member.may(ClientPermission.SUBSCRIPTIONS_VIEW)

    # An edit applies to its users at their next event.
    client_roles.update_client_role(
        session,
        OWNER,
        role_id,
        name="Accounts payable",
        description="",
        permissions=["invoices.view"],
        clock=clock,
    )
    session.commit()
    assert not as_client_user(session, user_id, client_id).may(ClientPermission.INVOICES_PAY)

    with pytest.raises(Conflict, match="1 client user holds the role “Accounts payable”"):
        client_roles.delete_client_role(session, OWNER, role_id, clock=clock)
    client_users.change_client_user_role(session, ADMIN, client_id, user_id, role="view")
    client_roles.delete_client_role(session, OWNER, role_id, clock=clock)
    session.commit()
    assert [v for v, *_ in roles_listed(session)] == ["full", "billing", "view"]
    actions = [
        e.action
        for e in session.exec(
            select(AuditEvent).where(col(AuditEvent.action).startswith("client_role."))
        )
    ]
    assert actions == ["client_role.created", "client_role.updated", "client_role.deleted"]


def test_a_bad_client_role_names_every_field_and_writes_nothing(
    session: Session, clock: FixedClock
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        client_roles.create_client_role(
            session, OWNER, name=" ", description="", permissions=[], clock=clock
        )
    assert caught.value.errors == {
        "name": "Give the role a name.",
        "permissions": "Tick at least one permission.",
    }
    with pytest.raises(ValidationFailed) as caught:
        client_roles.create_client_role(
            session,
            OWNER,
            name="full ACCESS",
            description="",
            permissions=["invoices.view", "clients.read"],  # a staff permission
            clock=clock,
        )
    assert set(caught.value.errors) == {"name", "permissions"}
    assert "built-in role" in caught.value.errors["name"]
    assert caught.value.errors["permissions"] == "Unknown permission: clients.read."
    client_roles.create_client_role(
        session, OWNER, name="Payer", description="", permissions=["invoices.pay"], clock=clock
    )
    session.commit()
    with pytest.raises(ValidationFailed, match="already exists"):
        client_roles.create_client_role(
            session, OWNER, name="payer", description="", permissions=["invoices.pay"]
        )
    session.rollback()
    assert [r.name for r in session.exec(select(ClientRole))] == ["Payer"]


def test_client_roles_are_managed_with_roles_manage_only(
    session: Session, clock: FixedClock
) -> None:
    admin = staff_with(role=BuiltinRole.ADMIN)  # everything but roles.manage
    role_id = client_roles.create_client_role(
        session, OWNER, name="Payer", description="", permissions=["invoices.pay"], clock=clock
    )
    session.commit()
    audits = count(session, AuditEvent)
    for call in (
        lambda: client_roles.create_client_role(
            session, admin, name="X", description="", permissions=["invoices.pay"]
        ),
        lambda: client_roles.update_client_role(
            session, admin, role_id, name="X", description="", permissions=["invoices.view"]
        ),
        lambda: client_roles.delete_client_role(session, admin, role_id),
        lambda: client_roles.list_client_roles(session, staff_with(), ListRequest()),
        lambda: client_roles.client_role_choices(session, staff_with(Permission.CLIENTS_READ)),
    ):
        with pytest.raises(NotAllowed):
            call()
    session.rollback()
    assert count(session, AuditEvent) == audits
    role = session.get(ClientRole, role_id)
    assert role is not None and (role.name, role.permissions) == ("Payer", "invoices.pay")
    # Whoever gives client users a role sees every client role.
    choices = client_roles.client_role_choices(session, staff_with(Permission.CLIENTS_USERS))
    assert choices.default == "full"
    assert choices.options == [
        ("full", "Full access"),
        ("billing", "Billing only"),
        ("view", "View only"),
        (f"custom:{role_id}", "Payer"),
    ]


def test_the_default_role_and_two_factor_for_all_are_portal_settings(
    session: Session, clock: FixedClock
) -> None:
    assert portal_settings.portal_settings(session, OWNER) == portal_settings.PortalSettings(
        default_role="full", require_2fa=False
    )
    role_id = client_roles.create_client_role(
        session, OWNER, name="Payer", description="", permissions=["invoices.pay"], clock=clock
    )
    portal_settings.update_portal_settings(
        session, OWNER, default_role=f"custom:{role_id}", require_2fa=True, clock=clock
    )
    session.commit()
    agency = session.get(AgencySettings, 1)
    assert agency is not None
    assert (agency.client_default_role, agency.client_require_2fa) == (f"custom:{role_id}", True)
    assert client_roles.default_client_role(session) == f"custom:{role_id}"
    row = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "settings.portal_updated")
    ).one()
    assert row.details == (
        "default client role: Full access -> Payer; two-factor for client users: off -> on"
    )
    # The default role stays while it is the default.
    with pytest.raises(Conflict, match="default client role"):
        client_roles.delete_client_role(session, OWNER, role_id, clock=clock)
    listed = {v: d for v, _, _, d in roles_listed(session)}
    assert listed[f"custom:{role_id}"] and not listed["full"]

    with pytest.raises(ValidationFailed) as caught:
        portal_settings.update_portal_settings(
            session, OWNER, default_role="custom:999", require_2fa=False, clock=clock
        )
    assert caught.value.errors == {"default_role": "Choose a role."}
    accountant = staff_with(role=BuiltinRole.ACCOUNTANT)
    with pytest.raises(NotAllowed):
        portal_settings.update_portal_settings(
            session, accountant, default_role="view", require_2fa=False, clock=clock
        )
    with pytest.raises(NotAllowed):
        portal_settings.portal_settings(session, staff_with())
    session.rollback()
    agency = session.get(AgencySettings, 1)
    assert agency is not None and agency.client_require_2fa
    # Saving what is already there writes no audit row.
    portal_settings.update_portal_settings(
        session, OWNER, default_role=f"custom:{role_id}", require_2fa=True, clock=clock
    )
    session.commit()
    assert count(session, AuditEvent) == 2  # created the role; the first change


def test_the_built_in_labels_are_translatable_as_they_are() -> None:
    assert set(client_roles.CLIENT_ROLE_NAMES) == set(BUILTIN_CLIENT_ROLE_LABELS.values())
    assert client_roles.role_label_in("Billing only", "fr_FR") == "Facturation seulement"
    assert client_roles.role_label_in("Billing only", "en") == "Billing only"
    assert client_roles.role_label_in("Payer", "fr_FR") == "Payer"
