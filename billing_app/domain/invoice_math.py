"""Invoice arithmetic: lines -> amounts, discounts, taxes, totals; payments -> amount due.

Definitions (every amount is integer minor units of the invoice currency)
--------------------------------------------------------------------------
For each line:

* ``amount``   = quantity x unit price, rounded once ROUND_HALF_UP. It is what the person
  typed: tax-exclusive for lines with exclusive (or no) taxes, tax-inclusive for lines with
  inclusive taxes.
* ``discount`` = the discount on ``amount``, on the same basis: percent x amount rounded
  ROUND_HALF_UP, or a fixed amount. It moves the amount towards zero and can never exceed
  it (a fixed discount on a negative line reduces the credit).
* ``net``      = the tax-exclusive amount after discount. Exclusive lines:
  ``amount - discount``. Inclusive lines: ``(amount - discount) / (1 + rates)`` rounded
  ROUND_HALF_UP (see tax.py).
* ``taxes``    = tax per rate (exclusive: net x rate rounded per rate; inclusive: the tax
  contained in ``amount - discount``, allocated across the rates).
* ``total``    = ``net + tax_total`` (for inclusive lines this is ``amount - discount``).
* ``subtotal`` = the tax-exclusive value of ``amount`` before discount (``amount`` itself
  for exclusive lines, ``amount / (1 + rates)`` rounded for inclusive lines), and
  ``discount_net`` = ``subtotal - net``, the tax-exclusive value of the discount.

For the invoice (sums over lines):

* ``subtotal`` = sum of line subtotals (tax-exclusive, before discounts)
* ``discount_total`` = sum of line ``discount_net``
* ``net_total`` = sum of line nets = subtotal - discount_total
* ``taxes`` = per (tax name, rate): taxable amount (sum of nets) and tax (sum of line taxes),
  in order of first appearance
* ``tax_total`` = sum of line taxes; ``inclusive_tax_total`` = the part of it contained in
  tax-inclusive prices ("includes 20.00 EUR VAT")
* ``total`` = net_total + tax_total

so, for every invoice, exclusive, inclusive or mixed:

    total == sum(line.net) + tax_total == subtotal - discount_total + tax_total

(docs/security.md item 28). A negative total raises NegativeTotal unless the document is a
credit note.

Payments and credits (docs/security.md items 10 and 28)
-------------------------------------------------------
``amount_due = total - paid + refunded - credited - credit_applied``: the total, minus the
money we kept, minus what credit notes took off the invoice (``credited``), minus what the
client's credit balance paid of it (``credit_applied``). Refunds may never exceed what was
paid; credits never exceed the total (domain/credit_notes.py). The payment status is derived
from the amounts; whether the client is still expected to pay is decided by the status
(``outstanding``): a refunded invoice has a positive arithmetic balance but nothing to collect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Final, TypeAlias

from billing_app.domain.errors import (
    CurrencyMismatch,
    InvalidAmount,
    InvalidDiscount,
    InvalidPayment,
    InvalidQuantity,
    NegativeTotal,
    OverRefund,
)
from billing_app.domain.lifecycle import InvoiceStatus, is_collectible
from billing_app.domain.money import (
    MAX_AMOUNT_MINOR,
    Money,
    _money,
    currency_exponent,
    div_half_up,
)
from billing_app.domain.tax import (
    PPM,
    TaxAmount,
    TaxRate,
    check_line_rates,
    exclusive_taxes_minor,
    split_inclusive_minor,
)

__all__ = [
    "MAX_QUANTITY",
    "AmountDiscount",
    "Discount",
    "InvoiceLineInput",
    "InvoiceTotals",
    "LineResult",
    "PercentDiscount",
    "Settlement",
    "TaxSummary",
    "compute_invoice",
    "compute_line",
    "payment_status",
    "settle",
]

MAX_QUANTITY: Final = Decimal(1_000_000_000)
"""Largest absolute line quantity."""

_QUANTITY_SCALE: Final = 10_000  # quantities have at most 4 decimals


# --------------------------------------------------------------------------- discounts


@dataclass(frozen=True, slots=True)
class PercentDiscount:
    """A discount of `percent` % (0..100, at most 4 decimals) of the line amount."""

    percent: Decimal
    parts_per_million: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        percent: object = self.percent
        if isinstance(percent, bool) or not isinstance(percent, Decimal | int):
            raise InvalidDiscount(
                "Give the discount percentage as a number such as 10 or 12.5.", field="discount"
            )
        if isinstance(percent, int):
            percent = Decimal(percent)
            object.__setattr__(self, "percent", percent)
        assert isinstance(percent, Decimal)
        if not percent.is_finite() or not 0 <= percent <= 100:
            raise InvalidDiscount(
                "A discount percentage must be between 0 and 100.", field="discount"
            )
        scaled = Fraction(percent) * 10_000
        if scaled.denominator != 1:
            raise InvalidDiscount("Discount percentages have at most 4 decimals.", field="discount")
        object.__setattr__(self, "parts_per_million", scaled.numerator)

    @property
    def label(self) -> str:
        return f"{format(self.percent.normalize(), 'f')}%"


@dataclass(frozen=True, slots=True)
class AmountDiscount:
    """A fixed discount (zero or positive) on the line amount, in the line's currency."""

    amount: Money

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Money):
            raise InvalidDiscount("A fixed discount must be an amount of money.", field="discount")
        if self.amount.amount_minor < 0:
            raise InvalidDiscount("A discount cannot be negative.", field="discount")


Discount: TypeAlias = PercentDiscount | AmountDiscount


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True, slots=True)
class InvoiceLineInput:
    """One invoice line as entered. Validated on construction."""

    description: str
    quantity: Decimal
    unit_price: Money
    discount: Discount | None = None
    tax_rates: tuple[TaxRate, ...] = ()
    # Derived on construction (not compared): quantity x 10,000 and the tax mode.
    quantity_scaled: int = field(init=False, repr=False, compare=False)
    inclusive: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        quantity: object = self.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, Decimal | int):
            raise InvalidQuantity(
                "Enter the quantity as a number such as 1 or 2.5.", field="quantity"
            )
        if isinstance(quantity, int):
            quantity = Decimal(quantity)
            object.__setattr__(self, "quantity", quantity)
        assert isinstance(quantity, Decimal)
        if not quantity.is_finite():
            raise InvalidQuantity("The quantity must be a finite number.", field="quantity")
        if abs(quantity) > MAX_QUANTITY:
            raise InvalidQuantity("The quantity is too large.", field="quantity")
        scaled = Fraction(quantity) * _QUANTITY_SCALE
        if scaled.denominator != 1:
            raise InvalidQuantity("Quantities have at most 4 decimals.", field="quantity")
        object.__setattr__(self, "quantity_scaled", scaled.numerator)

        if not isinstance(self.unit_price, Money):
            raise InvalidAmount("The unit price must be an amount of money.", field="unit_price")
        discount = self.discount
        if discount is not None:
            if not isinstance(discount, PercentDiscount | AmountDiscount):
                raise InvalidDiscount(
                    "A discount is a percentage or a fixed amount.", field="discount"
                )
            if (
                isinstance(discount, AmountDiscount)
                and discount.amount.currency != self.unit_price.currency
            ):
                raise CurrencyMismatch(
                    f"The discount is in {discount.amount.currency} but the price is in "
                    f"{self.unit_price.currency}.",
                    field="discount",
                )
        rates = self.tax_rates
        if not isinstance(rates, tuple):
            rates = tuple(rates)
            object.__setattr__(self, "tax_rates", rates)
        object.__setattr__(self, "inclusive", check_line_rates(rates))


@dataclass(frozen=True, slots=True)
class LineResult:
    """The computed amounts of one line (see the module docstring for definitions).

    The amounts are stored as integer minor units (what the database snapshot stores) and
    exposed as Money through properties: ``amount``, ``discount``, ``subtotal``,
    ``discount_net``, ``net``, ``taxes``, ``tax_total``, ``total``. Building Money lazily
    keeps totalling a 1,000-line invoice well under 5 ms.
    """

    currency: str
    amount_minor: int
    discount_minor: int
    subtotal_minor: int
    net_minor: int
    tax_minor: tuple[int, ...]
    tax_rates: tuple[TaxRate, ...]
    inclusive: bool

    @property
    def tax_total_minor(self) -> int:
        return sum(self.tax_minor)

    @property
    def total_minor(self) -> int:
        return self.net_minor + sum(self.tax_minor)

    @property
    def amount(self) -> Money:
        """Quantity x unit price, rounded once; tax-inclusive for inclusive lines."""
        return _money(self.amount_minor, self.currency)

    @property
    def discount(self) -> Money:
        """The discount on ``amount`` (same tax basis as ``amount``)."""
        return _money(self.discount_minor, self.currency)

    @property
    def subtotal(self) -> Money:
        """Tax-exclusive value of ``amount`` before discount."""
        return _money(self.subtotal_minor, self.currency)

    @property
    def discount_net(self) -> Money:
        """Tax-exclusive value of the discount: subtotal - net."""
        return _money(self.subtotal_minor - self.net_minor, self.currency)

    @property
    def net(self) -> Money:
        """Tax-exclusive amount after discount."""
        return _money(self.net_minor, self.currency)

    @property
    def taxes(self) -> tuple[TaxAmount, ...]:
        """Tax per rate, in the order of the line's rates."""
        currency = self.currency
        return tuple(
            TaxAmount(rate, _money(tax, currency))
            for rate, tax in zip(self.tax_rates, self.tax_minor, strict=True)
        )

    @property
    def tax_total(self) -> Money:
        return _money(self.tax_total_minor, self.currency)

    @property
    def total(self) -> Money:
        """net + tax_total (for inclusive lines: amount - discount)."""
        return _money(self.total_minor, self.currency)


_new_object = object.__new__
_set_attribute = object.__setattr__


def _line_result(
    line: InvoiceLineInput,
    currency: str,
    minor: tuple[int, int, int, int, tuple[int, ...]],
) -> LineResult:
    amount, discount, subtotal, net, taxes = minor
    # Bypasses the frozen dataclass __init__ (one object.__setattr__ call per field anyway)
    # for speed; every value is an int computed from validated input.
    # |subtotal| and |net| never exceed |amount|, so checking amount and total suffices.
    total = net + sum(taxes)
    if not (
        -MAX_AMOUNT_MINOR <= amount <= MAX_AMOUNT_MINOR
        and -MAX_AMOUNT_MINOR <= total <= MAX_AMOUNT_MINOR
    ):
        raise InvalidAmount("The line amount is too large.")
    result: LineResult = _new_object(LineResult)
    _set_attribute(result, "currency", currency)
    _set_attribute(result, "amount_minor", amount)
    _set_attribute(result, "discount_minor", discount)
    _set_attribute(result, "subtotal_minor", subtotal)
    _set_attribute(result, "net_minor", net)
    _set_attribute(result, "tax_minor", taxes)
    _set_attribute(result, "tax_rates", line.tax_rates)
    _set_attribute(result, "inclusive", line.inclusive)
    return result


def _line_minor(line: InvoiceLineInput) -> tuple[int, int, int, int, tuple[int, ...]]:
    """(amount, discount, subtotal, net, taxes) of a line, as integers."""
    amount = div_half_up(line.quantity_scaled * line.unit_price.amount_minor, _QUANTITY_SCALE)
    discount_input = line.discount
    if discount_input is None:
        discount = 0
    elif isinstance(discount_input, PercentDiscount):
        discount = div_half_up(amount * discount_input.parts_per_million, PPM)
    else:
        fixed = discount_input.amount.amount_minor
        if fixed > (amount if amount >= 0 else -amount):
            raise InvalidDiscount(
                f"The discount ({discount_input.amount}) is larger than the line amount "
                f"({_money(amount, line.unit_price.currency)}).",
                field="discount",
            )
        discount = fixed if amount >= 0 else -fixed
    after_discount = amount - discount
    rates = line.tax_rates
    taxes: tuple[int, ...]
    if line.inclusive:
        net, inclusive_taxes = split_inclusive_minor(after_discount, rates)
        taxes = tuple(inclusive_taxes)
        subtotal = net if discount == 0 else split_inclusive_minor(amount, rates)[0]
    else:
        net = after_discount
        subtotal = amount
        taxes = tuple(exclusive_taxes_minor(net, rates)) if rates else ()
    return amount, discount, subtotal, net, taxes


def compute_line(line: InvoiceLineInput) -> LineResult:
    """Amounts of one line on its own, in the currency of its unit price."""
    return _line_result(line, line.unit_price.currency, _line_minor(line))


# --------------------------------------------------------------------------- invoices


@dataclass(frozen=True, slots=True)
class TaxSummary:
    """One tax rate summed over an invoice: the taxable (net) amount and the tax."""

    name: str
    percent: Decimal
    taxable_amount: Money
    amount: Money

    @property
    def label(self) -> str:
        """'GST 5%'"""
        return f"{self.name} {format(self.percent.normalize(), 'f')}%"


@dataclass(frozen=True, slots=True)
class InvoiceTotals:
    """Totals of an invoice; see the module docstring for the exact definitions."""

    currency: str
    lines: tuple[LineResult, ...]
    subtotal: Money
    discount_total: Money
    net_total: Money
    taxes: tuple[TaxSummary, ...]
    tax_total: Money
    inclusive_tax_total: Money
    total: Money
    is_credit_note: bool = False


class _RateSum:
    """Mutable accumulator of one tax rate while totalling (internal)."""

    __slots__ = ("rate", "tax", "taxable")

    def __init__(self, rate: TaxRate, taxable: int, tax: int) -> None:
        self.rate = rate
        self.taxable = taxable
        self.tax = tax


def compute_invoice(
    lines: Sequence[InvoiceLineInput], currency: str, *, is_credit_note: bool = False
) -> InvoiceTotals:
    """Compute every line and the invoice totals.

    Raises CurrencyMismatch when a line's price is not in `currency`, InvalidDiscount when
    a fixed discount exceeds its line, and NegativeTotal when the total is below zero and
    the document is not a credit note. Zero and negative lines are allowed.
    """
    currency_exponent(currency)
    results: list[LineResult] = []
    subtotal_sum = discount_sum = net_sum = tax_sum = inclusive_tax_sum = 0
    # Per (tax name, exact rate), in order of first appearance: [rate, taxable, tax].
    per_rate: dict[tuple[str, int], _RateSum] = {}
    for number, line in enumerate(lines, start=1):
        if line.unit_price.currency != currency:
            raise CurrencyMismatch(
                f"Line {number} is in {line.unit_price.currency} but the invoice is in {currency}.",
                field=f"lines.{number - 1}.unit_price",
            )
        try:
            minor = _line_minor(line)
        except InvalidDiscount as exc:
            raise InvalidDiscount(
                f"Line {number}: {exc.message}", field=f"lines.{number - 1}.discount"
            ) from exc
        _, _, subtotal, net, taxes = minor
        line_tax = 0
        for rate, tax in zip(line.tax_rates, taxes, strict=True):
            rate_sum = per_rate.get(rate.key)
            if rate_sum is None:
                per_rate[rate.key] = _RateSum(rate, net, tax)
            else:
                rate_sum.taxable += net
                rate_sum.tax += tax
            line_tax += tax
        subtotal_sum += subtotal
        discount_sum += subtotal - net
        net_sum += net
        tax_sum += line_tax
        if line.inclusive:
            inclusive_tax_sum += line_tax
        results.append(_line_result(line, currency, minor))

    total = net_sum + tax_sum
    if total < 0 and not is_credit_note:
        raise NegativeTotal(
            f"The invoice total cannot be negative ({_money(total, currency)}); "
            "issue a credit note instead."
        )
    summaries = tuple(
        TaxSummary(
            name=rate_sum.rate.name,
            percent=rate_sum.rate.percent,
            taxable_amount=_money(rate_sum.taxable, currency),
            amount=_money(rate_sum.tax, currency),
        )
        for rate_sum in per_rate.values()
    )
    return InvoiceTotals(
        currency=currency,
        lines=tuple(results),
        subtotal=_money(subtotal_sum, currency),
        discount_total=_money(discount_sum, currency),
        net_total=_money(net_sum, currency),
        taxes=summaries,
        tax_total=_money(tax_sum, currency),
        inclusive_tax_total=_money(inclusive_tax_sum, currency),
        total=_money(total, currency),
        is_credit_note=is_credit_note,
    )


# --------------------------------------------------------------------------- payments


def payment_status(
    total_minor: int,
    paid_minor: int,
    refunded_minor: int,
    credited_minor: int = 0,
    applied_minor: int = 0,
) -> InvoiceStatus:
    """The status a finalized invoice has given what was paid, refunded and credited.

    * credit notes took the whole total off: credited
    * anything refunded: refunded when everything paid was refunded, else partially_refunded
    * nothing received (paid or from the credit balance): open (paid when nothing is owed)
    * received below what is owed (total - credited): partially_paid; at or above: paid

    Statuses set by a person (void, uncollectible) are not derived here: for such an
    invoice the derived status only matters once a payment or a credit arrives.
    """
    owed = total_minor - credited_minor
    if credited_minor > 0 and owed <= 0:
        return InvoiceStatus.CREDITED
    if refunded_minor > 0:
        if refunded_minor >= paid_minor:
            return InvoiceStatus.REFUNDED
        return InvoiceStatus.PARTIALLY_REFUNDED
    received = paid_minor + applied_minor
    if received == 0:
        return InvoiceStatus.OPEN if owed > 0 else InvoiceStatus.PAID
    if received < owed:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.PAID


@dataclass(frozen=True, slots=True)
class Settlement:
    """Where an invoice stands after its payments, refunds and credits."""

    total: Money
    amount_paid: Money
    amount_refunded: Money
    amount_due: Money
    status: InvoiceStatus
    amount_credited: Money
    """What credit notes took off the invoice (reduced what was due, or backed a refund)."""
    credit_applied: Money
    """What the client's credit balance paid of the invoice."""

    @property
    def net_paid(self) -> Money:
        """Money received and kept: paid - refunded."""
        return self.amount_paid - self.amount_refunded

    @property
    def outstanding(self) -> Money:
        """What the client is still expected to pay: the amount due while the invoice is
        open or partially paid, zero otherwise (refunded invoices are not re-collected)."""
        if is_collectible(self.status) and self.amount_due.amount_minor > 0:
            return self.amount_due
        return Money.zero(self.total.currency)

    @property
    def overpaid(self) -> Money:
        """Money received beyond the total (a credit owed to the client), else zero."""
        if self.amount_due.amount_minor < 0:
            return -self.amount_due
        return Money.zero(self.total.currency)


def _sum_positive(amounts: Sequence[Money], currency: str, what: str) -> int:
    total = 0
    for amount in amounts:
        if not isinstance(amount, Money):
            raise InvalidPayment(f"A {what} must be an amount of money.")
        if amount.currency != currency:
            raise CurrencyMismatch(
                f"A {what} in {amount.currency} cannot settle an invoice in {currency}."
            )
        if amount.amount_minor <= 0:
            raise InvalidPayment(f"A {what} must be more than zero.", field="amount")
        total += amount.amount_minor
    return total


def _credit(amount: int, total: int, currency: str, what: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise InvalidPayment(f"The {what} must be zero or more.")
    if amount > max(total, 0):
        raise InvalidPayment(
            f"The {what} ({_money(amount, currency)}) cannot exceed the invoice total "
            f"({_money(total, currency)})."
        )
    return amount


def settle(
    total: Money,
    payments: Sequence[Money],
    refunds: Sequence[Money],
    *,
    credited_minor: int = 0,
    applied_minor: int = 0,
) -> Settlement:
    """Amount paid, refunded, credited and due, and the derived status.

    amount_due = total - paid + refunded - credited - credit_applied (docs/security.md
    item 28). Every payment and refund must be positive and in the invoice currency; refunds
    may not exceed payments (docs/security.md item 10); credits and the credit balance
    applied are each at most the total. A negative total (a credit note) is not settled.
    """
    currency = total.currency
    if total.amount_minor < 0:
        raise InvalidPayment("A credit note is not settled with payments.")
    paid = _sum_positive(payments, currency, "payment")
    refunded = _sum_positive(refunds, currency, "refund")
    if refunded > paid:
        raise OverRefund(
            f"Refunds ({_money(refunded, currency)}) cannot exceed what was paid "
            f"({_money(paid, currency)}).",
            field="amount",
        )
    credited = _credit(credited_minor, total.amount_minor, currency, "amount credited")
    applied = _credit(applied_minor, total.amount_minor, currency, "credit applied")
    return Settlement(
        total=total,
        amount_paid=_money(paid, currency),
        amount_refunded=_money(refunded, currency),
        amount_due=_money(total.amount_minor - paid + refunded - credited - applied, currency),
        status=payment_status(total.amount_minor, paid, refunded, credited, applied),
        amount_credited=_money(credited, currency),
        credit_applied=_money(applied, currency),
    )
