"""Benchmark of the pure billing domain.

Run: python bench/bench_domain.py

Prints the median time to total a 1,000-line invoice (mixed exclusive/inclusive taxes,
percent and fixed discounts, fractional quantities) and to compute MRR over 100,000
subscriptions (mixed intervals and currencies), each beside its target.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from billing_app.domain.invoice_math import (
    AmountDiscount,
    InvoiceLineInput,
    PercentDiscount,
    compute_invoice,
)
from billing_app.domain.money import Money
from billing_app.domain.mrr import RecurringPrice, mrr_total
from billing_app.domain.periods import Interval
from billing_app.domain.tax import TaxRate

INVOICE_TARGET_MS = 5.0
MRR_TARGET_MS = 500.0


def build_invoice_lines(count: int, rng: random.Random) -> list[InvoiceLineInput]:
    gst = TaxRate("GST", Decimal(5))
    pst = TaxRate("PST", Decimal("7"))
    qst = TaxRate("QST", Decimal("9.975"))
    vat_incl = TaxRate("VAT", Decimal(20), inclusive=True)
    city_incl = TaxRate("City", Decimal("2.5"), inclusive=True)
    tax_sets: list[tuple[TaxRate, ...]] = [
        (),
        (gst,),
        (gst, pst),
        (gst, qst),
        (vat_incl,),
        (vat_incl, city_incl),
    ]
    lines = []
    for index in range(count):
        unit = Money(rng.randint(1, 500_000), "EUR")
        quantity = Decimal(rng.randint(1, 40_000)).scaleb(-rng.choice([0, 1, 2, 4]))
        choice = index % 3
        discount: PercentDiscount | AmountDiscount | None
        if choice == 0:
            discount = None
        elif choice == 1:
            discount = PercentDiscount(Decimal(rng.choice(["5", "10", "12.5", "33.3333"])))
        else:
            discount = AmountDiscount(Money(rng.randint(0, 100), "EUR"))
        lines.append(
            InvoiceLineInput(
                description=f"Line {index}",
                quantity=quantity,
                unit_price=unit,
                discount=discount,
                tax_rates=tax_sets[index % len(tax_sets)],
            )
        )
    return lines


def build_subscriptions(count: int, rng: random.Random) -> list[RecurringPrice]:
    intervals = [
        Interval.months(),
        Interval.months(3),
        Interval.months(6),
        Interval.years(),
        Interval.years(2),
        Interval.weeks(),
        Interval.weeks(4),
        Interval.days(30),
    ]
    currencies = ["EUR", "USD", "GBP", "JPY", "KWD", "CAD"]
    items = []
    for index in range(count):
        quantity: int | Decimal = rng.randint(1, 5) if index % 50 else Decimal("1.5")
        items.append(
            RecurringPrice(
                amount=Money(rng.randint(100, 5_000_000), rng.choice(currencies)),
                interval=rng.choice(intervals),
                quantity=quantity,
            )
        )
    return items


def median_ms(function: Callable[[], object], repeat: int) -> float:
    function()  # warm up caches
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    rng = random.Random(20260101)
    lines = build_invoice_lines(1_000, rng)
    subscriptions = build_subscriptions(100_000, rng)

    invoice_ms = median_ms(lambda: compute_invoice(lines, "EUR"), repeat=51)
    mrr_ms = median_ms(lambda: mrr_total(subscriptions), repeat=11)

    ok = invoice_ms < INVOICE_TARGET_MS and mrr_ms < MRR_TARGET_MS
    print(f"Python {sys.version.split()[0]}")
    print(
        f"invoice total, 1,000 lines (mixed taxes, discounts): median {invoice_ms:7.2f} ms"
        f"   target < {INVOICE_TARGET_MS:.0f} ms   "
        f"{'OK' if invoice_ms < INVOICE_TARGET_MS else 'TOO SLOW'}"
    )
    print(
        f"MRR, 100,000 subscriptions (mixed intervals/currencies): median {mrr_ms:7.2f} ms"
        f"   target < {MRR_TARGET_MS:.0f} ms   "
        f"{'OK' if mrr_ms < MRR_TARGET_MS else 'TOO SLOW'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
