"""Past due (/subscriptions/past-due): every invoice dunning is working on - a failed automatic
charge being retried or waiting for the client, subscriptions past due - and every overdue
invoice still owed: what is due, since when, what was tried, and what happens next and when.
Read only; searched, sorted and paged on the server (services/billing/past_due_view.py)."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.billing import past_due_view
from billing_app.services.billing.dunning_outlook import Outlook
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import day, money
from billing_app.ui.kit.list_state import ListSpec, ListState
from billing_app.ui.kit.resource import Column, Filter, Resource, resource_table, resource_toolbar
from billing_app.ui.session.staff import SessionState

OUTCOMES = {
    "paid": "Paid",
    "declined": "Declined",
    "hard_decline": "Hard decline",
    "authentication": "Authentication needed",
    "pending": "In progress",
}
STAGES = {
    "retrying": ("Retrying", "amber"),
    "awaiting": ("Waiting for the client", "orange"),
    "past_due": ("Past due", "red"),
    "stopped": ("Stopped", "gray"),
    "overdue": ("Overdue", "orange"),
}


def what_next(outlook: Outlook, *, owed: bool = True) -> str:
    """What dunning does next for an invoice, and when."""
    if not owed:
        return "Nothing: the invoice is settled."
    if outlook.stage == "retrying" and outlook.next_retry_on:
        return f"Card retried on {day(outlook.next_retry_on)}"
    if outlook.stage == "past_due" and outlook.action_on:
        verb = "Paused" if outlook.action == "pause" else "Canceled"
        return f"{verb} on {day(outlook.action_on)} unless paid"
    if outlook.stage == "stopped":
        done = [name for name, status in outlook.subscriptions if status in ("paused", "ended")]
        return "Service stopped: " + ", ".join(done) if done else "Service stopped"
    if outlook.next_reminder_on:
        return f"Reminder on {day(outlook.next_reminder_on)}"
    return "No more reminders: follow up by hand"


def tried(outlook: Outlook) -> str:
    if not outlook.attempts:
        return "None (no automatic charge)"
    return f"{len(outlook.attempts)} · {OUTCOMES.get(outlook.last_outcome, outlook.last_outcome)}"


def _retry_line(outlook: Outlook) -> str:
    if not outlook.attempts:
        return ""
    return f"Next retry {day(outlook.next_retry_on)}" if outlook.next_retry_on else "No retry"


def _reminder_line(outlook: Outlook) -> str:
    """The next reminder, under what happens next (unless that is the reminder itself)."""
    if what_next(outlook).startswith("Reminder"):
        return ""
    return (
        f"Next reminder {day(outlook.next_reminder_on)}"
        if outlook.next_reminder_on
        else "No reminder to come"
    )


class PastDueState(ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.INVOICES_READ,
        sorts=past_due_view.SORTS,
        default_sort="overdue",
        starting_descending=frozenset({"amount"}),
        filters={"stage": past_due_view.STAGES},
    )

    def _fetch(self, user: CurrentUser, request: ListRequest) -> Page[Any]:
        return run(past_due_view.list_past_due, user, request)

    def _row(self, user: CurrentUser, item: past_due_view.PastDueRow) -> dict[str, str]:
        del user
        outlook = item.outlook
        label = STAGES.get(outlook.stage, (outlook.stage, ""))[0]
        past_due = [name for name, status in outlook.subscriptions if status == "past_due"]
        return {
            "id": str(item.invoice_id),
            "client": item.client,
            "client_href": routes.client(item.client_id),
            "subscriptions": ", ".join(past_due) or ", ".join(n for n, _ in outlook.subscriptions),
            "number": item.number,
            "invoice_href": routes.invoice(item.invoice_id),
            "due": money(item.due),
            "overdue": f"{item.days_overdue} d" if item.days_overdue else "Not yet due",
            "due_date": "due " + day(item.due_date),
            "stage": outlook.stage,
            "stage_label": label,
            "attempts": tried(outlook),
            "next_retry": _retry_line(outlook),
            "next_reminder": _reminder_line(outlook),
            "next": what_next(outlook),
        }


PAST_DUE = Resource(
    name="past-due",
    state=PastDueState,
    columns=(
        Column("client", "Client", sort="client", link="client_href", sub="subscriptions"),
        Column("number", "Invoice", link="invoice_href", sub="due_date"),
        Column(
            "stage",
            "Stage",
            kind="badge",
            label_key="stage_label",
            badges=tuple((stage, color) for stage, (_, color) in STAGES.items()),
        ),
        Column("due", "Amount due", sort="amount", kind="money", align="right"),
        Column("overdue", "Overdue", sort="overdue", align="right"),
        Column("attempts", "Attempts · last outcome", sub="next_retry"),
        Column("next", "What happens next", sort="next_retry", sub="next_reminder"),
    ),
    filters=(
        Filter(
            "stage",
            (
                ("all", "All"),
                ("retrying", "Retrying"),
                ("past_due", "Past due"),
                ("overdue", "Overdue"),
            ),
            label="Show",
        ),
    ),
    search_placeholder="Search client or invoice number",
    empty_icon="circle-check",
    empty_title="Nothing past due",
    empty_text="No automatic payment has failed and no invoice is overdue. Invoices show here "
    "while dunning works on them.",
)


def _content() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Invoices whose automatic payment failed, subscriptions past due, and overdue "
            "invoices. Retries, reminders and what follows are set in Settings > Dunning.",
            size="2",
            color_scheme="gray",
        ),
        resource_toolbar(PAST_DUE),
        resource_table(PAST_DUE),
        spacing="4",
        width="100%",
    )


def past_due_page() -> rx.Component:
    return admin_page(
        "Past due",
        PastDueState.status,
        _content,
        actions=rx.link(
            rx.button(rx.icon("arrow-left", size=16), "Subscriptions", variant="soft"),
            href=routes.SUBSCRIPTIONS,
        ),
    )
