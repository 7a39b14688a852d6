"""The invoice list (services/invoicing/queries.py) as the agency reads it: each tab shows the
invoices in that state (overdue by the agency's calendar, refunded ones together), search finds
an invoice by number, client, email or amount in any currency, sorting and pages are stable,
and the totals are those of the whole filter, not of the page shown."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice
from billing_app.domain.permissions import BuiltinRole, Permission
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed, NotFound
from billing_app.services.common.listing import ListRequest
from billing_app.services.customers.clients import search_text_of
from billing_app.services.invoicing import drafts, payments
from billing_app.services.invoicing import queries as invoice_queries
from billing_app.services.invoicing.drafts import DraftForm, LineForm
from billing_app.services.invoicing.payments import PaymentForm

from .test_invoice_notices import as_role
from .test_invoice_sending_rules import numbering
from .test_invoicing import send, world

__all__ = ["world"]

TODAY = date(2026, 3, 14)  # the test clock's day in Helsinki


def invoice(
    session: Session,
    w: dict[str, Any],
    clock: FixedClock,
    price: str,
    *,
    client_id: int | None = None,
    issued: date = TODAY,
    due: date = date(2026, 3, 28),
    sent: bool = True,
) -> int:
    form = DraftForm(
        client_id=client_id or w["client"].id,
        lines=(LineForm("Work", "1", price),),
        issue_date=issued,
        due_date=due,
    )
    invoice_id = drafts.save_draft(session, w["actor"], form, clock=clock)
    session.commit()
    if sent:
        send(session, w, invoice_id, clock)
    return invoice_id


def pay(session: Session, w: dict[str, Any], invoice_id: int, amount: str, clock: Any) -> None:
    payments.record_payment(
        session, w["actor"], invoice_id, PaymentForm(amount, "cash", TODAY), clock=clock
    )
    session.commit()


def refund(session: Session, w: dict[str, Any], invoice_id: int, amount: str, clock: Any) -> None:
    payments.record_refund(
        session, w["actor"], invoice_id, PaymentForm(amount, "cash", TODAY), clock=clock
    )
    session.commit()


def listed(session: Session, w: dict[str, Any], clock: FixedClock, **kw: Any) -> list[int]:
    filters = {"status": kw.pop("status", "all")}
    if "client_id" in kw:
        filters["client"] = str(kw.pop("client_id"))
    request = ListRequest(
        per_page=100, descending=kw.pop("descending", True), filters=filters, **kw
    )
    page = invoice_queries.list_invoices(session, w["actor"], request, clock=clock)
    return [row.id for row in page.rows]


def customer(session: Session, clock: FixedClock, **kw: Any) -> Client:
    now = clock.now()
    values: dict[str, Any] = {
        "company": "Tokyo Ramen KK",
        "email": "keiri@ramen.test",
        "currency": "JPY",
        "locale": "ja",
        "created_at": now,
        "updated_at": now,
    }
    values.update(kw)
    values.setdefault("search_text", search_text_of(values["company"], "", values["email"], []))
    client = Client(**values)
    session.add(client)
    session.commit()
    assert client.id is not None
    return client


@pytest.fixture
def ledger(session: Session, clock: FixedClock, world: dict[str, Any]) -> dict[str, int]:
    """One invoice in each state, all due 28 March unless said otherwise."""
    ids = {
        "draft": invoice(session, world, clock, "10", sent=False),
        "open": invoice(session, world, clock, "20"),
        "due_earlier": invoice(session, world, clock, "30", due=date(2026, 3, 20)),
        "partially_paid": invoice(session, world, clock, "40"),
        "paid": invoice(session, world, clock, "50"),
        "void": invoice(session, world, clock, "60"),
        "refunded": invoice(session, world, clock, "70"),
        "partially_refunded": invoice(session, world, clock, "80"),
    }
    pay(session, world, ids["partially_paid"], "15", clock)
    pay(session, world, ids["paid"], "50", clock)
    payments.void_invoice(session, world["actor"], ids["void"], "Mistake", clock=clock)
    session.commit()
    for key, back in (("refunded", "70"), ("partially_refunded", "5")):
        pay(session, world, ids[key], "70" if key == "refunded" else "80", clock)
        refund(session, world, ids[key], back, clock)
    return ids


# --------------------------------------------------------------------------- tabs


def test_each_tab_lists_the_invoices_in_that_state(
    session: Session, clock: FixedClock, world: dict[str, Any], ledger: dict[str, int]
) -> None:
    clock.at = clock.at.replace(day=25)  # "due_earlier" (20 March) is overdue now
    tab = {
        name: set(listed(session, world, clock, status=name))
        for name in invoice_queries.LIST_FILTERS
    }
    ids = ledger
    assert tab["all"] == set(ids.values())
    assert tab["draft"] == {ids["draft"]}
    assert tab["open"] == {ids["open"], ids["partially_paid"]}
    assert tab["overdue"] == {ids["due_earlier"]}
    assert tab["partially_paid"] == {ids["partially_paid"]}
    assert tab["paid"] == {ids["paid"]}
    assert tab["void"] == {ids["void"]}
    assert tab["refunded"] == {ids["refunded"], ids["partially_refunded"]}
    # A filter the page does not know shows everything rather than nothing.
    assert set(listed(session, world, clock, status="bogus")) == set(ids.values())


def test_the_status_shown_is_overdue_from_the_day_after_the_due_date_in_the_agency_time_zone(
    session: Session, clock: FixedClock, world: dict[str, Any], ledger: dict[str, int]
) -> None:
    def statuses() -> dict[int, str]:
        page = invoice_queries.list_invoices(
            session, world["actor"], ListRequest(per_page=100), clock=clock
        )
        return {row.id: row.status for row in page.rows}

    clock.at = clock.at.replace(day=28, hour=21, minute=30)  # 23:30 on the 28th in Helsinki
    shown = statuses()
    assert shown[ledger["open"]] == "open" and shown[ledger["due_earlier"]] == "overdue"
    assert listed(session, world, clock, status="overdue") == [ledger["due_earlier"]]
    due_today = {ledger["open"], ledger["partially_paid"]}
    assert set(listed(session, world, clock, status="open")) == due_today
    clock.at = clock.at.replace(hour=22, minute=30)  # already the 29th there
    shown = statuses()
    assert shown[ledger["open"]] == "overdue"
    assert shown[ledger["partially_paid"]] == "overdue"  # what is left is late too
    # Only money still expected is late: paid, void, refunded and drafts are shown as they are.
    for key in ("paid", "void", "refunded", "partially_refunded", "draft"):
        assert shown[ledger[key]] == key
    assert set(listed(session, world, clock, status="open")) == set()


def test_a_client_page_lists_only_that_clients_invoices(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    ours = invoice(session, world, clock, "10")
    other = customer(session, clock, company="Other GmbH", currency="EUR", locale="de")
    theirs = invoice(session, world, clock, "20", client_id=other.id)
    assert listed(session, world, clock, client_id=world["client"].id) == [ours]
    assert listed(session, world, clock, client_id=other.id) == [theirs]
    # A client filter that is not an id matches no invoice rather than someone's.
    assert listed(session, world, clock, client_id="first") == []
    # The tabs of a client page too.
    assert listed(session, world, clock, client_id=other.id, status="open") == [theirs]
    clock.at = clock.at.replace(month=4)
    assert listed(session, world, clock, client_id=other.id, status="overdue") == [theirs]
    assert listed(session, world, clock, client_id=world["client"].id, status="overdue") == [ours]
    page = invoice_queries.list_invoices(
        session, world["actor"], ListRequest(filters={"client": str(other.id)}), clock=clock
    )
    assert page.total == 1 and page.totals_by_currency == {"EUR": (2000, 2000)}


# --------------------------------------------------------------------------- search


def test_search_finds_an_invoice_by_number_client_or_email_whatever_the_case(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    first = invoice(session, world, clock, "10")
    other = customer(session, clock, company="Ramen 50% Off", currency="EUR", locale="en")
    second = invoice(session, world, clock, "20", client_id=other.id)
    assert listed(session, world, clock, search="inv-2026-00002") == [second]
    assert listed(session, world, clock, search="  CAFÉ under ") == []
    assert listed(session, world, clock, search="  CAFé ") == [first]
    assert listed(session, world, clock, search="KEIRI@ramen") == [second]
    # A LIKE wildcard typed by a person is a character, not "anything".
    assert listed(session, world, clock, search="50%") == [second]
    assert listed(session, world, clock, search="%") == [second]
    assert listed(session, world, clock, search="_") == []
    assert listed(session, world, clock, search="nothing like it") == []


def test_search_for_an_underscore_in_a_number_or_email_finds_just_that(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    numbering(session, world, clock, "INV_{SEQ:3}", "never")
    first = invoice(session, world, clock, "10")
    other = customer(session, clock, email="ap_team@bagels.test", currency="EUR", locale="en")
    second = invoice(session, world, clock, "20", client_id=other.id)
    assert listed(session, world, clock, search="inv_001") == [first]
    assert listed(session, world, clock, search="ap_team") == [second]
    assert listed(session, world, clock, search="ap_") == [second]


def test_search_finds_an_amount_in_each_currency_as_people_type_it(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    euros = invoice(session, world, clock, "1234.50")
    tokyo = customer(session, clock)
    yen = invoice(session, world, clock, "123450", client_id=tokyo.id)
    cents = invoice(session, world, clock, "12.34")
    assert listed(session, world, clock, search="1234.50") == [euros]
    assert listed(session, world, clock, search="1,234.5") == [euros]
    assert listed(session, world, clock, search="€1234.50") == [euros]
    assert listed(session, world, clock, search="¥123450") == [yen]
    assert listed(session, world, clock, search="123450") == [yen]
    # 12.34 is an amount in euros but not in yen (no fractions of a yen).
    assert listed(session, world, clock, search="12.34") == [cents]
    assert listed(session, world, clock, search="-12.34") == []
    # The largest amount an invoice can hold is found too.
    largest = invoice(session, world, clock, "92233720368547758.07", sent=False)
    assert listed(session, world, clock, search="92233720368547758.07") == [largest]


def test_search_finds_a_client_name_with_accented_capitals_as_written(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    """On both databases: the client's search text is lower-cased by Python, not by SQL (whose
    lower() folds ASCII only on SQLite)."""
    first = invoice(session, world, clock, "10")
    assert listed(session, world, clock, search="Ünder") == [first]
    assert listed(session, world, clock, search="CAFÉ ÜNDER") == [first]


# --------------------------------------------------------------------------- order, pages, totals


def test_sorting_by_date_due_date_or_amount_either_way(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    a = invoice(session, world, clock, "30", issued=date(2026, 3, 1), due=date(2026, 4, 20))
    b = invoice(session, world, clock, "10", issued=date(2026, 3, 5), due=date(2026, 3, 10))
    c = invoice(session, world, clock, "20", issued=date(2026, 3, 3), due=date(2026, 4, 1))
    assert listed(session, world, clock) == [b, c, a]  # newest first by default
    assert listed(session, world, clock, descending=False) == [a, c, b]
    assert listed(session, world, clock, sort="due") == [a, c, b]
    assert listed(session, world, clock, sort="due", descending=False) == [b, c, a]
    assert listed(session, world, clock, sort="amount") == [a, c, b]
    assert listed(session, world, clock, sort="amount", descending=False) == [b, c, a]
    assert listed(session, world, clock, sort="nonsense") == [b, c, a]


def test_pages_cover_every_invoice_once_and_equal_dates_keep_the_newest_first(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    ids = [invoice(session, world, clock, str(n)) for n in range(1, 6)]  # same issue date

    request = ListRequest(per_page=2, descending=True)
    pages = [invoice_queries.list_invoices(session, world["actor"], request, clock=clock)]
    while pages[-1].has_next:
        after = replace(request, after=pages[-1].last_key)
        pages.append(invoice_queries.list_invoices(session, world["actor"], after, clock=clock))
    assert all(p.total == 5 and p.per_page == 2 for p in pages)
    assert [[row.id for row in p.rows] for p in pages] == [ids[4:2:-1], ids[2:0:-1], ids[0:1]]
    assert [(p.has_previous, p.has_next) for p in pages] == [
        (False, True),
        (True, True),
        (True, False),
    ]
    last = invoice_queries.list_invoices(
        session, world["actor"], replace(request, last=True), clock=clock
    )
    assert [row.id for row in last.rows] == ids[0:1] and not last.has_next
    back = invoice_queries.list_invoices(
        session, world["actor"], replace(request, before=last.first_key), clock=clock
    )
    assert [row.id for row in back.rows] == ids[2:0:-1]


def test_equal_dates_or_amounts_keep_one_stable_order_that_follows_the_sort(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    """Ties are broken by creation, in the sort's direction (the keyset of the pages: every
    page starts exactly where the previous one stopped)."""
    ids = [invoice(session, world, clock, "10") for _ in range(3)]  # same day, due, amount
    for sort in ("date", "due", "amount"):
        assert listed(session, world, clock, sort=sort, descending=True) == ids[::-1]
        assert listed(session, world, clock, sort=sort, descending=False) == ids


def test_a_free_invoice_counts_as_nothing_invoiced_and_nothing_due(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice(session, world, clock, "0")
    page = invoice_queries.list_invoices(session, world["actor"], ListRequest(), clock=clock)
    assert page.totals_by_currency == {"EUR": (0, 0)}


def test_the_totals_are_those_of_the_whole_filter_per_currency(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    first = invoice(session, world, clock, "100")
    invoice(session, world, clock, "50")
    invoice(session, world, clock, "7", sent=False)  # a draft is invoiced but not yet due
    tokyo = customer(session, clock)
    invoice(session, world, clock, "5000", client_id=tokyo.id)
    pay(session, world, first, "40", clock)
    page = invoice_queries.list_invoices(
        session, world["actor"], ListRequest(per_page=1), clock=clock
    )
    assert len(page.rows) == 1 and page.total == 4
    assert page.totals_by_currency == {"EUR": (15700, 11000), "JPY": (5000, 5000)}
    (row,) = [
        r
        for r in invoice_queries.list_invoices(
            session, world["actor"], ListRequest(), clock=clock
        ).rows
        if r.id == first
    ]
    assert (row.total.amount_minor, row.due.amount_minor, row.status) == (
        10000,
        6000,
        "partially_paid",
    )
    assert (row.client, row.issue_date, row.due_date) == (
        "Café Ünder GmbH",
        TODAY,
        date(2026, 3, 28),
    )
    drafts_only = invoice_queries.list_invoices(
        session, world["actor"], ListRequest(filters={"status": "draft"}), clock=clock
    )
    assert [r.number for r in drafts_only.rows] == ["Draft"]
    assert drafts_only.totals_by_currency == {"EUR": (700, 0)}


# --------------------------------------------------------------------------- who may


def test_the_list_needs_the_permission_to_read_invoices(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    invoice(session, world, clock, "10")
    viewer = as_role(world, BuiltinRole.VIEWER)
    assert invoice_queries.list_invoices(session, viewer, ListRequest(), clock=clock).total == 1
    blind = dataclasses.replace(viewer, permissions=viewer.permissions - {Permission.INVOICES_READ})
    with pytest.raises(NotAllowed):
        invoice_queries.list_invoices(session, blind, ListRequest(), clock=clock)


def test_one_invoice_by_id(session: Session, clock: FixedClock, world: dict[str, Any]) -> None:
    invoice_id = invoice(session, world, clock, "10")
    found = invoice_queries.get_invoice(session, invoice_id)
    assert isinstance(found, Invoice) and found.id == invoice_id
    with pytest.raises(NotFound, match=r"^That invoice does not exist\.$"):
        invoice_queries.get_invoice(session, invoice_id + 1)
