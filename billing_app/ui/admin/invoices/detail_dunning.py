"""The invoice page's dunning summary (/invoices/[invoice_id]): the automatic charges tried, the
emails dunning sent, the changes of state and what comes next, in one card; nothing when dunning
never touched the invoice (services/billing/dunning_summary.py)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.billing import dunning_summary
from billing_app.services.common.errors import NotFound
from billing_app.services.common.transactions import run
from billing_app.ui.admin.subscriptions.past_due import OUTCOMES, STAGES, what_next
from billing_app.ui.format import day, format_timestamp, optional_int
from billing_app.ui.session.staff import SessionState, current_user, guard

EMAILS = {
    "payment_failed": "Payment failed",
    "payment_action_required": "Bank asks the client to confirm",
    "payment_reminder": "Payment reminder",
    "subscription_past_due": "Subscription past due",
    "subscription_stopped": "Subscription paused or canceled",
}
CHANGES = {
    "past_due": "Past due",
    "active": "Active again",
    "paused": "Paused",
    "canceled": "Canceled",
}


def _step(kind: str, step: str) -> str:
    """ "after-7" -> "7 days after the due date"; a failure's number for the others."""
    if kind == "payment_reminder":
        where, _, days = step.partition("-")
        return f"{days} days {'before' if where == 'before' else 'after'} the due date"
    name, _, number = step.partition("-")
    return f"after failure {number}" if number and name in ("failed", "action") else ""


class InvoiceDunningState(SessionState):
    shown: bool = False
    facts: dict[str, str] = {}
    attempts: list[dict[str, str]] = []
    emails: list[dict[str, str]] = []
    changes: list[dict[str, str]] = []

    @guard(Permission.INVOICES_READ)
    def load(self) -> Any:
        invoice_id = optional_int(self.router.page.params.get("invoice_id", ""))
        user = current_user()
        try:
            summary = run(dunning_summary.invoice_dunning, user, invoice_id or 0)
        except NotFound:
            summary = None
        self.shown = summary is not None
        if summary is None:
            self.facts, self.attempts, self.emails, self.changes = {}, [], [], []
            return
        zone = user.time_zone
        outlook = summary.outlook
        self.facts = {
            "stage": STAGES.get(outlook.stage, (outlook.stage, ""))[0],
            "next_retry": day(outlook.next_retry_on) if outlook.next_retry_on else "—",
            "next_reminder": day(outlook.next_reminder_on) if outlook.next_reminder_on else "—",
            "next": what_next(outlook, owed=summary.owed),
            "past_due_since": day(summary.past_due_since) if summary.past_due_since else "",
        }
        self.attempts = [
            {
                "at": format_timestamp(a.at, zone),
                "card": a.card or "Card",
                "outcome": OUTCOMES.get(a.outcome, a.outcome),
            }
            for a in outlook.attempts
        ]
        self.emails = [
            {
                "at": format_timestamp(e.at, zone),
                "what": EMAILS.get(e.kind, e.kind),
                "step": _step(e.kind, e.step),
            }
            for e in summary.emails
        ]
        self.changes = [
            {
                "at": format_timestamp(c.at, zone),
                "what": f"{c.subscription}: {CHANGES.get(c.action, c.action)}",
            }
            for c in summary.changes
        ]


def _fact(label: str, key: str) -> rx.Component:
    s = InvoiceDunningState
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray"),
        rx.spacer(),
        rx.text(s.facts[key], size="2", weight="medium", text_align="right"),
        width="100%",
        spacing="2",
    )


def _list(title: str, items: Any, empty: str, render: Any, id_: str) -> rx.Component:
    return rx.vstack(
        rx.text(title, size="2", weight="bold"),
        rx.cond(
            items.length() > 0,
            rx.vstack(rx.foreach(items, render), spacing="1", width="100%", id=id_),
            rx.text(empty, size="2", color_scheme="gray"),
        ),
        spacing="1",
        width="100%",
    )


def _line(main: Any, sub: Any) -> rx.Component:
    return rx.vstack(
        rx.text(main, size="2"),
        rx.text(sub, size="1", color_scheme="gray"),
        spacing="0",
        width="100%",
    )


def dunning_card() -> rx.Component:
    s = InvoiceDunningState
    return rx.cond(
        s.shown,
        rx.card(
            rx.vstack(
                rx.heading("Dunning", size="4"),
                _fact("Stage", "stage"),
                rx.cond(s.facts["past_due_since"] != "", _fact("Past due since", "past_due_since")),
                _fact("Next retry", "next_retry"),
                _fact("Next reminder", "next_reminder"),
                rx.text(s.facts["next"], size="2", weight="medium", id="dunning-next"),
                rx.divider(),
                _list(
                    "Automatic charges",
                    s.attempts,
                    "None: the client pays by hand.",
                    lambda a: _line(a["outcome"] + " · " + a["card"], a["at"]),
                    "dunning-attempts",
                ),
                _list(
                    "Emails sent",
                    s.emails,
                    "None yet.",
                    lambda e: _line(
                        rx.cond(e["step"] != "", e["what"] + " (" + e["step"] + ")", e["what"]),
                        e["at"],
                    ),
                    "dunning-emails",
                ),
                _list(
                    "State changes",
                    s.changes,
                    "None.",
                    lambda c: _line(c["what"], c["at"]),
                    "dunning-changes",
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
            id="dunning-summary",
        ),
    )
