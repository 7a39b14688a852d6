"""Sending an invoice (services/invoicing/sending.py) as the agency and its accountant rely on
it: numbers are gapless per brand and restart as the agency chose (each year, each month or
never), a backdated invoice takes the next number of its own period, only drafts are sent, the
invoice is frozen with its totals, the client's figures follow, the timeline and audit log say
who sent what, and a send that fails or is refused writes nothing at all."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoiceLine
from billing_app.db.models import AuditEvent, OutboxEmail
from billing_app.domain.permissions import BuiltinRole, Permission
from billing_app.services.agency import branding
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from billing_app.services.invoicing import drafts, payments, sending
from billing_app.services.invoicing import timeline as invoice_timeline
from billing_app.services.invoicing.drafts import DraftForm, LineForm

from .test_invoice_notices import as_role, audit_of, outbox
from .test_invoicing import draft, send, three_lines, world

__all__ = ["world"]


def numbering(session: Session, w: dict[str, Any], clock: FixedClock, fmt: str, reset: str) -> None:
    """The agency's invoice number format and when its sequence restarts."""
    branding.update_agency(
        session,
        w["actor"],
        branding.AgencyInput(
            legal_name="Studio Nord Oy",
            address="Mannerheimintie 1\n00100 Helsinki",
            tax_id="FI12345678",
            email="billing@studio-nord.test",
            default_currency="EUR",
            locale="en",
            time_zone="Europe/Helsinki",
            payment_terms_days="14",
            number_format=fmt,
            number_reset=reset,
        ),
        clock=clock,
    )
    session.commit()


def issued_on(session: Session, w: dict[str, Any], clock: FixedClock, day: date) -> str:
    """Draft and send a one-line invoice issued on ``day``; its number."""
    form = DraftForm(
        client_id=w["client"].id, lines=(LineForm("Care", "1", "10"),), issue_date=day, due_date=day
    )
    invoice_id = drafts.save_draft(session, w["actor"], form, clock=clock)
    session.commit()
    return send(session, w, invoice_id, clock)


def client_figures(session: Session, w: dict[str, Any]) -> tuple[int, int]:
    client = session.get(Client, w["client"].id)
    assert client is not None
    session.refresh(client)
    return client.net_invoiced_minor, client.outstanding_minor


# --------------------------------------------------------------------------- numbers


def test_numbers_restart_each_year_and_a_backdated_invoice_continues_its_own_year(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    # The world's agency: INV-{YYYY}-{SEQ:5}, restarting every year.
    assert issued_on(session, world, clock, date(2025, 12, 30)) == "INV-2025-00001"
    assert issued_on(session, world, clock, date(2025, 12, 31)) == "INV-2025-00002"
    assert issued_on(session, world, clock, date(2026, 1, 1)) == "INV-2026-00001"
    assert issued_on(session, world, clock, date(2025, 11, 2)) == "INV-2025-00003"
    assert issued_on(session, world, clock, date(2026, 3, 14)) == "INV-2026-00002"


def test_numbers_restart_each_month_when_the_agency_says_so(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    numbering(session, world, clock, "{YYYY}{MM}-{SEQ:3}", "monthly")
    assert issued_on(session, world, clock, date(2026, 3, 1)) == "202603-001"
    assert issued_on(session, world, clock, date(2026, 3, 31)) == "202603-002"
    assert issued_on(session, world, clock, date(2026, 4, 1)) == "202604-001"
    assert issued_on(session, world, clock, date(2027, 3, 1)) == "202703-001"


def test_numbers_never_restart_when_the_agency_says_never(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    numbering(session, world, clock, "F{SEQ:4}", "never")
    days = [date(2025, 12, 31), date(2026, 1, 1), date(2027, 6, 1)]
    assert [issued_on(session, world, clock, d) for d in days] == ["F0001", "F0002", "F0003"]


def test_a_failed_send_writes_nothing_and_the_next_send_takes_the_number(
    session: Session, clock: FixedClock, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The email is queued last: when that fails, the number, the PDF reference, the client's
    figures, the timeline and the audit entry are all rolled back with it."""
    first = draft(session, world, clock)
    before = client_figures(session, world)

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(sending, "queue_invoice_email", broken)
    with pytest.raises(RuntimeError):
        sending.send_invoice(session, world["actor"], first, clock=clock)
    session.rollback()
    monkeypatch.undo()
    invoice = session.get(Invoice, first)
    assert invoice is not None
    session.refresh(invoice)
    assert (invoice.status, invoice.number, invoice.snapshot, invoice.pdf_key) == (
        "draft",
        None,
        "",
        "",
    )
    assert client_figures(session, world) == before
    assert [e.kind for e in invoice_timeline.timeline(session, first)] == ["created"]
    assert audit_of(session, "invoice.sent") == []
    assert session.exec(select(OutboxEmail)).all() == []
    assert send(session, world, first, clock) == "INV-2026-00001"


# --------------------------------------------------------------------------- what sending does


def test_sending_freezes_the_totals_and_adds_them_to_the_client(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    earlier = draft(session, world, clock)
    send(session, world, earlier, clock)
    invoice_id = draft(session, world, clock)
    clock.at = clock.at.replace(hour=15)
    send(session, world, invoice_id, clock)
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    assert (invoice.subtotal_minor, invoice.discount_minor) == (42400, 990)
    assert (invoice.tax_minor, invoice.total_minor) == (8282, 49692)
    assert invoice.sent_at is not None
    assert invoice.sent_at.replace(tzinfo=None) == clock.now().replace(tzinfo=None)
    snap = json.loads(invoice.snapshot)
    assert (snap["number"], snap["total_minor"]) == ("INV-2026-00002", 49692)
    assert client_figures(session, world) == (2 * 49692, 2 * 49692)


def test_sending_is_on_the_timeline_for_the_client_and_in_the_audit_log(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    clock.at = clock.at.replace(hour=16)
    send(session, world, invoice_id, clock)
    entries = invoice_timeline.timeline(session, invoice_id)
    assert [(e.kind, e.message, e.internal) for e in entries] == [
        ("created", "Draft created", True),
        ("sent", "Invoice INV-2026-00001 sent", False),
        ("emailed", "Emailed to billing@cafe-under.test", False),
    ]
    assert all(e.actor_label == world["actor"].email for e in entries)
    assert [e.at for e in entries[1:]] == [clock.now(), clock.now()]
    (logged,) = audit_of(session, "invoice.sent")
    assert (logged.target, logged.details) == ("INV-2026-00001", "€496.92")
    assert (logged.actor_label, logged.at) == (world["actor"].email, clock.now())


@pytest.mark.parametrize("state", ["open", "paid", "void"])
def test_only_a_draft_is_sent(
    session: Session, clock: FixedClock, world: dict[str, Any], state: str
) -> None:
    invoice_id = draft(session, world, clock)
    send(session, world, invoice_id, clock)
    if state == "paid":
        payments.record_payment(
            session,
            world["actor"],
            invoice_id,
            payments.PaymentForm("496.92", "cash", date(2026, 3, 14)),
            clock=clock,
        )
    if state == "void":
        payments.void_invoice(session, world["actor"], invoice_id, "Mistake", clock=clock)
    session.commit()
    emails = len(session.exec(select(OutboxEmail)).all())
    with pytest.raises(Conflict) as caught:
        sending.send_invoice(session, world["actor"], invoice_id, clock=clock)
    assert caught.value.message == "This invoice was already sent."
    session.rollback()
    assert len(session.exec(select(OutboxEmail)).all()) == emails
    assert issued_on(session, world, clock, date(2026, 3, 14)) == "INV-2026-00002"


def test_an_invoice_that_does_not_exist_is_not_sent(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    with pytest.raises(NotFound, match=r"^That invoice does not exist\.$"):
        sending.send_invoice(session, world["actor"], 4242, clock=clock)


def test_sending_needs_the_permission_to_send(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    owner = as_role(world, BuiltinRole.OWNER)
    writer = dataclasses.replace(owner, permissions=owner.permissions - {Permission.INVOICES_SEND})
    for actor in (writer, as_role(world, BuiltinRole.VIEWER)):
        with pytest.raises(NotAllowed):
            sending.send_invoice(session, actor, invoice_id, clock=clock)
        session.rollback()
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None and invoice.status == "draft"
    assert session.exec(select(OutboxEmail)).all() == []
    sent = sending.send_invoice(
        session, as_role(world, BuiltinRole.ACCOUNTANT), invoice_id, clock=clock
    )
    assert sent.number == "INV-2026-00001"


# --------------------------------------------------------------------------- save and send


def test_save_and_send_saves_the_editor_as_it_stands_then_sends_it(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = draft(session, world, clock)
    form = DraftForm(client_id=world["client"].id, lines=(LineForm("Only this", "2", "30"),))
    clock.at = clock.at.replace(hour=17)
    sent = sending.save_and_send(session, world["actor"], form, invoice_id=invoice_id, clock=clock)
    session.commit()
    assert (sent.id, sent.number) == (invoice_id, "INV-2026-00001")
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    assert (invoice.status, invoice.total_minor, invoice.pdf_key) == ("open", 6000, sent.pdf_key)
    assert invoice.sent_at is not None
    assert invoice.sent_at.replace(tzinfo=None) == clock.now().replace(tzinfo=None)
    (logged,) = audit_of(session, "invoice.sent")
    assert logged.at == clock.now()
    lines = session.exec(select(InvoiceLine).where(col(InvoiceLine.invoice_id) == invoice_id))
    assert [ln.description for ln in lines] == ["Only this"]
    (mail,) = outbox(session, "invoice_sent")
    assert "€60.00" in mail.body_text

    new = sending.save_and_send(
        session,
        world["actor"],
        DraftForm(client_id=world["client"].id, lines=three_lines(session, world)),
        clock=clock,
    )
    session.commit()
    assert new.number == "INV-2026-00002" and new.id != invoice_id
    created = [e.kind for e in invoice_timeline.timeline(session, new.id)]
    assert created == ["created", "sent", "emailed"]


def test_save_and_send_with_a_bad_line_writes_nothing(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    form = DraftForm(
        client_id=world["client"].id,
        lines=(LineForm("Fine", "1", "10"), LineForm("Broken", "1", "10", "200%")),
    )
    with pytest.raises(ValidationFailed) as caught:
        sending.save_and_send(session, world["actor"], form, clock=clock)
    assert caught.value.field == "lines.1.discount"
    session.rollback()
    assert session.exec(select(Invoice)).all() == []
    assert session.exec(select(InvoiceEvent)).all() == []


def test_save_and_send_needs_both_writing_and_sending(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    owner = as_role(world, BuiltinRole.OWNER)
    form = DraftForm(client_id=world["client"].id, lines=(LineForm("Care", "1", "10"),))
    for missing in (Permission.INVOICES_WRITE, Permission.INVOICES_SEND):
        actor = dataclasses.replace(owner, permissions=owner.permissions - {missing})
        with pytest.raises(NotAllowed):
            sending.save_and_send(session, actor, form, clock=clock)
        session.rollback()
        assert session.exec(select(Invoice)).all() == []
        assert (
            session.exec(select(AuditEvent).where(col(AuditEvent.action) == "invoice.sent")).all()
            == []
        )
