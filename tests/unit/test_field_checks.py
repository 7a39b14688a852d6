"""Every field's problem at once: ValidationFailed carries them all, FieldChecks collects them
(validation errors and domain errors alike), and the pages put each under its field."""

from __future__ import annotations

import pytest

from billing_app.domain.errors import InvalidAmount
from billing_app.services.common.errors import (
    Conflict,
    FieldChecks,
    NotFound,
    ValidationFailed,
)
from billing_app.ui.session.staff import field_errors


def test_a_plain_error_carries_its_one_problem() -> None:
    exc = ValidationFailed("Enter the company name.", field="company")
    assert (exc.message, exc.field, exc.errors) == (
        "Enter the company name.",
        "company",
        {"company": "Enter the company name."},
    )
    assert ValidationFailed("Something is off.").errors == {"form": "Something is off."}


def test_an_error_of_several_fields_reads_as_its_first() -> None:
    exc = ValidationFailed.of({"email": "Enter an email address.", "role": "Choose a role."})
    assert (exc.message, exc.field) == ("Enter an email address.", "email")
    assert exc.errors == {"email": "Enter an email address.", "role": "Choose a role."}
    assert str(exc) == "Enter an email address."
    form_first = ValidationFailed.of({"form": "Restore the client first.", "quantity": "1 to 9."})
    assert (form_first.field, form_first.message) == (None, "Restore the client first.")
    with pytest.raises(ValueError, match="at least one problem"):
        ValidationFailed.of({})


def _amount(text: str) -> int:
    if not text.isdigit():
        raise InvalidAmount(f"{text!r} is not a valid amount.", field="amount")
    return int(text)


def _name(text: str) -> str:
    if not text:
        raise ValidationFailed("Enter a name.", field="name")
    return text


def test_checks_run_every_field_and_raise_once_with_all_problems() -> None:
    checks = FieldChecks()
    name = checks.value("name", "?", _name, "")
    # A domain error's own field ("amount") gives way to the form's field.
    price = checks.value("price", 0, _amount, "abc")
    quantity = checks.value("quantity", 0, _amount, "3")
    with checks.check("websites"):
        raise ValidationFailed("'x' is not a website address.", field="somewhere")
    with checks.check():
        raise InvalidAmount("Too large.", field="total")
    checks.add("name", "A second problem of the name is not kept.")
    assert (name, price, quantity) == ("?", 0, 3)
    assert checks.failed() and checks.failed("price", "city") and not checks.failed("city")
    with pytest.raises(ValidationFailed) as caught:
        checks.raise_if_failed()
    assert caught.value.errors == {
        "name": "Enter a name.",
        "price": "'abc' is not a valid amount.",
        "websites": "'x' is not a website address.",
        "total": "Too large.",
    }
    assert (caught.value.field, caught.value.message) == ("name", "Enter a name.")


def test_checks_merge_a_nested_error_of_several_fields_and_pass_when_all_is_well() -> None:
    checks = FieldChecks()
    with checks.check():
        raise ValidationFailed.of({"password": "Use at least 8 characters.", "confirm": "Differ."})
    assert checks.errors == {"password": "Use at least 8 characters.", "confirm": "Differ."}
    fine = FieldChecks()
    assert fine.value("name", "", _name, "Ada") == "Ada"
    fine.raise_if_failed()
    assert not fine.failed()


def test_other_errors_are_not_field_problems_and_go_through() -> None:
    checks = FieldChecks()
    with pytest.raises(Conflict), checks.check("name"):
        raise Conflict("Already set up.")
    assert checks.errors == {}


def test_pages_show_every_field_and_the_rest_above_the_form() -> None:
    exc = ValidationFailed.of(
        {"client_id": "This client is archived: restore it first.", "quantity": "Too many."}
    )
    assert field_errors(exc) == {
        "client_id": "This client is archived: restore it first.",
        "quantity": "Too many.",
    }
    assert field_errors(exc, fields=("product_id", "quantity")) == {
        "quantity": "Too many.",
        "form": "This client is archived: restore it first.",
    }
    assert field_errors(ValidationFailed("Off.")) == {"form": "Off."}
    assert field_errors(NotFound("That client does not exist.")) == {
        "form": "That client does not exist."
    }
    assert field_errors(ValueError("boom"), fields=("name",)) == {"form": "boom"}
