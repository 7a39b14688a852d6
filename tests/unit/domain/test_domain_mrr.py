"""MRR normalisation, totals and movements."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_app.domain.errors import InvalidAmount, InvalidQuantity
from billing_app.domain.money import Money, div_half_up
from billing_app.domain.mrr import (
    MovementKind,
    RecurringPrice,
    arr_total,
    monthly_amount,
    monthly_money,
    mrr_movements,
    mrr_total,
)
from billing_app.domain.periods import Interval, IntervalUnit

intervals = st.builds(
    Interval, st.sampled_from(list(IntervalUnit)), st.integers(min_value=1, max_value=36)
)
currencies = st.sampled_from(["EUR", "USD", "JPY", "KWD"])


def test_monthly_factors() -> None:
    price = Money(1200, "EUR")
    assert monthly_amount(price, Interval.months()) == 1200
    assert monthly_amount(price, Interval.months(3)) == 400
    assert monthly_amount(price, Interval.years()) == 100
    assert monthly_amount(price, Interval.weeks()) == Fraction(1200 * 52, 12)
    assert monthly_amount(price, Interval.days()) == Fraction(1200 * 365, 12)
    assert monthly_amount(price, Interval.weeks(4), 2) == Fraction(1200 * 52 * 2, 48)
    assert monthly_amount(price, Interval.months(), Decimal("1.5")) == 1800
    assert monthly_money(Money(1000, "EUR"), Interval.months(3)) == Money(333, "EUR")


@given(st.integers(0, 10**12), st.integers(1, 120), currencies)
def test_every_n_months_times_n_is_the_price(amount: int, n: int, currency: str) -> None:
    price = Money(amount, currency)
    assert monthly_amount(price, Interval.months(n)) * n == amount
    assert monthly_amount(price, Interval.years(n)) * 12 * n == amount
    assert monthly_amount(price, Interval.weeks(n)) * 12 * n == amount * 52
    # Rounded per month: within half a unit of the exact share, so N months of rounded
    # MRR are within N/2 units of the price, and exactly the price when N divides it.
    rounded = monthly_money(price, Interval.months(n)).amount_minor
    assert abs(rounded * n - amount) * 2 <= n
    if amount % n == 0:
        assert rounded * n == amount


@given(
    st.lists(
        st.builds(
            RecurringPrice,
            st.builds(Money, st.integers(-(10**7), 10**9), currencies),
            intervals,
            st.one_of(
                st.integers(0, 50),
                st.decimals(min_value=0, max_value=50, places=2, allow_nan=False),
            ),
        ),
        max_size=40,
    )
)
def test_mrr_total_sums_exact_fractions_and_rounds_once(items: list[RecurringPrice]) -> None:
    expected: dict[str, Fraction] = {}
    for item in items:
        share = monthly_amount(item.amount, item.interval, item.quantity)
        expected[item.amount.currency] = expected.get(item.amount.currency, Fraction(0)) + share
    totals = mrr_total(items)
    assert set(totals) == set(expected)
    for currency, exact in expected.items():
        assert totals[currency] == Money(div_half_up(exact.numerator, exact.denominator), currency)
        annual = exact * 12
        assert arr_total(items)[currency] == Money(
            div_half_up(annual.numerator, annual.denominator), currency
        )
    # Order independence: the total never depends on grouping or order.
    assert mrr_total(list(reversed(items))) == totals


def test_mrr_total_is_allocation_safe() -> None:
    # Three monthly-per-quarter prices of 1 cent: 1/3 each. Rounding each would give 0;
    # rounding the exact sum gives 1.
    items = [RecurringPrice(Money(1, "EUR"), Interval.months(3)) for _ in range(3)]
    assert mrr_total(items) == {"EUR": Money(1, "EUR")}
    assert mrr_total([]) == {}


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (-1, "The quantity cannot be negative."),
        (1.5, "The quantity must be a number."),
        (Decimal("NaN"), "The quantity must be a finite number."),
    ],
)
def test_bad_recurring_quantity(quantity: object, message: str) -> None:
    with pytest.raises(InvalidQuantity) as exc:
        RecurringPrice(Money(100, "EUR"), Interval.months(), quantity)  # type: ignore[arg-type]
    assert exc.value.message == message


def eur(cents: int) -> Money:
    return Money(cents, "EUR")


def test_movements_classify_each_customer() -> None:
    previous = {"a": eur(1000), "b": eur(2000), "c": eur(500), "d": eur(700), "z": eur(0)}
    current = {"a": eur(1500), "b": eur(1200), "c": eur(500), "e": eur(300), "f": eur(900)}
    report = mrr_movements(previous, current, ever_had_mrr={"a", "b", "c", "d", "f"})
    kinds = {change.key: change.kind for change in report.changes}
    assert kinds == {
        "a": MovementKind.EXPANSION,
        "b": MovementKind.CONTRACTION,
        "d": MovementKind.CHURN,
        "e": MovementKind.NEW,
        "f": MovementKind.REACTIVATION,
    }
    totals = report.totals["EUR"]
    assert totals.new == eur(300)
    assert totals.reactivation == eur(900)
    assert totals.expansion == eur(500)
    assert totals.contraction == eur(800)
    assert totals.churn == eur(700)
    assert totals.net == eur(300 + 900 + 500 - 800 - 700)
    assert {c.key: c.delta for c in report.changes}["b"] == eur(-800)


def test_currency_switch_is_contraction_and_expansion_not_churn() -> None:
    report = mrr_movements({"a": eur(1000)}, {"a": Money(1100, "USD")}, {"a"})
    assert [(c.kind, c.previous, c.current) for c in report.changes] == [
        (MovementKind.CONTRACTION, eur(1000), eur(0)),
        (MovementKind.EXPANSION, Money(0, "USD"), Money(1100, "USD")),
    ]
    assert report.totals["EUR"].contraction == eur(1000)
    assert report.totals["USD"].expansion == Money(1100, "USD")


def test_negative_mrr_is_refused() -> None:
    with pytest.raises(InvalidAmount) as exc:
        mrr_movements({"a": eur(-1)}, {})
    assert exc.value.message == "MRR cannot be negative (a: -0.01 EUR)."


snapshots = st.dictionaries(
    st.integers(0, 30), st.builds(Money, st.integers(0, 10**6), st.sampled_from(["EUR", "JPY"]))
)


@given(snapshots, snapshots, st.sets(st.integers(0, 30)))
def test_movements_net_equals_the_change_in_total(
    previous: dict[int, Money], current: dict[int, Money], ever: set[int]
) -> None:
    ever = ever | {key for key, amount in previous.items() if amount.amount_minor > 0}
    report = mrr_movements(previous, current, ever)
    for currency in ("EUR", "JPY"):
        before = sum(m.amount_minor for m in previous.values() if m.currency == currency)
        after = sum(m.amount_minor for m in current.values() if m.currency == currency)
        movements = report.totals.get(currency)
        net = movements.net.amount_minor if movements else 0
        assert net == after - before
    for change in report.changes:
        if change.kind is MovementKind.NEW:
            assert change.key not in ever
            assert previous.get(change.key, Money(0, "EUR")).amount_minor == 0
        if change.kind is MovementKind.REACTIVATION:
            assert change.key in ever


# --------------------------------------------------------------------------- edges


def test_monthly_money_counts_the_quantity() -> None:
    assert monthly_money(Money(1000, "EUR"), Interval.years(), 3) == Money(250, "EUR")
    assert monthly_money(Money(999, "JPY"), Interval.months(), Decimal("2.5")) == Money(2498, "JPY")


def test_negative_mrr_now_is_refused_and_names_the_id() -> None:
    with pytest.raises(InvalidAmount) as exc:
        mrr_movements({}, {"sub-7": eur(-250)})
    assert exc.value.message == "MRR cannot be negative (sub-7: -2.50 EUR)."


def test_every_change_and_total_says_whose_and_which_currency() -> None:
    report = mrr_movements({"a": eur(1000), "b": eur(100)}, {"a": Money(1100, "USD")}, {"a"})
    assert [(c.key, c.kind) for c in report.changes] == [
        ("a", MovementKind.CONTRACTION),
        ("a", MovementKind.EXPANSION),
        ("b", MovementKind.CHURN),
    ]
    assert {currency: t.currency for currency, t in report.totals.items()} == {
        "EUR": "EUR",
        "USD": "USD",
    }
    assert list(report.totals) == ["EUR", "USD"]
