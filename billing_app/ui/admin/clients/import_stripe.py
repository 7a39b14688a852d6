"""Import clients from Stripe (/clients/import-stripe): the Stripe account's customers a page at
a time, each with what importing it does (a new client, a link to the client with the same
email, done before, a conflict, or why it cannot be imported); "Import" acts on the page shown,
as Stripe has it then."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.card_payments import stripe_import
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.session.staff import SessionState, current_user, guard

LABELS = {
    stripe_import.NEW: ("New client", "green"),
    stripe_import.LINK: ("Link", "blue"),
    stripe_import.DONE: ("Imported", "gray"),
    stripe_import.CONFLICT: ("Conflict", "orange"),
    stripe_import.INVALID: ("Cannot import", "red"),
}


class StripeImportState(SessionState):
    status: str = "loading"
    rows: list[dict[str, str]] = []
    error: str = ""
    importable: int = 0
    has_more: bool = False
    page_number: int = 1
    can_import: bool = False  # linking Stripe customers and cards is the payments owner's
    _cursor: str = ""  # the page shown starts after this customer ("" for the first)
    _next: str = ""
    _previous: list[str] = []

    def _show(self) -> None:
        self.error = ""
        try:
            page = run(stripe_import.preview_stripe_customers, current_user(), cursor=self._cursor)
        except ServiceError as exc:
            self.rows, self.importable, self.has_more = [], 0, False
            self.error = exc.message
            return
        self.rows = [
            {
                "id": row.customer_id,
                "name": row.name or "—",
                "email": row.email or "—",
                "currency": row.currency,
                "card": "yes" if row.card_id else "",
                "outcome": row.outcome,
                "label": LABELS[row.outcome][0],
                "color": LABELS[row.outcome][1],
                "message": row.message,
                "client": routes.client(row.client_id) if row.client_id else "",
            }
            for row in page.rows
        ]
        self.importable = page.count(stripe_import.NEW) + page.count(stripe_import.LINK)
        self.has_more, self._next = page.has_more, page.next_cursor

    @guard(Permission.CLIENTS_WRITE)
    def load(self) -> None:
        self._cursor, self._next, self._previous, self.page_number = "", "", [], 1
        self.can_import = current_user().can(Permission.PAYMENTS_CONFIGURE)
        self._show()
        self.status = "ok"

    @guard(Permission.CLIENTS_WRITE)
    def next_page(self) -> None:
        if self.has_more and self._next:
            self._previous = [*self._previous, self._cursor]
            self._cursor = self._next
            self.page_number += 1
            self._show()

    @guard(Permission.CLIENTS_WRITE)
    def previous_page(self) -> None:
        if self._previous:
            self._cursor, self._previous = self._previous[-1], self._previous[:-1]
            self.page_number -= 1
            self._show()

    @guard(Permission.PAYMENTS_CONFIGURE)
    def run_import(self) -> Any:
        try:
            result = run(stripe_import.import_stripe_customers, current_user(), cursor=self._cursor)
        except ServiceError as exc:
            self.error = exc.message
            return None
        self._show()
        return rx.toast.success(
            f"{result.created} created, {result.linked} linked, {result.cards} cards kept."
        )


S = StripeImportState


def _row(r: Any) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.badge(r["label"], color_scheme=r["color"], high_contrast=True)  # type: ignore[arg-type]
        ),
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(r["name"], weight="medium"),
                rx.text(r["id"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(rx.text(r["email"], size="2")),
        rx.table.cell(rx.text(r["currency"], size="2")),
        rx.table.cell(rx.cond(r["card"] != "", rx.text("Default card", size="2"), rx.text(""))),
        rx.table.cell(
            rx.cond(
                r["client"] != "",
                rx.link(r["message"], href=r["client"], size="2"),
                rx.text(r["message"], size="2"),
            )
        ),
        custom_attrs={"data-customer": r["id"]},
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.link("← Clients", href=routes.CLIENTS, size="2", color_scheme="gray"),
        rx.text(
            "Each customer of your Stripe account, checked like a CSV row: new clients are made "
            "with their address, currency and default card; a customer whose email is one of "
            "your clients' is linked to that client. Importing again adds nothing.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            S.error != "",
            rx.callout(
                S.error, icon="triangle-alert", color_scheme="red", id="stripe-import-error"
            ),
        ),
        rx.cond(
            ~S.can_import,
            rx.callout(
                "Importing links Stripe customers and their cards to your clients: the owner "
                "(or a role with payments.configure) does it.",
                icon="lock",
                color_scheme="gray",
            ),
        ),
        rx.hstack(
            rx.text("Page ", S.page_number.to_string(), size="2"),  # type: ignore[attr-defined]
            rx.spacer(),
            rx.button(
                rx.icon("download", size=16),
                rx.cond(
                    S.importable == 1,
                    "Import 1 customer of this page",
                    "Import " + S.importable.to_string() + " customers of this page",
                ),
                on_click=S.run_import,
                disabled=(S.importable == 0) | ~S.can_import,
                id="stripe-import-run",
            ),
            width="100%",
            align="center",
        ),
        rx.cond(
            S.rows.length() > 0,  # type: ignore[attr-defined,operator]
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("What happens"),
                        rx.table.column_header_cell("Customer"),
                        rx.table.column_header_cell("Email"),
                        rx.table.column_header_cell("Currency"),
                        rx.table.column_header_cell("Card"),
                        rx.table.column_header_cell("Details"),
                    )
                ),
                rx.table.body(rx.foreach(S.rows, _row)),
                width="100%",
                variant="surface",
                id="stripe-customers",
            ),
            rx.cond(
                S.error == "",
                rx.callout(
                    "No customers in your Stripe account.", icon="inbox", color_scheme="gray"
                ),
            ),
        ),
        rx.hstack(
            rx.button(
                "Previous", variant="soft", on_click=S.previous_page, disabled=S.page_number <= 1
            ),
            rx.button("Next", variant="soft", on_click=S.next_page, disabled=~S.has_more),
            justify="end",
            width="100%",
            spacing="2",
        ),
        spacing="4",
        width="100%",
    )


def stripe_import_page() -> rx.Component:
    return admin_page("Import clients from Stripe", S.status, _content)
