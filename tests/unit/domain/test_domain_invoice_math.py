"""Invoice lines and totals, discounts, credit notes, payments, refunds and amount due."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_app.domain.errors import (
    CurrencyMismatch,
    InvalidAmount,
    InvalidDiscount,
    InvalidPayment,
    InvalidQuantity,
    InvalidTaxCombination,
    NegativeTotal,
    OverRefund,
)
from billing_app.domain.invoice_math import (
    AmountDiscount,
    InvoiceLineInput,
    PercentDiscount,
    compute_invoice,
    compute_line,
    payment_status,
    settle,
)
from billing_app.domain.lifecycle import (
    InvoiceStatus,
    accepts_payment,
    accepts_refund,
    can_transition,
)
from billing_app.domain.money import MAX_AMOUNT_MINOR, Money
from billing_app.domain.tax import TaxRate

GST = TaxRate("GST", Decimal(5))
PST = TaxRate("PST", Decimal(7))
QST = TaxRate("QST", Decimal("9.975"))
VAT_INCL = TaxRate("VAT", Decimal(20), inclusive=True)
CITY_INCL = TaxRate("City", Decimal("2.5"), inclusive=True)
TAX_SETS = [(), (GST,), (GST, PST), (GST, QST), (VAT_INCL,), (VAT_INCL, CITY_INCL), (PST,)]


def eur(cents: int) -> Money:
    return Money(cents, "EUR")


def line(
    quantity: str | int,
    unit: int,
    *,
    discount: PercentDiscount | AmountDiscount | None = None,
    taxes: tuple[TaxRate, ...] = (),
    currency: str = "EUR",
) -> InvoiceLineInput:
    return InvoiceLineInput(
        description="Item",
        quantity=Decimal(quantity),
        unit_price=Money(unit, currency),
        discount=discount,
        tax_rates=taxes,
    )


# --------------------------------------------------------------------------- lines


def test_exclusive_line_with_percent_discount_and_two_taxes() -> None:
    result = compute_line(line("2", 5000, discount=PercentDiscount(Decimal(10)), taxes=(GST, PST)))
    assert result.amount == eur(10_000)
    assert result.discount == eur(1000)
    assert result.subtotal == eur(10_000)
    assert result.discount_net == eur(1000)
    assert result.net == eur(9000)
    assert [t.amount for t in result.taxes] == [eur(450), eur(630)]
    assert [t.rate for t in result.taxes] == [GST, PST]
    assert result.tax_total == eur(1080)
    assert result.total == eur(10_080)
    assert not result.inclusive


def test_inclusive_line_splits_the_price() -> None:
    result = compute_line(line("1", 12_000, taxes=(VAT_INCL,)))
    assert result.amount == eur(12_000)
    assert result.net == eur(10_000)
    assert result.tax_total == eur(2000)
    assert result.total == eur(12_000)
    assert result.inclusive


def test_fixed_discount_on_a_negative_line_reduces_the_credit() -> None:
    result = compute_line(line("1", -1000, discount=AmountDiscount(eur(300))))
    assert result.discount == eur(-300)
    assert result.net == eur(-700)


def test_line_quantity_accepts_int_and_keeps_decimal() -> None:
    item = InvoiceLineInput("x", 3, eur(100))  # type: ignore[arg-type]
    assert item.quantity == Decimal(3)
    assert compute_line(item).amount == eur(300)
    assert InvoiceLineInput("x", Decimal(1), eur(1), tax_rates=[GST]).tax_rates == (GST,)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (Decimal("1.00001"), "Quantities have at most 4 decimals."),
        (Decimal("NaN"), "The quantity must be a finite number."),
        (Decimal("1000000001"), "The quantity is too large."),
        (1.5, "Enter the quantity as a number such as 1 or 2.5."),
        (True, "Enter the quantity as a number such as 1 or 2.5."),
    ],
)
def test_bad_quantities_are_refused(quantity: object, message: str) -> None:
    with pytest.raises(InvalidQuantity) as exc:
        InvoiceLineInput("x", quantity, eur(100))  # type: ignore[arg-type]
    assert exc.value.message == message
    assert exc.value.field == "quantity"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PercentDiscount(Decimal(101)), "A discount percentage must be between 0 and 100."),
        (lambda: PercentDiscount(Decimal(-1)), "A discount percentage must be between 0 and 100."),
        (
            lambda: PercentDiscount(Decimal("1.00001")),
            "Discount percentages have at most 4 decimals.",
        ),
        (
            lambda: PercentDiscount(0.5),  # type: ignore[arg-type]
            "Give the discount percentage as a number such as 10 or 12.5.",
        ),
        (lambda: AmountDiscount(eur(-1)), "A discount cannot be negative."),
        (lambda: AmountDiscount(5), "A fixed discount must be an amount of money."),  # type: ignore[arg-type]
        (
            lambda: InvoiceLineInput("x", Decimal(1), eur(1), discount="10%"),  # type: ignore[arg-type]
            "A discount is a percentage or a fixed amount.",
        ),
    ],
)
def test_bad_discounts_are_refused(make: object, message: str) -> None:
    with pytest.raises(InvalidDiscount) as exc:
        make()  # type: ignore[operator]
    assert exc.value.message == message


def test_discount_larger_than_the_line_is_refused() -> None:
    with pytest.raises(InvalidDiscount) as exc:
        compute_line(line("1", 500, discount=AmountDiscount(eur(501))))
    assert exc.value.message == "The discount (5.01 EUR) is larger than the line amount (5.00 EUR)."
    with pytest.raises(InvalidDiscount) as in_invoice:
        compute_invoice([line("1", 900), line("1", 500, discount=AmountDiscount(eur(501)))], "EUR")
    assert in_invoice.value.message == (
        "Line 2: The discount (5.01 EUR) is larger than the line amount (5.00 EUR)."
    )
    assert in_invoice.value.field == "lines.1.discount"


def test_discount_in_another_currency_is_refused() -> None:
    with pytest.raises(CurrencyMismatch) as exc:
        line("1", 500, discount=AmountDiscount(Money(100, "USD")))
    assert exc.value.message == "The discount is in USD but the price is in EUR."


def test_unit_price_must_be_money() -> None:
    with pytest.raises(InvalidAmount, match=r"^The unit price must be an amount of money\.$"):
        InvoiceLineInput("x", Decimal(1), 100)  # type: ignore[arg-type]


def test_mixed_inclusive_exclusive_line_is_refused() -> None:
    with pytest.raises(InvalidTaxCombination):
        line("1", 100, taxes=(VAT_INCL, GST))


def test_huge_line_amount_is_refused() -> None:
    with pytest.raises(InvalidAmount, match=r"^The line amount is too large\.$"):
        compute_line(line("1000000000", 2**62))


# --------------------------------------------------------------------------- invoices


def test_invoice_totals_group_taxes_by_rate_in_order_of_appearance() -> None:
    totals = compute_invoice(
        [
            line("1", 10_000, taxes=(GST, PST)),
            line("1", 5000, taxes=(QST, GST)),
            line("1", 1000),
        ],
        "EUR",
    )
    assert [s.label for s in totals.taxes] == ["GST 5%", "PST 7%", "QST 9.975%"]
    assert [s.taxable_amount for s in totals.taxes] == [eur(15_000), eur(10_000), eur(5000)]
    assert [s.amount for s in totals.taxes] == [eur(750), eur(700), eur(499)]
    assert totals.subtotal == eur(16_000)
    assert totals.tax_total == eur(1949)
    assert totals.total == eur(17_949)
    assert totals.inclusive_tax_total == eur(0)
    assert totals.currency == "EUR"


def test_empty_invoice_is_zero() -> None:
    totals = compute_invoice([], "JPY")
    assert totals.total == Money(0, "JPY")
    assert totals.lines == ()
    assert totals.taxes == ()


def test_line_in_another_currency_is_refused() -> None:
    with pytest.raises(CurrencyMismatch) as exc:
        compute_invoice([line("1", 100), line("1", 100, currency="USD")], "EUR")
    assert exc.value.message == "Line 2 is in USD but the invoice is in EUR."
    assert exc.value.field == "lines.1.unit_price"


def test_negative_total_needs_a_credit_note() -> None:
    lines = [line("1", 1000), line("1", -2500, taxes=(GST,))]
    with pytest.raises(NegativeTotal) as exc:
        compute_invoice(lines, "EUR")
    assert exc.value.message == (
        "The invoice total cannot be negative (-16.25 EUR); issue a credit note instead."
    )
    credit = compute_invoice(lines, "EUR", is_credit_note=True)
    assert credit.total == eur(-1625)
    assert credit.is_credit_note


def test_zero_and_negative_lines_are_allowed_when_the_total_is_not_negative() -> None:
    totals = compute_invoice([line("1", 1000), line("1", 0), line("2", -250)], "EUR")
    assert totals.total == eur(500)


@st.composite
def invoice_lines(draw: st.DrawFn) -> InvoiceLineInput:
    places = draw(st.sampled_from([0, 1, 2, 4]))
    quantity = Decimal(draw(st.integers(-2000, 20_000))).scaleb(-places)
    unit = draw(st.integers(-200_000, 2_000_000))
    taxes = draw(st.sampled_from(TAX_SETS))
    amount = int((quantity * unit).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    kind = draw(st.sampled_from(["none", "percent", "fixed"]))
    discount: PercentDiscount | AmountDiscount | None = None
    if kind == "percent":
        discount = PercentDiscount(
            draw(st.decimals(min_value=0, max_value=100, places=4, allow_nan=False))
        )
    elif kind == "fixed":
        discount = AmountDiscount(eur(draw(st.integers(0, abs(amount)))))
    return InvoiceLineInput("Item", quantity, eur(unit), discount=discount, tax_rates=taxes)


@given(st.lists(invoice_lines(), max_size=25))
def test_invoice_invariants(lines: list[InvoiceLineInput]) -> None:
    totals = compute_invoice(lines, "EUR", is_credit_note=True)
    net_sum = sum(r.net.amount_minor for r in totals.lines)
    tax_sum = sum(r.tax_total.amount_minor for r in totals.lines)
    # total = sum of line nets + tax = subtotal - discounts + tax (docs/security.md item 28)
    assert totals.total.amount_minor == net_sum + tax_sum
    assert totals.total == totals.subtotal - totals.discount_total + totals.tax_total
    assert totals.total == totals.net_total + totals.tax_total
    assert totals.net_total == totals.subtotal - totals.discount_total
    assert totals.total.amount_minor == sum(r.total.amount_minor for r in totals.lines)
    assert totals.tax_total.amount_minor == sum(s.amount.amount_minor for s in totals.taxes)
    assert totals.inclusive_tax_total.amount_minor == sum(
        r.tax_total.amount_minor for r in totals.lines if r.inclusive
    )
    for source, result in zip(lines, totals.lines, strict=True):
        exact = source.quantity * source.unit_price.amount_minor
        assert result.amount.amount_minor == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        # The discount moves the amount towards zero and never past it.
        assert abs(result.discount.amount_minor) <= abs(result.amount.amount_minor)
        assert result.discount.amount_minor * result.amount.amount_minor >= 0
        if result.inclusive:
            # inclusive: net + tax == gross (the price after discount)
            assert result.net + result.tax_total == result.amount - result.discount
        else:
            assert result.net == result.amount - result.discount
            assert result.subtotal == result.amount
        assert result.subtotal - result.discount_net == result.net
    if totals.total.amount_minor < 0:
        with pytest.raises(NegativeTotal):
            compute_invoice(lines, "EUR")
    else:
        assert compute_invoice(lines, "EUR").total == totals.total


# --------------------------------------------------------------------------- settlement


def test_settle_partial_payment() -> None:
    result = settle(eur(10_000), [eur(4000)], [])
    assert result.amount_paid == eur(4000)
    assert result.amount_refunded == eur(0)
    assert result.amount_due == eur(6000)
    assert result.status is InvoiceStatus.PARTIALLY_PAID
    assert result.outstanding == eur(6000)
    assert result.overpaid == eur(0)


def test_settle_full_payment_then_partial_refund() -> None:
    paid = settle(eur(10_000), [eur(4000), eur(6000)], [])
    assert paid.status is InvoiceStatus.PAID
    assert paid.amount_due == eur(0)
    refunded = settle(eur(10_000), [eur(4000), eur(6000)], [eur(2500)])
    # due = total - paid + refunded (docs/security.md item 28)
    assert refunded.amount_due == eur(2500)
    assert refunded.net_paid == eur(7500)
    assert refunded.status is InvoiceStatus.PARTIALLY_REFUNDED
    # A refunded invoice is not collected again.
    assert refunded.outstanding == eur(0)
    full = settle(eur(10_000), [eur(10_000)], [eur(10_000)])
    assert full.status is InvoiceStatus.REFUNDED
    assert full.amount_due == eur(10_000)


def test_settle_zero_total_is_paid_and_overpayment_is_reported() -> None:
    assert settle(eur(0), [], []).status is InvoiceStatus.PAID
    assert settle(eur(100), [], []).status is InvoiceStatus.OPEN
    over = settle(eur(100), [eur(150)], [])
    assert over.status is InvoiceStatus.PAID
    assert over.amount_due == eur(-50)
    assert over.overpaid == eur(50)
    assert over.outstanding == eur(0)


def test_refunds_exceeding_payments_are_refused() -> None:
    with pytest.raises(OverRefund) as exc:
        settle(eur(10_000), [eur(5000)], [eur(4000), eur(2000)])
    assert exc.value.message == "Refunds (60.00 EUR) cannot exceed what was paid (50.00 EUR)."
    with pytest.raises(OverRefund):
        settle(eur(10_000), [], [eur(1)])


@pytest.mark.parametrize(
    ("payments", "refunds", "error", "message"),
    [
        ([eur(0)], [], InvalidPayment, "A payment must be more than zero."),
        ([eur(-5)], [], InvalidPayment, "A payment must be more than zero."),
        ([eur(5)], [eur(0)], InvalidPayment, "A refund must be more than zero."),
        (
            [Money(5, "USD")],
            [],
            CurrencyMismatch,
            "A payment in USD cannot settle an invoice in EUR.",
        ),
        ([5], [], InvalidPayment, "A payment must be an amount of money."),
    ],
)
def test_bad_payments_are_refused(
    payments: list[Money], refunds: list[Money], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as exc:
        settle(eur(1000), payments, refunds)
    assert str(exc.value) == message


def test_credit_notes_are_not_settled() -> None:
    with pytest.raises(InvalidPayment, match=r"^A credit note is not settled with payments\.$"):
        settle(eur(-100), [], [])


positive = st.integers(1, 10**9)


@given(positive, st.lists(positive, max_size=6), st.data())
def test_due_is_total_minus_paid_plus_refunded(
    total: int, payments: list[int], data: st.DataObject
) -> None:
    paid = sum(payments)
    refunds = data.draw(st.lists(st.integers(1, max(paid, 1)), max_size=4))
    if sum(refunds) > paid:
        with pytest.raises(OverRefund):
            settle(eur(total), [eur(p) for p in payments], [eur(r) for r in refunds])
        return
    result = settle(eur(total), [eur(p) for p in payments], [eur(r) for r in refunds])
    assert result.amount_due.amount_minor == total - paid + sum(refunds)
    assert result.amount_paid.amount_minor == paid
    assert result.amount_refunded.amount_minor == sum(refunds)
    assert result.status is payment_status(total, paid, sum(refunds))


@given(
    positive,
    st.lists(st.tuples(st.sampled_from(["pay", "refund"]), st.integers(1, 10**9)), max_size=12),
)
def test_derived_statuses_follow_the_lifecycle(total: int, events: list[tuple[str, int]]) -> None:
    """Applying payments and refunds one by one, as the services do, only ever moves the
    invoice along allowed transitions (or leaves its status unchanged)."""
    status = InvoiceStatus.OPEN
    payments: list[Money] = []
    refunds: list[Money] = []
    for kind, amount in events:
        if kind == "pay" and accepts_payment(status):
            payments.append(eur(amount))
        elif kind == "refund" and accepts_refund(status):
            kept = sum(p.amount_minor for p in payments) - sum(r.amount_minor for r in refunds)
            refunds.append(eur(min(amount, kept)))
        else:
            continue
        new_status = settle(eur(total), payments, refunds).status
        assert new_status == status or can_transition(status, new_status), (status, new_status)
        status = new_status


# --------------------------------------------------------------------------- edges


def test_a_whole_number_discount_percentage_is_kept_exactly() -> None:
    discount = PercentDiscount(10)  # type: ignore[arg-type]
    assert discount.percent == Decimal(10)
    assert discount.label == "10%"
    assert PercentDiscount(Decimal("12.50")).label == "12.5%"
    assert compute_line(line("1", 5000, discount=discount)).net == eur(4500)


def test_a_line_can_be_given_away_entirely() -> None:
    free = compute_line(line("2", 5000, discount=PercentDiscount(Decimal(100)), taxes=(GST,)))
    assert (free.discount, free.net, free.tax_total, free.total) == (
        eur(10_000),
        eur(0),
        eur(0),
        eur(0),
    )
    exact = compute_line(line("1", 500, discount=AmountDiscount(eur(500))))
    assert exact.net == eur(0)
    credit = compute_line(line("1", -500, discount=AmountDiscount(eur(500))))
    assert (credit.discount, credit.net) == (eur(-500), eur(0))


def test_a_one_cent_discount_on_an_inclusive_line_shows_before_tax() -> None:
    # 1.20 incl. 20% VAT, 1% off: 1 cent off the price, worth 1 cent before tax.
    result = compute_line(line("1", 120, discount=PercentDiscount(Decimal(1)), taxes=(VAT_INCL,)))
    assert result.discount == eur(1)
    assert result.subtotal == eur(100)
    assert result.discount_net == eur(1)
    assert result.net == eur(99)
    assert result.tax_total == eur(20)
    assert result.total == eur(119)


def test_a_line_without_tax_is_not_shown_as_tax_inclusive() -> None:
    assert not compute_line(line("1", 100)).inclusive
    assert compute_invoice([line("1", 100)], "EUR").inclusive_tax_total == eur(0)


def test_one_cent_matters_for_the_payment_status() -> None:
    assert payment_status(1, 0, 0) is InvoiceStatus.OPEN
    assert payment_status(1000, 1000, 1) is InvoiceStatus.PARTIALLY_REFUNDED
    assert settle(eur(1), [], []).outstanding == eur(1)


def test_the_largest_storable_line_is_accepted_and_one_beyond_is_refused() -> None:
    largest = compute_line(line("1", MAX_AMOUNT_MINOR))
    assert largest.total == eur(MAX_AMOUNT_MINOR)
    assert compute_line(line("1", -MAX_AMOUNT_MINOR)).total == eur(-MAX_AMOUNT_MINOR)
    # The price fits but its tax does not: refused when the line is computed, not later.
    with pytest.raises(InvalidAmount, match=r"^The line amount is too large\.$"):
        compute_line(line("1", MAX_AMOUNT_MINOR - 10, taxes=(GST,)))
    with pytest.raises(InvalidAmount, match=r"^The line amount is too large\.$"):
        compute_line(line("1", -MAX_AMOUNT_MINOR + 10, taxes=(GST,)))
