"""The invoices list (/invoices): tabs, search, sort, totals of the filter."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.money import Money
from billing_app.domain.permissions import Permission
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.services.invoicing import queries as invoice_queries
from billing_app.services.invoicing import views as invoice_views
from billing_app.ui import routes
from billing_app.ui.admin.invoices.credit_notes_list import invoice_tabs
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import day, money
from billing_app.ui.kit.badges import status_badge
from billing_app.ui.kit.list_state import ListSpec, ListState
from billing_app.ui.kit.resource import resource_pager
from billing_app.ui.session.staff import SessionState, guard

PER_PAGE = 25
INVOICES_PANEL = "invoices-panel"  # the list the status tabs control


TABS = (
    ("all", "All"),
    ("draft", "Drafts"),
    ("open", "Open"),
    ("overdue", "Overdue"),
    ("partially_paid", "Partially paid"),
    ("paid", "Paid"),
    ("void", "Void"),
    ("refunded", "Refunded"),
    ("credited", "Credited"),
)


class InvoicesState(ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.INVOICES_READ,
        write=Permission.INVOICES_WRITE,
        sorts=tuple(invoice_queries.SORTS),
        default_sort="date",
        default_descending=True,
        starting_descending=frozenset(invoice_queries.SORTS),
        filters={"status": tuple(invoice_queries.LIST_FILTERS)},
        per_page=PER_PAGE,
    )

    totals: list[dict[str, str]] = []

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        return run(invoice_queries.list_invoices, user, request)

    def _row(self, user: Any, r: Any) -> dict[str, str]:
        return {
            "id": str(r.id),
            "number": r.number,
            "client": r.client,
            "status": r.status,
            "status_label": invoice_views.status_label(r.status),
            "issue_date": day(r.issue_date),
            "due_date": day(r.due_date),
            "total": money(r.total),
            "due": money(r.due) if r.due.amount_minor > 0 else "—",
            "href": routes.invoice_edit(r.id) if r.status == "draft" else routes.invoice(r.id),
        }

    def _shown(self, user: Any, page: Page[Any]) -> None:
        totals = getattr(page, "totals_by_currency", {})
        self.totals = [
            {
                "currency": cur,
                "total": money(Money(total, cur)),
                "due": money(Money(due, cur)),
            }
            for cur, (total, due) in sorted(totals.items())
        ]

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
                rx.cond(s.descending, rx.icon("arrow-down", size=14), rx.icon("arrow-up", size=14)),
                rx.icon("arrow-up-down", size=14, color=rx.color("gray", 8)),
            ),
            spacing="1",
            align="center",
            cursor="pointer",
            on_click=s.sort_by(key),
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
        invoice_tabs("invoices"),
        rx.hstack(
            rx.tabs.root(
                rx.tabs.list(
                    *[
                        rx.tabs.trigger(
                            label, value=value, id=f"tab-{value}", aria_controls=INVOICES_PANEL
                        )
                        for value, label in TABS
                    ]
                ),
                value=s.filters["status"],
                on_change=lambda v: s.set_filter("status", v),
            ),
            width="100%",
        ),
        rx.hstack(
            rx.debounce_input(
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    placeholder="Search by number, client or amount",
                    aria_label="Search by number, client or amount",
                    value=s.search,
                    on_change=s.set_search,
                    width="360px",
                    id="invoice-search",
                ),
                debounce_timeout=300,
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
        rx.box(
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
                                        rx.cond(
                                            s.descending,
                                            rx.icon("arrow-down", size=14),
                                            rx.icon("arrow-up", size=14),
                                        ),
                                        rx.icon(
                                            "arrow-up-down", size=14, color=rx.color("gray", 8)
                                        ),
                                    ),
                                    spacing="1",
                                    align="center",
                                    cursor="pointer",
                                    on_click=s.sort_by("amount"),
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
            id=INVOICES_PANEL,
            role="tabpanel",
            aria_labelledby="tab-" + s.filters["status"],
            width="100%",
        ),
        resource_pager(s, "invoices"),
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
