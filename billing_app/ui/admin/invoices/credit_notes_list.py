"""The credit notes list (/invoices/credit-notes): every credit note, searched by its number,
the invoice's number or the client, sorted and paginated in SQL."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.services.credit_notes import queries as credit_queries
from billing_app.ui import routes
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import day, money
from billing_app.ui.kit.list_state import ListSpec, ListState
from billing_app.ui.kit.resource import resource_pager
from billing_app.ui.routes import backend_path
from billing_app.ui.session.staff import SessionState


class CreditNotesState(ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.INVOICES_READ,
        sorts=tuple(credit_queries.SORTS),
        default_sort="issued",
        default_descending=True,
        starting_descending=frozenset(credit_queries.SORTS),
        per_page=25,
    )

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        return run(credit_queries.list_credit_notes, user, request)

    def _row(self, user: Any, r: Any) -> dict[str, str]:
        return {
            "id": str(r.id),
            "number": r.number,
            "pdf": backend_path(routes.credit_note_pdf(r.id)),
            "invoice": r.invoice_number,
            "invoice_href": routes.invoice(r.invoice_id),
            "client": r.client,
            "client_href": routes.client(r.client_id),
            "date": day(r.issue_date),
            "total": money(r.total),
            "outcome": r.outcome,
        }


def invoice_tabs(current: str) -> rx.Component:
    """Invoices | Credit notes: the two lists of the invoices section."""

    def tab(label: str, href: str, key: str) -> rx.Component:
        return rx.link(
            label,
            href=href,
            size="2",
            weight="medium" if key == current else "regular",
            underline="none",
            color=rx.color("accent", 11) if key == current else rx.color("gray", 11),
            aria_current="page" if key == current else None,
            padding="6px 12px",
            border_bottom=f"2px solid {rx.color('accent', 9)}" if key == current else "none",
            id=f"section-{key}",
        )

    return rx.hstack(
        tab("Invoices", routes.INVOICES, "invoices"),
        tab("Credit notes", routes.CREDIT_NOTES, "credit-notes"),
        spacing="2",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        role="navigation",
        aria_label="Invoices and credit notes",
    )


def _row(r: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(r["number"], href=r["pdf"], is_external=True, weight="medium"),
        ),
        rx.table.cell(rx.link(r["invoice"], href=r["invoice_href"])),
        rx.table.cell(rx.link(r["client"], href=r["client_href"], color_scheme="gray")),
        rx.table.cell(r["date"]),
        rx.table.cell(r["outcome"]),
        rx.table.cell(rx.text(r["total"], weight="medium"), text_align="right"),
        align="center",
    )


def _sort_header(label: str, key: str, **props: Any) -> rx.Component:
    s = CreditNotesState
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
            justify="end" if props.get("text_align") == "right" else "start",
        ),
        id=f"sort-{key}",
        **props,
    )


def _content() -> rx.Component:
    s = CreditNotesState
    return rx.vstack(
        invoice_tabs("credit-notes"),
        rx.debounce_input(
            rx.input(
                rx.input.slot(rx.icon("search", size=16)),
                placeholder="Search by credit note, invoice or client",
                aria_label="Search by credit note, invoice or client",
                value=s.search,
                on_change=s.set_search,
                width="360px",
                id="credit-note-search",
            ),
            debounce_timeout=300,
        ),
        rx.cond(
            s.rows.length() > 0,  # type: ignore[operator]
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Number"),
                        rx.table.column_header_cell("Invoice"),
                        rx.table.column_header_cell("Client"),
                        _sort_header("Issued", "issued"),
                        rx.table.column_header_cell("What it did"),
                        _sort_header("Total", "total", text_align="right"),
                    )
                ),
                rx.table.body(rx.foreach(s.rows, _row)),
                width="100%",
                variant="surface",
                id="credit-notes-list",
            ),
            rx.center(
                rx.vstack(
                    rx.icon("receipt", size=36, color=rx.color("gray", 8)),
                    rx.text("No credit notes here.", weight="medium"),
                    rx.text(
                        "Issue one from a sent invoice's page to correct it.",
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
                id="credit-notes-empty",
            ),
        ),
        resource_pager(s, "credit notes"),
        width="100%",
        spacing="4",
    )


def credit_notes_page() -> rx.Component:
    return admin_page("Credit notes", CreditNotesState.status, _content)
