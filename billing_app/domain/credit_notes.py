"""Credit notes: how much of a sent invoice a credit takes back, line by line and tax by tax.

A credit note never edits the invoice; it states what is taken off it. Everything here is
integer minor units of the invoice currency (docs/security.md item 28).

Definitions
-----------
For each invoice line (domain/invoice_math.py ``LineResult``), ``total`` is what the line
charged (net + its taxes) and ``taxes`` its tax per rate. What all credit notes so far took
off the line is ``credited`` (gross, same sign as ``total``, never beyond it). The share of
the line credited is the fraction ``f = credited / total``; the tax credited on the line, per
rate, is always ``round_half_up(tax x f)`` **cumulatively**: a new credit's tax is that figure
after it minus that figure before it. So

* the tax credited equals, exactly, the line's tax in proportion to what was credited (and
  all of it once the whole line is credited): nothing is lost or gained to rounding however
  the line is credited, in one piece or many;
* the net credited is the gross credited minus those taxes.

A credit is chosen three ways:

* **quantities** of lines (``credit_quantities``): ``q`` of the line's ``Q`` credits
  ``round_half_up(total x q / Q)`` (what the quantities credited so far and after give,
  cumulatively), all that is left once the last unit is credited;
* **all** that is left of every line (``credit_everything``);
* **an amount** (``credit_amount``), spread over the lines in proportion to what is left of
  each (largest remainder, so the pieces sum exactly to the amount).

Then ``check_credit`` refuses a credit of nothing, or one that takes more off a tax rate (its
taxable amount or its tax) or off the invoice than the invoice charged: possible only when a
negative line (a discount line) is left out while the lines it reduced are credited.

What the credit does (``split_credit``): it first reduces what is still due on the invoice;
the rest (money the client paid) is refunded or left on the client's credit balance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

from billing_app.domain.errors import DomainError
from billing_app.domain.invoice_math import InvoiceTotals, LineResult
from billing_app.domain.money import div_half_up
from billing_app.domain.tax import TaxRate

__all__ = [
    "CreditLine",
    "CreditTotals",
    "InvalidCredit",
    "Remaining",
    "check_credit",
    "credit_amount",
    "credit_everything",
    "credit_quantities",
    "prorate",
    "split_credit",
]


class InvalidCredit(DomainError):
    """A credit note that cannot be issued (nothing to credit, or more than was invoiced)."""


@dataclass(frozen=True, slots=True)
class Remaining:
    """What credit notes already took off one invoice line: ``gross`` (same sign as the
    line's total) and ``quantity`` (units credited by quantity, 0 <= quantity <= |Q|)."""

    gross: int = 0
    quantity: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class CreditLine:
    """The part of one invoice line a credit note takes off."""

    index: int
    """The line's position on the invoice (0-based)."""
    quantity: Decimal | None
    """Units credited (None when the credit was an amount)."""
    gross: int
    net: int
    taxes: tuple[int, ...]
    """Tax per rate of the line, in the line's rate order."""
    rates: tuple[TaxRate, ...]


@dataclass(frozen=True, slots=True)
class CreditTotals:
    """A credit note's amounts: its lines, the tax per rate (taxable, tax) and the totals."""

    lines: tuple[CreditLine, ...]
    taxes: tuple[tuple[TaxRate, int, int], ...]
    """(rate, taxable net credited, tax credited), in order of first appearance."""
    net: int
    tax: int
    total: int


def prorate(amount: int, part: int | Fraction, whole: int | Fraction) -> int:
    """``amount x part / whole`` rounded ROUND_HALF_UP (halves away from zero); exact."""
    fraction = Fraction(part) / Fraction(whole)
    numerator = amount * fraction.numerator
    return div_half_up(numerator, fraction.denominator) if fraction.denominator > 0 else 0


def _cumulative_taxes(line: LineResult, gross: int) -> tuple[int, ...]:
    if line.total_minor == 0:
        return tuple(0 for _ in line.tax_minor)
    return tuple(prorate(tax, gross, line.total_minor) for tax in line.tax_minor)


def _piece(line: LineResult, index: int, done: int, gross: int, qty: Decimal | None) -> CreditLine:
    """The credit of ``gross`` more of ``line``, ``done`` of it credited before."""
    before = _cumulative_taxes(line, done)
    after = _cumulative_taxes(line, done + gross)
    taxes = tuple(a - b for a, b in zip(after, before, strict=True))
    return CreditLine(index, qty, gross, gross - sum(taxes), taxes, line.tax_rates)


def _left(line: LineResult, done: Remaining) -> int:
    return line.total_minor - done.gross


def _same_way(value: int, bound: int) -> int:
    """``value`` held between 0 and ``bound`` (either sign)."""
    return max(min(value, bound), 0) if bound >= 0 else min(max(value, bound), 0)


def credit_quantities(
    totals: InvoiceTotals,
    quantities_of_lines: Sequence[Decimal],
    credited: Mapping[int, Remaining],
    requested: Mapping[int, Decimal],
) -> tuple[CreditLine, ...]:
    """Credit ``requested[i]`` units of line ``i`` (``quantities_of_lines[i]`` is the line's
    quantity as invoiced). Raises InvalidCredit for a quantity that is not more than zero
    or is more than is left to credit."""
    pieces: list[CreditLine] = []
    for index in sorted(requested):
        qty = requested[index]
        if not 0 <= index < len(totals.lines):
            raise InvalidCredit("That line is not on the invoice.", field="lines")
        line = totals.lines[index]
        done = credited.get(index, Remaining())
        whole = abs(quantities_of_lines[index])
        if not qty.is_finite() or qty <= 0:
            raise InvalidCredit(
                f"Line {index + 1}: credit a quantity more than zero.", field=f"lines.{index}"
            )
        left_units = whole - done.quantity
        if qty > left_units:
            raise InvalidCredit(
                f"Line {index + 1}: at most {format(left_units.normalize(), 'f')} can still "
                "be credited.",
                field=f"lines.{index}",
            )
        left = _left(line, done)
        if qty == left_units or whole == 0:
            gross = left
        else:
            step = prorate(line.total_minor, Fraction(done.quantity + qty), Fraction(whole))
            step -= prorate(line.total_minor, Fraction(done.quantity), Fraction(whole))
            gross = _same_way(step, left)
        pieces.append(_piece(line, index, done.gross, gross, qty))
    return tuple(pieces)


def credit_everything(
    totals: InvoiceTotals,
    quantities_of_lines: Sequence[Decimal],
    credited: Mapping[int, Remaining],
) -> tuple[CreditLine, ...]:
    """Credit all that is left of every line."""
    pieces = []
    for index, line in enumerate(totals.lines):
        done = credited.get(index, Remaining())
        left = _left(line, done)
        if left == 0:
            continue
        units = abs(quantities_of_lines[index]) - done.quantity
        pieces.append(_piece(line, index, done.gross, left, units if units > 0 else None))
    return tuple(pieces)


def credit_amount(
    totals: InvoiceTotals, credited: Mapping[int, Remaining], amount: int
) -> tuple[CreditLine, ...]:
    """Spread ``amount`` (gross, more than zero) over the lines in proportion to what is left
    of each; the pieces sum exactly to ``amount``. Raises InvalidCredit when it is more than
    what is left of the invoice."""
    lefts = [_left(line, credited.get(i, Remaining())) for i, line in enumerate(totals.lines)]
    whole = sum(lefts)
    if amount <= 0:
        raise InvalidCredit("Enter an amount greater than zero.", field="amount")
    if amount > whole:
        raise InvalidCredit("That is more than is left to credit on the invoice.", field="amount")
    shares = [Fraction(left * amount, whole) for left in lefts]
    floors = [share.numerator // share.denominator for share in shares]
    extra = amount - sum(floors)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in by_remainder[:extra]:
        floors[i] += 1
    return tuple(
        _piece(line, i, credited.get(i, Remaining()).gross, floors[i], None)
        for i, line in enumerate(totals.lines)
        if floors[i] != 0
    )


_NOTHING: Final = "Choose what to credit: lines, quantities or an amount."


def _within(value: int, bound: int) -> bool:
    return 0 <= value <= bound if bound >= 0 else bound <= value <= 0


def check_credit(
    totals: InvoiceTotals,
    credited: Mapping[int, Remaining],
    pieces: Sequence[CreditLine],
) -> CreditTotals:
    """The credit note's totals, once checked: more than zero, and with everything credited
    so far no line, tax rate (taxable amount and tax) or invoice total credited beyond what
    the invoice charged."""
    total = sum(piece.gross for piece in pieces)
    if not pieces or total <= 0:
        raise InvalidCredit(_NOTHING, field="lines")
    after = {i: done.gross for i, done in credited.items()}
    for piece in pieces:
        after[piece.index] = after.get(piece.index, 0) + piece.gross
    for index, gross in after.items():
        if not _within(gross, totals.lines[index].total_minor):
            raise InvalidCredit(
                f"Line {index + 1} cannot be credited beyond what it charged.",
                field=f"lines.{index}",
            )
    if sum(after.values()) > totals.total.amount_minor:
        raise InvalidCredit(
            "That credits more than the invoice charged: include the discount lines.",
            field="lines",
        )
    # Per rate: invoiced (taxable, tax) against everything credited once this credit is in.
    invoiced: dict[tuple[str, int], list[int]] = {}
    so_far: dict[tuple[str, int], list[int]] = {}
    for index, line in enumerate(totals.lines):
        gross = after.get(index, 0)
        cumulative = _cumulative_taxes(line, gross)
        net = gross - sum(cumulative)
        for rate, tax, done in zip(line.tax_rates, line.tax_minor, cumulative, strict=True):
            mine = invoiced.setdefault(rate.key, [0, 0])
            mine[0] += line.net_minor
            mine[1] += tax
            theirs = so_far.setdefault(rate.key, [0, 0])
            theirs[0] += net
            theirs[1] += done
    names = {rate.key: rate for line in totals.lines for rate in line.tax_rates}
    for key, (taxable, tax) in invoiced.items():
        credited_taxable, credited_tax = so_far[key]
        if not (_within(credited_taxable, taxable) and _within(credited_tax, tax)):
            rate = names[key]
            label = f"{rate.name} {format(rate.percent.normalize(), 'f')}%"
            raise InvalidCredit(
                f"That credits more {label} than the invoice charged: include the discount lines.",
                field="lines",
            )
    sums: dict[tuple[str, int], list[int]] = {}
    for piece in pieces:
        for rate, tax in zip(piece.rates, piece.taxes, strict=True):
            entry = sums.setdefault(rate.key, [0, 0])
            entry[0] += piece.net
            entry[1] += tax
    summary = tuple((names[key], taxable, tax) for key, (taxable, tax) in sums.items())
    tax_total = sum(sum(piece.taxes) for piece in pieces)
    return CreditTotals(
        lines=tuple(pieces), taxes=summary, net=total - tax_total, tax=tax_total, total=total
    )


@dataclass(frozen=True, slots=True)
class CreditSplit:
    """How a credit of ``reduces_due + given_back`` acts on the invoice."""

    reduces_due: int
    """Taken off what the client still owes."""
    given_back: int
    """Money the client paid, refunded or left on their credit balance."""


def split_credit(amount: int, due: int) -> CreditSplit:
    """A credit first reduces what is still due on the invoice (``due``, arithmetic: total -
    paid + refunded - credited - credit applied); the rest goes back to the client."""
    if amount <= 0:
        raise InvalidCredit(_NOTHING, field="amount")
    reduces = min(amount, max(due, 0))
    return CreditSplit(reduces_due=reduces, given_back=amount - reduces)
