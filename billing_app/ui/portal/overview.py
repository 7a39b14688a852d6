"""The portal's overview (/portal): what the client owes per currency, overdue invoices, the next
renewals and the latest payments."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import ClientPermission
from billing_app.services.access.portal_identity import ClientUser
from billing_app.services.card_payments import invoice_payments
from billing_app.services.catalog import portal_services
from billing_app.services.common.listing import ListRequest
from billing_app.services.invoicing import portal_invoices
from billing_app.ui import routes
from billing_app.ui.format import day, money
from billing_app.ui.portal.frame import PortalPageState, portal_page
from billing_app.ui.portal.invoices import pay_link
from billing_app.ui.session.portal import portal_guard

NEXT_RENEWALS = 3
TO_PAY = 5  # the unpaid invoices listed on the overview
KIND_LABELS = {"payment": "Payment", "refund": "Refund", "reversal": "Correction"}


class PortalOverviewState(PortalPageState):
    due: list[str] = []  # "€1,234.00" per currency
    overdue: int = 0
    payments: list[dict[str, str]] = []
    renewals: list[dict[str, str]] = []
    to_pay: list[dict[str, str]] = []  # the invoices due, the oldest due date first
    pay_offered: bool = False

    @portal_guard(None)
    def load(self) -> Any:
        overview, renewals, to_pay, self.pay_offered = self._framed(_reads)
        gate = self._two_factor_gate()
        if gate is not None:
            return gate
        self.due, self.overdue, self.payments, self.renewals = [], 0, [], []
        self.to_pay = [
            {
                "number": r.number,
                "href": routes.portal_invoice(r.id),
                "due_date": day(r.due_date),
                "overdue": "yes" if r.status == "overdue" else "",
                "amount": money(r.due),
            }
            for r in to_pay
        ]
        if overview is not None:
            self.due = [money(amount) for amount in overview.due_by_currency]
            self.overdue = overview.overdue
            self.payments = [
                {
                    "kind": KIND_LABELS.get(p.kind, p.kind),
                    "amount": money(p.amount),
                    "date": day(p.received_on),
                    "number": p.invoice_number,
                    "href": routes.portal_invoice(p.invoice_id),
                }
                for p in overview.recent_payments
            ]
        self.renewals = [
            {
                "name": r.name,
                "website": r.website,
                "date": day(r.on),
                "amount": money(r.amount),
            }
            for r in renewals
        ]
        return None


def _reads(session: Any, user: ClientUser) -> tuple[Any, list[Any], list[Any], bool]:
    """What the overview shows of what the user's role may see, in the frame's transaction."""
    overview, to_pay = None, []
    if user.may(ClientPermission.INVOICES_VIEW):
        overview = portal_invoices.portal_overview(session, user)
        if overview.unpaid:
            request = ListRequest(filters={"status": "due"}, sort="due", per_page=TO_PAY)
            to_pay = portal_invoices.list_client_invoices(session, user, request).rows
    renewals = (
        portal_services.next_renewals(session, user, NEXT_RENEWALS)
        if user.may(ClientPermission.SUBSCRIPTIONS_VIEW)
        else []
    )
    return overview, renewals, to_pay, invoice_payments.pay_offered(session, user)


S = PortalOverviewState


def _due_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text("Amount due", size="2", color_scheme="gray"),
            rx.cond(
                S.due.length() > 0,  # type: ignore[attr-defined,operator]
                rx.vstack(
                    rx.foreach(
                        S.due,
                        lambda amount: rx.text(amount, size="7", weight="bold"),
                    ),
                    spacing="1",
                ),
                rx.text("Nothing to pay", size="6", weight="bold"),
            ),
            rx.cond(
                S.overdue > 0,
                rx.callout(
                    rx.cond(
                        S.overdue == 1,
                        "1 invoice is overdue.",
                        S.overdue.to_string() + " invoices are overdue.",  # type: ignore[attr-defined]
                    ),
                    icon="triangle-alert",
                    color_scheme="red",
                    size="1",
                    id="portal-overdue",
                ),
            ),
            rx.cond(
                S.to_pay.length() > 0,  # type: ignore[attr-defined,operator]
                rx.vstack(
                    rx.foreach(S.to_pay, _to_pay_row), spacing="2", width="100%", id="portal-to-pay"
                ),
            ),
            rx.cond(
                S.unpaid > 0,
                rx.link("See unpaid invoices", href=routes.PORTAL_INVOICES + "?tab=due"),
            ),
            spacing="2",
        ),
        id="portal-due",
    )


def _to_pay_row(r: Any) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.link(r["number"], href=r["href"], size="2", weight="medium"),
            rx.text(
                rx.cond(r["overdue"] != "", "Overdue since ", "Due "),
                r["due_date"],
                size="1",
                color=rx.cond(r["overdue"] != "", rx.color("red", 11), rx.color("gray", 11)),
            ),
            spacing="0",
        ),
        rx.spacer(),
        rx.text(r["amount"], size="2", weight="medium"),
        rx.cond(S.pay_offered, pay_link(r["number"], r["href"])),
        width="100%",
        align="center",
        spacing="3",
        padding_top="8px",
        border_top=f"1px solid {rx.color('gray', 4)}",
    )


def _list_card(title: str, rows: Any, row: Any, empty: str, card_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="3", as_="h2"),
            rx.cond(
                rows.length() > 0,  # type: ignore[attr-defined,operator]
                rx.vstack(rx.foreach(rows, row), spacing="2", width="100%"),
                rx.text(empty, size="2", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        id=card_id,
    )


def _payment_row(p: Any) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.link(p["kind"], " · ", p["number"], href=p["href"], size="2", weight="medium"),
            rx.text(p["date"], size="1", color_scheme="gray"),
            spacing="0",
        ),
        rx.spacer(),
        rx.text(p["amount"], size="2", weight="medium"),
        width="100%",
        align="center",
    )


def _renewal_row(r: Any) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(r["name"], size="2", weight="medium"),
            rx.text(r["website"], size="1", color_scheme="gray"),
            spacing="0",
        ),
        rx.spacer(),
        rx.vstack(
            rx.text(r["amount"], size="2", weight="medium"),
            rx.text(r["date"], size="1", color_scheme="gray"),
            spacing="0",
            align="end",
        ),
        width="100%",
        align="center",
    )


def _content() -> rx.Component:
    return rx.grid(
        rx.cond(S.granted.contains(ClientPermission.INVOICES_VIEW.value), _due_card()),  # type: ignore[attr-defined]
        rx.cond(
            S.granted.contains(ClientPermission.SUBSCRIPTIONS_VIEW.value),  # type: ignore[attr-defined]
            _list_card(
                "Next renewals", S.renewals, _renewal_row, "No renewals ahead.", "portal-renewals"
            ),
        ),
        rx.cond(
            S.granted.contains(ClientPermission.INVOICES_VIEW.value),  # type: ignore[attr-defined]
            _list_card(
                "Recent payments", S.payments, _payment_row, "No payments yet.", "portal-payments"
            ),
        ),
        columns=rx.breakpoints(initial="1", md="2"),
        spacing="4",
        width="100%",
    )


def portal_overview_page() -> rx.Component:
    return portal_page("Overview", _content)
