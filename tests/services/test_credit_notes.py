"""Credit notes against sent invoices: all lines, some lines, an amount; taxes in proportion;
their own gapless numbers per brand; what the credit does (reduces what is due, refunds offline,
leaves a credit balance the next invoice uses); nothing credited beyond what was invoiced; final
documents with a PDF and an email; audited."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.db.credit_notes import ClientCreditEntry, CreditNote, CreditNoteLine
from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoicePayment
from billing_app.db.models import OutboxEmail
from billing_app.domain.permissions import BuiltinRole
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict, NotAllowed, ValidationFailed
from billing_app.services.credit_notes import balances
from billing_app.services.credit_notes.balances import BalanceRefundForm
from billing_app.services.credit_notes.issuing import issue_credit_note
from billing_app.services.credit_notes.ledger import balance_minor
from billing_app.services.credit_notes.planning import CreditNoteForm
from billing_app.services.invoicing import drafts, payments, sending
from billing_app.services.invoicing.drafts import DraftForm, LineForm
from billing_app.services.invoicing.settlement import outstanding_minor

from .test_invoice_notices import as_role, audit_of
from .test_invoice_payment_rules import TODAY, client_figures, hundred_euro_invoice, invoice_of, pay
from .test_invoicing import send, world

__all__ = ["world"]


def vat_invoice(session: Session, w: dict[str, Any], clock: FixedClock) -> int:
    """A sent invoice: 3 x €40.00 design hours + 1 x €33.33 hosting, both 20 % VAT
    (€153.33 net, €30.67 VAT, €184.00 total)."""
    vat = (w["vat"].id,)
    form = DraftForm(
        client_id=w["client"].id,
        lines=(
            LineForm("Design hours", "3", "40", tax_rate_ids=vat),
            LineForm("Hosting", "1", "33.33", tax_rate_ids=vat),
        ),
    )
    invoice_id = drafts.save_draft(session, w["actor"], form, clock=clock)
    session.commit()
    send(session, w, invoice_id, clock)
    return invoice_id


def credit(
    session: Session, clock: FixedClock, w: dict[str, Any], invoice_id: int, **kw: Any
) -> Any:
    actor = kw.pop("actor", w["actor"])
    form = CreditNoteForm(
        mode=kw.pop("mode", "all"), reason=kw.pop("reason", "Hours billed twice"), **kw
    )
    issued = issue_credit_note(session, actor, invoice_id, form, clock=clock)
    session.commit()
    return issued


def note_of(session: Session, note_id: int) -> CreditNote:
    note = session.get(CreditNote, note_id)
    assert note is not None
    session.refresh(note)
    return note


def test_crediting_an_open_invoice_in_full_leaves_nothing_due_and_marks_it_credited(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = vat_invoice(session, world, clock)
    assert client_figures(session, world) == (18400, 18400)

    issued = credit(session, clock, world, invoice_id)

    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, invoice.credited_minor, outstanding_minor(invoice)) == (
        "credited",
        18400,
        0,
    )
    assert issued.number == "CN-2026-00001"
    note = note_of(session, issued.id)
    assert (note.net_minor, note.tax_minor, note.total_minor) == (15333, 3067, 18400)
    assert (note.reduces_due_minor, note.given_back_minor) == (18400, 0)
    assert client_figures(session, world) == (0, 0)
    with pytest.raises(Conflict, match="credited in full already"):
        credit(session, clock, world, invoice_id)
    session.rollback()
    with pytest.raises(Conflict, match="does not accept payments"):
        pay(session, world, invoice_id, "1", clock)


def test_some_lines_by_quantity_credit_their_share_and_the_tax_on_it_exactly(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = vat_invoice(session, world, clock)

    first = credit(session, clock, world, invoice_id, mode="lines", quantities={0: "1"})
    note = note_of(session, first.id)
    assert (note.net_minor, note.tax_minor, note.total_minor) == (4000, 800, 4800)
    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, outstanding_minor(invoice)) == ("open", 18400 - 4800)

    # The other two hours, in two credit notes: the tax adds up to the line's exactly.
    credit(session, clock, world, invoice_id, mode="lines", quantities={0: "1"})
    credit(session, clock, world, invoice_id, mode="lines", quantities={0: "1"})
    lines = session.exec(select(CreditNoteLine).where(col(CreditNoteLine.line_index) == 0)).all()
    assert sum(line.gross_minor for line in lines) == 14400
    assert sum(json.loads(line.taxes)[0] for line in lines) == 2400
    with pytest.raises(ValidationFailed, match="at most 0 can still be credited"):
        credit(session, clock, world, invoice_id, mode="lines", quantities={0: "1"})
    session.rollback()


def test_an_amount_is_spread_over_the_lines_with_their_taxes_and_never_beyond_the_total(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = vat_invoice(session, world, clock)

    issued = credit(session, clock, world, invoice_id, mode="amount", amount="50")

    note = note_of(session, issued.id)
    assert note.total_minor == 5000
    assert note.net_minor + note.tax_minor == 5000
    assert note.tax_minor == 833  # 20 % VAT contained in €50.00, per line, rounded once each
    with pytest.raises(ValidationFailed, match="more than is left to credit"):
        credit(session, clock, world, invoice_id, mode="amount", amount="134.01")
    session.rollback()
    credit(session, clock, world, invoice_id, mode="amount", amount="134")
    assert invoice_of(session, invoice_id).status == "credited"


def test_a_paid_invoice_credited_refunds_offline_and_nothing_becomes_due(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "100", clock)

    issued = credit(
        session,
        clock,
        world,
        invoice_id,
        mode="amount",
        amount="30",
        give_back="bank_transfer",
        reference="TX-42",
    )

    assert issued.outcome == "bank_transfer"
    invoice = invoice_of(session, invoice_id)
    assert (invoice.status, invoice.paid_minor, invoice.refunded_minor) == (
        "partially_refunded",
        10000,
        3000,
    )
    assert (invoice.credited_minor, outstanding_minor(invoice)) == (3000, 0)
    refund = session.exec(select(InvoicePayment).where(col(InvoicePayment.kind) == "refund")).one()
    assert (refund.method, refund.credit_note_id, refund.reference) == (
        "bank_transfer",
        issued.id,
        "TX-42",
    )
    # Net invoiced drops by the credit once (not again for its refund).
    assert client_figures(session, world) == (7000, 0)


def test_a_credit_balance_is_used_by_the_next_invoice_and_can_be_paid_back(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    first = hundred_euro_invoice(session, world, clock)
    pay(session, world, first, "100", clock)
    client_id = world["client"].id

    issued = credit(session, clock, world, first, mode="amount", amount="40", give_back="balance")

    assert issued.outcome == "balance"
    assert balance_minor(session, client_id, "EUR") == 4000
    invoice = invoice_of(session, first)
    assert (invoice.refunded_minor, invoice.credited_minor, outstanding_minor(invoice)) == (
        4000,
        4000,
        0,
    )

    second = hundred_euro_invoice(session, world, clock)
    invoice = invoice_of(session, second)
    assert (invoice.status, invoice.credit_applied_minor, outstanding_minor(invoice)) == (
        "partially_paid",
        4000,
        6000,
    )
    assert balance_minor(session, client_id, "EUR") == 0
    assert json.loads(invoice.snapshot)["credit_applied_minor"] == 4000
    events = session.exec(
        select(InvoiceEvent.message).where(col(InvoiceEvent.kind) == "credit_applied")
    ).all()
    assert events == ["€40.00 paid from the client's credit balance"]
    assert [a.details for a in audit_of(session, "credit_balance.applied")] == ["€40.00"]
    sent = session.exec(
        select(OutboxEmail)
        .where(col(OutboxEmail.kind) == "invoice_sent")
        .where(col(OutboxEmail.subject).contains(invoice.number or "?"))
    ).one()
    assert "Paid from your credit balance" in sent.body_text and "-€40.00" in sent.body_text
    assert "€60.00" in sent.body_text  # what is left to pay
    first_sent = session.exec(
        select(OutboxEmail)
        .where(col(OutboxEmail.kind) == "invoice_sent")
        .order_by(col(OutboxEmail.id))
    ).first()
    assert first_sent is not None and "credit balance" not in first_sent.body_text

    # Voiding it gives the credit back; then staff pay it back to the client.
    payments.void_invoice(session, world["actor"], second, "Sent by mistake", clock=clock)
    session.commit()
    assert balance_minor(session, client_id, "EUR") == 4000
    with pytest.raises(ValidationFailed, match="more than the client's credit balance"):
        balances.refund_balance(
            session,
            world["actor"],
            client_id,
            BalanceRefundForm("EUR", "40.01", "bank_transfer", TODAY),
            clock=clock,
        )
    session.rollback()
    balances.refund_balance(
        session,
        world["actor"],
        client_id,
        BalanceRefundForm("EUR", "40", "bank_transfer", TODAY, reference="TX-9"),
        clock=clock,
    )
    session.commit()
    assert balance_minor(session, client_id, "EUR") == 0
    kinds = session.exec(
        select(ClientCreditEntry.kind, ClientCreditEntry.amount_minor).order_by(
            col(ClientCreditEntry.id)
        )
    ).all()
    assert kinds == [
        ("credit_note", 4000),
        ("applied", -4000),
        ("returned", 4000),
        ("refund", -4000),
    ]


def test_the_credit_note_is_a_document_with_its_number_pdf_and_email(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = vat_invoice(session, world, clock)
    issued = credit(session, clock, world, invoice_id, mode="lines", quantities={1: "1"})

    note = note_of(session, issued.id)
    snap = json.loads(note.snapshot)
    assert snap["invoice"]["number"] == invoice_of(session, invoice_id).number
    assert [line["description"] for line in snap["lines"]] == ["Hosting"]
    assert note.pdf_key
    [email] = session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == "credit_note")).all()
    assert email.subject.startswith("Credit note CN-2026-00001 for invoice INV-")
    assert email.attachment_key == note.pdf_key
    assert "€40.00" in email.body_text
    assert [a.target for a in audit_of(session, "credit_note.issued")] == ["CN-2026-00001"]
    timeline = session.exec(
        select(InvoiceEvent).where(col(InvoiceEvent.kind) == "credit_note")
    ).one()
    assert not timeline.internal
    assert timeline.message.startswith("Credit note CN-2026-00001 issued: €40.00 credited")


def test_who_may_credit_and_what_cannot_be_credited(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = vat_invoice(session, world, clock)
    with pytest.raises(NotAllowed):
        credit(session, clock, world, invoice_id, actor=as_role(world, BuiltinRole.VIEWER))
    session.rollback()
    with pytest.raises(ValidationFailed, match="Say why"):
        credit(session, clock, world, invoice_id, reason="  ")
    session.rollback()
    with pytest.raises(ValidationFailed, match="at least one line"):
        credit(session, clock, world, invoice_id, mode="lines", quantities={0: "0"})
    session.rollback()
    with pytest.raises(ValidationFailed, match="quantity as a number"):
        credit(session, clock, world, invoice_id, mode="lines", quantities={0: "1e9999"})
    session.rollback()
    assert session.exec(select(CreditNote)).all() == []
    # A refusal leaves no gap: the next credit note is number 1.
    assert credit(session, clock, world, invoice_id).number == "CN-2026-00001"
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    with pytest.raises(Conflict, match="another credit note"):
        payments.void_invoice(session, world["actor"], invoice_id, "Oops", clock=clock)
    session.rollback()


def _in_parallel(engine: sa.Engine, jobs: list[Any]) -> tuple[list[Any], list[BaseException]]:
    """Run each job (a function of a session) in its own thread and transaction, all at once."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(job: Any) -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                barrier.wait(timeout=30)
                result = job(s)
                s.commit()
            with lock:
                results.append(result)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results, errors


def test_concurrent_credit_notes_on_one_invoice_never_credit_beyond_its_total(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = vat_invoice(session, world, clock)  # €184.00
    form = CreditNoteForm(mode="amount", reason="Overbilled", amount="50")

    def issue(s: Session) -> Any:
        return issue_credit_note(s, world["actor"], invoice_id, form, clock=clock)

    issued, errors = _in_parallel(engine, [issue] * 6)

    assert len(issued) == 3  # 3 x €50.00 fit in €184.00; the other three are refused
    assert all(isinstance(e, ValidationFailed) for e in errors) and len(errors) == 3
    invoice = invoice_of(session, invoice_id)
    notes = session.exec(select(CreditNote).where(col(CreditNote.invoice_id) == invoice_id)).all()
    assert sum(n.total_minor for n in notes) == invoice.credited_minor == 15000
    assert outstanding_minor(invoice) == 18400 - 15000
    assert sorted(n.number for n in notes) == [f"CN-2026-{k:05d}" for k in (1, 2, 3)]


def test_twenty_concurrent_credit_notes_get_twenty_consecutive_numbers(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    ids = [hundred_euro_invoice(session, world, clock) for _ in range(20)]
    form = CreditNoteForm(mode="all", reason="Cancelled")

    def job(invoice_id: int) -> Any:
        return lambda s: issue_credit_note(s, world["actor"], invoice_id, form, clock=clock)

    issued, errors = _in_parallel(engine, [job(i) for i in ids])

    assert errors == []
    assert sorted(n.number for n in issued) == [f"CN-2026-{k:05d}" for k in range(1, 21)]
    assert (
        len(session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == "credit_note")).all())
        == 20
    )
    assert {invoice_of(session, i).status for i in ids} == {"credited"}
    assert client_figures(session, world) == (0, 0)


def test_two_invoices_sent_at_once_never_spend_the_same_credit(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    paid = hundred_euro_invoice(session, world, clock)
    pay(session, world, paid, "100", clock)
    credit(session, clock, world, paid, mode="amount", amount="70", give_back="balance")
    ids = [
        drafts.save_draft(
            session,
            world["actor"],
            DraftForm(client_id=world["client"].id, lines=(LineForm("Care", "1", "50"),)),
            clock=clock,
        )
        for _ in range(4)
    ]
    session.commit()

    def job(invoice_id: int) -> Any:
        return lambda s: sending.send_invoice(s, world["actor"], invoice_id, clock=clock)

    _, errors = _in_parallel(engine, [job(i) for i in ids])

    assert errors == []
    applied = sorted(invoice_of(session, i).credit_applied_minor for i in ids)
    assert sum(applied) == 7000 and applied[-1] == 5000  # €50 + €20, never more than €70
    assert balance_minor(session, world["client"].id, "EUR") == 0
    entries = session.exec(
        select(ClientCreditEntry.amount_minor).where(col(ClientCreditEntry.kind) == "applied")
    ).all()
    assert sum(entries) == -7000
