from __future__ import annotations

import pytest

from billing_app.services.access.passwords import check_password
from billing_app.services.common.errors import ValidationFailed


@pytest.mark.parametrize(
    "password",
    ["seven77", "password", "12345678", "qwertyuiop", "aaaaaaaaaaa", "Sunshine"],
)
def test_short_and_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        check_password(password)
    assert exc.value.field == "password"


@pytest.mark.parametrize(
    "password",
    ["plum tree at dusk", "x" * 3 + "Q9!z2kLm", "ß" * 4 + "üñîçødé", "a" + "b" * 99 + "c" * 64],
)
def test_reasonable_passwords_pass_without_composition_rules(password: str) -> None:
    check_password(password)


def test_your_own_email_or_name_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="name or email"):
        check_password("marta.kowalska", email="marta.kowalska@agency.test")


@pytest.mark.parametrize("stored", [None, ""])
def test_an_account_without_a_password_never_matches_any_password(stored: str | None) -> None:
    """The timing-evening dummy hash must never let an account without a password in, even
    with the dummy's own phrase."""
    from billing_app.services.common import tokens

    for guess in ("not a real password, used to even out timing", "", "anything"):
        assert tokens.verify_password(stored, guess) is False
    assert tokens.verify_password(tokens.hash_password("plum tree at dusk"), "plum tree at dusk")
