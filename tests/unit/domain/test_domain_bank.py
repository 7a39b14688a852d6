"""Bank details: IBANs and BICs as banks accept them, typed however people type them."""

from __future__ import annotations

import pytest

from billing_app.domain.bank import BankDetails, InvalidBankDetails, clean_bic, clean_iban, grouped


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("FR76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189"),
        ("  de89370400440532013000 ", "DE89370400440532013000"),
        ("GB29 NWBK 6016 1331 9268 19", "GB29NWBK60161331926819"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_an_iban_is_kept_compact_whatever_the_spacing_and_case(typed: str, kept: str) -> None:
    assert clean_iban(typed) == kept


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("FR76 3000 6000 0112 3456 7890 188", "its check digits do not match"),
        ("FR76 3000 6000 0112 3456 7890", "the wrong number of characters"),
        ("ZZ76 3000 6000 0112 3456 7890 189", "a country code"),
        ("DE89 3704 0044 0532 0130 0X", "its format does not match"),
    ],
)
def test_a_mistyped_iban_is_refused_with_the_reason(typed: str, reason: str) -> None:
    with pytest.raises(InvalidBankDetails) as caught:
        clean_iban(typed)
    assert reason in caught.value.message
    assert caught.value.field == "bank_iban"


def test_a_bic_has_8_or_11_characters() -> None:
    assert clean_bic(" bnpa fr pp ") == "BNPAFRPP"
    assert clean_bic("BNPAFRPPXXX") == "BNPAFRPPXXX"
    assert clean_bic("") == ""
    for bad in ("BNP", "BNPAFRPPX", "12345678"):
        with pytest.raises(InvalidBankDetails) as caught:
            clean_bic(bad)
        assert caught.value.field == "bank_bic"


def test_an_iban_reads_in_groups_of_four() -> None:
    assert grouped("FR7630006000011234567890189") == "FR76 3000 6000 0112 3456 7890 189"
    assert grouped("") == ""
    assert grouped("FI21 1234 5600 0007 85") == "FI21 1234 5600 0007 85"


def test_details_are_given_when_any_field_is() -> None:
    assert not BankDetails().given
    assert BankDetails(details="Routing 021000021").given
    assert BankDetails(account_holder="Nord").given
    assert BankDetails(iban="DE89370400440532013000").given
    assert BankDetails(bic="BNPAFRPP").given
