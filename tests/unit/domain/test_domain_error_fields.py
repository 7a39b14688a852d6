"""Every domain error about one input names that input (`DomainError.field`): the services and
the invoice editor use it to show the message next to the right form field, so a wrong or
missing field puts the explanation in the wrong place (or nowhere)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from billing_app.domain.errors import (
    CurrencyMismatch,
    DomainError,
    InvalidAmount,
    InvalidDiscount,
    InvalidInterval,
    InvalidPayment,
    InvalidQuantity,
    InvalidTaxCombination,
    InvalidTaxRate,
    NegativeTotal,
    OverRefund,
    UnknownCurrency,
    UnknownLocale,
)
from billing_app.domain.invoice_math import (
    AmountDiscount,
    InvoiceLineInput,
    PercentDiscount,
    compute_invoice,
    compute_line,
    settle,
)
from billing_app.domain.money import Money, format_money, parse_money
from billing_app.domain.mrr import RecurringPrice
from billing_app.domain.periods import Interval, IntervalUnit
from billing_app.domain.tax import TaxRate, compute_tax

VAT_INCL = TaxRate("VAT", Decimal(20), inclusive=True)
GST = TaxRate("GST", Decimal(5))


def eur(cents: int) -> Money:
    return Money(cents, "EUR")


CASES: list[tuple[str, Callable[[], object], type[DomainError], str, str]] = [
    # money
    (
        "unknown currency",
        lambda: Money(1, "ZZZ"),
        UnknownCurrency,
        "ZZZ is not a known ISO 4217 currency.",
        "currency",
    ),
    (
        "currency in lower case",
        lambda: Money(1, "eur"),
        UnknownCurrency,
        "'eur' is not a currency code; write it in capitals, such as EUR.",
        "currency",
    ),
    (
        "currency too long",
        lambda: Money(1, "EURO"),
        UnknownCurrency,
        "'EURO' is not a currency code; use a three-letter ISO 4217 code such as EUR.",
        "currency",
    ),
    (
        "amount text too long",
        lambda: parse_money("1" * 65, "EUR", "de"),
        InvalidAmount,
        "That is not a valid amount. Enter an amount like 1.234,50.",
        "amount",
    ),
    (
        "amount not a number",
        lambda: parse_money("abc", "EUR", "en"),
        InvalidAmount,
        "'abc' is not a valid amount. Enter an amount like 1,234.50.",
        "amount",
    ),
    (
        "unknown locale",
        lambda: format_money(eur(1), "xx_YY"),
        UnknownLocale,
        "Unknown locale 'xx_YY'.",
        "locale",
    ),
    # billing intervals
    (
        "unknown interval unit",
        lambda: Interval("fortnight", 1),  # type: ignore[arg-type]
        InvalidInterval,
        "'fortnight' is not a billing interval; use day, week, month or year.",
        "interval_unit",
    ),
    (
        "interval count zero",
        lambda: Interval(IntervalUnit.MONTH, 0),
        InvalidInterval,
        "The interval count must be a whole number from 1 to 1000.",
        "interval_count",
    ),
    # tax rates
    (
        "tax without a name",
        lambda: TaxRate(" ", Decimal(5)),
        InvalidTaxRate,
        "Give the tax a name, such as VAT or GST.",
        "name",
    ),
    (
        "tax name too long",
        lambda: TaxRate("X" * 65, Decimal(5)),
        InvalidTaxRate,
        "Tax names have at most 64 characters.",
        "name",
    ),
    (
        "tax percent a float",
        lambda: TaxRate("VAT", 5.5),  # type: ignore[arg-type]
        InvalidTaxRate,
        "Give the tax percentage as a Decimal such as 20 or 9.975.",
        "percent",
    ),
    (
        "tax percent above 100",
        lambda: TaxRate("VAT", Decimal("100.0001")),
        InvalidTaxRate,
        "A tax percentage must be between 0 and 100.",
        "percent",
    ),
    (
        "tax percent with 5 decimals",
        lambda: TaxRate("VAT", Decimal("5.00001")),
        InvalidTaxRate,
        "Tax percentages have at most 4 decimals.",
        "percent",
    ),
    (
        "inclusive and exclusive tax on one line",
        lambda: compute_tax(eur(100), [VAT_INCL, GST]),
        InvalidTaxCombination,
        "A line cannot mix taxes included in the price with taxes added on top; "
        "put them on separate lines.",
        "tax_rates",
    ),
    (
        "same tax twice on one line",
        lambda: compute_tax(eur(100), [GST, TaxRate("gst", Decimal(7))]),
        InvalidTaxCombination,
        "The tax gst is applied twice on this line.",
        "tax_rates",
    ),
    # invoice lines
    (
        "discount percent a float",
        lambda: PercentDiscount(0.5),  # type: ignore[arg-type]
        InvalidDiscount,
        "Give the discount percentage as a number such as 10 or 12.5.",
        "discount",
    ),
    (
        "discount percent above 100",
        lambda: PercentDiscount(Decimal(101)),
        InvalidDiscount,
        "A discount percentage must be between 0 and 100.",
        "discount",
    ),
    (
        "discount percent with 5 decimals",
        lambda: PercentDiscount(Decimal("1.00001")),
        InvalidDiscount,
        "Discount percentages have at most 4 decimals.",
        "discount",
    ),
    (
        "fixed discount not money",
        lambda: AmountDiscount(5),  # type: ignore[arg-type]
        InvalidDiscount,
        "A fixed discount must be an amount of money.",
        "discount",
    ),
    (
        "fixed discount negative",
        lambda: AmountDiscount(eur(-1)),
        InvalidDiscount,
        "A discount cannot be negative.",
        "discount",
    ),
    (
        "discount neither percent nor amount",
        lambda: InvoiceLineInput("x", Decimal(1), eur(1), discount="10%"),  # type: ignore[arg-type]
        InvalidDiscount,
        "A discount is a percentage or a fixed amount.",
        "discount",
    ),
    (
        "discount in another currency",
        lambda: InvoiceLineInput(
            "x", Decimal(1), eur(500), discount=AmountDiscount(Money(100, "USD"))
        ),
        CurrencyMismatch,
        "The discount is in USD but the price is in EUR.",
        "discount",
    ),
    (
        "fixed discount larger than the line",
        lambda: compute_line(
            InvoiceLineInput("x", Decimal(1), eur(500), discount=AmountDiscount(eur(501)))
        ),
        InvalidDiscount,
        "The discount (5.01 EUR) is larger than the line amount (5.00 EUR).",
        "discount",
    ),
    (
        "unit price not money",
        lambda: InvoiceLineInput("x", Decimal(1), 100),  # type: ignore[arg-type]
        InvalidAmount,
        "The unit price must be an amount of money.",
        "unit_price",
    ),
    (
        "quantity with 5 decimals",
        lambda: InvoiceLineInput("x", Decimal("1.00001"), eur(1)),
        InvalidQuantity,
        "Quantities have at most 4 decimals.",
        "quantity",
    ),
    # payments
    (
        "zero payment",
        lambda: settle(eur(1000), [eur(0)], []),
        InvalidPayment,
        "A payment must be more than zero.",
        "amount",
    ),
    (
        "negative refund",
        lambda: settle(eur(1000), [eur(500)], [eur(-1)]),
        InvalidPayment,
        "A refund must be more than zero.",
        "amount",
    ),
    (
        "refund above what was paid",
        lambda: settle(eur(1000), [eur(500)], [eur(501)]),
        OverRefund,
        "Refunds (5.01 EUR) cannot exceed what was paid (5.00 EUR).",
        "amount",
    ),
    # recurring prices
    (
        "recurring quantity a float",
        lambda: RecurringPrice(eur(100), Interval.months(), 1.5),  # type: ignore[arg-type]
        InvalidQuantity,
        "The quantity must be a number.",
        "quantity",
    ),
    (
        "recurring quantity not finite",
        lambda: RecurringPrice(eur(100), Interval.months(), Decimal("Infinity")),
        InvalidQuantity,
        "The quantity must be a finite number.",
        "quantity",
    ),
    (
        "recurring quantity negative",
        lambda: RecurringPrice(eur(100), Interval.months(), -1),
        InvalidQuantity,
        "The quantity cannot be negative.",
        "quantity",
    ),
]


@pytest.mark.parametrize(
    ("make", "error", "message", "field"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_an_error_about_one_input_names_that_input(
    make: Callable[[], object], error: type[DomainError], message: str, field: str
) -> None:
    with pytest.raises(error) as exc:
        make()
    assert exc.value.message == message
    assert str(exc.value) == message
    assert exc.value.field == field


def test_a_negative_total_is_an_error_of_the_whole_invoice() -> None:
    """It concerns no single field: the editor shows it above the form."""
    with pytest.raises(NegativeTotal) as exc:
        compute_invoice([InvoiceLineInput("x", Decimal(1), eur(-1))], "EUR")
    assert exc.value.field is None
