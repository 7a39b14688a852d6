"""Cash reports: the monthly rollup equals sums over the raw rows whatever happens (payments,
refunds, reversals, credit notes, voids, refusals, renewal batches); aging by days past due;
top clients; the stored renewal forecast; CSV exports; permissions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from billing_app.db.credit_notes import CreditNote
from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice, InvoicePayment
from billing_app.db.reporting import CashMonth, RenewalForecast
from billing_app.domain.permissions import BuiltinRole, Permission
from billing_app.domain.revenue import AgingBucket
from billing_app.services.billing import renewal_batches
from billing_app.services.billing.renewals import billing_run, upcoming_in
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed, ServiceError, ValidationFailed
from billing_app.services.credit_notes.issuing import issue_credit_note
from billing_app.services.credit_notes.planning import CreditNoteForm
from billing_app.services.invoicing import drafts, payments, reversals
from billing_app.services.invoicing.drafts import DraftForm, LineForm
from billing_app.services.invoicing.payments import PaymentForm
from billing_app.services.invoicing.settlement import payable_minor
from billing_app.services.reporting import cash_exports
from billing_app.services.reporting.cash_reports import (
    CashFilters,
    aging,
    cash_by_month,
    report_options,
    top_clients,
)
from billing_app.services.reporting.renewal_forecast import refresh_forecast, renewal_forecast

from .test_invoice_notices import as_role
from .test_invoicing import send, world
from .test_renewal_batches import twin
from .test_renewals import TODAY, attach

__all__ = ["world"]

WHOLE = CashFilters(date(2025, 1, 1), date(2026, 12, 31))
FIELDS = ("payments", "refunds", "reversals", "invoiced", "invoices", "credited", "credit_notes")


def invoice(session: Session, w: dict[str, Any], clock: FixedClock, amount: str, **kw: Any) -> int:
    form = DraftForm(client_id=w["client"].id, lines=(LineForm("Care", "1", amount),), **kw)
    invoice_id = drafts.save_draft(session, w["actor"], form, clock=clock)
    session.commit()
    send(session, w, invoice_id, clock)
    return invoice_id


def raw(session: Session) -> dict[tuple[date, str], dict[str, int]]:
    """The figures summed from the rows themselves: what every report must say."""
    session.expire_all()
    sums: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    for p in session.exec(select(InvoicePayment)).all():
        if p.kind == "refund" and p.method == "credit_balance":
            continue  # money kept as the client's balance: nothing moved
        key = (p.received_on.replace(day=1), p.currency)
        sums[key][
            {"payment": "payments", "refund": "refunds", "reversal": "reversals"}[p.kind]
        ] += p.amount_minor
    for i in session.exec(select(Invoice)).all():
        if i.status not in ("draft", "void"):
            key = (i.issue_date.replace(day=1), i.currency)
            sums[key]["invoiced"] += i.total_minor
            sums[key]["invoices"] += 1
    for n in session.exec(select(CreditNote)).all():
        key = (n.issue_date.replace(day=1), n.currency)
        sums[key]["credited"] += n.total_minor
        sums[key]["credit_notes"] += 1
    return {k: v for k, v in sums.items() if any(v.values())}


def reported(session: Session, actor: Any, filters: CashFilters = WHOLE) -> dict[Any, Any]:
    out = {}
    for r in cash_by_month(session, actor, filters):
        values = {
            "payments": r.payments.amount_minor,
            "refunds": r.refunds.amount_minor,
            "reversals": r.reversals.amount_minor,
            "invoiced": r.invoiced.amount_minor,
            "invoices": r.invoices,
            "credited": r.credited.amount_minor,
            "credit_notes": r.credit_notes,
        }
        if any(values.values()):
            out[(r.month, r.currency)] = values
    return out


OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "invoice",
                "pay",
                "refund",
                "reverse",
                "credit_balance",
                "credit_cash",
                "void",
                "later",
            ]
        ),
        st.integers(1, 40_000),
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_cash_reports_equal_sums_over_the_raw_rows(
    session: Session, clock: FixedClock, world: dict[str, Any], ops: list[tuple[str, int]]
) -> None:
    """Random invoices, payments, refunds, reversals, credit notes (to the balance or paid
    back) and voids through the real use cases, refused ones included: every month of the
    report equals the sums over the rows."""
    actor = world["actor"]
    made: list[int] = []
    paid: list[int] = []
    for op, n in ops:
        target = made[n % len(made)] if made else 0
        amount = f"{n / 100:.2f}"
        try:
            if op == "invoice" or not made:
                made.append(invoice(session, world, clock, amount))
            elif op == "pay":
                due = payable_minor(session.get(Invoice, target))  # type: ignore[arg-type]
                amount = f"{max(1, min(n, due)) / 100:.2f}"  # mostly a payment that fits
                form = PaymentForm(amount, "bank_transfer", clock.now().date())
                paid.append(payments.record_payment(session, actor, target, form, clock=clock))
            elif op == "refund":
                form = PaymentForm(amount, "cheque", clock.now().date())
                payments.record_refund(session, actor, target, form, clock=clock)
            elif op == "reverse" and paid:
                reversals.reverse_payment(
                    session, actor, paid[n % len(paid)], "Bounced", clock=clock
                )
            elif op in ("credit_balance", "credit_cash"):
                give_back = "balance" if op == "credit_balance" else "bank_transfer"
                form_c = CreditNoteForm("amount", "Overbilled", amount=amount, give_back=give_back)
                issue_credit_note(session, actor, target, form_c, clock=clock)
            elif op == "void":
                payments.void_invoice(session, actor, target, "Sent by mistake", clock=clock)
            elif op == "later":
                clock.advance(days=n % 45)
            session.commit()
        except ServiceError:
            session.rollback()  # a refusal writes nothing, the rollup included
    assert reported(session, actor) == raw(session)
    brand = session.exec(select(Invoice.brand_id)).first()
    assert reported(session, actor, replace(WHOLE, brand_id=brand)) == raw(session)
    assert reported(session, actor, replace(WHOLE, brand_id=10**6)) == {}


def test_a_month_shows_payments_refunds_reversals_and_credit_notes(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    actor = world["actor"]
    first = invoice(session, world, clock, "100")  # 14 March
    second = invoice(session, world, clock, "50")
    payment = payments.record_payment(
        session, actor, first, PaymentForm("100", "bank_transfer", date(2026, 3, 2)), clock=clock
    )
    payments.record_payment(
        session, actor, second, PaymentForm("20", "cash", date(2026, 3, 10)), clock=clock
    )
    session.commit()
    clock.advance(days=20)  # 3 April
    reversals.reverse_payment(session, actor, payment, "Wrong invoice", clock=clock)
    issue_credit_note(
        session, actor, second, CreditNoteForm("amount", "Discount", amount="30"), clock=clock
    )
    payments.void_invoice(
        session, actor, invoice(session, world, clock, "70"), "Twice", clock=clock
    )
    session.commit()
    rows = {
        r.month: r
        for r in cash_by_month(
            session, actor, CashFilters(date(2026, 2, 1), date(2026, 4, 30), currency="EUR")
        )
    }
    assert list(rows) == [date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
    assert rows[date(2026, 2, 1)].collected.amount_minor == 0
    march, april = rows[date(2026, 3, 1)], rows[date(2026, 4, 1)]
    assert (march.collected.amount_minor, march.invoiced.amount_minor, march.invoices) == (
        120_00,
        150_00,
        2,
    )
    assert (april.reversals.amount_minor, april.collected.amount_minor) == (100_00, -100_00)
    assert (april.invoiced.amount_minor, april.invoices) == (0, 0)  # the voided one is out
    assert (april.credited.amount_minor, april.credit_notes) == (30_00, 1)
    csv = cash_exports.cash_months_csv(session, actor, replace(WHOLE, currency="EUR"))
    assert "2026-04,EUR,0.00,0.00,100.00,-100.00,0.00,0,30.00,1\r\n" in csv.decode("utf-8-sig")


def test_renewal_batches_keep_the_rollup_exact(
    engine: sa.Engine,
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch path inserts its invoices without the ORM and adds them itself."""
    batched: list[int] = []
    add = renewal_batches.add_invoices

    def spy(conn: Any, rows: Any) -> None:
        batched.append(len(rows))
        add(conn, rows)

    monkeypatch.setattr(renewal_batches, "add_invoices", spy)
    for n in range(4):
        attach(session, twin(session, world, n), TODAY)
    attach(session, world, TODAY - timedelta(days=28))
    report = billing_run(engine, clock=clock, today=TODAY)
    assert len(report.invoices) == 6  # the world's last period and this one, one each
    assert sum(batched) >= 4
    made = raw(session)
    assert made[(date(2026, 3, 1), "EUR")]["invoices"] == 6
    assert reported(session, world["actor"]) == made


def test_filters_are_checked(session: Session, world: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed, match="ends before"):
        cash_by_month(session, world["actor"], CashFilters(date(2026, 3, 1), date(2026, 1, 1)))
    with pytest.raises(ValidationFailed, match="at most 60 months"):
        cash_by_month(session, world["actor"], CashFilters(date(2020, 1, 1), date(2026, 1, 1)))


def test_aging_puts_what_is_due_in_buckets_by_days_past_due(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    """Due dates on each side of each boundary (today is 14 March 2026)."""
    actor = world["actor"]
    cases = {0: "current", -3: "current", 1: "1-30", 30: "1-30", 31: "31-60", 60: "31-60"}
    cases |= {61: "61-90", 90: "61-90", 91: "90+", 200: "90+"}
    for late in cases:
        due = TODAY - timedelta(days=late)
        issued = min(due, TODAY)
        invoice(session, world, clock, "10", issue_date=issued, due_date=due)
    half = invoice(session, world, clock, "10", issue_date=TODAY, due_date=TODAY)
    payments.record_payment(session, actor, half, PaymentForm("4", "cash", TODAY), clock=clock)
    paid = invoice(session, world, clock, "10", issue_date=TODAY, due_date=TODAY)
    payments.record_payment(session, actor, paid, PaymentForm("10", "cash", TODAY), clock=clock)
    session.commit()
    (row,) = aging(session, actor, WHOLE, clock=clock)
    expected: dict[str, int] = defaultdict(int)
    for bucket in cases.values():
        expected[bucket] += 10_00
    expected["current"] += 6_00  # what is left of the half-paid one; the paid one is out
    assert {b.value: m.amount_minor for b, m in row.buckets.items()} == {
        b.value: expected[b.value] for b in AgingBucket
    }
    assert row.invoices[AgingBucket.CURRENT] == 3 and row.invoices[AgingBucket.OVER_90] == 2
    assert row.total.amount_minor == sum(expected.values())
    assert aging(session, actor, replace(WHOLE, currency="USD"), clock=clock)[0].total.is_zero
    text = cash_exports.aging_csv(session, actor, WHOLE, clock=clock).decode("utf-8-sig")
    assert "EUR,1-30,20.00,2\r\n" in text


def test_top_clients_by_mrr_and_by_outstanding(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    actor = world["actor"]
    other = twin(session, world, 1)
    attach(session, world, TODAY)
    attach(session, other, TODAY, quantity="3")
    invoice(session, world, clock, "500")
    by_mrr = top_clients(session, actor, "mrr", "EUR")
    assert [c.client_id for c in by_mrr] == [other["client"].id, world["client"].id]
    assert by_mrr[0].amount.amount_minor == 3 * by_mrr[1].amount.amount_minor
    owed = top_clients(session, actor, "outstanding", "EUR")
    assert [(c.client_id, c.amount.amount_minor) for c in owed] == [(world["client"].id, 500_00)]
    assert top_clients(session, actor, "mrr", "USD") == []
    assert top_clients(session, actor, "mrr", "EUR", brand_id=10**6) == []
    text = cash_exports.top_clients_csv(session, actor, "outstanding", "EUR").decode("utf-8-sig")
    assert text.splitlines()[1] == "Café Ünder GmbH,EUR,500.00"
    with pytest.raises(ValidationFailed, match="Choose a currency"):
        top_clients(session, actor, "mrr", "")


def test_the_forecast_is_stored_from_the_engines_schedule(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    actor = world["actor"]
    attach(session, world, TODAY, quantity="2")
    assert renewal_forecast(session, actor).computed_at is None
    assert refresh_forecast(session, clock=clock) == 3
    session.commit()
    forecast = renewal_forecast(session, actor, currency="EUR")
    assert forecast.computed_at == clock.now()
    by_days = {r.days: r for r in forecast.rows}
    for days in (30, 60, 90):
        engine_says = upcoming_in(session, TODAY, days=days)
        assert by_days[days].renewals == engine_says.periods.get("EUR", 0)
        assert by_days[days].amount.amount_minor == engine_says.amounts.get("EUR", 0)
    assert by_days[90].renewals == 2  # 14 April, 14 May
    # Read, never recomputed: a new subscription shows at the next refresh only.
    attach(session, twin(session, world, 1), TODAY)
    assert renewal_forecast(session, actor).rows == forecast.rows
    refresh_forecast(session, clock=clock)
    assert renewal_forecast(session, actor).rows[-1].renewals == 4
    rows = session.exec(select(RenewalForecast)).all()
    assert {r.brand_id for r in rows} == {world["client"].brand_id or rows[0].brand_id}
    text = cash_exports.forecast_csv(session, actor, WHOLE).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Currency,Next days,Renewals")


def test_reports_need_their_permissions(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    """Everything needs reports.view; what clients owe needs invoices.read too."""
    invoice(session, world, clock, "10")
    actor = world["actor"]
    reports_only = replace(actor, permissions=frozenset({Permission.REPORTS_VIEW}))
    cash_by_month(session, reports_only, WHOLE)
    top_clients(session, reports_only, "mrr", "EUR")
    renewal_forecast(session, reports_only)
    report_options(session, reports_only)
    with pytest.raises(NotAllowed):
        aging(session, reports_only, WHOLE, clock=clock)
    with pytest.raises(NotAllowed):
        top_clients(session, reports_only, "outstanding", "EUR")
    with pytest.raises(NotAllowed):
        cash_exports.aging_csv(session, reports_only, WHOLE, clock=clock)
    nothing = replace(actor, permissions=frozenset({Permission.INVOICES_READ}))
    for call in (
        lambda: cash_by_month(session, nothing, WHOLE),
        lambda: cash_exports.cash_months_csv(session, nothing, WHOLE),
        lambda: top_clients(session, nothing, "mrr", "EUR"),
        lambda: renewal_forecast(session, nothing),
        lambda: cash_exports.forecast_csv(session, nothing, WHOLE),
        lambda: report_options(session, nothing),
    ):
        with pytest.raises(NotAllowed):
            call()
    viewer = as_role(world, BuiltinRole.VIEWER)  # every built-in role may read reports
    assert aging(session, viewer, WHOLE, clock=clock)[0].total.amount_minor == 10_00


def test_the_rollup_is_rebuilt_by_the_migration_from_existing_rows(
    session: Session, clock: FixedClock, world: dict[str, Any]
) -> None:
    """What 0034 fills the table with is what the listener keeps (same rules)."""
    import importlib.util
    from pathlib import Path

    actor = world["actor"]
    first = invoice(session, world, clock, "80")
    payments.record_payment(session, actor, first, PaymentForm("80", "cash", TODAY), clock=clock)
    issue_credit_note(
        session, actor, first, CreditNoteForm("amount", "Goodwill", amount="5"), clock=clock
    )
    session.commit()
    kept = sorted(tuple(r) for r in session.execute(sa.select(CashMonth.__table__)).all())  # type: ignore[attr-defined]
    session.execute(sa.delete(CashMonth.__table__))  # type: ignore[attr-defined]
    path = Path(__file__).parents[2] / "alembic" / "versions" / "0034_cash_reports.py"
    spec = importlib.util.spec_from_file_location("cash_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    with Operations.context(MigrationContext.configure(session.connection())):
        migration._backfill()
    rebuilt = sorted(tuple(r) for r in session.execute(sa.select(CashMonth.__table__)).all())  # type: ignore[attr-defined]
    assert rebuilt == kept
    assert session.exec(select(col(Client.id))).first() is not None
