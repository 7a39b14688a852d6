"""Errors raised by use cases. Each carries a message a person can read, and the form field
it concerns when there is one.

A form is checked as a whole: ``FieldChecks`` runs every field's check, keeps the first problem
of each field, and raises one ``ValidationFailed`` carrying them all (``errors``), so a person
sees every field to fix at once. ``message`` and ``field`` stay the first problem."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from billing_app.domain.errors import DomainError

FORM = "form"
"""The key of a problem that belongs to no field (shown above the form)."""

P = ParamSpec("P")
T = TypeVar("T")


class ServiceError(Exception):
    """Base of the use-case errors."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(ServiceError):
    """The input is not acceptable; nothing was written.

    ``errors`` maps each field with a problem to its message (``"form"`` for a problem of no
    field); it always holds at least the first problem, ``{field or "form": message}``."""

    def __init__(
        self, message: str, field: str | None = None, errors: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, field)
        self.errors: dict[str, str] = dict(errors) if errors else {field or FORM: message}

    @classmethod
    def of(cls, errors: Mapping[str, str]) -> ValidationFailed:
        """One error for several fields' problems; its message and field are the first one."""
        if not errors:
            msg = "ValidationFailed.of needs at least one problem."
            raise ValueError(msg)
        field, message = next(iter(errors.items()))
        return cls(message, None if field == FORM else field, errors)


class NotFound(ServiceError):
    """The thing does not exist, or the caller may not know it exists."""


class NotAllowed(ServiceError):
    """The caller lacks the permission for this action."""


class Conflict(ServiceError):
    """The action clashes with the current state (already set up, already accepted, ...)."""


class FieldChecks:
    """Collects the problems of a form, field by field, then raises them together.

    ::

        checks = FieldChecks()
        name = checks.value("name", "", clean_name, data.name)   # "" if the name is wrong
        with checks.check("websites"):                            # a block of checks
            ...
        checks.raise_if_failed()                                  # before writing anything

    A check fails by raising ``ValidationFailed`` or a domain error; the problem is kept under
    the field given (else the error's own field, else ``"form"``), and only the first problem
    of each field is kept. The value of a failed check is the default given, never used since
    ``raise_if_failed`` raises before anything is written."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str | None, message: str) -> None:
        """Record a problem, unless the field already has one."""
        self.errors.setdefault(field or FORM, message)

    def failed(self, *fields: str) -> bool:
        """Whether any of ``fields`` (any field at all when none is named) has a problem."""
        if not fields:
            return bool(self.errors)
        return any(name in self.errors for name in fields)

    def _keep(self, field: str | None, exc: ServiceError | DomainError) -> None:
        if field is None and isinstance(exc, ValidationFailed):
            for name, message in exc.errors.items():
                self.add(name, message)
        else:
            self.add(field or exc.field, exc.message)

    @contextmanager
    def check(self, field: str | None = None) -> Iterator[None]:
        """Run a block of checks; its first problem is kept under ``field`` (or its own)."""
        try:
            yield
        except (ValidationFailed, DomainError) as exc:
            self._keep(field, exc)

    def value(
        self,
        field: str | None,
        default: T,
        fn: Callable[P, T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``fn(*args, **kwargs)``, or ``default`` when it fails (the problem is kept)."""
        try:
            return fn(*args, **kwargs)
        except (ValidationFailed, DomainError) as exc:
            self._keep(field, exc)
            return default

    def raise_if_failed(self) -> None:
        """Raise one ValidationFailed with every problem found, if any."""
        if self.errors:
            raise ValidationFailed.of(self.errors)
