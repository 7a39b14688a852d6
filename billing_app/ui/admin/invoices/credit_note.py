"""Credit notes on an invoice's detail page: the "Issue a credit note" dialog (every line, some
lines by quantity, or an amount; a reason; where money the client paid goes) with a live preview
of what it comes to, and the invoice's credit notes with their PDFs."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.services.credit_notes import issuing, planning
from billing_app.services.credit_notes import queries as credit_queries
from billing_app.services.credit_notes.planning import CreditNoteForm
from billing_app.ui import routes
from billing_app.ui.admin.invoices.detail_state import InvoiceDetailState
from billing_app.ui.format import money, optional_int
from billing_app.ui.kit.forms import LABEL_STYLE
from billing_app.ui.kit.layout import NATIVE_SELECT_STYLE, form_error
from billing_app.ui.routes import backend_path
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

OFFLINE_WAYS = (
    ("bank_transfer", "Refund by bank transfer"),
    ("cheque", "Refund by cheque"),
    ("cash", "Refund in cash"),
    ("other", "Refund another way"),
)


class CreditNoteState(SessionState):
    invoice_id: str = ""
    open: bool = False
    refusal: str = ""
    mode: str = "all"
    lines: list[dict[str, str]] = []
    quantities: dict[str, str] = {}
    amount: str = ""
    reason: str = ""
    give_back: str = "balance"
    reference: str = ""
    ways: list[list[str]] = []  # [value, label] of where paid money may go
    left: str = ""
    preview: dict[str, str] = {}
    errors: dict[str, str] = {}
    notes: list[dict[str, str]] = []
    can_issue: bool = False

    def _invoice(self) -> int | None:
        return optional_int(self.invoice_id)

    def _form(self) -> CreditNoteForm:
        give_back = self.give_back
        card_payment = 0
        if give_back.startswith("card:"):
            card_payment = optional_int(give_back.removeprefix("card:")) or 0
            give_back = "card"
        return CreditNoteForm(
            mode=self.mode,
            reason=self.reason,
            quantities={int(k): v for k, v in self.quantities.items() if k.isdigit() and v.strip()},
            amount=self.amount,
            give_back=give_back,
            card_payment_id=card_payment,
            reference=self.reference,
        )

    def _load_notes(self) -> None:
        invoice_id = self._invoice()
        if invoice_id is None:
            self.notes = []
            return
        rows = run(credit_queries.invoice_credit_notes, current_user(), invoice_id)
        self.notes = [
            {
                "id": str(r.id),
                "number": r.number,
                "date": r.issue_date.isoformat(),
                "total": money(r.total),
                "outcome": r.outcome,
                "reason": r.reason,
                "pdf": backend_path(routes.credit_note_pdf(r.id)),
            }
            for r in rows
        ]

    @guard(Permission.INVOICES_READ)
    def load(self) -> None:
        raw = self.router.page.params.get("invoice_id", "")
        self.invoice_id = str(optional_int(raw) or "")
        self.open = False
        self.can_issue = current_user().can(Permission.INVOICES_SEND)
        self._load_notes()

    def _preview(self) -> None:
        invoice_id = self._invoice()
        if invoice_id is None:
            return
        try:
            seen = run(planning.preview_credit, current_user(), invoice_id, self._form())
        except ServiceError as exc:
            self.preview = {}
            self.errors = {k: v for k, v in field_errors(exc).items() if k != "reason"}
            return
        self.errors = {}
        self.preview = {
            "total": seen.total,
            "net": seen.net,
            "tax": seen.tax,
            "reduces_due": seen.reduces_due if seen.reduces_due_minor else "",
            "given_back": seen.given_back,
            "gives_back": "yes" if seen.gives_back else "",
        }

    @guard(Permission.INVOICES_SEND)
    def open_dialog(self) -> None:
        invoice_id = self._invoice()
        if invoice_id is None:
            return
        options = run(planning.credit_options, current_user(), invoice_id)
        self.refusal = options.refusal
        self.lines = [
            {
                "index": str(line.index),
                "description": line.description,
                "invoiced": line.invoiced_quantity,
                "left": line.quantity_left,
                "amount_left": line.amount_left,
            }
            for line in options.lines
        ]
        self.left = options.left
        ways = [
            [f"card:{c.payment_id}", f"Refund to {c.label} (up to {c.refundable})"]
            for c in options.cards
        ]
        ways.append(["balance", "Keep as credit for the client's next invoices"])
        ways += [[value, label] for value, label in OFFLINE_WAYS]
        self.ways = ways
        self.give_back = ways[0][0]
        self.mode, self.quantities, self.amount = "all", {}, ""
        self.reason = self.reference = ""
        self.errors, self.preview = {}, {}
        self.open = True
        if not self.refusal:
            self._preview()

    @guard(Permission.INVOICES_SEND)
    def close_dialog(self, value: bool) -> None:
        if not value:
            self.open = False

    @guard(Permission.INVOICES_SEND)
    def choose_mode(self, value: str) -> None:
        self.mode = value if value in ("all", "lines", "amount") else "all"
        self._preview()

    @guard(Permission.INVOICES_SEND)
    def choose_quantity(self, index: str, value: str) -> None:
        if str(index).isdigit() and int(str(index)) < len(self.lines):
            self.quantities = {**self.quantities, str(index): str(value)[:24]}
            self._preview()

    @guard(Permission.INVOICES_SEND)
    def choose_amount(self, value: str) -> None:
        self.amount = str(value)[:40]
        self._preview()

    @guard(Permission.INVOICES_SEND)
    def choose_give_back(self, value: str) -> None:
        if any(way[0] == value for way in self.ways):
            self.give_back = value

    @guard(Permission.INVOICES_SEND)
    def choose_reason(self, value: str) -> None:
        self.reason = str(value)[:600]

    @guard(Permission.INVOICES_SEND)
    def choose_reference(self, value: str) -> None:
        self.reference = str(value)[:200]

    @guard(Permission.INVOICES_SEND)
    def issue(self, form: dict[str, Any]) -> Any:
        invoice_id = self._invoice()
        if invoice_id is None:
            return None
        self.reason = str(form.get("reason", self.reason))[:600]
        self.reference = str(form.get("reference", self.reference))[:200]
        try:
            issued = run(issuing.issue_credit_note, current_user(), invoice_id, self._form())
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.open = False
        self._load_notes()
        if issued.outcome == "card_pending":
            message = f"Credit note {issued.number} issued. {issued.message}"
            toast = rx.toast.warning(message)
        elif issued.message:
            toast = rx.toast.warning(f"Credit note {issued.number} issued. {issued.message}")
        else:
            toast = rx.toast.success(f"Credit note {issued.number} issued. The client was emailed.")
        return [toast, InvoiceDetailState.load]


def _label(text: str, html_for: str) -> rx.Component:
    return rx.el.label(text, html_for=html_for, style=LABEL_STYLE)


def _error(name: str) -> rx.Component:
    c = CreditNoteState
    return rx.cond(
        c.errors.contains(name),
        rx.text(c.errors[name], color_scheme="red", size="2", id=f"credit-{name}-error"),
    )


def _line_row(line: rx.Var[dict[str, str]]) -> rx.Component:
    c = CreditNoteState
    field_id = "credit-qty-" + line["index"]
    return rx.table.row(
        rx.table.cell(rx.el.label(line["description"], html_for=field_id)),
        rx.table.cell(line["invoiced"], text_align="right"),
        rx.table.cell(line["amount_left"], text_align="right"),
        rx.table.cell(
            rx.input(
                id=field_id,
                placeholder="0",
                on_blur=lambda value: c.choose_quantity(line["index"], value),
                disabled=line["left"] == "0",
                width="80px",
                aria_label="Quantity to credit of " + line["description"],
            ),
            text_align="right",
        ),
    )


def _what_to_credit() -> rx.Component:
    c = CreditNoteState
    return rx.vstack(
        rx.text("What to credit", style=LABEL_STYLE, id="credit-mode-label"),
        rx.radio_group.root(
            rx.hstack(
                rx.radio_group.item(value="all", id="credit-mode-all"),
                rx.el.label("Everything left (", c.left, ")", html_for="credit-mode-all"),
                align="center",
                spacing="2",
            ),
            rx.hstack(
                rx.radio_group.item(value="lines", id="credit-mode-lines"),
                rx.el.label("Some lines, by quantity", html_for="credit-mode-lines"),
                align="center",
                spacing="2",
            ),
            rx.hstack(
                rx.radio_group.item(value="amount", id="credit-mode-amount"),
                rx.el.label("An amount, taxes included", html_for="credit-mode-amount"),
                align="center",
                spacing="2",
            ),
            value=c.mode,
            on_change=c.choose_mode,
            aria_labelledby="credit-mode-label",
            direction="column",
            spacing="1",
        ),
        rx.cond(
            c.mode == "lines",
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Line"),
                        rx.table.column_header_cell("Invoiced", text_align="right"),
                        rx.table.column_header_cell("Left", text_align="right"),
                        rx.table.column_header_cell("Credit qty", text_align="right"),
                    )
                ),
                rx.table.body(rx.foreach(c.lines, _line_row)),
                size="1",
                width="100%",
            ),
        ),
        rx.cond(
            c.mode == "amount",
            rx.vstack(
                _label("Amount to credit", "credit-amount"),
                rx.input(
                    id="credit-amount",
                    on_blur=c.choose_amount,
                    placeholder="0.00",
                    width="160px",
                ),
                spacing="1",
            ),
        ),
        _error("lines"),
        _error("amount"),
        _error("mode"),
        spacing="2",
        width="100%",
    )


def _preview() -> rx.Component:
    c = CreditNoteState
    return rx.cond(
        c.preview.contains("total"),
        rx.callout(
            rx.vstack(
                rx.text(
                    "This credit note: ",
                    rx.text.strong(c.preview["total"], id="credit-preview-total"),
                    " (",
                    c.preview["net"],
                    " + tax ",
                    c.preview["tax"],
                    ").",
                ),
                rx.cond(
                    c.preview["reduces_due"] != "",
                    rx.text(c.preview["reduces_due"], " comes off what is still due."),
                ),
                rx.cond(
                    c.preview["gives_back"] != "",
                    rx.text(
                        rx.text.strong(c.preview["given_back"], id="credit-preview-back"),
                        " was paid: choose where it goes back to the client.",
                    ),
                ),
                spacing="1",
            ),
            icon="receipt",
            color_scheme="blue",
            high_contrast=True,
            size="1",
            width="100%",
            id="credit-preview",
        ),
    )


def _give_back() -> rx.Component:
    c = CreditNoteState
    return rx.cond(
        c.preview["gives_back"] != "",
        rx.vstack(
            _label("Where the money goes", "credit-give-back"),
            rx.el.select(
                rx.foreach(c.ways, lambda way: rx.el.option(way[1], value=way[0])),
                id="credit-give-back",
                value=c.give_back,
                on_change=c.choose_give_back,
                style=NATIVE_SELECT_STYLE,
            ),
            rx.cond(
                ~c.give_back.startswith("card") & (c.give_back != "balance"),
                rx.vstack(
                    _label("Reference (optional)", "credit-reference"),
                    rx.input(id="credit-reference", name="reference", width="100%"),
                    spacing="1",
                    width="100%",
                ),
            ),
            _error("give_back"),
            spacing="1",
            width="100%",
        ),
    )


def credit_note_dialog() -> rx.Component:
    c = CreditNoteState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Issue a credit note"),
            rx.dialog.description(
                "A credit note corrects the sent invoice; it has its own number and is emailed "
                "to the client with its PDF. It cannot be edited or deleted afterwards.",
                size="2",
            ),
            rx.cond(
                c.refusal != "",
                rx.callout(c.refusal, icon="circle-alert", color_scheme="red", id="credit-refusal"),
                rx.form(
                    rx.vstack(
                        form_error(c.errors),
                        _what_to_credit(),
                        _preview(),
                        _give_back(),
                        rx.vstack(
                            _label("Reason (the client reads it)", "credit-reason"),
                            rx.text_area(id="credit-reason", name="reason", width="100%", rows="2"),
                            _error("reason"),
                            spacing="1",
                            width="100%",
                        ),
                        rx.hstack(
                            rx.dialog.close(rx.button("Cancel", variant="soft", type="button")),
                            rx.button("Issue credit note", type="submit", id="credit-submit"),
                            justify="end",
                            spacing="3",
                            width="100%",
                        ),
                        spacing="3",
                        width="100%",
                        padding_top="8px",
                    ),
                    on_submit=c.issue,
                    reset_on_submit=False,
                ),
            ),
            max_width="620px",
        ),
        open=c.open,
        on_open_change=c.close_dialog,
    )


def credit_notes_card() -> rx.Component:
    """The invoice's credit notes (number, date, total, what it did, PDF)."""
    c = CreditNoteState

    def row(note: rx.Var[dict[str, str]]) -> rx.Component:
        return rx.vstack(
            rx.hstack(
                rx.link(
                    note["number"],
                    href=note["pdf"],
                    is_external=True,
                    size="2",
                    weight="medium",
                    aria_label="Credit note " + note["number"] + " (PDF)",
                ),
                rx.spacer(),
                rx.text(
                    "− ",
                    note["total"],
                    size="2",
                    style={"font_variant_numeric": "tabular-nums", "white_space": "nowrap"},
                ),
                width="100%",
            ),
            rx.text(note["date"], " · ", note["outcome"], size="1", color_scheme="gray"),
            rx.text(note["reason"], size="1", color_scheme="gray"),
            spacing="0",
            width="100%",
        )

    return rx.cond(
        c.notes.length() > 0,
        rx.card(
            rx.vstack(
                rx.heading("Credit notes", size="4"),
                rx.vstack(rx.foreach(c.notes, row), spacing="3", width="100%", id="credit-notes"),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
    )


def credit_button() -> rx.Component:
    c = CreditNoteState
    return rx.cond(
        c.can_issue,
        rx.button(
            rx.icon("receipt", size=16),
            "Issue a credit note",
            variant="soft",
            color_scheme="gray",
            high_contrast=True,
            width="100%",
            on_click=c.open_dialog,
            id="credit-open",
        ),
    )
