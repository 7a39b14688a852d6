"""The monthly MRR rollup rows of one client: their sums over clients and months equal what
domain/revenue.py replays from the whole ledger."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from billing_app.domain.mrr_rollup import FIELDS, ClientMonth, Contribution, client_months
from billing_app.domain.mrr_rollup import contribution as contribution_of
from billing_app.domain.revenue import LedgerEntry, month_starts, monthly_figures

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def test_a_clients_months_from_its_ledger() -> None:
    rows = client_months(
        [
            (date(2026, 3, 2), -5000),  # written in any order: sorted by day
            (date(2026, 1, 10), 5000),
            (date(2026, 1, 20), 2000),
            (date(2026, 3, 20), 1000),
        ]
    )
    assert rows == [
        ClientMonth(JAN, 0, 7000, had_before=False, active=True),
        ClientMonth(MAR, 7000, 3000, had_before=True, active=True),
    ]
    assert client_months([]) == []


def test_a_client_gone_and_back_within_a_month_had_mrr_before_the_next() -> None:
    rows = client_months(
        [(date(2026, 1, 3), 1000), (date(2026, 1, 9), -1000), (date(2026, 2, 4), 500)]
    )
    assert rows[0] == ClientMonth(JAN, 0, 0, had_before=False, active=True)
    assert rows[1] == ClientMonth(FEB, 0, 500, had_before=True, active=True)
    assert contribution_of(rows[0]) == Contribution()  # nothing at either end
    assert contribution_of(rows[1]) == Contribution(
        reactivation_minor=500, reactivated_customers=1, mrr_change_minor=500, customer_change=1
    )


def test_each_kind_of_month() -> None:
    def row(start: int, end: int, *, had: bool = False) -> Contribution:
        return contribution_of(ClientMonth(JAN, start, end, had, True))

    assert row(0, 900) == Contribution(
        new_minor=900, new_customers=1, mrr_change_minor=900, customer_change=1
    )
    assert row(900, 0) == Contribution(
        churn_minor=900, churned_customers=1, mrr_change_minor=-900, customer_change=-1
    )
    assert row(900, 1200) == Contribution(expansion_minor=300, mrr_change_minor=300)
    assert row(1200, 900) == Contribution(contraction_minor=300, mrr_change_minor=-300)
    assert row(700, 700, had=True) == Contribution()
    total = row(0, 900).minus(row(900, 1200))
    assert total.as_dict()["new_minor"] == 900 and total.expansion_minor == -300
    assert set(FIELDS) == set(Contribution().as_dict())


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 4), st.integers(0, 120), st.sampled_from([0, 800, 1500, 4000])),
        max_size=30,
    )
)
def test_sums_of_rollup_rows_equal_the_ledger_replay(
    changes: list[tuple[int, int, int]],
) -> None:
    start = date(2026, 1, 1)
    level: dict[int, int] = defaultdict(int)
    ledger: list[LedgerEntry] = []
    per_client: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for client, offset, mrr in sorted(changes, key=lambda c: c[1]):
        if mrr == level[client]:
            continue
        day = start + timedelta(days=offset)
        ledger.append(LedgerEntry(client, "EUR", mrr - level[client], day))
        per_client[client].append((day, mrr - level[client]))
        level[client] = mrr
    months = month_starts(start, start + timedelta(days=120))
    totals: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    for rows in per_client.values():
        for row in client_months(rows):
            for name, value in contribution_of(row).as_dict().items():
                totals[row.month][name] += value

    replayed = {f.month: f for f in monthly_figures(ledger, months)}
    mrr = customers = 0
    for month in months:
        got = totals[month]
        mrr += got["mrr_change_minor"]
        customers += got["customer_change"]
        if month not in replayed:
            assert mrr == customers == 0
            continue
        want = replayed[month]
        assert (mrr, customers) == (want.mrr.amount_minor, want.customers)
        moved = want.movements
        assert got["new_minor"] == moved.new.amount_minor
        assert got["reactivation_minor"] == moved.reactivation.amount_minor
        assert got["expansion_minor"] == moved.expansion.amount_minor
        assert got["contraction_minor"] == moved.contraction.amount_minor
        assert got["churn_minor"] == moved.churn.amount_minor
        assert got["churned_customers"] == want.churned_customers
