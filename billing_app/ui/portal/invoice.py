"""One invoice in the portal (/portal/invoices/<id>): as it was sent (lines, taxes, totals), what
is paid and still due, its payments, how to pay it offline (the brand's bank details), and its
PDF. Another client's invoice is "not found", the same as an id that does not exist. The page is
composed with its pay button and panel in ui/portal/pay_invoice.py."""

from __future__ import annotations

from datetime import date
from typing import Any

import reflex as rx

from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import ClientPermission
from billing_app.services.common.errors import NotFound
from billing_app.services.common.transactions import run
from billing_app.services.invoicing import portal_invoices
from billing_app.ui import routes
from billing_app.ui.format import day, optional_int
from billing_app.ui.kit.badges import status_badge
from billing_app.ui.portal.frame import PortalPageState
from billing_app.ui.portal.invoices import STATUS_LABELS
from billing_app.ui.portal.overview import KIND_LABELS
from billing_app.ui.session.portal import current_client_user, portal_guard


class PortalInvoiceState(PortalPageState):
    found: bool = True
    invoice: dict[str, str] = {}
    lines: list[dict[str, str]] = []
    taxes: list[dict[str, str]] = []
    payments: list[dict[str, str]] = []
    bank: dict[str, str] = {}

    @portal_guard(ClientPermission.INVOICES_VIEW)
    def load(self) -> Any:
        self._frame()
        gate = self._two_factor_gate()
        if gate is not None:
            return gate
        user = current_client_user()
        self.found, self.invoice, self.lines, self.taxes, self.payments = True, {}, [], [], []
        invoice_id = optional_int(self.router.page.params.get("invoice_id", ""))
        try:
            if invoice_id is None:
                raise NotFound("Not found.")
            inv = run(portal_invoices.client_invoice, user, invoice_id)
        except NotFound:
            self.found = False
            return None
        snap, cur, loc = inv.snapshot, inv.currency, inv.locale

        def fmt(minor: Any) -> str:
            return format_money(Money(int(minor or 0), cur), loc)

        self.invoice = {
            "number": inv.number,
            "status": inv.status,
            "status_label": STATUS_LABELS.get(inv.status, inv.status),
            "issued": day(_date(snap.get("issue_date"))),
            "due_date": day(_date(snap.get("due_date"))),
            "message": snap.get("message", ""),
            "subtotal": fmt(snap.get("subtotal_minor")),
            "discount": fmt(snap.get("discount_minor")) if snap.get("discount_minor") else "",
            "tax": fmt(snap.get("tax_minor")),
            "total": format_money(inv.total, loc),
            "paid": format_money(inv.paid, loc),
            "refunded": format_money(inv.refunded, loc) if inv.refunded.amount_minor else "",
            "credited": format_money(inv.credited, loc) if inv.credited.amount_minor else "",
            "applied": format_money(inv.applied, loc) if inv.applied.amount_minor else "",
            "due": format_money(inv.due, loc),
            "has_due": "yes" if inv.due.amount_minor > 0 else "",
            "void_reason": inv.void_reason,
            "pdf": routes.backend_path(routes.portal_invoice_pdf(inv.id)),
        }
        self.lines = [
            {
                "description": line.get("description", ""),
                "quantity": str(line.get("quantity", "")),
                "unit_price": fmt(line.get("unit_price_minor")),
                "amount": fmt(line.get("amount_minor")),
            }
            for line in snap.get("lines", [])
        ]
        self.taxes = [
            {
                "name": f"{t.get('name', '')} {t.get('percent', '')}%",
                "amount": fmt(t.get("amount_minor")),
            }
            for t in snap.get("taxes", [])
        ]
        self.payments = [
            {
                "kind": KIND_LABELS.get(p.kind, p.kind),
                "method": p.method,
                "date": day(p.received_on),
                "amount": format_money(p.amount, loc),
            }
            for p in inv.payments
        ]
        self.bank = dict(self._bank)  # the look _frame() read
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


S = PortalInvoiceState


def _summary_row(label: str, value: rx.Var[str], strong: bool = False) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray"),
        rx.spacer(),
        rx.text(value, size="3" if strong else "2", weight="bold" if strong else "regular"),
        width="100%",
    )


def _lines() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Description"),
                rx.table.column_header_cell("Qty", text_align="right"),
                rx.table.column_header_cell(
                    "Unit price", text_align="right", display=["none", "table-cell"]
                ),
                rx.table.column_header_cell("Amount", text_align="right"),
            )
        ),
        rx.table.body(
            rx.foreach(
                S.lines,
                lambda line: rx.table.row(
                    rx.table.cell(line["description"]),
                    rx.table.cell(line["quantity"], text_align="right"),
                    rx.table.cell(
                        line["unit_price"], text_align="right", display=["none", "table-cell"]
                    ),
                    rx.table.cell(line["amount"], text_align="right"),
                ),
            )
        ),
        width="100%",
        variant="surface",
        id="portal-invoice-lines",
    )


def _totals() -> rx.Component:
    i: Any = S.invoice
    return rx.card(
        rx.vstack(
            _summary_row("Subtotal", i["subtotal"]),
            rx.cond(i["discount"] != "", _summary_row("Discounts", i["discount"])),
            rx.foreach(S.taxes, lambda t: _summary_row_var(t["name"], t["amount"])),
            _summary_row("Total", i["total"], strong=True),
            rx.divider(),
            _summary_row("Paid", i["paid"]),
            rx.cond(i["refunded"] != "", _summary_row("Refunded", i["refunded"])),
            rx.cond(i["credited"] != "", _summary_row("Credited", i["credited"])),
            rx.cond(i["applied"] != "", _summary_row("Paid from your credit", i["applied"])),
            rx.hstack(
                rx.text("Amount due", size="3", weight="bold"),
                rx.spacer(),
                rx.text(
                    i["due"],
                    size="4",
                    weight="bold",
                    color=rx.cond(
                        i["has_due"] == "yes", rx.color("red", 11), rx.color("green", 11)
                    ),
                    id="portal-invoice-due",
                ),
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        max_width=["100%", "360px"],
        margin_left="auto",
    )


def _summary_row_var(label: rx.Var[str], value: rx.Var[str]) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray"),
        rx.spacer(),
        rx.text(value, size="2"),
        width="100%",
    )


def _how_to_pay() -> rx.Component:
    b: Any = S.bank
    return rx.cond(
        (S.invoice["has_due"] == "yes") & (b["given"] == "yes"),
        rx.card(
            rx.vstack(
                rx.heading("How to pay", size="3", as_="h2"),
                rx.text(
                    "Transfer ",
                    S.invoice["due"],
                    " with the reference ",
                    S.invoice["number"],
                    ".",
                    size="2",
                ),
                rx.cond(b["holder"] != "", _summary_row_var("Account holder", b["holder"])),  # type: ignore[arg-type]
                rx.cond(b["iban"] != "", _summary_row_var("IBAN", b["iban"])),  # type: ignore[arg-type]
                rx.cond(b["bic"] != "", _summary_row_var("BIC", b["bic"])),  # type: ignore[arg-type]
                rx.cond(
                    b["details"] != "",
                    rx.text(b["details"], size="2", white_space="pre-line"),
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
            id="portal-bank-details",
        ),
    )


def _payments() -> rx.Component:
    return rx.cond(
        S.payments.length() > 0,  # type: ignore[attr-defined,operator]
        rx.card(
            rx.vstack(
                rx.heading("Payments", size="3", as_="h2"),
                rx.foreach(
                    S.payments,
                    lambda p: rx.hstack(
                        rx.vstack(
                            rx.text(p["kind"], " · ", p["method"], size="2", weight="medium"),
                            rx.text(p["date"], size="1", color_scheme="gray"),
                            spacing="0",
                        ),
                        rx.spacer(),
                        rx.text(p["amount"], size="2"),
                        width="100%",
                        align="center",
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
            id="portal-invoice-payments",
        ),
    )


def invoice_view(actions: rx.Component, panel: rx.Component) -> rx.Component:
    """The invoice, with ``actions`` next to its PDF button and ``panel`` above its lines (the
    pay button and panel, ui/portal/pay_invoice.py, which composes the page)."""
    i: Any = S.invoice
    return rx.cond(
        S.found,
        rx.vstack(
            rx.hstack(
                rx.heading(i["number"], size="5", as_="h2", id="portal-invoice-number"),
                status_badge(i["status"], i["status_label"]),
                rx.spacer(),
                actions,
                rx.link(
                    rx.button(rx.icon("download", size=16), "Download PDF", variant="soft"),
                    href=i["pdf"],
                    is_external=True,
                    id="portal-invoice-pdf",
                ),
                width="100%",
                align="center",
                wrap="wrap",
                spacing="3",
            ),
            rx.text(
                "Issued ", i["issued"], " · Due ", i["due_date"], size="2", color_scheme="gray"
            ),
            rx.cond(
                i["void_reason"] != "",
                rx.callout("This invoice was voided: " + i["void_reason"], icon="ban"),
            ),
            panel,
            rx.cond(i["message"] != "", rx.text(i["message"], size="2", white_space="pre-line")),
            _lines(),
            _totals(),
            _how_to_pay(),
            _payments(),
            spacing="4",
            width="100%",
        ),
        rx.callout(
            "This invoice was not found.",
            icon="file-x",
            color_scheme="gray",
            id="portal-invoice-missing",
        ),
    )
