"""The agency's numbering and renewal settings as typed: invoice and credit note number formats
and when their sequences restart (checked with domain/numbering.py), and how many missed periods
a renewal run catches up per subscription."""

from __future__ import annotations

from billing_app.db.invoicing import AgencySettings
from billing_app.domain.numbering import SequenceReset, validate_number_format
from billing_app.domain.numbers import parse_whole_number
from billing_app.services.common.errors import FieldChecks, ValidationFailed


def number_reset(value: str) -> SequenceReset:
    try:
        return SequenceReset(value.strip() or "never")
    except ValueError as exc:
        msg = "Choose when numbering restarts: never, yearly or monthly."
        raise ValidationFailed(msg, field="number_reset") from exc


def credit_note_numbering(
    checks: FieldChecks,
    row: AgencySettings,
    typed_format: str | None,
    typed_reset: str | None,
    number_format: str,
) -> tuple[str, str]:
    """The credit notes' number format and reset as typed (those saved when not given),
    checked like the invoices' and never the same format as theirs."""
    reset = SequenceReset(row.credit_note_reset or "never")
    if typed_reset is not None:
        reset = checks.value("credit_note_reset", reset, number_reset, typed_reset)
    fmt = row.credit_note_format
    if typed_format is not None:
        fmt = typed_format.strip()
        checks.value("credit_note_format", None, validate_number_format, fmt, reset)
        if fmt == number_format:
            checks.value("credit_note_format", None, _own_format, fmt)
    return fmt, reset.value


def _own_format(_: str) -> None:
    msg = "Give credit notes a format of their own (e.g. CN-{YYYY}-{SEQ:5}), unlike invoices."
    raise ValidationFailed(msg, field="credit_note_format")


def catch_up_limit(value: str) -> int:
    """How many missed periods per subscription a run bills after downtime: 1 to 24."""
    limit = parse_whole_number(value, max_digits=2)
    if limit is None or not 1 <= limit <= 24:
        msg = "Enter how many missed periods to bill per subscription: 1 to 24."
        raise ValidationFailed(msg, field="renewal_catch_up")
    return limit
