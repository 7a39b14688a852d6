"""Renewals (/subscriptions/renewals): what the engine will bill in the next 30 days per
currency, and the periods held after downtime (beyond the catch-up limit), each billed or skipped
by staff."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.money import Money
from billing_app.domain.permissions import Permission
from billing_app.services.billing import held_periods
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import day, money, optional_int
from billing_app.ui.session.staff import SessionState, current_user, guard


class RenewalsState(SessionState):
    status: str = "loading"
    until: str = ""
    upcoming: list[dict[str, str]] = []
    held: list[dict[str, str]] = []
    can_decide: bool = False

    def _refresh(self) -> None:
        user = current_user()
        overview = run(held_periods.renewals_overview, user)
        self.until = day(overview.upcoming.until)
        self.upcoming = [
            {
                "currency": currency,
                "periods": str(overview.upcoming.periods[currency]),
                "amount": money(Money(amount, currency)),
            }
            for currency, amount in sorted(overview.upcoming.amounts.items())
        ]
        self.held = [
            {
                "id": str(h.id),
                "client": h.client,
                "client_href": routes.client(h.client_id),
                "subscription": h.subscription,
                "period": f"{day(h.period.start)} – {day(h.period.last_day)}",
                "amount": money(h.amount),
            }
            for h in overview.held
        ]
        self.can_decide = user.can(Permission.SUBSCRIPTIONS_WRITE) and user.can(
            Permission.INVOICES_SEND
        )
        self.status = "ok"

    @guard(Permission.SUBSCRIPTIONS_READ)
    def load(self) -> None:
        self._refresh()

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def bill(self, hold_id: str) -> Any:
        return self._decide(held_periods.bill_held, hold_id)

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def skip(self, hold_id: str) -> Any:
        return self._decide(held_periods.skip_held, hold_id)

    def _decide(self, use_case: Any, hold_id: str) -> Any:
        wanted = optional_int(hold_id)
        if wanted is None:
            return None
        try:
            number = run(use_case, current_user(), wanted)
        except ServiceError as exc:
            self._refresh()
            return rx.toast.error(exc.message)
        self._refresh()
        return rx.toast.success(f"Invoice {number} sent." if number else "Period skipped.")


def _held_row(h: rx.Var[dict[str, str]]) -> rx.Component:
    s = RenewalsState
    return rx.table.row(
        rx.table.cell(rx.link(h["client"], href=h["client_href"])),
        rx.table.cell(h["subscription"]),
        rx.table.cell(h["period"]),
        rx.table.cell(h["amount"], text_align="right"),
        rx.table.cell(
            rx.cond(
                s.can_decide,
                rx.hstack(
                    rx.button(
                        "Bill now",
                        size="1",
                        on_click=s.bill(h["id"]),
                        aria_label="Bill now " + h["subscription"] + " for " + h["period"],
                    ),
                    rx.button(
                        "Skip",
                        size="1",
                        variant="soft",
                        color_scheme="gray",
                        on_click=s.skip(h["id"]),
                        aria_label="Skip " + h["subscription"] + " for " + h["period"],
                    ),
                    spacing="2",
                    justify="end",
                ),
            ),
            text_align="right",
        ),
    )


def _content() -> rx.Component:
    s = RenewalsState
    return rx.vstack(
        rx.card(
            rx.vstack(
                rx.heading("Next 30 days", size="4"),
                rx.text(
                    "What renewals will invoice until ",
                    s.until,
                    " (before taxes; charged or emailed on their day).",
                    size="2",
                    color_scheme="gray",
                ),
                rx.cond(
                    s.upcoming.length() > 0,
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Currency"),
                                rx.table.column_header_cell("Renewals", text_align="right"),
                                rx.table.column_header_cell("Amount", text_align="right"),
                            )
                        ),
                        rx.table.body(
                            rx.foreach(
                                s.upcoming,
                                lambda u: rx.table.row(
                                    rx.table.cell(rx.badge(u["currency"], variant="soft")),
                                    rx.table.cell(u["periods"], text_align="right"),
                                    rx.table.cell(
                                        rx.text(u["amount"], weight="bold"), text_align="right"
                                    ),
                                ),
                            )
                        ),
                        variant="surface",
                        width="100%",
                        id="renewals-upcoming",
                    ),
                    rx.text("No renewals in the next 30 days.", size="2"),
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        rx.card(
            rx.vstack(
                rx.heading("Held after downtime", size="4"),
                rx.text(
                    "Periods that fell due while billing was not running, beyond the catch-up "
                    "limit (Settings). Bill each now, or skip it.",
                    size="2",
                    color_scheme="gray",
                ),
                rx.cond(
                    s.held.length() > 0,
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Client"),
                                rx.table.column_header_cell("Subscription"),
                                rx.table.column_header_cell("Period"),
                                rx.table.column_header_cell("Amount", text_align="right"),
                                rx.table.column_header_cell(
                                    rx.el.span("Actions", class_name="rt-sr-only"),
                                    text_align="right",
                                ),
                            )
                        ),
                        rx.table.body(rx.foreach(s.held, _held_row)),
                        variant="surface",
                        width="100%",
                        id="renewals-held",
                    ),
                    rx.text("Nothing is held.", size="2", id="renewals-none-held"),
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def renewals_page() -> rx.Component:
    return admin_page(
        "Renewals",
        RenewalsState.status,
        _content,
        actions=rx.link(
            rx.button(rx.icon("arrow-left", size=16), "Subscriptions", variant="soft"),
            href=routes.SUBSCRIPTIONS,
        ),
    )
