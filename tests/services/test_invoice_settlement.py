"""One definition of what is due (services/invoicing/settlement.py, from domain/invoice_math.py
Settlement.outstanding and domain/lifecycle.py is_collectible): the detail page, the list (rows,
tabs, totals), the dashboard, the client's outstanding figure, the payment form and the PDF
agree, also once money was refunded (a refund never reopens what is due)."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, func, select

from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice
from billing_app.domain.lifecycle import InvoiceStatus
from billing_app.services.agency import branding
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import Conflict
from billing_app.services.common.listing import ListRequest
from billing_app.services.invoicing import drafts, payments
from billing_app.services.invoicing import queries as invoice_queries
from billing_app.services.invoicing import settlement as settlement_service
from billing_app.services.invoicing import views as invoice_views
from billing_app.services.invoicing.drafts import DraftForm, LineForm
from billing_app.services.invoicing.payments import PaymentForm
from billing_app.services.reporting.dashboard import revenue_figures
from tests.services.test_clients import ADMIN

from .test_invoicing import send, world

__all__ = ["world"]

TODAY = date(2026, 3, 14)  # the test clock's day in Helsinki


def hundred_euro_invoice(session: Session, w: dict[str, Any], clock: FixedClock) -> int:
    """A sent invoice of exactly €100.00 (one line, no tax), due 28 March."""
    form = DraftForm(client_id=w["client"].id, lines=(LineForm("Website care", "1", "100"),))
    invoice_id = drafts.save_draft(session, w["actor"], form, clock=clock)
    session.commit()
    send(session, w, invoice_id, clock)
    return invoice_id


def pay(session: Session, w: dict[str, Any], invoice_id: int, amount: str, clock: Any) -> None:
    payments.record_payment(
        session, w["actor"], invoice_id, PaymentForm(amount, "bank_transfer", TODAY), clock=clock
    )
    session.commit()


def refund(session: Session, w: dict[str, Any], invoice_id: int, amount: str, clock: Any) -> None:
    payments.record_refund(
        session, w["actor"], invoice_id, PaymentForm(amount, "bank_transfer", TODAY), clock=clock
    )
    session.commit()


def every_view(
    session: Session, w: dict[str, Any], invoice_id: int, clock: FixedClock
) -> dict[str, Any]:
    """What each view says is due on the invoice (and on the client), in minor units."""
    detail = invoice_views.invoice_detail(session, ADMIN, invoice_id, clock=clock)
    listed = invoice_queries.list_invoices(session, ADMIN, ListRequest(), clock=clock)
    (row,) = [r for r in listed.rows if r.id == invoice_id]
    figures = revenue_figures(session, w["actor"], clock=clock)
    assert figures is not None and figures.outstanding is not None
    client = session.get(Client, w["client"].id)
    assert client is not None
    session.refresh(client)
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    session.refresh(invoice)
    return {
        "detail": detail.due_minor,
        "detail_text": detail.due,
        "list_row": row.due.amount_minor,
        "list_total": listed.totals_by_currency["EUR"][1],
        "dashboard": figures.outstanding.get("EUR").amount_minor
        if "EUR" in figures.outstanding
        else 0,
        "client": client.outstanding_minor,
        "payment_form": detail.can_record_payment,
        "can_record_payment": settlement_service.can_record_payment(invoice),
    }


def tabs_listing(session: Session, invoice_id: int, clock: FixedClock) -> set[str]:
    return {
        tab
        for tab in invoice_queries.LIST_FILTERS
        if any(
            r.id == invoice_id
            for r in invoice_queries.list_invoices(
                session, ADMIN, ListRequest(filters={"status": tab}), clock=clock
            ).rows
        )
    }


def test_pay_100_then_refund_20_owes_nothing_in_every_view(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    assert every_view(session, world, invoice_id, clock) == {
        "detail": 10000,
        "detail_text": "€100.00",
        "list_row": 10000,
        "list_total": 10000,
        "dashboard": 10000,
        "client": 10000,
        "payment_form": True,
        "can_record_payment": True,
    }

    pay(session, world, invoice_id, "100", clock)
    paid = every_view(session, world, invoice_id, clock)
    assert {k: v for k, v in paid.items() if k != "detail_text"} == {
        "detail": 0,
        "list_row": 0,
        "list_total": 0,
        "dashboard": 0,
        "client": 0,
        "payment_form": False,
        "can_record_payment": False,
    }

    # A refund of 20 after full payment: the client got 20 back and owes nothing. The status
    # is partially refunded (domain/invoice_math.settle), which is not collectible.
    refund(session, world, invoice_id, "20", clock)
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    session.refresh(invoice)
    assert invoice.status == "partially_refunded"
    assert every_view(session, world, invoice_id, clock) == {
        "detail": 0,
        "detail_text": "€0.00",
        "list_row": 0,
        "list_total": 0,
        "dashboard": 0,
        "client": 0,
        "payment_form": False,
        "can_record_payment": False,
    }
    detail = invoice_views.invoice_detail(session, ADMIN, invoice_id, clock=clock)
    assert (detail.paid, detail.refunded, detail.refundable) == ("€100.00", "€20.00", "€80.00")
    assert detail.can_record_refund
    # The list puts it under "refunded" only (never open, overdue or partially paid) ...
    assert tabs_listing(session, invoice_id, clock) == {"all", "refunded"}
    # ... and neither later nor overdue does it count as owed.
    clock.at = clock.at.replace(month=5)
    late = revenue_figures(session, world["actor"], clock=clock)
    assert late is not None and late.overdue == {} and late.overdue_count == 0
    assert (
        invoice_queries.list_invoices(
            session, ADMIN, ListRequest(filters={"status": "overdue"}), clock=clock
        ).total
        == 0
    )
    with pytest.raises(Conflict, match="nothing is due"):
        payments.record_payment(
            session, world["actor"], invoice_id, PaymentForm("20", "cash", TODAY), clock=clock
        )


def test_a_refund_on_a_partially_paid_invoice_keeps_the_client_figure_in_step(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice_id = hundred_euro_invoice(session, world, clock)
    pay(session, world, invoice_id, "50", clock)
    views = every_view(session, world, invoice_id, clock)
    assert (views["detail"], views["list_row"], views["dashboard"], views["client"]) == (
        5000,
        5000,
        5000,
        5000,
    )
    assert tabs_listing(session, invoice_id, clock) == {"all", "open", "partially_paid"}

    refund(session, world, invoice_id, "20", clock)
    views = every_view(session, world, invoice_id, clock)
    # Partially refunded: the domain closes collection, so every view says 0 - the client's
    # stored figure included (it used to stay at 50.00).
    assert (views["detail"], views["list_row"], views["dashboard"], views["client"]) == (
        0,
        0,
        0,
        0,
    )
    assert views["payment_form"] is False


def test_the_client_figure_is_the_sum_of_what_its_invoices_have_outstanding(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    ids = [hundred_euro_invoice(session, world, clock) for _ in range(5)]
    pay(session, world, ids[0], "30", clock)
    pay(session, world, ids[1], "100", clock)
    refund(session, world, ids[1], "100", clock)
    pay(session, world, ids[2], "60", clock)
    refund(session, world, ids[2], "10", clock)
    payments.void_invoice(session, world["actor"], ids[3], "Sent twice", clock=clock)
    session.commit()
    client = session.get(Client, world["client"].id)
    assert client is not None
    session.refresh(client)
    by_invoice = sum(
        settlement_service.outstanding_minor(inv) for inv in session.exec(select(Invoice)).all()
    )
    in_sql = session.exec(select(func.sum(settlement_service.outstanding_sql()))).one()
    assert client.outstanding_minor == by_invoice == in_sql == 7000 + 10000


STATUSES = [s.value for s in InvoiceStatus]
# (total, paid, refunded): nothing paid, part paid, all paid, over-refunded never happens.
AMOUNTS = [(10000, 0, 0), (10000, 4000, 0), (10000, 10000, 0), (10000, 10000, 2500), (0, 0, 0)]


def test_the_sql_figure_equals_the_domain_for_every_status_and_amount(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    now = clock.now()
    brand_id = branding.default_brand(session, clock=clock).id
    assert brand_id is not None
    rows = []
    for status, (total, paid, refunded) in itertools.product(STATUSES, AMOUNTS):
        invoice = Invoice(
            client_id=world["client"].id,
            brand_id=brand_id,
            status=status,
            currency="EUR",
            issue_date=TODAY,
            due_date=TODAY,
            total_minor=total,
            paid_minor=paid,
            refunded_minor=refunded,
            created_at=now,
            updated_at=now,
        )
        session.add(invoice)
        rows.append(invoice)
    session.commit()
    in_sql = dict(
        session.exec(select(Invoice.id, settlement_service.outstanding_sql())).all()  # type: ignore[call-overload]
    )
    expected = {}
    for invoice in rows:
        settlement = settlement_service.settlement_of(invoice)
        expected[invoice.id] = settlement.outstanding.amount_minor
        collectible = invoice.status in ("open", "partially_paid")
        balance = invoice.total_minor - invoice.paid_minor + invoice.refunded_minor
        assert expected[invoice.id] == (max(balance, 0) if collectible else 0), invoice
    assert {k: int(v) for k, v in in_sql.items()} == expected
    listed = invoice_queries.list_invoices(
        session, ADMIN, ListRequest(per_page=500, filters={"status": "all"}), clock=clock
    )
    assert {r.id: r.due.amount_minor for r in listed.rows} == expected
    assert listed.totals_by_currency["EUR"][1] == sum(expected.values())


@pytest.mark.parametrize(
    ("status", "paid", "refunded", "payable"),
    [
        ("draft", 0, 0, False),
        ("open", 0, 0, True),
        ("partially_paid", 4000, 0, True),
        ("paid", 10000, 0, False),
        ("void", 0, 0, False),
        ("partially_refunded", 10000, 2000, False),
        ("refunded", 10000, 10000, False),
        ("uncollectible", 0, 0, True),  # money may still arrive after all (lifecycle)
    ],
)
def test_a_payment_can_be_recorded_only_where_the_lifecycle_accepts_one(
    status: str, paid: int, refunded: int, payable: bool
) -> None:
    invoice = Invoice(
        client_id=1,
        brand_id=1,
        status=status,
        currency="EUR",
        total_minor=10000,
        paid_minor=paid,
        refunded_minor=refunded,
    )
    assert settlement_service.can_record_payment(invoice) is payable


def test_the_collectible_statuses_are_the_domain_s() -> None:
    assert set(settlement_service.COLLECTIBLE_STATUSES) == {"open", "partially_paid"}
