"""The state of the invoice editor."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import reflex as rx

from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import Permission
from billing_app.services.common.errors import NotFound, ServiceError, ValidationFailed
from billing_app.services.common.transactions import run
from billing_app.services.invoicing import drafts, sending
from billing_app.services.invoicing import views as invoice_views
from billing_app.services.invoicing.drafts import DraftForm, LineForm
from billing_app.ui import routes
from billing_app.ui.format import optional_index, optional_int
from billing_app.ui.routes import backend_path
from billing_app.ui.session.staff import SessionState, current_user, guard

# A line has up to two tax rates (e.g. GST + PST); the services accept any number.
LINE_KEYS = ("description", "quantity", "unit_price", "discount", "tax_id", "tax2_id")


MAX_EDITOR_LINES = 200


def _tax_fields(tax_rate_ids: tuple[int, ...]) -> dict[str, str]:
    ids = [str(t) for t in tax_rate_ids[:2]]
    return {"tax_id": ids[0] if ids else "none", "tax2_id": ids[1] if len(ids) > 1 else "none"}


def _blank_line(key: int, tax_id: str = "") -> dict[str, str]:
    return {
        "key": str(key),
        "description": "",
        "quantity": "1",
        "unit_price": "",
        "discount": "",
        "tax_id": tax_id,
        "tax2_id": "none",
        "product_id": "",
        "amount": "",
        "error": "",
        "error_fields": "",
    }


_LINE_LABELS = {
    "quantity": "Quantity: ",
    "unit_price": "Unit price: ",
    "discount": "Discount: ",
    "taxes": "Tax: ",
}
"""Names a line's problem when the message alone may not say which field it is about."""


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


class InvoiceEditorState(SessionState):
    status: str = "loading"
    invoice_id: str = ""
    found: bool = True
    client_id: str = ""
    client_options: list[dict[str, str]] = []
    website_id: str = ""
    website_options: list[dict[str, str]] = []
    product_options: list[dict[str, str]] = []
    tax_options: list[dict[str, str]] = []
    currency: str = ""
    issue_date: str = ""
    due_date: str = ""
    terms_days: int = 14
    due_touched: bool = False
    message: str = ""
    lines: list[dict[str, str]] = []
    next_key: int = 1
    totals: dict[str, str] = {}
    tax_rows: list[dict[str, str]] = []
    errors: dict[str, str] = {}
    can_send: bool = False
    busy: bool = False

    # ------------------------------------------------------------------ loading

    def _options(self) -> None:
        choices = run(invoice_views.editor_choices, current_user())
        self.client_options = [
            {"value": str(cid), "label": label} for cid, label in choices.clients
        ]
        self.product_options = [
            {"value": str(pid), "label": label} for pid, label in choices.products
        ]
        self.tax_options = [{"value": "none", "label": "No tax"}] + [
            {"value": str(tid), "label": label} for tid, label in choices.tax_rates
        ]
        self.terms_days = choices.payment_terms_days
        today = choices.today
        if not self.issue_date:
            self.issue_date = today.isoformat()
            self.due_date = (today + timedelta(days=self.terms_days)).isoformat()

    def _websites(self) -> None:
        cid = optional_int(self.client_id)
        if cid is None:
            self.website_options, self.currency = [], ""
            return
        client = run(invoice_views.editor_client, current_user(), cid)
        self.currency = client.currency
        self.website_options = [{"value": "none", "label": "No specific website"}] + [
            {"value": str(wid), "label": label} for wid, label in client.websites
        ]

    @guard(Permission.INVOICES_WRITE)
    def load(self) -> Any:
        user = current_user()
        self.can_send = user.can(Permission.INVOICES_SEND)
        self.errors, self.totals, self.tax_rows = {}, {}, []
        self.busy = False
        self.found = True
        self.issue_date = self.due_date = ""
        self.due_touched = False
        raw_id = self.router.page.params.get("invoice_id", "")
        invoice_id = optional_int(raw_id)
        self.invoice_id = str(invoice_id) if invoice_id else ""
        if raw_id and invoice_id is None:
            self.found = False
            self.status = "ok"
            return None
        self._options()
        if invoice_id is None:
            self.client_id, self.website_id, self.message = "", "", ""
            self.lines = [_blank_line(1)]
            self.next_key = 2
            self.currency, self.website_options = "", []
            self.status = "ok"
            return None
        try:
            draft = run(invoice_views.draft_view, current_user(), invoice_id)
        except NotFound:
            self.found = False
            self.status = "ok"
            return None
        if draft.status != "draft":
            return rx.redirect(routes.invoice(invoice_id))
        self.client_id = str(draft.client_id)
        self.website_id = str(draft.website_id) if draft.website_id else "none"
        self.issue_date, self.due_date = draft.issue_date.isoformat(), draft.due_date.isoformat()
        self.due_touched = True
        self.message = draft.message
        self.lines = [
            {
                **_blank_line(i + 1),
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": line.discount,
                **_tax_fields(line.tax_rate_ids),
                "product_id": str(line.product_id or ""),
            }
            for i, line in enumerate(draft.lines)
        ] or [_blank_line(1)]
        self.next_key = len(self.lines) + 1
        self._websites()
        self._recompute()
        self.status = "ok"
        return None

    # ------------------------------------------------------------------ totals

    def _line_forms(self) -> tuple[LineForm, ...]:
        forms = []
        for line in self.lines:
            taxes = [optional_int(line.get(k, "")) for k in ("tax_id", "tax2_id")]
            tax_ids = tuple(dict.fromkeys(t for t in taxes if t))
            forms.append(
                LineForm(
                    description=line.get("description", ""),
                    quantity=line.get("quantity", "") or "0",
                    unit_price=line.get("unit_price", "") or "0",
                    discount=line.get("discount", ""),
                    tax_rate_ids=tax_ids,
                    product_id=optional_int(line.get("product_id", "")),
                )
            )
        return tuple(forms)

    def _clear_line_errors(self) -> None:
        self.lines = [{**line, "error": "", "error_fields": ""} for line in self.lines]

    def _show_error(self, exc: ServiceError, positions: Sequence[int] | None = None) -> None:
        """Every problem beside its field: a line's under the line (its fields outlined), the
        others under their header field. ``positions`` maps the lines sent to the editor's
        lines when only some were sent."""
        errors = (
            exc.errors if isinstance(exc, ValidationFailed) else {exc.field or "form": exc.message}
        )
        lines = list(self.lines)
        others = dict(self.errors)
        for field, message in errors.items():
            parts = field.split(".")
            index = optional_index(parts[1]) if parts[0] == "lines" and len(parts) > 1 else None
            if index is not None and positions is not None:
                index = positions[index] if index < len(positions) else None
            if index is None or not 0 <= index < len(lines):
                others[field] = message
                continue
            line = lines[index]
            name = parts[2] if len(parts) > 2 else ""
            lines[index] = {
                **line,
                "error": f"{line['error']} {_LINE_LABELS.get(name, '')}{message}".strip(),
                "error_fields": f"{line['error_fields'] or ' '}{name} "
                if name
                else line["error_fields"],
            }
        self.lines, self.errors = lines, others

    def _recompute(self) -> None:
        """Totals as they will be saved; per-line errors beside the line. Writes nothing."""
        self.errors = {k: v for k, v in self.errors.items() if not k.startswith("lines")}
        self._clear_line_errors()
        cid = optional_int(self.client_id)
        if cid is None:
            self.totals, self.tax_rows = {}, []
            return
        # Lines still blank do not count (and do not complain) until saved.
        filled = [
            (i, f)
            for i, f in enumerate(self._line_forms())
            if f.description.strip() or f.unit_price != "0"
        ]
        if not filled:
            self.totals, self.tax_rows = {}, []
            return
        forms = [
            f if f.description.strip() else LineForm(**{**f.__dict__, "description": "—"})
            for _, f in filled
        ]
        try:
            totals = run(drafts.preview_totals, current_user(), cid, forms)
        except ServiceError as exc:
            self._show_error(exc, [index for index, _ in filled])
            return
        lines = list(self.lines)
        for (index, _), result in zip(filled, totals.lines, strict=True):
            amount = Money(result.amount_minor - result.discount_minor, self.currency or "EUR")
            lines[index] = {**lines[index], "amount": format_money(amount, "en")}
        self.lines = lines
        self.totals = {
            "subtotal": format_money(totals.subtotal, "en"),
            "discount": format_money(totals.discount_total, "en")
            if totals.discount_total.amount_minor
            else "",
            "tax": format_money(totals.tax_total, "en"),
            "total": format_money(totals.total, "en"),
        }
        self.tax_rows = [
            {
                "label": f"{t.name} {format(t.percent.normalize(), 'f')}%",
                "amount": format_money(t.amount, "en"),
            }
            for t in totals.taxes
        ]

    # ------------------------------------------------------------------ editing

    @guard(Permission.INVOICES_WRITE)
    def set_client(self, value: str) -> None:
        self.client_id = str(value)
        self.website_id = "none"
        self.errors = {k: v for k, v in self.errors.items() if k != "client_id"}
        self._websites()
        self._recompute()

    @guard(Permission.INVOICES_WRITE)
    def set_website(self, value: str) -> None:
        self.website_id = str(value)

    @guard(Permission.INVOICES_WRITE)
    def set_issue_date(self, value: str) -> None:
        self.issue_date = str(value)
        issued = _date(self.issue_date)
        if issued and not self.due_touched:
            self.due_date = (issued + timedelta(days=self.terms_days)).isoformat()

    @guard(Permission.INVOICES_WRITE)
    def set_due_date(self, value: str) -> None:
        self.due_date = str(value)
        self.due_touched = True

    @guard(Permission.INVOICES_WRITE)
    def set_message(self, value: str) -> None:
        self.message = str(value)[:5000]

    @guard(Permission.INVOICES_WRITE)
    def set_line(self, key: str, name: str, value: str) -> None:
        if name not in LINE_KEYS:
            return
        self.lines = [
            {**line, name: str(value)[:2000]} if line["key"] == key else line for line in self.lines
        ]
        self._recompute()

    @guard(Permission.INVOICES_WRITE)
    def add_line(self) -> None:
        if len(self.lines) >= MAX_EDITOR_LINES:
            return
        self.lines = [*self.lines, _blank_line(self.next_key)]
        self.next_key += 1

    @guard(Permission.INVOICES_WRITE)
    def add_product(self, product_id: str) -> Any:
        pid = optional_int(product_id)
        if pid is None or len(self.lines) >= MAX_EDITOR_LINES:
            return None
        try:
            form = run(drafts.line_defaults_from_product, current_user(), pid)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        line = {
            **_blank_line(self.next_key),
            "description": form.description,
            "quantity": form.quantity,
            "unit_price": form.unit_price,
            **_tax_fields(form.tax_rate_ids),
            "product_id": str(form.product_id or ""),
        }
        self.next_key += 1
        blank = [ln for ln in self.lines if not ln["description"].strip() and not ln["unit_price"]]
        if len(blank) == len(self.lines):
            self.lines = [line]  # replace the empty starter line
        else:
            self.lines = [*self.lines, line]
        self._recompute()
        return None

    @guard(Permission.INVOICES_WRITE)
    def remove_line(self, key: str) -> None:
        self.lines = [line for line in self.lines if line["key"] != key] or [
            _blank_line(self.next_key)
        ]
        self.next_key += 1
        self._recompute()

    # ------------------------------------------------------------------ saving

    def _form(self) -> DraftForm | None:
        """The form to save, or None with every header field's problem shown."""
        cid = optional_int(self.client_id)
        issue, due = _date(self.issue_date), _date(self.due_date)
        errors = {}
        if cid is None:
            errors["client_id"] = "Choose a client."
        if self.issue_date and issue is None:
            errors["issue_date"] = "Enter a date."
        if self.due_date and due is None:
            errors["due_date"] = "Enter a date."
        if errors or cid is None:
            self.errors = errors
            return None
        return DraftForm(
            client_id=cid,
            lines=self._line_forms(),
            website_id=optional_int(self.website_id),
            issue_date=issue,
            due_date=due,
            message=self.message,
        )

    def _saved(self) -> int | None:
        self.errors = {}
        self._clear_line_errors()
        form = self._form()
        if form is None:
            return None
        try:
            invoice_id = run(
                drafts.save_draft, current_user(), form, invoice_id=optional_int(self.invoice_id)
            )
        except ServiceError as exc:
            self._show_error(exc)
            return None
        if invoice_id is not None:
            self.invoice_id = str(invoice_id)
        return invoice_id

    @guard(Permission.INVOICES_WRITE)
    def save_draft(self) -> Any:
        first_save = not self.invoice_id
        invoice_id = self._saved()
        if invoice_id is None:
            return rx.toast.error("Check the highlighted fields.")
        self._recompute()
        toast = rx.toast.success("Draft saved.")
        if first_save:
            return [toast, rx.redirect(routes.invoice_edit(invoice_id))]
        return toast

    @guard(Permission.INVOICES_WRITE)
    def preview_pdf(self) -> Any:
        invoice_id = self._saved()
        if invoice_id is None:
            return rx.toast.error("Check the highlighted fields.")
        url = backend_path(routes.invoice_pdf(invoice_id))
        return rx.call_script(f"window.open({json.dumps(url)}, '_blank')")

    @guard(Permission.INVOICES_SEND)
    def send(self) -> Any:
        self.errors = {}
        self._clear_line_errors()
        form = self._form()
        if form is None:
            return rx.toast.error("Check the highlighted fields.")
        try:
            sent = run(
                sending.save_and_send,
                current_user(),
                form,
                invoice_id=optional_int(self.invoice_id),
            )
        except ServiceError as exc:
            self._show_error(exc)
            return rx.toast.error(exc.message)
        return [
            rx.toast.success(f"Invoice {sent.number} sent."),
            rx.redirect(routes.invoice(sent.id)),
        ]

    @guard(Permission.INVOICES_WRITE)
    def delete_draft(self) -> Any:
        invoice_id = optional_int(self.invoice_id)
        if invoice_id is None:
            return rx.redirect(routes.INVOICES)
        try:
            run(drafts.delete_draft, current_user(), invoice_id)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        return [rx.toast.success("Draft deleted."), rx.redirect(routes.INVOICES)]
