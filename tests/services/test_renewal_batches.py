"""Renewals in batches: the invoice a batch makes is the one the one-by-one path makes; a batch
that meets another run, a staff change or a new credit balance between the plan and its
transaction is rolled back whole and billed one by one (each period still once); numbering
stays gapless across batches; the PDFs and emails drained after are made once, even by two
drains at once or after a crash before the drain."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from billing_app.db.customers import Client, ClientWebsite, RenewalClaim, RenewalDocument
from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoiceLine
from billing_app.db.models import AuditEvent, OutboxEmail
from billing_app.services.billing import renewal_documents, renewals
from billing_app.services.billing.renewal_batches import Fallback, bill_batch
from billing_app.services.billing.renewal_plans import plan_renewals
from billing_app.services.billing.renewals import bill_group, billing_run
from billing_app.services.catalog import subscriptions
from billing_app.services.common.actors import SYSTEM
from billing_app.services.common.clock import FixedClock
from billing_app.services.credit_notes.ledger import add_credit
from billing_app.services.invoicing import documents

from .test_invoicing import world
from .test_renewals import TODAY, attach, invoices

__all__ = ["world"]


def twin(session: Session, w: dict[str, Any], n: int) -> dict[str, Any]:
    """Another client like the world's (same name, address, website), as a world."""
    source = w["client"]
    fields = source.model_dump(exclude={"id", "email"})
    client = Client(**fields, email=f"twin{n}@cafe-under.test")
    session.add(client)
    session.flush()
    assert client.id is not None
    site = ClientWebsite(
        client_id=client.id, name="Shop", url=w["site"].url, created_at=source.created_at
    )
    session.add(site)
    session.commit()
    return {**w, "client": client, "site": site}


def plan(session: Session) -> dict[Any, Any]:
    from billing_app.db.customers import Subscription

    subs = list(session.exec(select(Subscription).order_by(col(Subscription.id))))
    return plan_renewals(session, subs, TODAY, 3).groups


def frozen(invoice: Invoice) -> dict[str, Any]:
    snap = json.loads(invoice.snapshot)
    snap.pop("number")
    snap["client"].pop("id")
    snap["client"].pop("email")
    return snap


def test_a_batch_makes_the_invoice_the_one_by_one_path_makes(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    other = twin(session, world, 1)
    for w in (world, other):
        attach(session, w, TODAY, quantity="2", website_id=w["site"].id)
        attach(session, w, TODAY - timedelta(days=28))  # last period, then this one
    groups = plan(session)
    assert len(groups) == 4
    for key in sorted(groups, key=lambda k: (k[2], k[0])):
        with Session(engine) as work:
            if key[0] == world["client"].id:
                assert bill_group(work, key, groups[key], TODAY, clock) is not None
            else:
                bill_batch(work, [(key, groups[key])], TODAY, clock)
            work.commit()
    renewal_documents.drain_documents(engine, clock=clock)

    made = invoices(session)
    one = [i for i in made if i.client_id == world["client"].id]
    batched = [i for i in made if i.client_id == other["client"].id]
    assert [frozen(i) for i in batched] == [frozen(i) for i in one]
    for a, b in zip(one, batched, strict=True):
        keep = ("status", "currency", "issue_date", "due_date", "total_minor", "tax_minor")
        assert {k: getattr(b, k) for k in keep} == {k: getattr(a, k) for k in keep}
        assert (a.website_id is None) == (b.website_id is None)
        assert documents.original_pdf(session, b).startswith(b"%PDF-")
    for model, field in ((InvoiceLine, InvoiceLine.description), (InvoiceEvent, InvoiceEvent.kind)):
        of = {
            i.id: list(session.exec(select(field).where(col(model.invoice_id) == i.id)))
            for i in made
        }
        assert [of[i.id] for i in batched] == [of[i.id] for i in one]
    for target in (world, other):
        client = session.get(Client, target["client"].id)
        assert client is not None
        session.refresh(client)
        assert client.outstanding_minor == client.net_invoiced_minor == 3000 + 3 * 3000
    actions = session.exec(select(AuditEvent.action, func.count()).group_by(AuditEvent.action))
    assert dict(actions.all())["renewal.invoiced"] == 4
    assert session.exec(select(func.count()).select_from(RenewalDocument)).one() == 0
    emails = session.exec(select(OutboxEmail.to_address).where(OutboxEmail.kind == "invoice_sent"))
    assert sorted(emails) == sorted([world["client"].email] * 2 + [other["client"].email] * 2)


def test_another_run_between_the_plan_and_the_batch_leaves_each_period_billed_once(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(3):
        attach(session, twin(session, world, n), TODAY)
    batchable = renewals.batchable
    inner: list[renewals.RunReport] = []
    monkeypatch.setattr(renewals, "batchable", batchable)

    def meanwhile(*args: Any) -> Any:
        monkeypatch.setattr(renewals, "batchable", batchable)
        inner.append(billing_run(engine, clock=clock))  # another run, after this one planned
        return batchable(*args)

    monkeypatch.setattr(renewals, "batchable", meanwhile)
    report = billing_run(engine, clock=clock)

    assert len(inner[0].invoices) == 3
    assert (report.invoices, report.skipped) == ([], 3)
    assert [i.number for i in invoices(session)] == [f"INV-2026-0000{n}" for n in (1, 2, 3)]
    assert session.exec(select(func.count()).select_from(RenewalClaim)).one() == 3
    assert session.exec(select(func.count()).select_from(OutboxEmail)).one() == 3


def test_a_batch_finding_a_subscription_changed_since_the_plan_writes_nothing(
    engine: sa.Engine, session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    first = attach(session, world, TODAY)
    attach(session, twin(session, world, 1), TODAY)
    groups = plan(session)
    subscriptions.change(
        session, world["actor"], first.id or 0, quantity="4", price="", clock=clock
    )
    session.commit()

    with Session(engine) as work, pytest.raises(Fallback):
        bill_batch(work, list(groups.items()), TODAY, clock)
    assert invoices(session) == []

    report = billing_run(engine, clock=clock)  # one by one: the change takes effect
    assert len(report.invoices) == 2
    totals = sorted(i.total_minor for i in invoices(session))
    assert totals == [3000, 4 * 3000]


def test_a_credit_balance_that_appears_after_the_plan_is_used_first(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attach(session, world, TODAY)
    batchable = renewals.batchable

    def meanwhile(*args: Any) -> Any:
        fast = batchable(*args)
        with Session(engine) as other:
            add_credit(
                other,
                world["client"].id,
                "EUR",
                1000,
                kind="credit_note",
                actor=SYSTEM.actor(),
                actor_label="Staff",
                target="goodwill",
                clock=clock,
            )
            other.commit()
        return fast

    monkeypatch.setattr(renewals, "batchable", meanwhile)
    billing_run(engine, clock=clock)

    [invoice] = invoices(session)
    assert (invoice.total_minor, invoice.credit_applied_minor) == (3000, 1000)


def test_numbers_stay_gapless_and_in_order_across_batches(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(renewals, "BATCH", 2)
    for n in range(5):
        attach(session, twin(session, world, n), TODAY)

    report = billing_run(engine, clock=clock)

    expected = [f"INV-2026-0000{n}" for n in range(1, 6)]
    assert report.invoices == expected
    assert [i.number for i in invoices(session)] == expected
    assert report.documents == 5


def test_the_drain_after_a_crash_makes_each_pdf_and_email_once(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(4):
        attach(session, twin(session, world, n), TODAY)
    monkeypatch.setattr(renewals, "drain_documents", lambda *a, **k: 0)  # died before it
    billing_run(engine, clock=clock)
    made = invoices(session)
    assert [i.pdf_key for i in made] == [""] * 4
    assert session.exec(select(func.count()).select_from(OutboxEmail)).one() == 0
    # Meanwhile the client can already download it (rendered from its snapshot).
    assert documents.original_pdf(session, made[0]).startswith(b"%PDF-")
    made[1].status = "void"
    session.add(made[1])
    session.commit()

    done: list[int] = []
    threads = [
        threading.Thread(target=lambda: done.append(renewal_documents.drain_documents(engine)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(done) == 4
    assert all(i.pdf_key for i in invoices(session))
    sent = session.exec(select(OutboxEmail.to_address).where(OutboxEmail.kind == "invoice_sent"))
    assert sorted(sent) == sorted(
        i.snapshot and json.loads(i.snapshot)["client"]["email"] for i in made if i.id != made[1].id
    )
    assert renewal_documents.drain_documents(engine) == 0
    assert renewal_documents.pending_documents(engine) == 0
