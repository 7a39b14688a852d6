"""What of an invoice's timeline its client may see: each entry is marked internal or not where
it is written; the client's view leaves out internal entries and every staff identity."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from billing_app.services.common.clock import FixedClock
from billing_app.services.invoicing import payments
from billing_app.services.invoicing import timeline as invoice_timeline
from billing_app.services.invoicing import views as invoice_views
from billing_app.services.invoicing.payments import PaymentForm
from tests.conftest import downgrade_migrations, run_migrations
from tests.services.test_clients import ADMIN

from .test_invoicing import draft, send, world

__all__ = ["world"]

NOTE = "Olivia: they always pay late, call Jürgen before the reminder"


def _sent_with_note_and_payment(session: Session, world: dict[str, Any], clock: FixedClock) -> int:
    invoice_id = draft(session, world, clock)
    send(session, world, invoice_id, clock)
    invoice_timeline.add_comment(session, world["actor"], invoice_id, NOTE, clock=clock)
    payments.record_payment(
        session,
        world["actor"],
        invoice_id,
        PaymentForm("50", "bank_transfer", date(2026, 3, 13), "TX-1"),
        clock=clock,
    )
    session.commit()
    return invoice_id


def test_the_client_sees_the_payment_without_staff_and_never_the_note(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = _sent_with_note_and_payment(session, world, clock)
    staff_email = world["actor"].email

    client_view = invoice_views.client_timeline(session, invoice_id)
    assert [(e.kind, e.message) for e in client_view] == [
        ("sent", "Invoice INV-2026-00001 sent"),
        ("emailed", "Emailed to billing@cafe-under.test"),
        ("payment", "€50.00 received by bank transfer (ref. TX-1)"),
    ]
    assert {f.name for f in dataclasses.fields(invoice_views.ClientEvent)} == {
        "kind",
        "at",
        "message",
    }
    assert not any(staff_email in repr(e) or "Olivia" in repr(e) for e in client_view)

    # Staff still see everything, who did it, and which entries are internal.
    staff_view = invoice_views.invoice_detail(session, ADMIN, invoice_id, clock=clock).timeline
    assert [(e["kind"], e["internal"]) for e in staff_view] == [
        ("payment", ""),
        ("comment", "Internal"),
        ("emailed", ""),
        ("sent", ""),
        ("created", "Internal"),
    ]
    assert staff_view[1]["message"] == NOTE
    assert all(e["actor"] == staff_email for e in staff_view)


def test_entries_written_before_the_column_get_their_visibility_by_kind(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    """Migration 0007 on existing rows: notes and drafting internal, the rest client-visible."""
    invoice_id = _sent_with_note_and_payment(session, world, clock)
    session.close()
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    downgrade_migrations(url, "0006")
    run_migrations(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT kind, internal FROM invoice_event WHERE invoice_id = :i ORDER BY id"),
            {"i": invoice_id},
        ).all()
    assert [(kind, bool(internal)) for kind, internal in rows] == [
        ("created", True),
        ("sent", False),
        ("emailed", False),
        ("comment", True),
        ("payment", False),
    ]
