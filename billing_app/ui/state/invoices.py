"""The invoices list: status tabs, search, sort, totals of the filter, server-side pages."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.db.engine import session_scope
from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import Permission
from billing_app.services.invoicing import invoices as invoicing
from billing_app.services.invoicing import views as invoice_views
from billing_app.ui.format import to_int
from billing_app.ui.state.base import SessionState, current_user, guard

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
        with session_scope() as session:
            result = invoicing.list_invoices(
                session,
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
                "color": invoice_views.status_color(r.status),
                "issue_date": r.issue_date.strftime("%d %b %Y"),
                "due_date": r.due_date.strftime("%d %b %Y"),
                "total": format_money(r.total, "en"),
                "due": format_money(r.due, "en")
                if r.due.amount_minor > 0 and r.status != "void"
                else "—",
                "href": f"/invoices/{r.id}/edit" if r.status == "draft" else f"/invoices/{r.id}",
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
        self.tab = tab if tab in invoicing.LIST_FILTERS else "all"
        self.page = 1
        self._refresh()

    @guard(Permission.INVOICES_READ)
    def set_search(self, value: str) -> None:
        self.search = str(value)[:100]
        self.page = 1
        self._refresh()

    @guard(Permission.INVOICES_READ)
    def set_sort(self, value: str) -> None:
        if value in invoicing.SORTS:
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
        if not href.startswith("/invoices/"):
            return None
        return rx.redirect(href)
