"""The invoices list (/invoices): tabs, search, sort, totals of the filter."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import Permission
from billing_app.services.common.transactions import run
from billing_app.services.invoicing import queries as invoice_queries
from billing_app.services.invoicing import views as invoice_views
from billing_app.ui import routes
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import to_int
from billing_app.ui.kit.badges import status_badge
from billing_app.ui.kit.layout import pager
from billing_app.ui.session.staff import SessionState, current_user, guard

PER_PAGE = 25


TABS = (
    ("all", "All"),
    ("draft", "Drafts"),
    ("open", "Open"),
    ("overdue", "Overdue"),
    ("partially_paid", "Partially paid"),
    ("paid", "Paid"),
    ("void", "Void"),
    ("refunded", "Refunded"),
)


class InvoicesState(SessionState):
    status: str = "loading"
    rows: list[dict[str, str]] = []
    tab: str = "all"
    search: str = ""
    sort: str = "date"
    descending: bool = True
    page: int = 1
    page_count: int = 1
    total_count: int = 0
    totals: list[dict[str, str]] = []
    can_write: bool = False

    def _refresh(self) -> None:
        user = current_user()
        self.can_write = user.can(Permission.INVOICES_WRITE)
        result = run(
            invoice_queries.list_invoices,
            user,
            status=self.tab,
            search=self.search,
            sort=self.sort,
            descending=self.descending,
            page=self.page,
            per_page=PER_PAGE,
        )
        self.total_count = result.total_count
        self.page_count = max(1, -(-result.total_count // PER_PAGE))
        self.rows = [
            {
                "id": str(r.id),
                "number": r.number,
                "client": r.client,
                "status": r.status,
                "status_label": invoice_views.status_label(r.status),
                "issue_date": r.issue_date.strftime("%d %b %Y"),
                "due_date": r.due_date.strftime("%d %b %Y"),
                "total": format_money(r.total, "en"),
                "due": format_money(r.due, "en") if r.due.amount_minor > 0 else "—",
                "href": routes.invoice_edit(r.id) if r.status == "draft" else routes.invoice(r.id),
            }
            for r in result.rows
        ]
        self.totals = [
            {
                "currency": cur,
                "total": format_money(Money(total, cur), "en"),
                "due": format_money(Money(due, cur), "en"),
            }
            for cur, (total, due) in sorted(result.totals_by_currency.items())
        ]
        self.status = "ok"

    @guard(Permission.INVOICES_READ)
    def load(self) -> None:
        self.page = 1
        self._refresh()

    @guard(Permission.INVOICES_READ)
    def set_tab(self, tab: str) -> None:
        self.tab = tab if tab in invoice_queries.LIST_FILTERS else "all"
        self.page = 1
        self._refresh()

    @guard(Permission.INVOICES_READ)
    def set_search(self, value: str) -> None:
        self.search = str(value)[:100]
        self.page = 1
        self._refresh()

    @guard(Permission.INVOICES_READ)
    def set_sort(self, value: str) -> None:
        if value in invoice_queries.SORTS:
            if self.sort == value:
                self.descending = not self.descending
            else:
                self.sort, self.descending = value, True
        self.page = 1
        self._refresh()

    @guard(Permission.INVOICES_READ)
    def go_to_page(self, page: int) -> None:
        self.page = min(to_int(page, 1), self.page_count)
        self._refresh()

    @guard(Permission.INVOICES_READ)
    def open_invoice(self, href: str) -> Any:
        if not href.startswith(routes.INVOICES + "/"):
            return None
        return rx.redirect(href)


def _sort_header(label: str, key: str) -> rx.Component:
    s = InvoicesState
    return rx.table.column_header_cell(
        rx.hstack(
            rx.text(label),
            rx.cond(
                s.sort == key,
                rx.icon(rx.cond(s.descending, "arrow-down", "arrow-up"), size=14),
                rx.icon("arrow-up-down", size=14, color=rx.color("gray", 8)),
            ),
            spacing="1",
            align="center",
            cursor="pointer",
            on_click=s.set_sort(key),
        ),
        id=f"sort-{key}",
    )


def _invoice_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(r["number"], href=r["href"], weight="medium"),
        ),
        rx.table.cell(r["client"]),
        rx.table.cell(status_badge(r["status"], r["status_label"], size="2")),
        rx.table.cell(r["issue_date"]),
        rx.table.cell(r["due_date"]),
        rx.table.cell(rx.text(r["total"], weight="medium"), text_align="right"),
        rx.table.cell(r["due"], text_align="right"),
        align="center",
        cursor="pointer",
        _hover={"background": rx.color("gray", 2)},
        on_click=InvoicesState.open_invoice(r["href"]),
    )


def _list_content() -> rx.Component:
    s = InvoicesState
    return rx.vstack(
        rx.hstack(
            rx.tabs.root(
                rx.tabs.list(
                    *[
                        rx.tabs.trigger(label, value=value, id=f"tab-{value}")
                        for value, label in TABS
                    ]
                ),
                value=s.tab,
                on_change=s.set_tab,
            ),
            width="100%",
        ),
        rx.hstack(
            rx.input(
                rx.input.slot(rx.icon("search", size=16)),
                placeholder="Search by number, client or amount",
                value=s.search,
                on_change=s.set_search.debounce(300),  # type: ignore[attr-defined]
                width="360px",
                id="invoice-search",
            ),
            rx.spacer(),
            rx.foreach(
                s.totals,
                lambda t: rx.hstack(
                    rx.text("Total ", t["total"], size="2", weight="medium"),
                    rx.text("· Due ", t["due"], size="2", color_scheme="gray"),
                    spacing="1",
                ),
            ),
            width="100%",
            align="center",
            id="invoice-totals",
        ),
        rx.cond(
            s.rows.length() > 0,  # type: ignore[operator]
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Number"),
                        rx.table.column_header_cell("Client"),
                        rx.table.column_header_cell("Status"),
                        _sort_header("Issued", "date"),
                        _sort_header("Due", "due"),
                        rx.table.column_header_cell(
                            rx.hstack(
                                rx.spacer(),
                                rx.text("Total"),
                                rx.cond(
                                    s.sort == "amount",
                                    rx.icon(
                                        rx.cond(s.descending, "arrow-down", "arrow-up"), size=14
                                    ),
                                    rx.icon("arrow-up-down", size=14, color=rx.color("gray", 8)),
                                ),
                                spacing="1",
                                align="center",
                                cursor="pointer",
                                on_click=s.set_sort("amount"),
                            ),
                            id="sort-amount",
                        ),
                        rx.table.column_header_cell("Amount due", text_align="right"),
                    )
                ),
                rx.table.body(rx.foreach(s.rows, _invoice_row)),
                width="100%",
                variant="surface",
                id="invoices",
            ),
            rx.center(
                rx.vstack(
                    rx.icon("file-text", size=36, color=rx.color("gray", 8)),
                    rx.text("No invoices here yet.", weight="medium"),
                    rx.text(
                        "Create an invoice, or change the filter or search.",
                        size="2",
                        color_scheme="gray",
                    ),
                    align="center",
                    spacing="2",
                ),
                padding="48px",
                width="100%",
                border=f"1px dashed {rx.color('gray', 6)}",
                border_radius="12px",
                id="invoices-empty",
            ),
        ),
        pager(s.page, s.page_count, s.total_count, s.go_to_page),
        width="100%",
        spacing="4",
    )


def invoices_page() -> rx.Component:
    return admin_page(
        "Invoices",
        InvoicesState.status,
        _list_content,
        actions=rx.cond(
            InvoicesState.can_write,
            rx.link(
                rx.button(rx.icon("plus", size=16), "New invoice", id="invoice-new"),
                href=routes.INVOICE_NEW,
            ),
        ),
    )
