"""The portal's invoices (/portal/invoices): every sent invoice of the client, what is still due
(red), paid (green), overdue marked; tabs, search by number, pages."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import ClientPermission
from billing_app.services.card_payments import invoice_payments
from billing_app.services.common.listing import Key, ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.services.credit_notes import queries as credit_queries
from billing_app.services.invoicing import portal_invoices
from billing_app.ui import routes
from billing_app.ui.format import day, money
from billing_app.ui.kit.badges import status_badge
from billing_app.ui.kit.layout import visually_hidden
from billing_app.ui.portal.frame import PortalPageState, portal_page
from billing_app.ui.routes import backend_path
from billing_app.ui.session.portal import current_client_user, portal_guard

PER_PAGE = 20
INVOICES_PANEL = "portal-invoices-panel"  # the list the tabs control
TABS = (("all", "All"), ("due", "To pay"), ("paid", "Paid"))
STATUS_LABELS = {
    "open": "Due",
    "overdue": "Overdue",
    "partially_paid": "Partly paid",
    "paid": "Paid",
    "void": "Void",
    "refunded": "Refunded",
    "partially_refunded": "Partly refunded",
    "credited": "Credited",
}


class PortalInvoicesState(PortalPageState):
    rows: list[dict[str, str]] = []
    tab: str = "all"
    search: str = ""
    total: int = 0
    has_next: bool = False
    has_previous: bool = False
    pay_offered: bool = False  # a Pay button next to what is due
    credit_balances: list[str] = []  # the client's credit balance per currency ("€40.00")
    credit_notes: list[dict[str, str]] = []
    _first_key: Key | None = None
    _last_key: Key | None = None

    def _show(self, request: ListRequest) -> None:
        self._show_page(run(portal_invoices.list_client_invoices, current_client_user(), request))

    def _show_page(self, page: Page[portal_invoices.PortalInvoiceRow]) -> None:
        self.rows = [
            {
                "id": str(r.id),
                "number": r.number,
                "href": routes.portal_invoice(r.id),
                "status": r.status,
                "status_label": STATUS_LABELS.get(r.status, r.status),
                "issued": day(r.issue_date),
                "due_date": day(r.due_date),
                "total": money(r.total),
                "due": money(r.due) if r.due.amount_minor else "",
            }
            for r in page.rows
        ]
        self.total = page.total
        self.has_next, self.has_previous = page.has_next, page.has_previous
        self._first_key, self._last_key = page.first_key, page.last_key

    def _request(self, **cursor: Any) -> ListRequest:
        return ListRequest(
            search=self.search,
            filters={"status": self.tab},
            descending=True,
            per_page=PER_PAGE,
            **cursor,
        )

    @portal_guard(ClientPermission.INVOICES_VIEW)
    def load(self) -> Any:
        wanted = self.router.url.query_parameters.get("tab", "all")
        self.tab = wanted if wanted in dict(TABS) else "all"
        self.search = ""
        page, self.pay_offered, credit = self._framed(_list_and_offer, self._request())
        gate = self._two_factor_gate()
        if gate is not None:
            return gate
        self._show_page(page)
        self.credit_balances = [money(b.money) for b in credit.balances]
        self.credit_notes = [
            {
                "number": r.number,
                "pdf": backend_path(routes.portal_credit_note_pdf(r.id)),
                "invoice": r.invoice_number,
                "invoice_href": routes.portal_invoice(r.invoice_id),
                "date": day(r.issue_date),
                "total": money(r.total),
                "outcome": r.outcome,
            }
            for r in credit.notes
        ]
        return None

    @portal_guard(ClientPermission.INVOICES_VIEW)
    def set_tab(self, tab: str) -> None:
        self.tab = tab if tab in dict(TABS) else "all"
        self._show(self._request())

    @portal_guard(ClientPermission.INVOICES_VIEW)
    def set_search(self, text: str) -> None:
        self.search = str(text)[:100]
        self._show(self._request())

    @portal_guard(ClientPermission.INVOICES_VIEW)
    def next_page(self) -> None:
        if self.has_next and self._last_key is not None:
            self._show(self._request(after=self._last_key))

    @portal_guard(ClientPermission.INVOICES_VIEW)
    def previous_page(self) -> None:
        if self.has_previous and self._first_key is not None:
            self._show(self._request(before=self._first_key))


def _list_and_offer(
    session: Any, user: Any, request: ListRequest
) -> tuple[Page[portal_invoices.PortalInvoiceRow], bool, credit_queries.PortalCredit]:
    return (
        portal_invoices.list_client_invoices(session, user, request),
        invoice_payments.pay_offered(session, user),
        credit_queries.portal_credit(session, user),
    )


S = PortalInvoicesState


def pay_link(number: Any, href: Any) -> rx.Component:
    """A "Pay" button that opens the invoice with its pay panel."""
    return rx.button(
        rx.link("Pay", href=href + "?pay=1", aria_label="Pay " + number, underline="none"),
        as_child=True,
        size="1",
        class_name="portal-pay-link",
    )


def _row(r: Any) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(r["number"], href=r["href"], weight="medium"),
        ),
        rx.table.cell(status_badge(r["status"], r["status_label"])),
        rx.table.cell(r["issued"], display=["none", "table-cell"]),
        rx.table.cell(r["due_date"], display=["none", "none", "table-cell"]),
        rx.table.cell(r["total"], text_align="right"),
        rx.table.cell(
            rx.hstack(
                rx.text(r["due"], color=rx.color("red", 11), weight="medium"),
                rx.cond(S.pay_offered & (r["due"] != ""), pay_link(r["number"], r["href"])),
                justify="end",
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            text_align="right",
        ),
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.tabs.root(
                rx.tabs.list(
                    *[
                        rx.tabs.trigger(
                            label,
                            value=value,
                            id=f"portal-tab-{value}",
                            aria_controls=INVOICES_PANEL,
                        )
                        for value, label in TABS
                    ]
                ),
                value=S.tab,
                on_change=S.set_tab,
            ),
            rx.spacer(),
            rx.debounce_input(
                rx.input(
                    placeholder="Search by number",
                    aria_label="Search by invoice number",
                    value=S.search,
                    on_change=S.set_search,
                    id="portal-invoice-search",
                ),
                debounce_timeout=300,
            ),
            width="100%",
            wrap="wrap",
            spacing="3",
            align="center",
        ),
        rx.box(
            rx.cond(
                S.rows.length() > 0,  # type: ignore[attr-defined,operator]
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Invoice"),
                            rx.table.column_header_cell("Status"),
                            rx.table.column_header_cell("Issued", display=["none", "table-cell"]),
                            rx.table.column_header_cell(
                                "Due date", display=["none", "none", "table-cell"]
                            ),
                            rx.table.column_header_cell("Total", text_align="right"),
                            rx.table.column_header_cell(
                                rx.text("To pay"),
                                visually_hidden(" (amount due)"),
                                text_align="right",
                            ),
                        )
                    ),
                    rx.table.body(rx.foreach(S.rows, _row)),
                    width="100%",
                    variant="surface",
                    id="portal-invoices",
                ),
                rx.callout(
                    "No invoices here.",
                    icon="file-text",
                    color_scheme="gray",
                    id="portal-no-invoices",
                ),
            ),
            id=INVOICES_PANEL,
            role="tabpanel",
            aria_labelledby="portal-tab-" + S.tab,
            width="100%",
        ),
        rx.hstack(
            rx.text(
                rx.cond(S.total == 1, "1 invoice", S.total.to_string() + " invoices"),  # type: ignore[attr-defined]
                size="2",
                color_scheme="gray",
            ),
            rx.spacer(),
            rx.button(
                "Newer",
                variant="soft",
                disabled=~S.has_previous,
                on_click=S.previous_page,
                id="portal-invoices-prev",
            ),
            rx.button(
                "Older",
                variant="soft",
                disabled=~S.has_next,
                on_click=S.next_page,
                id="portal-invoices-next",
            ),
            width="100%",
            align="center",
        ),
        spacing="4",
        width="100%",
    )


def _credit_note(n: Any) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.link(
                n["number"],
                href=n["pdf"],
                is_external=True,
                weight="medium",
                aria_label="Credit note " + n["number"] + " (PDF)",
            ),
            rx.spacer(),
            rx.text("− ", n["total"], weight="medium", style={"white_space": "nowrap"}),
            width="100%",
            align="center",
        ),
        rx.text(
            n["date"],
            " · ",
            rx.link(n["invoice"], href=n["invoice_href"]),
            " · ",
            n["outcome"],
            size="1",
            color_scheme="gray",
        ),
        padding="10px 0",
        border_top=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def _credit() -> rx.Component:
    """The client's credit balance (what their next invoices use) and credit notes."""
    return rx.cond(
        (S.credit_balances.length() > 0) | (S.credit_notes.length() > 0),  # type: ignore[attr-defined,operator]
        rx.card(
            rx.vstack(
                rx.heading("Credit notes", size="4", as_="h2"),
                rx.foreach(
                    S.credit_balances,
                    lambda amount: rx.callout(
                        rx.text(
                            "Your credit balance: ",
                            rx.text.strong(amount),
                            ". It is used first by your next invoices.",
                        ),
                        icon="wallet",
                        color_scheme="green",
                        high_contrast=True,
                        size="1",
                        width="100%",
                        class_name="portal-credit-balance",
                    ),
                ),
                rx.vstack(rx.foreach(S.credit_notes, _credit_note), spacing="0", width="100%"),
                spacing="3",
                width="100%",
            ),
            width="100%",
            id="portal-credit",
        ),
    )


def portal_invoices_page() -> rx.Component:
    return portal_page(
        "Invoices", lambda: rx.vstack(_content(), _credit(), spacing="5", width="100%")
    )
