"""Errors raised by use cases. Each carries a message a person can read, and the form field
it concerns when there is one."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the use-case errors."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(ServiceError):
    """The input is not acceptable; nothing was written."""


class NotFound(ServiceError):
    """The thing does not exist, or the caller may not know it exists."""


class NotAllowed(ServiceError):
    """The caller lacks the permission for this action."""


class Conflict(ServiceError):
    """The action clashes with the current state (already set up, already accepted, ...)."""
