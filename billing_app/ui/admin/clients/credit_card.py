"""A client's credit on its overview page: the credit balance per currency (what its next
invoices will use), its credit notes, and paying a balance back to the client on request."""

from __future__ import annotations

from datetime import date
from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.billing import auto_charge
from billing_app.services.common.errors import ServiceError, ValidationFailed
from billing_app.services.common.transactions import run
from billing_app.services.credit_notes import balances
from billing_app.services.credit_notes import queries as credit_queries
from billing_app.services.invoicing.payments import METHODS
from billing_app.ui import routes
from billing_app.ui.format import day, money, to_int
from billing_app.ui.kit.forms import LABEL_STYLE
from billing_app.ui.kit.layout import NATIVE_SELECT_STYLE, form_error
from billing_app.ui.routes import backend_path
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard


class ClientCreditState(SessionState):
    cid: str = ""
    balances: list[dict[str, str]] = []
    notes: list[dict[str, str]] = []
    can_refund: bool = False
    visible: bool = False
    refund_open: bool = False
    refund_currency: str = ""
    refund_amount: str = ""
    errors: dict[str, str] = {}
    today: str = ""
    auto_charge: str = "default"  # default | on | off
    can_write: bool = False

    def _refresh(self) -> None:
        user = current_user()
        self.visible = user.can(Permission.INVOICES_READ)
        self.can_refund = user.can(Permission.REFUNDS_CREATE)
        client_id = to_int(self.cid, 0)
        if not self.visible or not client_id:
            self.balances, self.notes = [], []
            return
        credit = run(credit_queries.client_credit, user, client_id)
        self.today = credit.today.isoformat()
        self.auto_charge = {None: "default", True: "on", False: "off"}[credit.auto_charge]
        self.can_write = user.can(Permission.CLIENTS_WRITE)
        self.balances = [
            {"currency": b.currency, "amount": money(b.money), "plain": str(b.money.to_decimal())}
            for b in credit.balances
        ]
        self.notes = [
            {
                "number": r.number,
                "pdf": backend_path(routes.credit_note_pdf(r.id)),
                "invoice": r.invoice_number,
                "invoice_href": routes.invoice(r.invoice_id),
                "date": day(r.issue_date),
                "total": money(r.total),
                "outcome": r.outcome,
            }
            for r in credit.notes
        ]

    @guard(Permission.CLIENTS_READ)
    def load(self) -> None:
        self.cid = str(to_int(self.router.page.params.get("client_id", ""), 0) or "")
        self.refund_open = False
        self._refresh()

    @guard(Permission.CLIENTS_WRITE)
    def choose_auto_charge(self, value: str) -> Any:
        try:
            run(auto_charge.set_auto_charge, current_user(), to_int(self.cid, 0), str(value))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._refresh()
        return rx.toast.success("Saved. The next renewal invoices follow it.")

    @guard(Permission.REFUNDS_CREATE)
    def open_refund(self, currency: str) -> None:
        row = next((b for b in self.balances if b["currency"] == currency), None)
        if row is None:
            return
        self.refund_currency, self.refund_amount = row["currency"], row["plain"]
        self.errors = {}
        self.refund_open = True

    @guard(Permission.REFUNDS_CREATE)
    def close_refund(self, value: bool) -> None:
        if not value:
            self.refund_open = False

    @guard(Permission.REFUNDS_CREATE)
    def refund(self, form: dict[str, Any]) -> Any:
        client_id = to_int(self.cid, 0)
        try:
            try:
                refunded_on = date.fromisoformat(str(form.get("refunded_on", "")))
            except ValueError as exc:
                msg = "Enter the date the money was paid back."
                raise ValidationFailed(msg, field="refunded_on") from exc
            run(
                balances.refund_balance,
                current_user(),
                client_id,
                balances.BalanceRefundForm(
                    currency=self.refund_currency,
                    amount=str(form.get("amount", "")),
                    method=str(form.get("method", "")),
                    refunded_on=refunded_on,
                    reference=str(form.get("reference", "")),
                ),
            )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.refund_open = False
        self._refresh()
        return rx.toast.success("Credit paid back to the client.")


def _field(label: str, control: rx.Component, name: str, control_id: str) -> rx.Component:
    s = ClientCreditState
    return rx.vstack(
        rx.el.label(label, html_for=control_id, style=LABEL_STYLE),
        control,
        rx.cond(s.errors.contains(name), rx.text(s.errors[name], color_scheme="red", size="2")),
        spacing="1",
        width="100%",
    )


def _refund_dialog() -> rx.Component:
    s = ClientCreditState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Pay back the credit balance"),
            rx.dialog.description(
                "Record money paid back to the client outside the app; the balance goes down "
                "by as much.",
                size="2",
            ),
            rx.form(
                rx.vstack(
                    form_error(s.errors),
                    _field(
                        "Amount (" + s.refund_currency + ")",
                        rx.input(
                            name="amount",
                            id="credit-refund-amount",
                            default_value=s.refund_amount,
                            width="100%",
                        ),
                        "amount",
                        "credit-refund-amount",
                    ),
                    _field(
                        "Paid back on",
                        rx.input(
                            name="refunded_on",
                            type="date",
                            id="credit-refund-date",
                            default_value=s.today,
                            max=s.today,
                            width="100%",
                        ),
                        "refunded_on",
                        "credit-refund-date",
                    ),
                    _field(
                        "Method",
                        rx.el.select(
                            *[rx.el.option(label, value=key) for key, label in METHODS.items()],
                            name="method",
                            id="credit-refund-method",
                            default_value="bank_transfer",
                            style=NATIVE_SELECT_STYLE,
                        ),
                        "method",
                        "credit-refund-method",
                    ),
                    _field(
                        "Reference (optional)",
                        rx.input(name="reference", id="credit-refund-reference", width="100%"),
                        "reference",
                        "credit-refund-reference",
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", variant="soft", type="button")),
                        rx.button("Record", type="submit", id="credit-refund-submit"),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=s.refund,
                reset_on_submit=False,
            ),
            max_width="440px",
        ),
        open=s.refund_open,
        on_open_change=s.close_refund,
    )


def client_credit_card() -> rx.Component:
    s = ClientCreditState

    def balance(b: rx.Var[dict[str, str]]) -> rx.Component:
        return rx.hstack(
            rx.text("Credit balance", size="2", color_scheme="gray"),
            rx.spacer(),
            rx.text(b["amount"], weight="bold", size="3", id="client-credit-" + b["currency"]),
            rx.cond(
                s.can_refund,
                rx.button(
                    "Pay back",
                    size="1",
                    variant="soft",
                    on_click=s.open_refund(b["currency"]),
                    aria_label="Pay back the credit balance in " + b["currency"],
                ),
            ),
            width="100%",
            align="center",
        )

    def note(n: rx.Var[dict[str, str]]) -> rx.Component:
        return rx.table.row(
            rx.table.cell(rx.link(n["number"], href=n["pdf"], is_external=True, weight="medium")),
            rx.table.cell(rx.link(n["invoice"], href=n["invoice_href"])),
            rx.table.cell(rx.text(n["date"], size="2", white_space="nowrap")),
            rx.table.cell(rx.text(n["outcome"], size="2")),
            rx.table.cell(rx.text("− ", n["total"], size="2"), text_align="right"),
        )

    return rx.cond(
        s.visible,
        rx.card(
            rx.vstack(
                rx.text("Charges & credit", weight="bold", size="3"),
                rx.hstack(
                    rx.el.label(
                        "Renewal invoices", html_for="client-auto-charge", style=LABEL_STYLE
                    ),
                    rx.spacer(),
                    rx.el.select(
                        rx.el.option("As in Settings", value="default"),
                        rx.el.option("Charged at once to the default card", value="on"),
                        rx.el.option("Emailed for payment", value="off"),
                        id="client-auto-charge",
                        value=s.auto_charge,
                        on_change=s.choose_auto_charge,
                        disabled=~s.can_write,
                        style=NATIVE_SELECT_STYLE,
                    ),
                    width="100%",
                    align="center",
                ),
                rx.foreach(s.balances, balance),
                rx.cond(
                    s.notes.length() > 0,
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Credit note"),
                                rx.table.column_header_cell("Invoice"),
                                rx.table.column_header_cell("Issued"),
                                rx.table.column_header_cell("What it did"),
                                rx.table.column_header_cell("Total", text_align="right"),
                            )
                        ),
                        rx.table.body(rx.foreach(s.notes, note)),
                        size="1",
                        width="100%",
                        id="client-credit-notes",
                    ),
                ),
                _refund_dialog(),
                spacing="3",
                width="100%",
            ),
            width="100%",
            id="client-credit",
        ),
    )
