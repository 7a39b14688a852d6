"""Emails staff send about a sent invoice (services/invoicing/notices.py): the invoice again and
a payment reminder. Each goes to the address frozen when the invoice was sent, with the PDF as
sent, leaves a client-visible timeline entry and an audit record; a reminder only when money
is still due; neither without the permission to send invoices, and a refusal queues nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice, InvoiceEvent
from billing_app.db.models import AuditEvent, OutboxEmail
from billing_app.domain.permissions import BUILTIN_ROLE_PERMISSIONS, BuiltinRole
from billing_app.services.access.identity import CurrentUser
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, NotFound
from billing_app.services.invoicing import drafts, notices, payments
from billing_app.services.invoicing import timeline as invoice_timeline
from billing_app.services.invoicing.drafts import DraftForm, LineForm
from billing_app.services.invoicing.payments import PaymentForm

from .test_invoicing import draft, send, world

__all__ = ["world"]

TODAY = date(2026, 3, 14)  # the test clock's day in Helsinki; the invoices are due 28 March
FROZEN_ADDRESS = "billing@cafe-under.test"


def as_role(w: dict[str, Any], role: BuiltinRole) -> CurrentUser:
    """The world's staff member with a built-in role's permissions."""
    actor: CurrentUser = w["actor"]
    return CurrentUser(
        id=actor.id,
        name=actor.name,
        email=actor.email,
        role_key=role.value,
        role_label=role.value.title(),
        permissions=BUILTIN_ROLE_PERMISSIONS[role],
    )


def sent_invoice(session: Session, w: dict[str, Any], clock: FixedClock) -> Invoice:
    """A sent invoice of €496.92, due 28 March, whose client then changed its email."""
    invoice_id = draft(session, w, clock)
    send(session, w, invoice_id, clock)
    client = session.get(Client, w["client"].id)
    assert client is not None
    client.email = "new-address@cafe-under.test"
    session.add(client)
    session.commit()
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    return invoice


def outbox(session: Session, kind: str) -> list[OutboxEmail]:
    return list(session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == kind)))


def audit_of(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(col(AuditEvent.action) == action)))


def last_entry(session: Session, invoice_id: int) -> InvoiceEvent:
    return invoice_timeline.timeline(session, invoice_id)[-1]


def pay(session: Session, w: dict[str, Any], invoice_id: int, amount: str, clock: Any) -> None:
    payments.record_payment(
        session, w["actor"], invoice_id, PaymentForm(amount, "cash", TODAY), clock=clock
    )
    session.commit()


# --------------------------------------------------------------------------- the invoice again


def test_the_invoice_is_emailed_again_as_sent_to_the_address_it_was_sent_to(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice = sent_invoice(session, world, clock)
    assert invoice.id is not None
    clock.at = clock.at.replace(day=20)
    notices.resend_invoice(session, world["actor"], invoice.id, clock=clock)
    session.commit()

    first, again = outbox(session, "invoice_sent")
    assert again.to_address == FROZEN_ADDRESS  # as frozen at sending, not the new address
    assert again.subject == first.subject == f"Invoice {invoice.number} from Studio Nord Oy"
    assert "€496.92" in again.body_text
    assert (again.attachment_key, again.attachment_name) == (
        invoice.pdf_key,
        f"{invoice.number}.pdf",
    )
    entry = last_entry(session, invoice.id)
    assert (entry.kind, entry.message) == ("emailed", f"Invoice emailed again to {FROZEN_ADDRESS}")
    assert entry.internal is False  # the client sees it was emailed
    assert entry.actor_label == world["actor"].email
    assert entry.at == clock.now()
    (logged,) = audit_of(session, "invoice.resent")
    assert (logged.target, logged.actor_label) == (invoice.number, world["actor"].email)
    assert logged.at == clock.now()


def test_a_paid_invoice_can_be_emailed_again(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice = sent_invoice(session, world, clock)
    assert invoice.id is not None
    pay(session, world, invoice.id, "496.92", clock)
    notices.resend_invoice(session, world["actor"], invoice.id, clock=clock)
    session.commit()
    assert len(outbox(session, "invoice_sent")) == 2


def test_drafts_and_void_invoices_are_not_emailed_again(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    draft_id = draft(session, world, clock)
    voided = sent_invoice(session, world, clock)
    assert voided.id is not None
    payments.void_invoice(session, world["actor"], voided.id, "Sent twice", clock=clock)
    session.commit()
    before = len(outbox(session, "invoice_sent"))
    for invoice_id in (draft_id, voided.id):
        with pytest.raises(
            Conflict, match=r"^Only sent invoices that are not void can be emailed\.$"
        ):
            notices.resend_invoice(session, world["actor"], invoice_id, clock=clock)
        session.rollback()
    assert len(outbox(session, "invoice_sent")) == before
    assert audit_of(session, "invoice.resent") == []
    with pytest.raises(NotFound):
        notices.resend_invoice(session, world["actor"], voided.id + 999, clock=clock)


# --------------------------------------------------------------------------- reminders


def test_a_reminder_asks_for_what_is_still_due_with_the_pdf(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice = sent_invoice(session, world, clock)
    assert invoice.id is not None
    pay(session, world, invoice.id, "100", clock)
    notices.send_reminder(session, world["actor"], invoice.id, clock=clock)
    session.commit()

    (reminder,) = outbox(session, "payment_reminder")
    assert reminder.to_address == FROZEN_ADDRESS
    assert reminder.subject.startswith(f"Reminder: invoice {invoice.number}")
    assert "€396.92" in reminder.body_text  # what is left, not the total
    assert "€496.92" not in reminder.body_text
    assert "is due on March 28, 2026" in reminder.body_text  # not overdue yet
    assert (reminder.attachment_key, reminder.attachment_name) == (
        invoice.pdf_key,
        f"{invoice.number}.pdf",
    )
    entry = last_entry(session, invoice.id)
    assert (entry.kind, entry.message) == (
        "emailed",
        f"Payment reminder emailed to {FROZEN_ADDRESS}",
    )
    assert entry.internal is False
    (logged,) = audit_of(session, "invoice.reminded")
    assert (logged.target, logged.actor_label) == (invoice.number, world["actor"].email)
    assert logged.at == entry.at == clock.now()


def test_a_reminder_says_overdue_from_the_day_after_the_due_date_in_the_agency_time_zone(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice = sent_invoice(session, world, clock)
    assert invoice.id is not None
    # Due 28 March. 21:30 UTC on the 28th is 23:30 in Helsinki: still the due day.
    clock.at = clock.at.replace(day=28, hour=21, minute=30)
    notices.send_reminder(session, world["actor"], invoice.id, clock=clock)
    # 22:30 UTC is already the 29th in Helsinki: overdue.
    clock.at = clock.at.replace(hour=22, minute=30)
    notices.send_reminder(session, world["actor"], invoice.id, clock=clock)
    session.commit()
    on_the_day, next_day = (r.body_text for r in outbox(session, "payment_reminder"))
    assert "is due on March 28, 2026" in on_the_day and "was due on" not in on_the_day
    assert "was due on March 28, 2026 and €496.92 is still outstanding" in next_day


@pytest.mark.parametrize(
    "state", ["draft", "paid", "void", "partially refunded", "refunded", "uncollectible"]
)
def test_no_reminder_unless_money_is_due_on_an_invoice_the_client_is_asked_to_pay(
    session: Session, clock: FixedClock, world: dict[str, Any], state: str
) -> None:
    if state == "draft":
        invoice_id = draft(session, world, clock)
    else:
        invoice = sent_invoice(session, world, clock)
        assert invoice.id is not None
        invoice_id = invoice.id
    actor = world["actor"]
    if state in ("paid", "partially refunded", "refunded"):
        pay(session, world, invoice_id, "496.92", clock)
    if state in ("partially refunded", "refunded"):
        amount = "10" if state == "partially refunded" else "496.92"
        payments.record_refund(
            session, actor, invoice_id, PaymentForm(amount, "cash", TODAY), clock=clock
        )
    if state == "void":
        payments.void_invoice(session, actor, invoice_id, "Sent twice", clock=clock)
    if state == "uncollectible":  # written off: money may still come, nobody chases it
        row = session.get(Invoice, invoice_id)
        assert row is not None
        row.status = "uncollectible"
        session.add(row)
    session.commit()

    with pytest.raises(Conflict, match=r"^Reminders are for sent invoices with money still due\.$"):
        notices.send_reminder(session, actor, invoice_id, clock=clock)
    session.rollback()
    assert outbox(session, "payment_reminder") == []
    assert audit_of(session, "invoice.reminded") == []


def test_a_reminder_for_an_open_invoice_of_nothing_is_refused(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    """A free invoice (total 0.00) is open but nothing is due: nobody is reminded of it."""
    form = DraftForm(client_id=world["client"].id, lines=(LineForm("Free audit", "1", "0"),))
    invoice_id = drafts.save_draft(session, world["actor"], form, clock=clock)
    session.commit()
    send(session, world, invoice_id, clock)
    with pytest.raises(Conflict):
        notices.send_reminder(session, world["actor"], invoice_id, clock=clock)
    session.rollback()
    assert outbox(session, "payment_reminder") == []


# --------------------------------------------------------------------------- who may


@pytest.mark.parametrize("action", ["resend", "remind"])
def test_emailing_a_client_needs_the_permission_to_send_invoices(
    session: Session, clock: FixedClock, world: dict[str, Any], action: str
) -> None:
    invoice = sent_invoice(session, world, clock)
    assert invoice.id is not None
    use_case = notices.resend_invoice if action == "resend" else notices.send_reminder
    kind = "invoice_sent" if action == "resend" else "payment_reminder"
    before = len(outbox(session, kind))
    events = len(invoice_timeline.timeline(session, invoice.id))

    viewer = as_role(world, BuiltinRole.VIEWER)
    with pytest.raises(NotAllowed):
        use_case(session, viewer, invoice.id, clock=clock)
    session.rollback()
    assert len(outbox(session, kind)) == before
    assert len(invoice_timeline.timeline(session, invoice.id)) == events

    use_case(session, as_role(world, BuiltinRole.ACCOUNTANT), invoice.id, clock=clock)
    session.commit()
    assert len(outbox(session, kind)) == before + 1
