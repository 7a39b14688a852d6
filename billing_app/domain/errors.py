"""Typed domain errors.

Every error carries a message a person can read (shown next to a form field, in the CLI or in
an API answer) and, when it concerns one input, the name of that field. Services catch
`DomainError` and turn it into their own answer; nothing here is ever a stack trace for users.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error raised by billing_app.domain."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class UnknownCurrency(DomainError):
    """The currency code is not a known ISO 4217 code."""


class CurrencyMismatch(DomainError):
    """Two amounts in different currencies were combined or compared."""


class InvalidAmount(DomainError):
    """An amount is malformed, out of range, or has more decimals than its currency allows."""


class InvalidAllocation(DomainError):
    """Ratios given to an allocation are empty, negative or all zero."""


class UnknownLocale(DomainError):
    """The locale identifier is not one Babel knows."""


class InvalidInterval(DomainError):
    """A billing interval has an unknown unit or a count out of range."""


class InvalidPeriod(DomainError):
    """A period or a date range is empty, reversed, or outside the supported dates."""


class InvalidTaxRate(DomainError):
    """A tax rate has no name, or a percentage outside 0..100 or with too many decimals."""


class InvalidTaxCombination(DomainError):
    """The tax rates on one line cannot be combined (mixed inclusive/exclusive, duplicates)."""


class InvalidQuantity(DomainError):
    """A line quantity is malformed, out of range, or has more than four decimals."""


class InvalidDiscount(DomainError):
    """A discount is malformed or larger than the amount it applies to."""


class NegativeTotal(DomainError):
    """An invoice (not a credit note) would have a negative total."""


class InvalidPayment(DomainError):
    """A payment or refund amount is not acceptable (zero, negative, wrong currency)."""


class OverRefund(DomainError):
    """Refunds would exceed what was paid."""


class InvalidTransition(DomainError):
    """A status change that the lifecycle does not allow."""


class InvalidNumberFormat(DomainError):
    """An invoice number template is malformed."""


class InvalidSequence(DomainError):
    """An invoice sequence number is out of range."""
