"""Tax rates: validation, exclusive and inclusive computation, several rates per line."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_app.domain.errors import InvalidTaxCombination, InvalidTaxRate
from billing_app.domain.money import Money
from billing_app.domain.tax import TaxRate, check_line_rates, compute_tax, split_inclusive_minor

percents = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False)


def test_tax_rate_labels_and_exact_rate() -> None:
    gst = TaxRate("GST", Decimal("5.000"))
    assert gst.label == "GST 5%"
    assert gst.parts_per_million == 50_000
    assert TaxRate(" VAT ", Decimal(20), inclusive=True).label == "VAT 20% incl."
    assert TaxRate("QST", Decimal("9.975")).percent_text == "9.975"
    assert TaxRate("Full", 100).percent == Decimal(100)  # type: ignore[arg-type]
    assert TaxRate("GST", Decimal("5")) == TaxRate("GST", Decimal("5.00"))


@pytest.mark.parametrize(
    ("name", "percent", "message"),
    [
        ("", Decimal(5), "Give the tax a name, such as VAT or GST."),
        ("   ", Decimal(5), "Give the tax a name, such as VAT or GST."),
        ("X" * 65, Decimal(5), "Tax names have at most 64 characters."),
        ("VAT", Decimal("-1"), "A tax percentage must be between 0 and 100."),
        ("VAT", Decimal("100.0001"), "A tax percentage must be between 0 and 100."),
        ("VAT", Decimal("NaN"), "A tax percentage must be between 0 and 100."),
        ("VAT", Decimal("5.00001"), "Tax percentages have at most 4 decimals."),
        ("VAT", 5.5, "Give the tax percentage as a Decimal such as 20 or 9.975."),
    ],
)
def test_invalid_tax_rates_are_refused(name: str, percent: object, message: str) -> None:
    with pytest.raises(InvalidTaxRate) as exc:
        TaxRate(name, percent)  # type: ignore[arg-type]
    assert exc.value.message == message


def test_inclusive_flag_must_be_a_bool() -> None:
    with pytest.raises(
        InvalidTaxRate, match=r"^Say whether prices include the tax \(true or false\)\.$"
    ):
        TaxRate("VAT", Decimal(20), inclusive="yes")  # type: ignore[arg-type]


def test_gst_plus_pst_on_one_amount() -> None:
    rates = [TaxRate("GST", Decimal(5)), TaxRate("PST", Decimal(7))]
    result = compute_tax(Money(10_000, "CAD"), rates)
    assert [t.amount for t in result.taxes] == [Money(500, "CAD"), Money(700, "CAD")]
    assert result.tax_total == Money(1200, "CAD")
    assert result.gross == Money(11_200, "CAD")
    assert result.net == Money(10_000, "CAD")


def test_no_rates_means_no_tax() -> None:
    result = compute_tax(Money(999, "EUR"), [])
    assert result.taxes == ()
    assert result.gross == result.net == Money(999, "EUR")


def test_zero_percent_inclusive_rates_leave_the_gross_as_net() -> None:
    rates = [TaxRate("A", Decimal(0), inclusive=True), TaxRate("B", Decimal(0), inclusive=True)]
    assert split_inclusive_minor(1234, rates) == (1234, [0, 0])


def test_mixing_inclusive_and_exclusive_on_a_line_is_refused() -> None:
    rates = [TaxRate("VAT", Decimal(20), inclusive=True), TaxRate("City", Decimal(2))]
    with pytest.raises(InvalidTaxCombination) as exc:
        compute_tax(Money(100, "EUR"), rates)
    assert exc.value.message == (
        "A line cannot mix taxes included in the price with taxes added on top; "
        "put them on separate lines."
    )


def test_the_same_tax_twice_on_a_line_is_refused() -> None:
    rates = [TaxRate("GST", Decimal(5)), TaxRate("gst", Decimal(7))]
    with pytest.raises(InvalidTaxCombination) as exc:
        compute_tax(Money(100, "EUR"), rates)
    assert exc.value.message == "The tax gst is applied twice on this line."


@given(st.integers(-(10**12), 10**12), st.lists(percents, min_size=1, max_size=4))
def test_inclusive_net_plus_tax_equals_gross(gross: int, rate_percents: list[Decimal]) -> None:
    rates = [
        TaxRate(f"T{index}", percent, inclusive=True) for index, percent in enumerate(rate_percents)
    ]
    result = compute_tax(Money(gross, "EUR"), rates)
    assert result.net.amount_minor + sum(t.amount.amount_minor for t in result.taxes) == gross
    assert result.gross == Money(gross, "EUR")
    # net is gross / (1 + rates) rounded half up, computed here independently with Decimal.
    with localcontext() as context:
        context.prec = 60
        divisor = 1 + sum(rate_percents, Decimal(0)) / 100
        expected_net = (Decimal(gross) / divisor).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert result.net.amount_minor == int(expected_net)
    # Each rate's share of the tax is within one unit of its proportional share.
    total_tax = gross - result.net.amount_minor
    weight = sum(rate_percents, Decimal(0))
    for rate, tax in zip(rate_percents, result.taxes, strict=True):
        if weight:
            share = Decimal(total_tax) * rate / weight
            assert abs(Decimal(tax.amount.amount_minor) - share) < 1


@given(st.integers(-(10**12), 10**12), st.lists(percents, min_size=1, max_size=4))
def test_exclusive_tax_matches_decimal_half_up_per_rate(
    net: int, rate_percents: list[Decimal]
) -> None:
    rates = [TaxRate(f"T{index}", percent) for index, percent in enumerate(rate_percents)]
    result = compute_tax(Money(net, "JPY"), rates)
    with localcontext() as context:
        context.prec = 60
        expected = [
            int((Decimal(net) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            for percent in rate_percents
        ]
    assert [t.amount.amount_minor for t in result.taxes] == expected
    assert result.gross.amount_minor == net + sum(expected)


# --------------------------------------------------------------------------- edges


def test_a_tax_name_of_64_characters_is_accepted() -> None:
    assert TaxRate("X" * 64, Decimal(5)).name == "X" * 64
    assert TaxRate(" " + "X" * 64 + " ", Decimal(5)).name == "X" * 64


def test_a_line_without_tax_is_not_tax_inclusive() -> None:
    assert check_line_rates([]) is False
    assert check_line_rates([TaxRate("VAT", Decimal(20), inclusive=True)]) is True
    assert check_line_rates([TaxRate("GST", Decimal(5))]) is False


def test_each_tax_amount_names_its_rate() -> None:
    rates = [TaxRate("GST", Decimal(5)), TaxRate("QST", Decimal("9.975"))]
    result = compute_tax(Money(10_000, "CAD"), rates)
    assert [(t.rate, t.amount) for t in result.taxes] == [
        (rates[0], Money(500, "CAD")),
        (rates[1], Money(998, "CAD")),
    ]
    inclusive = [TaxRate("VAT", Decimal(20), inclusive=True)]
    assert [t.rate for t in compute_tax(Money(12_000, "EUR"), inclusive).taxes] == inclusive


def test_something_that_is_not_a_tax_rate_is_refused_on_a_line() -> None:
    with pytest.raises(InvalidTaxCombination) as exc:
        compute_tax(Money(100, "EUR"), [TaxRate("GST", Decimal(5)), "PST 7%"])  # type: ignore[list-item]
    assert exc.value.message == "Every tax on a line must be a tax rate."


def test_something_that_is_not_a_tax_rate_is_refused_even_first_on_a_line() -> None:
    with pytest.raises(InvalidTaxCombination):
        compute_tax(Money(100, "EUR"), ["PST 7%"])  # type: ignore[list-item]
