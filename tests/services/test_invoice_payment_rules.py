"""Money received and given back on a sent invoice (services/invoicing/payments.py and
settlement.py), as an accountant checks it: what may be paid (never more than is due, only
while something is due), what may be refunded (never more than was paid and not yet given
back), voids, the client's figures, receipts with the right amount, the timeline and audit
log, and who may do each. A refusal writes nothing."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoicePayment
from billing_app.db.models import OutboxEmail
from billing_app.domain.permissions import BuiltinRole, Permission
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from billing_app.services.common.listing import ListRequest
from billing_app.services.invoicing import drafts, payments
from billing_app.services.invoicing import queries as invoice_queries
from billing_app.services.invoicing import settlement as settlement_service
from billing_app.services.invoicing import timeline as invoice_timeline
from billing_app.services.invoicing.drafts import DraftForm, LineForm
from billing_app.services.invoicing.payments import PaymentForm

from .test_invoice_notices import FROZEN_ADDRESS, as_role, audit_of, outbox
from .test_invoicing import send, world

__all__ = ["world"]

TODAY = date(2026, 3, 14)  # the test clock's day in Helsinki


def hundred_euro_invoice(session: Session, w: dict[str, Any], clock: FixedClock) -> int:
    """A sent invoice of exactly €100.00 (one line, no tax)."""
    form = DraftForm(client_id=w["client"].id, lines=(LineForm("Website care", "1", "100"),))
    invoice_id = drafts.save_draft(session, w["actor"], form, clock=clock)
    session.commit()
    send(session, w, invoice_id, clock)
    return invoice_id


def pay(
    session: Session,
    w: dict[str, Any],
    invoice_id: int,
    amount: str,
    clock: FixedClock,
    **form: Any,
) -> int:
    method = form.pop("method", "bank_transfer")
    payment_id = payments.record_payment(
        session,
        w["actor"],
        invoice_id,
        PaymentForm(amount, method, form.pop("received_on", TODAY), **form),
        clock=clock,
    )
    session.commit()
    return payment_id


def refund(
    session: Session, w: dict[str, Any], invoice_id: int, amount: str, clock: FixedClock
) -> int:
    refund_id = payments.record_refund(
        session, w["actor"], invoice_id, PaymentForm(amount, "bank_transfer", TODAY), clock=clock
    )
    session.commit()
    return refund_id


def invoice_of(session: Session, invoice_id: int) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    session.refresh(invoice)
    return invoice


def client_figures(session: Session, w: dict[str, Any]) -> tuple[int, int]:
    """(net invoiced, outstanding) of the world's client, in cents."""
    client = session.get(Client, w["client"].id)
    assert client is not None
    session.refresh(client)
    return client.net_invoiced_minor, client.outstanding_minor


def rows(session: Session) -> list[InvoicePayment]:
    return list(session.exec(select(InvoicePayment)).all())


def refused(session: Session) -> None:
    """After a refusal: the caller's transaction is rolled back, as services.common.transactions
    does."""
    session.rollback()


# --------------------------------------------------------------------------- payments


def test_partial_payments_add_up_and_the_invoice_is_paid_at_the_last_cent(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    assert client_figures(session, world) == (10000, 10000)
    pay(session, world, invoice_id, "30", clock)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, invoice.paid_minor, invoice.refunded_minor) == (
        "partially_paid",
        3000,
        0,
    )
    assert settlement_service.outstanding_minor(invoice) == 7000
    assert client_figures(session, world) == (10000, 7000)
    assert settlement_service.payable_minor(invoice) == 7000

    pay(session, world, invoice_id, "69.99", clock)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, settlement_service.outstanding_minor(invoice)) == ("partially_paid", 1)
    assert client_figures(session, world) == (10000, 1)
    pay(session, world, invoice_id, "0.01", clock)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, invoice.paid_minor) == ("paid", 10000)
    assert client_figures(session, world) == (10000, 0)
    assert settlement_service.payable_minor(invoice) == 0
    assert not settlement_service.can_record_payment(invoice)


def test_a_payment_of_more_than_is_due_is_refused_with_what_is_due(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "40", clock)
    with pytest.raises(ValidationFailed, match=r"^That is more than the €60\.00 due\.$") as caught:
        pay(session, world, invoice_id, "60.01", clock)
    assert caught.value.field == "amount"
    refused(session)
    assert [r.amount_minor for r in rows(session)] == [4000]
    pay(session, world, invoice_id, "60.00", clock)  # exactly what is due is fine
    assert invoice_of(session, invoice_id).status == "paid"


@pytest.mark.parametrize("amount", ["0", "0.00", "-5"])
def test_a_payment_must_be_more_than_zero(
    session: Session, clock: FixedClock, world: dict[str, Any], amount: str
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    for record in (payments.record_payment, payments.record_refund):
        with pytest.raises(ValidationFailed) as caught:
            record(
                session, world["actor"], invoice_id, PaymentForm(amount, "cash", TODAY), clock=clock
            )
        assert caught.value.field == "amount"
        if amount != "-5":  # a minus sign gets the parser's own explanation
            assert caught.value.message == "Enter an amount greater than zero."
        refused(session)
    assert rows(session) == []


def test_an_amount_that_is_not_money_is_refused_on_the_amount(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    with pytest.raises(ValidationFailed) as caught:
        pay(session, world, invoice_id, "ten euros", clock)
    assert caught.value.field == "amount"
    assert (
        caught.value.message == "'ten euros' is not a valid amount. Enter an amount like 1,234.50."
    )
    refused(session)
    assert rows(session) == []


@pytest.mark.parametrize("record", [payments.record_payment, payments.record_refund])
def test_the_method_must_be_one_the_form_offers(
    session: Session, clock: FixedClock, world: dict[str, Any], record: Any
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "50", clock)
    before = len(rows(session))
    with pytest.raises(ValidationFailed, match=r"^Choose how it was (paid|refunded)\.$") as caught:
        record(
            session, world["actor"], invoice_id, PaymentForm("10", "bitcoin", TODAY), clock=clock
        )
    assert caught.value.field == "method"
    refused(session)
    assert len(rows(session)) == before


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("draft", "Send the invoice before recording a payment."),
        ("paid", "This invoice is already paid."),
        ("void", "This invoice is void."),
        ("refunded", "This invoice was refunded: nothing is due on it."),
        ("partially_refunded", "This invoice was partly refunded: nothing is due on it."),
    ],
)
def test_no_payment_where_nothing_is_due_and_the_message_says_why(
    session: Session, clock: FixedClock, world: dict[str, Any], state: str, message: str
) -> None:
    if state == "draft":
        form = DraftForm(client_id=world["client"].id, lines=(LineForm("Care", "1", "100"),))
        invoice_id = drafts.save_draft(session, world["actor"], form, clock=clock)
        session.commit()
    else:
        invoice_id = hundred_euro_invoice(session, world, clock)
    if state in ("paid", "refunded", "partially_refunded"):
        pay(session, world, invoice_id, "100", clock)
    if state in ("refunded", "partially_refunded"):
        refund(session, world, invoice_id, "100" if state == "refunded" else "1", clock)
    if state == "void":
        payments.void_invoice(session, world["actor"], invoice_id, "Sent twice", clock=clock)
        session.commit()
    assert invoice_of(session, invoice_id).status == state
    before = (len(rows(session)), client_figures(session, world))
    with pytest.raises(Conflict) as caught:
        pay(session, world, invoice_id, "1", clock)
    assert caught.value.message == message
    refused(session)
    assert (len(rows(session)), client_figures(session, world)) == before


def test_an_uncollectible_invoice_still_takes_a_payment_that_arrives(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    invoice = invoice_of(session, invoice_id)
    invoice.status = "uncollectible"  # written off
    session.add(invoice)
    session.commit()
    pay(session, world, invoice_id, "25", clock)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, invoice.paid_minor) == ("partially_paid", 2500)


def test_nothing_can_be_paid_on_a_free_invoice(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    form = DraftForm(client_id=world["client"].id, lines=(LineForm("Free audit", "1", "0"),))
    invoice_id = drafts.save_draft(session, world["actor"], form, clock=clock)
    session.commit()
    send(session, world, invoice_id, clock)
    invoice = invoice_of(session, invoice_id)
    assert invoice.status == "open"
    assert not settlement_service.can_record_payment(invoice)  # no payment form is offered
    assert settlement_service.payable_minor(invoice) == 0
    with pytest.raises(Conflict) as caught:
        pay(session, world, invoice_id, "1", clock)
    assert caught.value.message == "This invoice does not accept payments."
    refused(session)
    assert rows(session) == []


def test_one_cent_left_is_still_due_in_every_figure(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "99.99", clock)
    page = invoice_queries.list_invoices(session, world["actor"], ListRequest(), clock=clock)
    assert [row.due.amount_minor for row in page.rows] == [1]
    assert page.totals_by_currency == {"EUR": (10000, 1)}
    assert client_figures(session, world) == (10000, 1)
    assert settlement_service.can_record_payment(invoice_of(session, invoice_id))


def test_a_payment_is_recorded_as_entered_and_listed_by_date(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    later = pay(
        session, world, invoice_id, "60", clock, method="cheque", reference="  CHQ 7 ", note=" ok "
    )
    earlier = pay(
        session, world, invoice_id, "10", clock, method="cash", received_on=date(2026, 3, 2)
    )
    listed = payments.payments_of(session, invoice_id)
    assert [p.id for p in listed] == [earlier, later]  # by the day the money moved
    row = listed[1]
    assert (row.kind, row.method, row.amount_minor, row.currency) == (
        "payment",
        "cheque",
        6000,
        "EUR",
    )
    assert (row.received_on, row.reference, row.note) == (TODAY, "CHQ 7", "ok")
    assert row.recorded_by_id == world["actor"].id
    assert row.created_at == clock.now()
    assert payments.payments_of(session, invoice_id + 999) == []


def test_a_payment_is_on_the_timeline_for_the_client_and_in_the_audit_log(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    clock.at = clock.at.replace(hour=10)
    pay(session, world, invoice_id, "12.50", clock, method="cash")
    entry = invoice_timeline.timeline(session, invoice_id)[-1]
    assert (entry.kind, entry.message, entry.internal) == (
        "payment",
        "€12.50 received by cash",
        False,
    )
    assert (entry.actor_label, entry.at) == (world["actor"].email, clock.now())
    (logged,) = audit_of(session, "payment.recorded")
    number = invoice_of(session, invoice_id).number
    assert (logged.target, logged.details) == (number, "€12.50 cash")
    assert (logged.actor_label, logged.at) == (world["actor"].email, clock.now())


def test_a_payment_dated_tomorrow_is_refused_with_todays_date(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "50", clock)
    for record in (payments.record_payment, payments.record_refund):
        form = PaymentForm("1", "cash", date(2026, 3, 15))
        with pytest.raises(ValidationFailed) as caught:
            record(session, world["actor"], invoice_id, form, clock=clock)
        assert caught.value.message == (
            "The date cannot be in the future: enter today (March 14, 2026) or an earlier day."
        )
        assert caught.value.field == "received_on"
        refused(session)
    assert len(rows(session)) == 1


# --------------------------------------------------------------------------- receipts


def test_a_receipt_carries_the_amount_received_and_what_is_left(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    client = session.get(Client, world["client"].id)
    assert client is not None
    client.email = "changed@cafe-under.test"  # the receipt goes where the invoice went
    session.add(client)
    session.commit()
    payments.record_payment(
        session,
        world["actor"],
        invoice_id,
        PaymentForm("40", "cheque", date(2026, 3, 12), " CHQ 7 "),
        send_receipt=True,
        clock=clock,
    )
    session.commit()
    (receipt,) = outbox(session, "receipt")
    assert receipt.to_address == FROZEN_ADDRESS
    number = invoice_of(session, invoice_id).number
    assert receipt.subject.startswith(f"Receipt for invoice {number}")
    body = receipt.body_text
    assert "€40.00" in body and "€60.00 due" in body
    assert "Cheque" in body and "CHQ 7" in body and "March 12, 2026" in body
    assert "€100.00" not in body
    entry = invoice_timeline.timeline(session, invoice_id)[-1]
    assert (entry.kind, entry.message, entry.internal) == (
        "emailed",
        f"Receipt emailed to {FROZEN_ADDRESS}",
        False,
    )

    pay(session, world, invoice_id, "60", clock)
    assert len(outbox(session, "receipt")) == 1  # no receipt unless asked


def test_the_receipt_of_the_last_payment_says_paid_in_full(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    payments.record_payment(
        session,
        world["actor"],
        invoice_id,
        PaymentForm("100", "bank_transfer", TODAY),
        send_receipt=True,
        clock=clock,
    )
    session.commit()
    (receipt,) = outbox(session, "receipt")
    assert "€100.00" in receipt.body_text and "Paid in full" in receipt.body_text


# --------------------------------------------------------------------------- refunds


def test_refunds_never_exceed_what_was_paid_and_not_yet_given_back(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "100", clock)
    refund(session, world, invoice_id, "30", clock)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, invoice.refunded_minor) == ("partially_refunded", 3000)
    assert settlement_service.refundable_minor(invoice) == 7000
    with pytest.raises(ValidationFailed) as caught:
        refund(session, world, invoice_id, "70.01", clock)
    assert caught.value.message == (
        "You can refund at most €70.00: that is what was paid and not yet refunded."
    )
    assert caught.value.field == "amount"
    refused(session)

    refund(session, world, invoice_id, "69.99", clock)
    invoice = invoice_of(session, invoice_id)
    assert settlement_service.refundable_minor(invoice) == 1
    assert settlement_service.can_record_refund(invoice)  # one cent is still refundable
    refund(session, world, invoice_id, "0.01", clock)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, invoice.paid_minor, invoice.refunded_minor) == (
        "refunded",
        10000,
        10000,
    )
    assert settlement_service.refundable_minor(invoice) == 0
    assert not settlement_service.can_record_refund(invoice)
    with pytest.raises(Conflict, match="Nothing was paid on this invoice"):
        refund(session, world, invoice_id, "0.01", clock)
    refused(session)
    assert sum(r.amount_minor for r in rows(session) if r.kind == "refund") == 10000


def test_a_refund_of_a_partly_paid_invoice_is_limited_to_what_was_paid(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "40", clock)
    with pytest.raises(ValidationFailed, match=r"at most €40\.00"):
        refund(session, world, invoice_id, "40.01", clock)
    refused(session)
    refund(session, world, invoice_id, "40", clock)
    assert invoice_of(session, invoice_id).status == "refunded"


def test_nothing_paid_means_nothing_to_refund(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    invoice = invoice_of(session, invoice_id)
    assert settlement_service.refundable_minor(invoice) == 0
    assert not settlement_service.can_record_refund(invoice)
    with pytest.raises(Conflict) as caught:
        refund(session, world, invoice_id, "1", clock)
    assert caught.value.message == "Nothing was paid on this invoice, so nothing can be refunded."
    refused(session)
    assert rows(session) == []


def test_money_received_on_an_invoice_written_off_is_not_refunded_from_here(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    """An uncollectible invoice does not accept refunds (domain/lifecycle.py), even with money
    received on it: the message says so rather than that nothing was paid."""
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "0.01", clock)  # even one cent
    invoice = invoice_of(session, invoice_id)
    invoice.status = "uncollectible"
    session.add(invoice)
    session.commit()
    assert settlement_service.refundable_minor(invoice) == 0
    with pytest.raises(Conflict) as caught:
        refund(session, world, invoice_id, "10", clock)
    assert caught.value.message == "This invoice does not accept refunds."
    refused(session)


def test_a_refund_lowers_what_the_client_was_invoiced_net_and_is_on_the_timeline(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "100", clock)
    refund(session, world, invoice_id, "25.50", clock)
    assert client_figures(session, world) == (10000 - 2550, 0)
    entry = invoice_timeline.timeline(session, invoice_id)[-1]
    assert (entry.kind, entry.message, entry.internal) == (
        "refund",
        "€25.50 refunded by bank transfer",
        False,
    )
    (logged,) = audit_of(session, "refund.recorded")
    assert logged.details == "€25.50 bank_transfer"
    assert logged.target == invoice_of(session, invoice_id).number
    (row,) = [r for r in rows(session) if r.kind == "refund"]
    assert (row.amount_minor, row.method, row.received_on) == (2550, "bank_transfer", TODAY)


def test_a_refund_on_a_partly_paid_invoice_stops_collection_for_the_client_too(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "60", clock)
    assert client_figures(session, world) == (10000, 4000)
    refund(session, world, invoice_id, "10", clock)
    # Partially refunded: nothing is collected any more (a refund never reopens what is due).
    assert invoice_of(session, invoice_id).status == "partially_refunded"
    assert client_figures(session, world) == (10000 - 1000, 0)


# --------------------------------------------------------------------------- voids


def test_voiding_takes_the_invoice_out_of_what_the_client_owes_and_was_invoiced(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    keep = hundred_euro_invoice(session, world, clock)
    invoice_id = hundred_euro_invoice(session, world, clock)
    assert client_figures(session, world) == (20000, 20000)
    clock.at = clock.at.replace(hour=11)
    payments.void_invoice(
        session, world["actor"], invoice_id, "  Sent\n twice   by mistake ", clock=clock
    )
    session.commit()
    assert client_figures(session, world) == (10000, 10000)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, invoice.void_reason) == ("void", "Sent twice by mistake")
    assert invoice.voided_at is not None
    assert invoice.voided_at.replace(tzinfo=None) == clock.now().replace(tzinfo=None)
    assert settlement_service.outstanding_minor(invoice) == 0
    entry = invoice_timeline.timeline(session, invoice_id)[-1]
    assert (entry.kind, entry.message, entry.internal) == (
        "void",
        "Voided: Sent twice by mistake",
        False,
    )
    assert (entry.actor_label, entry.at) == (world["actor"].email, clock.now())
    (logged,) = audit_of(session, "invoice.voided")
    assert (logged.target, logged.details) == (invoice.number, "Sent twice by mistake")
    assert logged.at == clock.now()
    assert outbox(session, "invoice_voided") == []  # the client is told only when asked
    assert invoice_of(session, keep).status == "open"


def test_the_client_is_told_of_a_void_when_asked(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    payments.void_invoice(
        session, world["actor"], invoice_id, "Wrong client", notify_client=True, clock=clock
    )
    session.commit()
    (notice,) = outbox(session, "invoice_voided")
    assert notice.to_address == FROZEN_ADDRESS
    assert "Wrong client" in notice.body_text and "€100.00" in notice.body_text
    entry = invoice_timeline.timeline(session, invoice_id)[-1]
    assert (entry.kind, entry.message) == ("emailed", f"Void notice emailed to {FROZEN_ADDRESS}")


def test_a_written_off_invoice_can_be_voided_and_stops_counting(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    invoice = invoice_of(session, invoice_id)
    invoice.status = "uncollectible"
    session.add(invoice)
    client = session.get(Client, world["client"].id)
    assert client is not None
    client.outstanding_minor = 0  # an uncollectible invoice is not collected
    session.add(client)
    session.commit()
    payments.void_invoice(session, world["actor"], invoice_id, "Company closed", clock=clock)
    session.commit()
    assert invoice_of(session, invoice_id).status == "void"
    assert client_figures(session, world) == (0, 0)


@pytest.mark.parametrize(
    "state", ["draft", "void", "paid", "partially_paid", "one_cent_paid", "refunded"]
)
def test_only_open_invoices_without_money_received_are_voided(
    session: Session, clock: FixedClock, world: dict[str, Any], state: str
) -> None:
    if state == "draft":
        form = DraftForm(client_id=world["client"].id, lines=(LineForm("Care", "1", "100"),))
        invoice_id = drafts.save_draft(session, world["actor"], form, clock=clock)
        session.commit()
    else:
        invoice_id = hundred_euro_invoice(session, world, clock)
    paid = {"paid": "100", "refunded": "100", "partially_paid": "40", "one_cent_paid": "0.01"}
    if state in paid:
        pay(session, world, invoice_id, paid[state], clock)
    if state == "refunded":
        refund(session, world, invoice_id, "100", clock)
    if state == "void":
        payments.void_invoice(session, world["actor"], invoice_id, "First", clock=clock)
        session.commit()
    before = (invoice_of(session, invoice_id).status, client_figures(session, world))
    with pytest.raises(Conflict) as caught:
        payments.void_invoice(session, world["actor"], invoice_id, "Again", clock=clock)
    message = caught.value.message
    refused(session)
    assert (invoice_of(session, invoice_id).status, client_figures(session, world)) == before
    expected = {
        "draft": "Drafts are deleted, not voided.",
        "paid": "Payments were received on this invoice. Refund them before voiding it.",
        "partially_paid": "Payments were received on this invoice. Refund them before voiding it.",
        "one_cent_paid": "Payments were received on this invoice. Refund them before voiding it.",
    }
    if state in expected:
        assert message == expected[state]
    elif state == "void":  # the lifecycle's own explanations
        assert message == "The invoice is already void."
    else:
        assert message == f"An invoice that is {state} cannot be voided."
    assert len(audit_of(session, "invoice.voided")) == (1 if state == "void" else 0)


def test_a_void_needs_a_reason(session: Session, clock: FixedClock, world: dict[str, Any]) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    for reason in ("", " \n\t "):
        with pytest.raises(ValidationFailed) as caught:
            payments.void_invoice(session, world["actor"], invoice_id, reason, clock=clock)
        assert (caught.value.message, caught.value.field) == (
            "Say why the invoice is voided.",
            "reason",
        )
        refused(session)
    assert invoice_of(session, invoice_id).status == "open"
    # 500 characters is the limit: exactly that is kept whole.
    payments.void_invoice(session, world["actor"], invoice_id, "r" * 500, clock=clock)
    session.commit()
    assert invoice_of(session, invoice_id).void_reason == "r" * 500


def test_an_invoice_that_does_not_exist_is_not_found(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    missing = hundred_euro_invoice(session, world, clock) + 999
    with pytest.raises(NotFound, match=r"^That invoice does not exist\.$"):
        pay(session, world, missing, "1", clock)
    with pytest.raises(NotFound, match=r"^That invoice does not exist\.$"):
        refund(session, world, missing, "1", clock)
    with pytest.raises(NotFound, match=r"^That invoice does not exist\.$"):
        payments.void_invoice(session, world["actor"], missing, "Gone", clock=clock)


# --------------------------------------------------------------------------- who may


@pytest.mark.parametrize(
    ("action", "permission"),
    [
        ("payment", Permission.PAYMENTS_RECORD),
        ("refund", Permission.REFUNDS_CREATE),
        ("void", Permission.INVOICES_SEND),
    ],
)
def test_each_money_action_needs_its_own_permission(
    session: Session, clock: FixedClock, world: dict[str, Any], action: str, permission: Permission
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    if action == "refund":
        pay(session, world, invoice_id, "50", clock)
    # Everything but the one permission this action needs.
    owner = as_role(world, BuiltinRole.OWNER)
    without = dataclasses.replace(owner, permissions=owner.permissions - {permission})
    viewer = as_role(world, BuiltinRole.VIEWER)

    def attempt(actor: Any) -> None:
        if action == "payment":
            payments.record_payment(
                session, actor, invoice_id, PaymentForm("10", "cash", TODAY), clock=clock
            )
        elif action == "refund":
            payments.record_refund(
                session, actor, invoice_id, PaymentForm("10", "cash", TODAY), clock=clock
            )
        else:
            payments.void_invoice(session, actor, invoice_id, "Mistake", clock=clock)

    before = (
        len(rows(session)),
        invoice_of(session, invoice_id).status,
        client_figures(session, world),
    )
    for actor in (viewer, without):
        with pytest.raises(NotAllowed):
            attempt(actor)
        refused(session)
        after = (
            len(rows(session)),
            invoice_of(session, invoice_id).status,
            client_figures(session, world),
        )
        assert after == before
    assert session.exec(select(InvoiceEvent).where(col(InvoiceEvent.kind) == action)).all() == []
    attempt(as_role(world, BuiltinRole.ACCOUNTANT))  # accountants record money and voids
    session.commit()


def test_no_email_is_queued_by_a_refused_payment(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    with pytest.raises(ValidationFailed):
        payments.record_payment(
            session,
            world["actor"],
            invoice_id,
            PaymentForm("100.01", "cash", TODAY),
            send_receipt=True,
            clock=clock,
        )
    refused(session)
    assert outbox(session, "receipt") == []
    assert session.exec(select(OutboxEmail)).all() != []  # the invoice email itself is there
    assert audit_of(session, "payment.recorded") == []
