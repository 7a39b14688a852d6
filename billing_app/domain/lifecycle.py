"""Invoice and subscription states and the transitions allowed between them.

Invoices
--------
    draft ──finalize──> open
    open ──> partially_paid | paid | void | uncollectible | credited
    partially_paid ──> partially_paid (another payment) | paid | partially_refunded
                       | refunded | uncollectible | credited
    paid ──> partially_refunded | refunded | credited
    partially_refunded ──> partially_refunded (another refund) | refunded | credited
    uncollectible ──> partially_paid | paid (money arrived after all) | void | credited
    refunded ──> credited (a credit note backs the refund)
    void, credited: terminal (bill again with a new invoice)

``credited``: credit notes took the whole total off the invoice; nothing is due on it.

A draft is never voided: it has no number yet and is simply deleted (`can_delete_invoice`).
Only a draft can be edited; a finalized invoice is voided, credited or refunded instead.

Subscriptions
-------------
    trialing ──> active | past_due (first charge failed) | canceled
    active ──> past_due | paused | canceled
    past_due ──> active (paid) | paused | canceled
    paused ──> active (resumed) | canceled
    canceled ──> ended (the paid-for period is over) | active (cancellation withdrawn
                 before the period ended)
    ended: terminal

`canceled` means a person stopped it: no further renewals are billed, but service runs to
the end of the period already paid for. `ended` means service is over. Canceling "now" is
canceled -> ended in one operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final, overload

from billing_app.domain.errors import InvalidTransition

__all__ = [
    "INVOICE_TRANSITIONS",
    "REVERSAL_TRANSITIONS",
    "SUBSCRIPTION_TRANSITIONS",
    "InvoiceStatus",
    "SubscriptionStatus",
    "accepts_payment",
    "accepts_refund",
    "accepts_reversal",
    "can_delete_invoice",
    "can_edit_invoice",
    "can_transition",
    "is_collectible",
    "is_terminal",
    "renews",
    "reversal_transition",
    "settled_transition",
    "transition",
]


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    CREDITED = "credited"

    @property
    def label(self) -> str:
        """Human label: 'partially paid'."""
        return self.value.replace("_", " ")


class SubscriptionStatus(StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    PAUSED = "paused"
    CANCELED = "canceled"
    ENDED = "ended"

    @property
    def label(self) -> str:
        """Human label: 'past due'."""
        return self.value.replace("_", " ")


_I = InvoiceStatus
_S = SubscriptionStatus

INVOICE_TRANSITIONS: Final[Mapping[InvoiceStatus, frozenset[InvoiceStatus]]] = MappingProxyType(
    {
        _I.DRAFT: frozenset({_I.OPEN}),
        _I.OPEN: frozenset({_I.PARTIALLY_PAID, _I.PAID, _I.VOID, _I.UNCOLLECTIBLE, _I.CREDITED}),
        _I.PARTIALLY_PAID: frozenset(
            {
                _I.PARTIALLY_PAID,
                _I.PAID,
                _I.PARTIALLY_REFUNDED,
                _I.REFUNDED,
                _I.UNCOLLECTIBLE,
                _I.CREDITED,
            }
        ),
        _I.PAID: frozenset({_I.PARTIALLY_REFUNDED, _I.REFUNDED, _I.CREDITED}),
        _I.PARTIALLY_REFUNDED: frozenset({_I.PARTIALLY_REFUNDED, _I.REFUNDED, _I.CREDITED}),
        _I.UNCOLLECTIBLE: frozenset({_I.PARTIALLY_PAID, _I.PAID, _I.VOID, _I.CREDITED}),
        _I.VOID: frozenset(),
        _I.REFUNDED: frozenset({_I.CREDITED}),
        _I.CREDITED: frozenset(),
    }
)

# Correcting a payment recorded by mistake (a reversal: the payment stays, a reversal entry
# takes it back) moves an invoice back towards unpaid. Only here: nothing else un-pays an
# invoice. An invoice with refunds is not reversed (its money went back already).
REVERSAL_TRANSITIONS: Final[Mapping[InvoiceStatus, frozenset[InvoiceStatus]]] = MappingProxyType(
    {
        _I.PAID: frozenset({_I.PARTIALLY_PAID, _I.OPEN}),
        _I.PARTIALLY_PAID: frozenset({_I.PARTIALLY_PAID, _I.OPEN}),
    }
)

SUBSCRIPTION_TRANSITIONS: Final[Mapping[SubscriptionStatus, frozenset[SubscriptionStatus]]] = (
    MappingProxyType(
        {
            _S.TRIALING: frozenset({_S.ACTIVE, _S.PAST_DUE, _S.CANCELED}),
            _S.ACTIVE: frozenset({_S.PAST_DUE, _S.PAUSED, _S.CANCELED}),
            _S.PAST_DUE: frozenset({_S.ACTIVE, _S.PAUSED, _S.CANCELED}),
            _S.PAUSED: frozenset({_S.ACTIVE, _S.CANCELED}),
            _S.CANCELED: frozenset({_S.ENDED, _S.ACTIVE}),
            _S.ENDED: frozenset(),
        }
    )
)

# "An invoice that is <state> cannot be <verb>."
_INVOICE_STATE_TEXT: Final = {
    _I.DRAFT: "a draft",
    _I.OPEN: "open",
    _I.PARTIALLY_PAID: "partially paid",
    _I.PAID: "paid",
    _I.VOID: "void",
    _I.UNCOLLECTIBLE: "uncollectible",
    _I.REFUNDED: "refunded",
    _I.PARTIALLY_REFUNDED: "partially refunded",
    _I.CREDITED: "credited",
}
_INVOICE_VERB: Final = {
    _I.DRAFT: "turned back into a draft",
    _I.OPEN: "finalized",
    _I.PARTIALLY_PAID: "marked partially paid",
    _I.PAID: "marked paid",
    _I.VOID: "voided",
    _I.UNCOLLECTIBLE: "marked uncollectible",
    _I.REFUNDED: "refunded",
    _I.PARTIALLY_REFUNDED: "partially refunded",
    _I.CREDITED: "credited in full",
}
_SUBSCRIPTION_STATE_TEXT: Final = {
    _S.TRIALING: "on trial",
    _S.ACTIVE: "active",
    _S.PAST_DUE: "past due",
    _S.PAUSED: "paused",
    _S.CANCELED: "canceled",
    _S.ENDED: "ended",
}
_SUBSCRIPTION_VERB: Final = {
    _S.TRIALING: "put on trial",
    _S.ACTIVE: "activated",
    _S.PAST_DUE: "marked past due",
    _S.PAUSED: "paused",
    _S.CANCELED: "canceled",
    _S.ENDED: "ended",
}


@overload
def can_transition(current: InvoiceStatus, target: InvoiceStatus) -> bool: ...
@overload
def can_transition(current: SubscriptionStatus, target: SubscriptionStatus) -> bool: ...
def can_transition(
    current: InvoiceStatus | SubscriptionStatus, target: InvoiceStatus | SubscriptionStatus
) -> bool:
    """Whether the lifecycle allows going from `current` to `target`."""
    if isinstance(current, InvoiceStatus) and isinstance(target, InvoiceStatus):
        return target in INVOICE_TRANSITIONS[current]
    if isinstance(current, SubscriptionStatus) and isinstance(target, SubscriptionStatus):
        return target in SUBSCRIPTION_TRANSITIONS[current]
    raise TypeError("current and target must both be invoice or both be subscription statuses")


@overload
def transition(current: InvoiceStatus, target: InvoiceStatus) -> InvoiceStatus: ...
@overload
def transition(current: SubscriptionStatus, target: SubscriptionStatus) -> SubscriptionStatus: ...
def transition(
    current: InvoiceStatus | SubscriptionStatus, target: InvoiceStatus | SubscriptionStatus
) -> InvoiceStatus | SubscriptionStatus:
    """Return `target` when the move is allowed, else raise InvalidTransition with a message
    such as 'An invoice that is paid cannot be voided.'"""
    if isinstance(current, InvoiceStatus) and isinstance(target, InvoiceStatus):
        if target in INVOICE_TRANSITIONS[current]:
            return target
        if target is current:
            raise InvalidTransition(f"The invoice is already {_INVOICE_STATE_TEXT[current]}.")
        raise InvalidTransition(
            f"An invoice that is {_INVOICE_STATE_TEXT[current]} cannot be {_INVOICE_VERB[target]}."
        )
    if isinstance(current, SubscriptionStatus) and isinstance(target, SubscriptionStatus):
        if target in SUBSCRIPTION_TRANSITIONS[current]:
            return target
        if target is current:
            raise InvalidTransition(
                f"The subscription is already {_SUBSCRIPTION_STATE_TEXT[current]}."
            )
        raise InvalidTransition(
            f"A subscription that is {_SUBSCRIPTION_STATE_TEXT[current]} "
            f"cannot be {_SUBSCRIPTION_VERB[target]}."
        )
    raise TypeError("current and target must both be invoice or both be subscription statuses")


def settled_transition(current: InvoiceStatus, derived: InvoiceStatus) -> InvoiceStatus:
    """The status an invoice moves to once money or a credit changed its figures: the status
    its figures give (``derived``), except that an uncollectible invoice stays uncollectible
    until its figures give a status it may move to (paid, partly paid, credited)."""
    if derived is current:
        return current
    if current is InvoiceStatus.UNCOLLECTIBLE and derived not in INVOICE_TRANSITIONS[current]:
        return current
    return transition(current, derived)


def is_terminal(status: InvoiceStatus | SubscriptionStatus) -> bool:
    """No transition leaves this status (void, refunded, ended)."""
    if isinstance(status, InvoiceStatus):
        return not INVOICE_TRANSITIONS[status]
    return not SUBSCRIPTION_TRANSITIONS[status]


def can_edit_invoice(status: InvoiceStatus) -> bool:
    """Only drafts are edited; finalized invoices are frozen."""
    return status is InvoiceStatus.DRAFT


def can_delete_invoice(status: InvoiceStatus) -> bool:
    """Only drafts (which have no number yet) are deleted; others are voided."""
    return status is InvoiceStatus.DRAFT


def accepts_payment(status: InvoiceStatus) -> bool:
    """A payment may be recorded against an invoice in this status."""
    return status in {InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.UNCOLLECTIBLE}


def accepts_reversal(status: InvoiceStatus) -> bool:
    """A payment recorded on an invoice in this status may be reversed (corrected)."""
    return status in REVERSAL_TRANSITIONS


def reversal_transition(current: InvoiceStatus, target: InvoiceStatus) -> InvoiceStatus:
    """Return `target` when reversing a payment may move the invoice there, else raise
    InvalidTransition ('A payment on a refunded invoice cannot be reversed.')."""
    if target in REVERSAL_TRANSITIONS.get(current, frozenset()):
        return target
    raise InvalidTransition(
        f"A payment on an invoice that is {_INVOICE_STATE_TEXT[current]} cannot be reversed."
    )


def accepts_refund(status: InvoiceStatus) -> bool:
    """Money received on an invoice in this status may be refunded."""
    return status in {
        InvoiceStatus.PARTIALLY_PAID,
        InvoiceStatus.PAID,
        InvoiceStatus.PARTIALLY_REFUNDED,
    }


def is_collectible(status: InvoiceStatus) -> bool:
    """The client is expected to pay what is due (portal 'amount due', dunning)."""
    return status in {InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID}


def can_email_invoice(status: InvoiceStatus) -> bool:
    """The client may be sent the invoice (again): it was sent and is not void."""
    return status not in {InvoiceStatus.DRAFT, InvoiceStatus.VOID}


def can_remind(status: InvoiceStatus, amount_due_minor: int) -> bool:
    """A payment reminder makes sense: the invoice is collectible and money is still due."""
    return is_collectible(status) and amount_due_minor > 0


def is_running(status: SubscriptionStatus) -> bool:
    """The subscription has not ended or been canceled (it may be on trial or paused)."""
    return not is_terminal(status) and status is not SubscriptionStatus.CANCELED


def renews(status: SubscriptionStatus) -> bool:
    """A renewal invoice is generated at the next renewal date in this status."""
    return status in {SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}


class CancellationStatus(StrEnum):
    """A client's request to cancel a subscription: pending until the agency approves (now or
    at the end of the period) or declines it, or the client withdraws it."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class CancellationTiming(StrEnum):
    """When an approved cancellation takes effect."""

    NOW = "now"
    PERIOD_END = "period_end"
