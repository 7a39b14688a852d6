"""Invoice and subscription state machines."""

from __future__ import annotations

import pytest

from billing_app.domain.errors import InvalidTransition
from billing_app.domain.lifecycle import (
    INVOICE_TRANSITIONS,
    SUBSCRIPTION_TRANSITIONS,
    InvoiceStatus,
    SubscriptionStatus,
    accepts_payment,
    accepts_refund,
    can_delete_invoice,
    can_edit_invoice,
    can_transition,
    is_collectible,
    is_terminal,
    renews,
    transition,
)

I = InvoiceStatus  # noqa: E741
S = SubscriptionStatus

ALLOWED_INVOICE = {
    (I.DRAFT, I.OPEN),
    (I.OPEN, I.PARTIALLY_PAID),
    (I.OPEN, I.PAID),
    (I.OPEN, I.VOID),
    (I.OPEN, I.UNCOLLECTIBLE),
    (I.PARTIALLY_PAID, I.PARTIALLY_PAID),
    (I.PARTIALLY_PAID, I.PAID),
    (I.PARTIALLY_PAID, I.PARTIALLY_REFUNDED),
    (I.PARTIALLY_PAID, I.REFUNDED),
    (I.PARTIALLY_PAID, I.UNCOLLECTIBLE),
    (I.PAID, I.PARTIALLY_REFUNDED),
    (I.PAID, I.REFUNDED),
    (I.PARTIALLY_REFUNDED, I.PARTIALLY_REFUNDED),
    (I.PARTIALLY_REFUNDED, I.REFUNDED),
    (I.UNCOLLECTIBLE, I.PARTIALLY_PAID),
    (I.UNCOLLECTIBLE, I.PAID),
    (I.UNCOLLECTIBLE, I.VOID),
    # Credit notes that take the whole total off, whatever was paid.
    (I.OPEN, I.CREDITED),
    (I.PARTIALLY_PAID, I.CREDITED),
    (I.PAID, I.CREDITED),
    (I.PARTIALLY_REFUNDED, I.CREDITED),
    (I.UNCOLLECTIBLE, I.CREDITED),
    (I.REFUNDED, I.CREDITED),
}

ALLOWED_SUBSCRIPTION = {
    (S.TRIALING, S.ACTIVE),
    (S.TRIALING, S.PAST_DUE),
    (S.TRIALING, S.CANCELED),
    (S.ACTIVE, S.PAST_DUE),
    (S.ACTIVE, S.PAUSED),
    (S.ACTIVE, S.CANCELED),
    (S.PAST_DUE, S.ACTIVE),
    (S.PAST_DUE, S.PAUSED),
    (S.PAST_DUE, S.CANCELED),
    (S.PAUSED, S.ACTIVE),
    (S.PAUSED, S.CANCELED),
    (S.CANCELED, S.ENDED),
    (S.CANCELED, S.ACTIVE),
}


@pytest.mark.parametrize("current", list(InvoiceStatus))
@pytest.mark.parametrize("target", list(InvoiceStatus))
def test_invoice_transition_table(current: InvoiceStatus, target: InvoiceStatus) -> None:
    allowed = (current, target) in ALLOWED_INVOICE
    assert can_transition(current, target) is allowed
    if allowed:
        assert transition(current, target) is target
    else:
        with pytest.raises(InvalidTransition):
            transition(current, target)


@pytest.mark.parametrize("current", list(SubscriptionStatus))
@pytest.mark.parametrize("target", list(SubscriptionStatus))
def test_subscription_transition_table(
    current: SubscriptionStatus, target: SubscriptionStatus
) -> None:
    allowed = (current, target) in ALLOWED_SUBSCRIPTION
    assert can_transition(current, target) is allowed
    if allowed:
        assert transition(current, target) is target
    else:
        with pytest.raises(InvalidTransition):
            transition(current, target)


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        (I.PAID, I.VOID, "An invoice that is paid cannot be voided."),
        (I.DRAFT, I.VOID, "An invoice that is a draft cannot be voided."),
        (I.DRAFT, I.PAID, "An invoice that is a draft cannot be marked paid."),
        (I.VOID, I.PAID, "An invoice that is void cannot be marked paid."),
        (I.OPEN, I.DRAFT, "An invoice that is open cannot be turned back into a draft."),
        (I.OPEN, I.REFUNDED, "An invoice that is open cannot be refunded."),
        (I.REFUNDED, I.OPEN, "An invoice that is refunded cannot be finalized."),
        (
            I.PARTIALLY_REFUNDED,
            I.UNCOLLECTIBLE,
            "An invoice that is partially refunded cannot be marked uncollectible.",
        ),
        (I.VOID, I.VOID, "The invoice is already void."),
        (I.PAID, I.PAID, "The invoice is already paid."),
    ],
)
def test_invoice_transition_messages(
    current: InvoiceStatus, target: InvoiceStatus, message: str
) -> None:
    with pytest.raises(InvalidTransition) as exc:
        transition(current, target)
    assert exc.value.message == message


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        (S.CANCELED, S.PAUSED, "A subscription that is canceled cannot be paused."),
        (S.ENDED, S.ACTIVE, "A subscription that is ended cannot be activated."),
        (S.PAUSED, S.PAST_DUE, "A subscription that is paused cannot be marked past due."),
        (S.ACTIVE, S.TRIALING, "A subscription that is active cannot be put on trial."),
        (S.ACTIVE, S.ENDED, "A subscription that is active cannot be ended."),
        (S.PAUSED, S.PAUSED, "The subscription is already paused."),
    ],
)
def test_subscription_transition_messages(
    current: SubscriptionStatus, target: SubscriptionStatus, message: str
) -> None:
    with pytest.raises(InvalidTransition) as exc:
        transition(current, target)
    assert exc.value.message == message


def test_mixing_status_kinds_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        transition(I.OPEN, S.ACTIVE)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        can_transition(S.ACTIVE, I.OPEN)  # type: ignore[call-overload]


def test_tables_cover_every_status() -> None:
    assert set(INVOICE_TRANSITIONS) == set(InvoiceStatus)
    assert set(SUBSCRIPTION_TRANSITIONS) == set(SubscriptionStatus)


def test_terminal_states() -> None:
    assert {s for s in InvoiceStatus if is_terminal(s)} == {I.VOID, I.CREDITED}
    assert {s for s in SubscriptionStatus if is_terminal(s)} == {S.ENDED}


def test_every_status_is_reachable_from_the_start() -> None:
    def reachable(start: object, table: dict[object, frozenset[object]]) -> set[object]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in table[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    assert reachable(I.DRAFT, dict(INVOICE_TRANSITIONS)) == set(InvoiceStatus)  # type: ignore[arg-type]
    assert reachable(S.TRIALING, dict(SUBSCRIPTION_TRANSITIONS)) == set(SubscriptionStatus)  # type: ignore[arg-type]


def test_status_predicates() -> None:
    assert [s for s in InvoiceStatus if can_edit_invoice(s)] == [I.DRAFT]
    assert [s for s in InvoiceStatus if can_delete_invoice(s)] == [I.DRAFT]
    assert {s for s in InvoiceStatus if accepts_payment(s)} == {
        I.OPEN,
        I.PARTIALLY_PAID,
        I.UNCOLLECTIBLE,
    }
    assert {s for s in InvoiceStatus if accepts_refund(s)} == {
        I.PARTIALLY_PAID,
        I.PAID,
        I.PARTIALLY_REFUNDED,
    }
    assert {s for s in InvoiceStatus if is_collectible(s)} == {I.OPEN, I.PARTIALLY_PAID}
    assert {s for s in SubscriptionStatus if renews(s)} == {S.ACTIVE, S.PAST_DUE}
    assert I.PARTIALLY_PAID.label == "partially paid"
    assert S.PAST_DUE.label == "past due"
    assert I("partially_refunded") is I.PARTIALLY_REFUNDED


def test_a_payment_is_reversed_only_on_a_paid_or_partially_paid_invoice() -> None:
    from billing_app.domain.lifecycle import accepts_reversal, reversal_transition

    allowed = {s for s in InvoiceStatus if accepts_reversal(s)}
    assert allowed == {InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID}
    assert reversal_transition(InvoiceStatus.PAID, InvoiceStatus.OPEN) is InvoiceStatus.OPEN
    assert (
        reversal_transition(InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID)
        is InvoiceStatus.PARTIALLY_PAID
    )
    assert (
        reversal_transition(InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OPEN) is InvoiceStatus.OPEN
    )
    for current in InvoiceStatus:
        for target in InvoiceStatus:
            if current in allowed and target in {InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID}:
                continue
            with pytest.raises(InvalidTransition, match="cannot be reversed"):
                reversal_transition(current, target)
    # Reversing never goes through the ordinary lifecycle: paid does not become open there.
    assert not can_transition(InvoiceStatus.PAID, InvoiceStatus.OPEN)


def test_a_settled_status_follows_the_figures_but_uncollectible_waits_for_money() -> None:
    from billing_app.domain.lifecycle import settled_transition

    assert settled_transition(I.OPEN, I.OPEN) is I.OPEN
    assert settled_transition(I.OPEN, I.CREDITED) is I.CREDITED
    assert settled_transition(I.PAID, I.PARTIALLY_REFUNDED) is I.PARTIALLY_REFUNDED
    assert settled_transition(I.UNCOLLECTIBLE, I.OPEN) is I.UNCOLLECTIBLE  # a partial credit
    assert settled_transition(I.UNCOLLECTIBLE, I.PAID) is I.PAID
    assert settled_transition(I.UNCOLLECTIBLE, I.CREDITED) is I.CREDITED
    with pytest.raises(
        InvalidTransition, match="An invoice that is paid cannot be marked partially paid"
    ):
        settled_transition(I.PAID, I.PARTIALLY_PAID)
    with pytest.raises(InvalidTransition):
        settled_transition(I.CREDITED, I.OPEN)
    assert I.CREDITED.label == "credited"
    assert not accepts_payment(I.CREDITED) and not accepts_refund(I.CREDITED)
    assert not is_collectible(I.CREDITED)
