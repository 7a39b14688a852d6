"""Where a client pays by bank transfer: a brand's account holder, IBAN, BIC or free text.

IBANs and BICs are checked with schwifty (country, length, national format, check digits), so
a typo is caught when the agency types it, not when a client's transfer bounces. They are kept
compact (``FR7630006000011234567890189``) and shown in groups of four, as banks print them.
Accounts without an IBAN (US routing and account numbers, UK sort codes) go in the free text.
"""

from __future__ import annotations

from dataclasses import dataclass

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from billing_app.domain.errors import DomainError

HOLDER_MAX = 120
DETAILS_MAX = 1000


class InvalidBankDetails(DomainError):
    """An IBAN or BIC that no bank would accept, with the field it came from."""


def clean_iban(text: str) -> str:
    """The compact IBAN of what was typed (spaces and case do not matter); "" for nothing."""
    typed = "".join(text.split()).upper()
    if not typed:
        return ""
    try:
        return str(IBAN(typed).compact)
    except SchwiftyException as exc:
        msg = f"This IBAN is not valid ({_reason(exc)}). Check it against your bank statement."
        raise InvalidBankDetails(msg, field="bank_iban") from None


def clean_bic(text: str) -> str:
    """The BIC (SWIFT code) of what was typed, 8 or 11 characters; "" for nothing."""
    typed = "".join(text.split()).upper()
    if not typed:
        return ""
    try:
        return str(BIC(typed).compact)
    except SchwiftyException:
        msg = "Enter a BIC (SWIFT code) of 8 or 11 letters and digits, like BNPAFRPP."
        raise InvalidBankDetails(msg, field="bank_bic") from None


def _reason(exc: SchwiftyException) -> str:
    """schwifty's reason in a client's words."""
    name = type(exc).__name__
    if name == "InvalidChecksumDigits":
        return "its check digits do not match"
    if name == "InvalidCountryCode":
        return "it must start with a country code such as FR or DE"
    if name == "InvalidLength":
        return "it has the wrong number of characters for its country"
    return "its format does not match its country"


def grouped(iban: str) -> str:
    """``FR76 3000 6000 0112 3456 7890 189``: an IBAN in groups of four for reading (spaces
    already in it, as older data may hold, are ignored)."""
    compact = "".join(iban.split())
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


@dataclass(frozen=True, slots=True)
class BankDetails:
    """A brand's bank details; every field may be empty."""

    account_holder: str = ""
    iban: str = ""
    bic: str = ""
    details: str = ""

    @property
    def given(self) -> bool:
        return bool(self.account_holder or self.iban or self.bic or self.details)
