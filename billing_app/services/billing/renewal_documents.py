"""The drain behind batched renewals (docs/architecture.md, "Renewals"): each invoice a batch
made has a ``renewal_document`` row; the drain renders its PDF (from the frozen snapshot, out
of any transaction), then in one transaction takes the row (whoever deletes it does the work:
two drains at once do it once), stores the PDF's key and, for an invoice not charged at once,
queues the invoice email as staff's "Send" would. A crash before the commit leaves the row for
the next drain; the PDF file, named by its content, is simply found again."""

from __future__ import annotations

import json
import logging

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters.documents import save_document
from billing_app.db.customers import Client, RenewalDocument
from billing_app.db.invoicing import Invoice
from billing_app.domain.lifecycle import InvoiceStatus
from billing_app.services.billing.renewal_plans import RENEWALS
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.outbox import WAKE_OUTBOX
from billing_app.services.common.transactions import wake
from billing_app.services.invoicing.documents import queue_invoice_email, render_snapshot
from billing_app.services.invoicing.timeline import add_event

log = logging.getLogger(__name__)
# Still asking to be paid: an invoice paid, voided or credited meanwhile gets no email.
_ASKING = (InvoiceStatus.OPEN.value, InvoiceStatus.PARTIALLY_PAID.value)


def pending_documents(engine: sa.Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(sa.func.count()).select_from(RenewalDocument)).one())


def drain_documents(
    engine: sa.Engine, *, clock: Clock = system_clock, limit: int | None = None
) -> int:
    """Render and email what batched renewals left to do, oldest first; how many were done.
    A document that fails (its error logged) is left for the next drain."""
    done = 0
    failed: set[int] = set()
    while limit is None or done < limit:
        with Session(engine) as session:
            query = select(col(RenewalDocument.invoice_id)).order_by(
                col(RenewalDocument.invoice_id)
            )
            if failed:
                query = query.where(col(RenewalDocument.invoice_id).notin_(failed))
            waiting = list(session.exec(query.limit(100)))
        if not waiting:
            break
        for invoice_id in waiting:
            if limit is not None and done >= limit:
                break
            try:
                done += drain_one(engine, invoice_id, clock=clock)
            except Exception:
                log.exception("renewal invoice %s: PDF or email failed, left for later", invoice_id)
                failed.add(invoice_id)
    return done


def drain_one(engine: sa.Engine, invoice_id: int, *, clock: Clock = system_clock) -> int:
    """The PDF and email of one batched renewal invoice; 1 if this call did it."""
    with Session(engine) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        key = invoice.pdf_key or save_document(render_snapshot(json.loads(invoice.snapshot)))
    with Session(engine, expire_on_commit=False) as session:
        email = session.execute(
            sa.delete(RenewalDocument)
            .where(col(RenewalDocument.invoice_id) == invoice_id)
            .returning(col(RenewalDocument.email))
        ).scalar_one_or_none()
        if email is None:
            return 0  # another drain took it
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        invoice.pdf_key = invoice.pdf_key or key
        session.add(invoice)
        if email and invoice.status in _ASKING:
            snapshot = json.loads(invoice.snapshot)
            queue_invoice_email(session, invoice, snapshot, invoice.pdf_key, clock=clock)
            client = session.get(Client, invoice.client_id)
            assert client is not None
            emailed = f"Emailed to {client.email}"
            add_event(
                session, invoice_id, "emailed", RENEWALS.label, emailed, clock, internal=False
            )
            wake(session, WAKE_OUTBOX)
        session.commit()
    return 1
