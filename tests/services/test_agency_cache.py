"""The brands and the agency's portal settings are kept in memory per process and reloaded when
they change: a change committed by anyone shows at the next read, a database holding other rows
under the same stamp is never mistaken for the kept one, and a transaction sees its own
writes."""

from __future__ import annotations

import dataclasses
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from billing_app.db.customers import Client
from billing_app.db.invoicing import AgencySettings, Brand
from billing_app.services.agency import agency_cache, branding
from billing_app.services.agency.portal_brand import custom_domains, portal_look
from billing_app.services.common.clock import FixedClock
from billing_app.settings import Settings

from .test_clients import ADMIN, add_client
from .test_email_headers import BRAND


def _stamp(session: Session) -> str:
    row = session.get(AgencySettings, 1)
    assert row is not None
    session.refresh(row)
    return row.looks_stamp


def _new_brand(session: Session, clock: FixedClock, **changes: str) -> int:
    brand_id = branding.create_brand(
        session, ADMIN, dataclasses.replace(BRAND, **changes), clock=clock
    )
    session.commit()
    return brand_id


def test_a_brand_renamed_in_another_transaction_shows_at_the_next_read(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    brand_id = _new_brand(session, clock)
    branding.get_agency(session, clock=clock)
    session.commit()
    assert portal_look(session, settings=settings).name == "Nord Hosting"
    session.commit()
    with Session(session.get_bind()) as other:  # another request, another process alike
        branding.update_brand(
            other, ADMIN, brand_id, dataclasses.replace(BRAND, name="Nord Studio"), clock=clock
        )
        other.commit()
    assert portal_look(session, settings=settings).name == "Nord Studio"


def test_a_custom_domain_added_is_served_at_once(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    _new_brand(session, clock)
    branding.get_agency(session, clock=clock)
    session.commit()
    assert custom_domains(session) == frozenset()
    session.commit()
    domain_brand = _new_brand(
        session, clock, name="Sud Studio", custom_domain="billing.sud-studio.test"
    )
    assert custom_domains(session) == frozenset({"billing.sud-studio.test"})
    look = portal_look(session, netloc="billing.sud-studio.test", settings=settings)
    assert look.brand_id == domain_brand


def test_the_stamp_changes_with_a_brand_or_the_settings_and_not_with_other_rows(
    session: Session, clock: FixedClock
) -> None:
    brand_id = _new_brand(session, clock)
    branding.get_agency(session, clock=clock)
    session.commit()
    first = _stamp(session)
    assert len(first) == 32
    add_client(session, clock)
    session.commit()
    assert _stamp(session) == first
    branding.update_brand(
        session,
        ADMIN,
        brand_id,
        dataclasses.replace(BRAND, support_email="help@nord.test"),
        clock=clock,
    )
    session.commit()
    second = _stamp(session)
    assert second != first
    agency = branding.get_agency(session, clock=clock)
    agency.client_require_2fa = True
    session.add(agency)
    session.commit()
    assert _stamp(session) not in {first, second}


def test_a_transaction_sees_its_own_brand_change(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    brand_id = _new_brand(session, clock)
    branding.get_agency(session, clock=clock)
    session.commit()
    assert portal_look(session, settings=settings).name == "Nord Hosting"
    brand = session.get(Brand, brand_id)
    assert brand is not None
    brand.name = "Renamed in this transaction"
    session.add(brand)
    session.flush()
    assert portal_look(session, settings=settings).name == "Renamed in this transaction"
    session.rollback()
    assert portal_look(session, settings=settings).name == "Nord Hosting"


def test_rows_changed_outside_the_orm_with_a_new_stamp_are_read_again(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    """As after restoring a backup over the database: other rows, another stamp."""
    _new_brand(session, clock)
    branding.get_agency(session, clock=clock)
    session.commit()
    assert portal_look(session, settings=settings).name == "Nord Hosting"
    session.commit()
    session.execute(sa.text("UPDATE brand SET name = 'Restored Brand'"))
    session.execute(sa.text("UPDATE agency_settings SET looks_stamp = 'restored0000'"))
    session.commit()
    assert portal_look(session, settings=settings).name == "Restored Brand"


def test_a_row_without_a_stamp_is_never_kept(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    """A settings row written outside the ORM (an old backup) has an empty stamp: read every
    time, so a raw change shows even without a new stamp."""
    _new_brand(session, clock)
    branding.get_agency(session, clock=clock)
    session.commit()
    session.execute(sa.text("UPDATE agency_settings SET looks_stamp = ''"))
    session.commit()
    assert portal_look(session, settings=settings).name == "Nord Hosting"
    session.commit()
    session.execute(sa.text("UPDATE brand SET name = 'Changed by hand'"))
    session.commit()
    assert portal_look(session, settings=settings).name == "Changed by hand"


def test_the_agency_time_zone_decides_today(session: Session, clock: FixedClock) -> None:
    late = FixedClock(clock.now().replace(hour=23, minute=30))  # 23:30 UTC, 14 March
    agency = branding.get_agency(session, clock=clock)
    session.commit()
    assert branding.today_at_agency(session, clock=late) == date(2026, 3, 14)
    session.commit()
    agency.time_zone = "Asia/Tokyo"  # already 15 March there
    session.add(agency)
    session.commit()
    assert branding.today_at_agency(session, clock=late) == date(2026, 3, 15)


def test_a_client_on_a_brand_gets_it_from_the_kept_brands(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    _new_brand(session, clock)
    sud = _new_brand(session, clock, name="Sud Studio", primary_color="#b91c1c")
    client = add_client(session, clock)
    branding.assign_client_brand(session, ADMIN, client.id or 0, sud, clock=clock)
    session.commit()
    look = portal_look(session, client_id=client.id, settings=settings)
    assert (look.name, look.theme["--accent-9"]) == ("Sud Studio", "#b91c1c")
    session.commit()
    # The client's brand is read from the client each time, not kept.
    row = session.get(Client, client.id)
    assert row is not None
    row.brand_id = None
    session.add(row)
    session.commit()
    assert portal_look(session, client_id=client.id, settings=settings).name == "Nord Hosting"
    agency_cache.forget()
    assert portal_look(session, client_id=client.id, settings=settings).name == "Nord Hosting"


def test_a_change_not_flushed_yet_is_seen_by_the_next_read(
    session: Session, clock: FixedClock, settings: Settings
) -> None:
    brand_id = _new_brand(session, clock)
    branding.get_agency(session, clock=clock)
    session.commit()
    assert portal_look(session, settings=settings).name == "Nord Hosting"  # kept for this txn
    brand = session.get(Brand, brand_id)
    assert brand is not None
    brand.name = "Changed, not flushed"
    assert portal_look(session, settings=settings).name == "Changed, not flushed"
    session.rollback()
