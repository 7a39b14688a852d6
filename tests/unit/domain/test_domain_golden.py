"""Golden tables (tests/golden/) worked by hand: renewal dates, rounding at .5 edges,
and a mixed-tax invoice."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from billing_app.domain.invoice_math import (
    AmountDiscount,
    InvoiceLineInput,
    PercentDiscount,
    compute_invoice,
    compute_line,
)
from billing_app.domain.money import Money
from billing_app.domain.mrr import RecurringPrice, monthly_money, mrr_total
from billing_app.domain.periods import (
    Interval,
    IntervalUnit,
    Period,
    next_renewal,
    nth_renewal,
    period_end,
    periods,
    prorate,
)
from billing_app.domain.tax import TaxRate, compute_tax

GOLDEN = Path(__file__).resolve().parents[2] / "golden"


def _load_json(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def _renewal_rows() -> list[dict[str, str]]:
    text = (GOLDEN / "renewals.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines))


RENEWALS = _renewal_rows()
ROUNDING = _load_json("rounding.json")


def test_renewal_table_covers_the_required_cases() -> None:
    cases = {row["case"] for row in RENEWALS}
    assert {
        "monthly-from-jan-31",
        "yearly-from-feb-29",
        "every-4-weeks",
        "every-3-months-from-nov-30",
    } <= cases
    monthly = [row for row in RENEWALS if row["case"] == "monthly-from-jan-31"]
    assert len(monthly) == 25  # two years of renewals plus the anchor
    assert "2024-02-29" in {row["expected"] for row in monthly}
    assert len([row for row in RENEWALS if row["case"] == "yearly-from-feb-29"]) == 9


@pytest.mark.parametrize("row", RENEWALS, ids=lambda r: f"{r['case']}-{r['n']}")
def test_nth_renewal_matches_golden(row: dict[str, str]) -> None:
    anchor = date.fromisoformat(row["anchor"])
    interval = Interval(IntervalUnit(row["unit"]), int(row["count"]))
    n = int(row["n"])
    expected = date.fromisoformat(row["expected"])
    assert nth_renewal(anchor, interval, n) == expected
    if n > 0:
        assert period_end(anchor, interval, n - 1) == expected
        # The renewal is the first one strictly after the day before it.
        assert next_renewal(anchor, interval, date.fromordinal(expected.toordinal() - 1)) == (
            expected
        )


@pytest.mark.parametrize("case", sorted({row["case"] for row in RENEWALS}))
def test_periods_iterator_matches_golden_sequence(case: str) -> None:
    rows = [row for row in RENEWALS if row["case"] == case]
    anchor = date.fromisoformat(rows[0]["anchor"])
    interval = Interval(IntervalUnit(rows[0]["unit"]), int(rows[0]["count"]))
    expected = [date.fromisoformat(row["expected"]) for row in rows]
    produced = periods(anchor, interval)
    starts = [next(produced).start for _ in expected]
    assert starts == expected


@pytest.mark.parametrize(
    "case", ROUNDING["tax_exclusive"], ids=lambda c: f"{c['currency']}-{c['exact']}"
)
def test_exclusive_tax_rounding(case: dict[str, Any]) -> None:
    rate = TaxRate("Tax", Decimal(case["percent"]))
    breakdown = compute_tax(Money(case["net"], case["currency"]), [rate])
    assert breakdown.taxes[0].amount == Money(case["expected"], case["currency"])
    if case.get("bankers"):
        # Python's round() (half to even) would have given a different answer here.
        assert round(Decimal(case["exact"])) != case["expected"]


@pytest.mark.parametrize(
    "case", ROUNDING["tax_inclusive"], ids=lambda c: f"{c['currency']}-{c['gross']}"
)
def test_inclusive_tax_rounding(case: dict[str, Any]) -> None:
    currency = case["currency"]
    rates = [
        TaxRate(f"Tax{index}", Decimal(percent), inclusive=True)
        for index, percent in enumerate(case["percents"])
    ]
    breakdown = compute_tax(Money(case["gross"], currency), rates)
    assert breakdown.net == Money(case["net"], currency)
    assert [tax.amount.amount_minor for tax in breakdown.taxes] == case["taxes"]
    assert breakdown.gross == Money(case["gross"], currency)


@pytest.mark.parametrize(
    "case", ROUNDING["proration"], ids=lambda c: f"{c['currency']}-{c['exact']}"
)
def test_proration_rounding(case: dict[str, Any]) -> None:
    period = Period(*(date.fromisoformat(day) for day in case["period"]))
    used_from, used_to = (date.fromisoformat(day) for day in case["used"])
    result = prorate(Money(case["amount"], case["currency"]), period, used_from, used_to)
    assert result == Money(case["expected"], case["currency"])


@pytest.mark.parametrize(
    "case", ROUNDING["from_decimal"], ids=lambda c: f"{c['currency']}-{c['value']}"
)
def test_from_decimal_rounding(case: dict[str, Any]) -> None:
    money = Money.from_decimal(Decimal(case["value"]), case["currency"])
    assert money == Money(case["expected"], case["currency"])


@pytest.mark.parametrize(
    "case", ROUNDING["line_amount"], ids=lambda c: f"{c['currency']}-{c['exact']}"
)
def test_line_amount_rounding(case: dict[str, Any]) -> None:
    line = InvoiceLineInput("x", Decimal(case["quantity"]), Money(case["unit"], case["currency"]))
    assert compute_line(line).amount == Money(case["expected"], case["currency"])


@pytest.mark.parametrize(
    "case", ROUNDING["percent_discount"], ids=lambda c: f"{c['currency']}-{c['exact']}"
)
def test_percent_discount_rounding(case: dict[str, Any]) -> None:
    line = InvoiceLineInput(
        "x",
        Decimal(1),
        Money(case["amount"], case["currency"]),
        discount=PercentDiscount(Decimal(case["percent"])),
    )
    assert compute_line(line).discount == Money(case["expected"], case["currency"])


@pytest.mark.parametrize("case", ROUNDING["mrr"], ids=lambda c: f"{c['currency']}-{c['exact']}")
def test_mrr_rounding(case: dict[str, Any]) -> None:
    price = Money(case["amount"], case["currency"])
    interval = Interval(IntervalUnit(case["unit"]), case["count"])
    expected = Money(case["expected"], case["currency"])
    assert monthly_money(price, interval) == expected
    assert mrr_total([RecurringPrice(price, interval)]) == {case["currency"]: expected}


def test_mixed_tax_invoice_worked_by_hand() -> None:
    golden = _load_json("mixed_tax_invoice.json")
    currency = golden["currency"]
    rates = {
        key: TaxRate(spec["name"], Decimal(spec["percent"]), inclusive=spec["inclusive"])
        for key, spec in golden["rates"].items()
    }
    lines = []
    for spec in golden["lines"]:
        discount: PercentDiscount | AmountDiscount | None = None
        if spec["discount"] and "percent" in spec["discount"]:
            discount = PercentDiscount(Decimal(spec["discount"]["percent"]))
        elif spec["discount"]:
            discount = AmountDiscount(Money(spec["discount"]["amount"], currency))
        lines.append(
            InvoiceLineInput(
                description=spec["description"],
                quantity=Decimal(spec["quantity"]),
                unit_price=Money(spec["unit"], currency),
                discount=discount,
                tax_rates=tuple(rates[key] for key in spec["rates"]),
            )
        )
    totals = compute_invoice(lines, currency)

    for result, spec in zip(totals.lines, golden["lines"], strict=True):
        expected = spec["expected"]
        assert result.amount.amount_minor == expected["amount"], spec["description"]
        assert result.discount.amount_minor == expected["discount"], spec["description"]
        assert result.subtotal.amount_minor == expected["subtotal"], spec["description"]
        assert result.discount_net.amount_minor == expected["discount_net"], spec["description"]
        assert result.net.amount_minor == expected["net"], spec["description"]
        assert [t.amount.amount_minor for t in result.taxes] == expected["taxes"]
        assert result.total.amount_minor == expected["total"], spec["description"]

    expected = golden["expected"]
    assert totals.subtotal == Money(expected["subtotal"], currency)
    assert totals.discount_total == Money(expected["discount_total"], currency)
    assert totals.net_total == Money(expected["net_total"], currency)
    assert [
        (s.name, s.percent, s.taxable_amount.amount_minor, s.amount.amount_minor)
        for s in totals.taxes
    ] == [(t["name"], Decimal(t["percent"]), t["taxable"], t["amount"]) for t in expected["taxes"]]
    assert totals.tax_total == Money(expected["tax_total"], currency)
    assert totals.inclusive_tax_total == Money(expected["inclusive_tax_total"], currency)
    assert totals.total == Money(expected["total"], currency)
    assert [s.label for s in totals.taxes] == ["GST 5%", "PST 7%", "QST 9.975%"]
