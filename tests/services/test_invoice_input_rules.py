"""What invoicing refuses, with a message on the field at fault and nothing written
(docs/security.md item 32): payments and refunds dated after today in the agency's time zone,
free text longer than its limit (never cut silently), and a negative total (with what can be
done about it today)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoicePayment
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import ValidationFailed
from billing_app.services.invoicing import drafts, payments
from billing_app.services.invoicing import timeline as invoice_timeline
from billing_app.services.invoicing.drafts import DraftForm, LineForm
from billing_app.services.invoicing.payments import PaymentForm
from billing_app.services.invoicing.views import draft_view
from tests.services.test_clients import ADMIN

from .test_invoicing import draft, send, world

__all__ = ["world"]


def sent_invoice(session: Session, w: dict[str, Any], clock: FixedClock) -> int:
    invoice_id = draft(session, w, clock)
    send(session, w, invoice_id, clock)
    return invoice_id


def payment_rows(session: Session) -> list[InvoicePayment]:
    return list(session.exec(select(InvoicePayment)).all())


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("kind", ["payment", "refund"])
def test_money_dated_after_today_in_the_agency_time_zone_is_refused(
    session: Session, clock: FixedClock, world: dict[str, Any], kind: str
) -> None:
    invoice_id = sent_invoice(session, world, clock)
    actor = world["actor"]
    if kind == "refund":
        payments.record_payment(
            session, actor, invoice_id, PaymentForm("100", "cash", date(2026, 3, 14)), clock=clock
        )
        session.commit()
    record = payments.record_payment if kind == "payment" else payments.record_refund
    before = len(payment_rows(session))

    with pytest.raises(ValidationFailed, match="cannot be in the future") as caught:
        record(session, actor, invoice_id, PaymentForm("10", "cash", date(2030, 1, 1)), clock=clock)
    assert caught.value.field == "received_on"
    assert "March 14, 2026" in caught.value.message
    session.rollback()
    assert len(payment_rows(session)) == before

    # 22:30 UTC on the 14th is already the 15th in Helsinki: the 15th is today, the 16th not.
    clock.at = clock.at.replace(hour=22, minute=30)
    with pytest.raises(ValidationFailed) as caught:
        record(
            session, actor, invoice_id, PaymentForm("10", "cash", date(2026, 3, 16)), clock=clock
        )
    assert caught.value.field == "received_on"
    session.rollback()
    record(session, actor, invoice_id, PaymentForm("10", "cash", date(2026, 3, 15)), clock=clock)
    session.commit()
    assert len(payment_rows(session)) == before + 1


# --------------------------------------------------------------------------- free text


def test_a_long_line_description_is_refused_on_its_line_not_cut(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    lines = (LineForm("Fine", "1", "5"), LineForm("x" * 10_000, "1", "10"))
    form = DraftForm(client_id=world["client"].id, lines=lines)
    with pytest.raises(ValidationFailed, match=r"^Use at most 2,000 characters\.$") as caught:
        drafts.save_draft(session, world["actor"], form, clock=clock)
    assert caught.value.field == "lines.1.description"
    with pytest.raises(ValidationFailed, match="2,000 characters"):
        drafts.preview_totals(session, ADMIN, world["client"].id, lines)
    session.rollback()
    assert session.exec(select(Invoice)).all() == []

    exactly = (LineForm("y" * 2_000, "1", "10"),)
    invoice_id = drafts.save_draft(
        session, world["actor"], DraftForm(client_id=world["client"].id, lines=exactly), clock=clock
    )
    session.commit()
    assert draft_view(session, ADMIN, invoice_id).lines[0].description == "y" * 2_000


def test_a_long_message_or_note_is_refused_not_cut(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    form = DraftForm(
        client_id=world["client"].id, lines=(LineForm("Fine", "1", "5"),), message="m" * 5_001
    )
    with pytest.raises(ValidationFailed, match="at most 5,000 characters") as caught:
        drafts.save_draft(session, world["actor"], form, clock=clock)
    assert caught.value.field == "message"
    session.rollback()
    assert session.exec(select(Invoice)).all() == []

    invoice_id = sent_invoice(session, world, clock)
    with pytest.raises(ValidationFailed, match="at most 5,000 characters") as caught:
        invoice_timeline.add_comment(session, world["actor"], invoice_id, "n" * 5_001, clock=clock)
    assert caught.value.field == "comment"
    session.rollback()
    comments = select(InvoiceEvent).where(col(InvoiceEvent.kind) == "comment")
    assert session.exec(comments).all() == []


@pytest.mark.parametrize(
    ("reference", "note", "field", "limit"),
    [("r" * 121, "", "reference", "120"), ("", "n" * 501, "note", "500")],
)
@pytest.mark.parametrize("kind", ["payment", "refund"])
def test_a_long_payment_reference_or_note_is_refused_not_cut(
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],
    kind: str,
    reference: str,
    note: str,
    field: str,
    limit: str,
) -> None:
    invoice_id = sent_invoice(session, world, clock)
    today = date(2026, 3, 14)
    if kind == "refund":
        payments.record_payment(
            session, world["actor"], invoice_id, PaymentForm("100", "cash", today), clock=clock
        )
        session.commit()
    before = len(payment_rows(session))
    record = payments.record_payment if kind == "payment" else payments.record_refund
    form = PaymentForm("10", "cash", today, reference=reference, note=note)
    with pytest.raises(ValidationFailed, match=f"at most {limit} characters") as caught:
        record(session, world["actor"], invoice_id, form, clock=clock)
    assert caught.value.field == field
    session.rollback()
    assert len(payment_rows(session)) == before


def test_a_long_void_reason_is_refused_not_cut(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = sent_invoice(session, world, clock)
    with pytest.raises(ValidationFailed, match="at most 500 characters") as caught:
        payments.void_invoice(session, world["actor"], invoice_id, "r" * 501, clock=clock)
    assert caught.value.field == "reason"
    session.rollback()
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None and invoice.status == "open"


# --------------------------------------------------------------------------- negative total


def test_a_negative_total_says_what_can_be_done_today(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    lines = (LineForm("Hosting", "1", "10"), LineForm("Goodwill credit", "-1", "25"))
    form = DraftForm(client_id=world["client"].id, lines=lines)
    for attempt in (
        lambda: drafts.save_draft(session, world["actor"], form, clock=clock),
        lambda: drafts.preview_totals(session, ADMIN, world["client"].id, lines),
    ):
        with pytest.raises(ValidationFailed) as caught:
            attempt()
        assert caught.value.field == "lines"
        message = caught.value.message
        assert message.startswith("An invoice total cannot be negative (-€15.00).")
        assert "Reduce or remove the negative lines" in message
        assert "record a refund" in message and "void it and issue a corrected one" in message
        assert "credit note" not in message  # not something the app can do yet
    session.rollback()
    assert session.exec(select(Invoice)).all() == []
