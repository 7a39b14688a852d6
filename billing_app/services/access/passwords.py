"""The password policy (docs/security.md item 12): at least 8 characters, long ones welcome,
no composition rules, common passwords refused (zxcvbn's frequency lists)."""

from __future__ import annotations

from functools import lru_cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from billing_app.services.common.errors import FieldChecks, ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 1024


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    words: set[str] = set()
    for name in ("passwords", "english_wikipedia", "us_tv_and_film"):
        words.update(w.lower() for w in FREQUENCY_LISTS.get(name, ()) if len(w) >= MIN_LENGTH)
    return frozenset(words)


def check_password(password: str, *, email: str = "", name: str = "") -> None:
    """Raise ValidationFailed (field ``password``) when the password is not acceptable."""
    if len(password) < MIN_LENGTH:
        msg = f"Use at least {MIN_LENGTH} characters."
        raise ValidationFailed(msg, field="password")
    if len(password) > MAX_LENGTH:
        msg = f"Use at most {MAX_LENGTH} characters."
        raise ValidationFailed(msg, field="password")
    lowered = password.lower()
    personal = {email.lower(), email.split("@", maxsplit=1)[0].lower(), name.lower()} - {""}
    if lowered in personal:
        msg = "Don't use your name or email as your password."
        raise ValidationFailed(msg, field="password")
    if lowered in _common_passwords() or len(set(password)) <= 2:
        msg = "This password is too common. Choose one that is harder to guess."
        raise ValidationFailed(msg, field="password")


PASSWORDS_DIFFER = "The two passwords differ."


def check_new_password(
    checks: FieldChecks,
    password: str,
    confirm: str | None,
    *,
    email: str = "",
    name: str = "",
    field: str = "password",
) -> None:
    """Keep in ``checks`` what is wrong with a new password (under ``field``) and with its
    confirmation (under ``confirm``; None when the form asks for none)."""
    checks.value(field, None, check_password, password, email=email, name=name)
    if confirm is not None and confirm != password:
        checks.add("confirm", PASSWORDS_DIFFER)
