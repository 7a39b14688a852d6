"""Credit note arithmetic (domain/credit_notes.py) and the one definition of due with credits
(domain/invoice_math.py ``settle``).

Property: for random invoices (JPY, EUR, KWD; mixed exclusive and inclusive taxes, several
rates on a line, discounts, discount lines) and random sequences of payments, refunds and credit
notes (every line, some quantities, an amount), with the credit's money going back as a refund
or to the credit balance:

* nothing is ever credited beyond what was invoiced: per line, per tax rate (taxable amount and
  tax) and in all;
* the tax credited on a line equals, exactly, the line's tax in proportion to what was credited
  (all of it once the line is credited in full), whatever pieces it was credited in;
* each credit note adds up (net + tax = total; its tax summary = its lines' taxes);
* the amount due is never negative, and the invoice's figures are exactly the sums of what
  happened to it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from billing_app.domain.credit_notes import (
    CreditLine,
    InvalidCredit,
    Remaining,
    check_credit,
    credit_amount,
    credit_everything,
    credit_quantities,
    prorate,
    split_credit,
)
from billing_app.domain.errors import NegativeTotal
from billing_app.domain.invoice_math import (
    InvoiceLineInput,
    InvoiceTotals,
    PercentDiscount,
    compute_invoice,
    payment_status,
    settle,
)
from billing_app.domain.lifecycle import InvoiceStatus
from billing_app.domain.money import Money
from billing_app.domain.tax import TaxRate

EXCLUSIVE = (
    TaxRate("VAT", Decimal(20)),
    TaxRate("VAT", Decimal("5.5")),
    TaxRate("GST", Decimal(5)),
    TaxRate("QST", Decimal("9.975")),
)
INCLUSIVE = (TaxRate("TVA", Decimal(20), True), TaxRate("MwSt", Decimal("7.7"), True))


@st.composite
def lines(draw: st.DrawFn, currency: str) -> InvoiceLineInput:
    quantity = draw(st.sampled_from(["1", "2", "3", "0.5", "1.25", "7", "12.3333"]))
    price = draw(st.integers(min_value=-5_000, max_value=250_000))
    if draw(st.booleans()):
        rates = tuple(
            draw(st.lists(st.sampled_from(EXCLUSIVE), max_size=2, unique_by=lambda r: r.name))
        )
    else:
        rates = (draw(st.sampled_from(INCLUSIVE)),)
    discount = None
    if draw(st.booleans()):
        discount = PercentDiscount(Decimal(draw(st.sampled_from(["5", "10", "12.5", "33.3333"]))))
    return InvoiceLineInput("x", Decimal(quantity), Money(price, currency), discount, rates)


@st.composite
def invoices(draw: st.DrawFn) -> tuple[InvoiceTotals, list[Decimal]]:
    currency = draw(st.sampled_from(["JPY", "EUR", "KWD"]))
    items = draw(st.lists(lines(currency), min_size=1, max_size=5))
    try:
        totals = compute_invoice(items, currency)
    except NegativeTotal:
        assume(False)
        raise
    assume(totals.total.amount_minor > 0)
    return totals, [item.quantity for item in items]


def _credited_after(done: dict[int, Remaining], pieces: tuple[CreditLine, ...]) -> None:
    for piece in pieces:
        before = done.get(piece.index, Remaining())
        done[piece.index] = Remaining(
            before.gross + piece.gross, before.quantity + (piece.quantity or 0)
        )


def _within(value: int, bound: int) -> bool:
    return 0 <= value <= bound if bound >= 0 else bound <= value <= 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoice=invoices(), data=st.data())
def test_random_credits_never_exceed_the_invoice_and_tax_follows_exactly(
    invoice: tuple[InvoiceTotals, list[Decimal]], data: st.DataObject
) -> None:
    totals, quantities = invoice
    total = totals.total.amount_minor
    paid = refunded = credited = 0
    done: dict[int, Remaining] = {}
    pieces_of_line: dict[int, list[CreditLine]] = {}
    issued = 0
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        action = data.draw(st.sampled_from(["pay", "refund", "credit", "credit", "credit"]))
        due = total - paid + refunded - credited
        if action == "pay":
            if due > 0:
                amount = data.draw(st.integers(min_value=1, max_value=due))
                paid += amount
            continue
        if action == "refund":
            if paid - refunded > 0:
                refunded += data.draw(st.integers(min_value=1, max_value=paid - refunded))
            continue
        mode = data.draw(st.sampled_from(["all", "lines", "amount"]))
        try:
            if mode == "all":
                pieces = credit_everything(totals, quantities, done)
            elif mode == "lines":
                index = data.draw(st.integers(min_value=0, max_value=len(quantities) - 1))
                left = abs(quantities[index]) - done.get(index, Remaining()).quantity
                if left <= 0:
                    continue
                share = data.draw(st.sampled_from([Decimal(1), Decimal("0.5"), Decimal("0.0001")]))
                qty = min(left, share)
                pieces = credit_quantities(totals, quantities, done, {index: qty})
            else:
                left_total = total - sum(d.gross for d in done.values())
                if left_total <= 0:
                    continue
                amount = data.draw(st.integers(min_value=1, max_value=left_total))
                pieces = credit_amount(totals, done, amount)
            credit = check_credit(totals, done, pieces)
        except InvalidCredit:
            continue  # refused (a discount line left out): nothing changes
        # The credit note adds up.
        assert credit.net + credit.tax == credit.total == sum(p.gross for p in pieces)
        assert credit.tax == sum(sum(p.taxes) for p in pieces)
        assert sum(tax for _, _, tax in credit.taxes) == credit.tax
        split = split_credit(credit.total, total - paid + refunded - credited)
        assert split.reduces_due + split.given_back == credit.total
        assert split.given_back <= paid - refunded + 0  # only money the client paid goes back
        credited += credit.total
        refunded += split.given_back  # refunded, or moved to the credit balance
        issued += credit.total
        _credited_after(done, pieces)
        for piece in pieces:
            pieces_of_line.setdefault(piece.index, []).append(piece)

        # Nothing beyond the invoice: per line, per rate, in all.
        per_rate_invoiced: dict[tuple[str, int], list[int]] = {}
        per_rate_credited: dict[tuple[str, int], list[int]] = {}
        for index, line in enumerate(totals.lines):
            gross = done.get(index, Remaining()).gross
            assert _within(gross, line.total_minor)
            mine = pieces_of_line.get(index, [])
            line_taxes = [sum(p.taxes[k] for p in mine) for k in range(len(line.tax_minor))]
            # Exactly the line's tax in proportion to what was credited.
            if line.total_minor:
                assert line_taxes == [prorate(t, gross, line.total_minor) for t in line.tax_minor]
            if gross == line.total_minor:
                assert line_taxes == list(line.tax_minor)
            net = gross - sum(line_taxes)
            for rate, tax, credited_tax in zip(
                line.tax_rates, line.tax_minor, line_taxes, strict=True
            ):
                inv = per_rate_invoiced.setdefault(rate.key, [0, 0])
                inv[0] += line.net_minor
                inv[1] += tax
                got = per_rate_credited.setdefault(rate.key, [0, 0])
                got[0] += net
                got[1] += credited_tax
        for key, (taxable, tax) in per_rate_invoiced.items():
            assert _within(per_rate_credited[key][0], taxable)
            assert _within(per_rate_credited[key][1], tax)
        assert 0 < issued <= total

    settlement = settle(
        Money(total, totals.currency),
        [Money(paid, totals.currency)] if paid else [],
        [Money(refunded, totals.currency)] if refunded else [],
        credited_minor=credited,
    )
    assert settlement.amount_due.amount_minor >= 0
    assert settlement.amount_due.amount_minor == total - paid + refunded - credited
    if credited == total:
        assert settlement.status is InvoiceStatus.CREDITED


def test_prorate_rounds_half_away_from_zero_exactly() -> None:
    assert prorate(200, 1, 3) == 67  # 66.67
    assert prorate(100, 1, 2) == 50
    assert prorate(1, 1, 2) == 1  # 0.5 -> 1
    assert prorate(-1, 1, 2) == -1
    assert prorate(-100, -30, -60) == -50  # a negative line: the same fraction


def test_a_line_credited_in_thirds_gives_back_its_tax_to_the_cent() -> None:
    vat = TaxRate("VAT", Decimal(20))
    totals = compute_invoice(
        [InvoiceLineInput("Care", Decimal(3), Money(3333, "EUR"), None, (vat,))], "EUR"
    )
    assert (totals.lines[0].net_minor, totals.lines[0].tax_minor) == (9999, (2000,))
    done: dict[int, Remaining] = {}
    taxes = []
    for _ in range(3):
        pieces = credit_quantities(totals, [Decimal(3)], done, {0: Decimal(1)})
        check_credit(totals, done, pieces)
        _credited_after(done, pieces)
        taxes.append(pieces[0].taxes[0])
    assert taxes == [667, 666, 667]  # 666.67 cumulative: 667, 1333, 2000
    assert sum(taxes) == 2000


def test_crediting_lines_a_discount_line_reduced_is_refused() -> None:
    vat, gst = TaxRate("VAT", Decimal(20)), TaxRate("GST", Decimal(5))
    totals = compute_invoice(
        [
            InvoiceLineInput("Site", Decimal(1), Money(10_000, "EUR"), None, (vat,)),
            InvoiceLineInput("Loyalty discount", Decimal(1), Money(-8_000, "EUR"), None, (vat,)),
            InvoiceLineInput("Hosting", Decimal(1), Money(10_000, "EUR"), None, (gst,)),
        ],
        "EUR",
    )
    quantities = [Decimal(1)] * 3
    assert totals.total.amount_minor == 2_400 + 10_500
    # €120.00 is less than the invoice's total, but more VAT than the invoice charged.
    pieces = credit_quantities(totals, quantities, {}, {0: Decimal(1)})
    with pytest.raises(InvalidCredit, match="more VAT 20% than the invoice charged"):
        check_credit(totals, {}, pieces)
    alone = compute_invoice(
        totals_lines := [
            InvoiceLineInput("Site", Decimal(1), Money(10_000, "EUR"), None, (vat,)),
            InvoiceLineInput("Loyalty discount", Decimal(1), Money(-8_000, "EUR"), None, (vat,)),
        ],
        "EUR",
    )
    assert len(totals_lines) == 2
    with pytest.raises(InvalidCredit, match="more than the invoice charged"):
        check_credit(alone, {}, credit_quantities(alone, quantities[:2], {}, {0: Decimal(1)}))
    everything = credit_everything(totals, quantities, {})
    assert check_credit(totals, {}, everything).total == 12_900


def test_a_credit_reduces_what_is_due_first_and_gives_back_the_rest() -> None:
    assert split_credit(3_000, 10_000).reduces_due == 3_000
    split = split_credit(3_000, 1_000)
    assert (split.reduces_due, split.given_back) == (1_000, 2_000)
    assert split_credit(3_000, 0).given_back == 3_000
    assert split_credit(3_000, -500).given_back == 3_000
    with pytest.raises(InvalidCredit):
        split_credit(0, 10)


def test_the_status_of_credited_and_balance_paid_invoices() -> None:
    assert payment_status(10_000, 0, 0, 10_000, 0) is InvoiceStatus.CREDITED
    assert payment_status(10_000, 10_000, 10_000, 10_000, 0) is InvoiceStatus.CREDITED
    assert payment_status(10_000, 0, 0, 3_000, 0) is InvoiceStatus.OPEN
    assert payment_status(10_000, 7_000, 0, 3_000, 0) is InvoiceStatus.PAID
    assert payment_status(10_000, 0, 0, 0, 4_000) is InvoiceStatus.PARTIALLY_PAID
    assert payment_status(10_000, 0, 0, 0, 10_000) is InvoiceStatus.PAID
    assert payment_status(10_000, 10_000, 3_000, 3_000, 0) is InvoiceStatus.PARTIALLY_REFUNDED
    settled = settle(Money(10_000, "EUR"), [], [], credited_minor=2_500, applied_minor=1_000)
    assert settled.amount_due == Money(6_500, "EUR")
    with pytest.raises(Exception, match="cannot exceed the invoice total"):
        settle(Money(10_000, "EUR"), [], [], credited_minor=10_001)


# --------------------------------------------------------------------------- the rules, pinned

VAT = TaxRate("VAT", Decimal(20))


def _invoice(*prices: int, qty: str = "1") -> InvoiceTotals:
    return compute_invoice(
        [
            InvoiceLineInput(f"L{i}", Decimal(qty), Money(p, "EUR"), None, (VAT,))
            for i, p in enumerate(prices)
        ],
        "EUR",
    )


def test_an_amount_is_split_by_largest_remainder_ties_to_the_first_line() -> None:
    totals = _invoice(100, 100, 100)  # 120 each with VAT
    pieces = credit_amount(totals, {}, 100)
    assert [p.gross for p in pieces] == [34, 33, 33]
    assert [p.index for p in pieces] == [0, 1, 2]
    assert all(p.quantity is None for p in pieces)
    assert [p.gross for p in credit_amount(totals, {}, 360)] == [120, 120, 120]
    done = {0: Remaining(120)}  # the first line credited already: left out
    assert [p.index for p in credit_amount(totals, done, 10)] == [1, 2]
    with pytest.raises(InvalidCredit, match="greater than zero") as zero:
        credit_amount(totals, {}, 0)
    assert zero.value.field == "amount"
    with pytest.raises(InvalidCredit, match="more than is left to credit") as over:
        credit_amount(totals, done, 241)
    assert over.value.field == "amount"
    assert sum(p.gross for p in credit_amount(totals, done, 240)) == 240


def test_an_amount_over_a_discount_line_credits_it_back_in_proportion() -> None:
    totals = _invoice(100, -50)  # 120 and -60: 60 in all
    pieces = credit_amount(totals, {}, 30)
    assert [(p.index, p.gross, p.net, p.taxes) for p in pieces] == [
        (0, 60, 50, (10,)),
        (1, -30, -25, (-5,)),
    ]


def test_quantities_are_checked_line_by_line_with_clear_messages() -> None:
    totals = _invoice(1000, 500, qty="4")
    quantities = [Decimal(4), Decimal(4)]
    for index in (-1, 2):
        with pytest.raises(InvalidCredit, match="not on the invoice") as bad:
            credit_quantities(totals, quantities, {}, {index: Decimal(1)})
        assert bad.value.field == "lines"
    for qty in (Decimal(0), Decimal(-1), Decimal("NaN")):
        with pytest.raises(InvalidCredit, match="Line 2: credit a quantity more than zero") as bad:
            credit_quantities(totals, quantities, {}, {1: qty})
        assert bad.value.field == "lines.1"
    done = {1: Remaining(gross=1500, quantity=Decimal("2.5"))}
    with pytest.raises(InvalidCredit, match=r"Line 2: at most 1\.5 can still be credited") as over:
        credit_quantities(totals, quantities, done, {1: Decimal(2)})
    assert over.value.field == "lines.1"
    [piece] = credit_quantities(totals, quantities, done, {1: Decimal("1.5")})
    assert (piece.index, piece.quantity, piece.gross) == (1, Decimal("1.5"), 2400 - 1500)


def test_a_quantity_after_an_amount_never_credits_more_than_is_left() -> None:
    totals = _invoice(250, qty="4")  # 1,200 with VAT
    done = {0: Remaining(gross=1100)}  # an amount took 1,100 already
    [piece] = credit_quantities(totals, [Decimal(4)], done, {0: Decimal(1)})
    assert piece.gross == 100  # a quarter would be 300: capped to what is left
    negative = _invoice(-250, 500, qty="4")
    [back] = credit_quantities(
        negative, [Decimal(4)] * 2, {0: Remaining(gross=-1100)}, {0: Decimal(1)}
    )
    assert back.gross == -100
    assert credit_quantities(totals, [Decimal(4)], {}, {0: Decimal(1)})[0].gross == 300


def test_a_line_of_zero_quantity_credits_what_it_charged() -> None:
    totals = compute_invoice(
        [InvoiceLineInput("Free", Decimal(0), Money(500, "EUR"), None, (VAT,))], "EUR"
    )
    assert credit_quantities(totals, [Decimal(0)], {}, {}) == ()
    assert credit_everything(totals, [Decimal(0)], {}) == ()


def test_everything_left_names_the_units_left() -> None:
    totals = _invoice(1000, 500, qty="4")
    done = {
        0: Remaining(gross=1200, quantity=Decimal(1)),
        1: Remaining(gross=2400, quantity=Decimal(4)),
    }
    pieces = credit_everything(totals, [Decimal(4), Decimal(4)], done)
    assert [(p.index, p.quantity, p.gross) for p in pieces] == [(0, Decimal(3), 3600)]
    by_amount = {0: Remaining(gross=100)}
    [whole] = credit_everything(_invoice(1000, qty="4"), [Decimal(4)], by_amount)
    assert (whole.quantity, whole.gross) == (Decimal(4), 4700)


def test_check_credit_refuses_nothing_and_anything_beyond_a_line() -> None:
    totals = _invoice(1000, -200)  # 1,200 and -240
    with pytest.raises(InvalidCredit, match="Choose what to credit") as nothing:
        check_credit(totals, {}, ())
    assert nothing.value.field == "lines"
    beyond = CreditLine(0, None, 1201, 1001, (200,), (VAT,))
    with pytest.raises(InvalidCredit, match="Line 1 cannot be credited beyond") as line:
        check_credit(totals, {}, [beyond])
    assert line.value.field == "lines.0"
    wrong_way = CreditLine(1, None, 10, 8, (2,), (VAT,))
    with pytest.raises(InvalidCredit, match="Line 2 cannot be credited beyond"):
        check_credit(totals, {}, [CreditLine(0, None, 100, 83, (17,), (VAT,)), wrong_way])
    too_far = CreditLine(1, None, -241, -201, (-40,), (VAT,))
    with pytest.raises(InvalidCredit, match="Line 2 cannot be credited beyond"):
        check_credit(totals, {}, [CreditLine(0, None, 1200, 1000, (200,), (VAT,)), too_far])
    exact = check_credit(totals, {}, credit_everything(totals, [Decimal(1)] * 2, {}))
    assert (exact.net, exact.tax, exact.total) == (800, 160, 960)
    assert exact.taxes == ((VAT, 800, 160),)
    negative_only = CreditLine(1, None, -240, -200, (-40,), (VAT,))
    with pytest.raises(InvalidCredit, match="Choose what to credit"):
        check_credit(totals, {}, [negative_only])


def test_the_tax_summary_of_a_credit_note_is_per_rate_in_order() -> None:
    gst, pst = TaxRate("GST", Decimal(5)), TaxRate("PST", Decimal(7))
    totals = compute_invoice(
        [
            InvoiceLineInput("Care", Decimal(1), Money(10_000, "CAD"), None, (gst, pst)),
            InvoiceLineInput("Domain", Decimal(1), Money(2_000, "CAD"), None, (gst,)),
        ],
        "CAD",
    )
    credit = check_credit(totals, {}, credit_everything(totals, [Decimal(1)] * 2, {}))
    assert credit.taxes == ((gst, 12_000, 600), (pst, 10_000, 700))
    assert (credit.net, credit.tax, credit.total) == (12_000, 1_300, 13_300)


def test_split_credit_fields_and_a_negative_due() -> None:
    with pytest.raises(InvalidCredit) as bad:
        split_credit(-1, 100)
    assert bad.value.field == "amount"
    split = split_credit(500, -200)
    assert (split.reduces_due, split.given_back) == (0, 500)
    assert split_credit(500, 500).given_back == 0
