"""The state of the invoice detail page."""

from __future__ import annotations

from datetime import date
from typing import Any

import reflex as rx
from babel.dates import format_date

from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import Permission
from billing_app.services.card_payments import card_refunds, staff_view
from billing_app.services.common.errors import NotFound, ServiceError, ValidationFailed
from billing_app.services.common.transactions import run
from billing_app.services.invoicing import notices, payments, reversals
from billing_app.services.invoicing import timeline as invoice_timeline
from billing_app.services.invoicing import views as invoice_views
from billing_app.services.invoicing.payments import PaymentForm
from billing_app.ui import routes
from billing_app.ui.format import optional_int
from billing_app.ui.routes import backend_path
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard


def _long_date(text: str, locale: str) -> str:
    try:
        return format_date(date.fromisoformat(text), "medium", locale=locale)
    except (ValueError, TypeError):
        return text


def _payment_form(form: dict[str, Any]) -> PaymentForm:
    """A payment or refund as typed in its dialog (the refund dialog also has a note)."""
    return PaymentForm(
        amount=str(form.get("amount", "")),
        method=str(form.get("method", "")),
        received_on=_received_on(form),
        reference=str(form.get("reference", "")),
        note=str(form.get("note", "")),
    )


def _received_on(form: dict[str, Any]) -> date:
    text = str(form.get("received_on", "")).strip()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        msg = "Enter the date the money was received."
        raise ValidationFailed(msg, field="received_on") from exc


def _ticked(form: dict[str, Any], name: str) -> bool:
    return str(form.get(name, "")).lower() in ("on", "true", "1", "yes")


def _detail_and_cards(
    session: Any, user: Any, invoice_id: int
) -> tuple[invoice_views.InvoiceDetail, dict[int, staff_view.CardEntry]]:
    """The invoice and what is known of its card payments, in one transaction."""
    return (
        invoice_views.invoice_detail(session, user, invoice_id),
        staff_view.card_entries(session, user, invoice_id),
    )


def _with_card(
    row: dict[str, str], card: dict[int, staff_view.CardEntry], locale: str
) -> dict[str, str]:
    entry = card.get(optional_int(row["id"]) or 0)
    refundable = entry.refundable if entry is not None else None
    return {
        **row,
        "stripe_id": entry.stripe_id if entry is not None else "",
        "dashboard": entry.dashboard_url if entry is not None else "",
        "card_refundable": format_money(refundable, locale) if refundable is not None else "",
    }


class InvoiceDetailState(SessionState):
    status: str = "loading"
    found: bool = True
    invoice_id: str = ""
    number: str = ""
    inv_status: str = ""
    status_label: str = ""
    header: dict[str, str] = {}
    client_lines: list[str] = []
    agency_lines: list[str] = []
    lines: list[dict[str, str]] = []
    tax_rows: list[dict[str, str]] = []
    amounts: dict[str, str] = {}
    events: list[dict[str, str]] = []
    payment_rows: list[dict[str, str]] = []
    pdf_url: str = ""
    original_pdf_url: str = ""
    today: str = ""
    can_comment: bool = False
    can_send: bool = False
    can_record: bool = False
    can_refund: bool = False
    is_payable: bool = False
    is_refundable: bool = False
    pay_open: bool = False
    refund_open: bool = False
    void_open: bool = False
    reverse_open: bool = False
    reversing: dict[str, str] = {}  # the payment the reversal dialog is about
    card_refund_open: bool = False
    card_refunding: dict[str, str] = {}  # the card payment the card refund dialog is about
    errors: dict[str, str] = {}
    comment_key: int = 0

    def _refresh(self) -> None:
        user = current_user()
        invoice_id = optional_int(self.invoice_id)
        try:
            if invoice_id is None:
                raise NotFound("That invoice does not exist.")
            detail, card = run(_detail_and_cards, user, invoice_id)
        except NotFound:
            self.found = False
            self.status = "ok"
            return
        self.found = True
        snap = detail.snapshot
        locale, cur = detail.locale, detail.currency

        def money(minor: Any) -> str:
            return format_money(Money(int(minor or 0), cur), locale)

        self.number = detail.number
        self.inv_status = detail.status
        self.status_label = invoice_views.status_label(detail.status)
        client = snap.get("client", {})
        agency = snap.get("agency", {})
        brand = snap.get("brand", {})
        self.header = {
            "client": client.get("company", ""),
            "contact": client.get("contact_name", ""),
            "email": client.get("email", ""),
            "client_id": str(client.get("id", "")),
            "website": client.get("website", "") or "",
            "issue_date": _long_date(snap.get("issue_date", ""), locale),
            "due_date": _long_date(snap.get("due_date", ""), locale),
            "message": snap.get("message", ""),
            "brand": brand.get("name", ""),
            "color": brand.get("primary_color", "#1f4b99"),
            "agency": agency.get("legal_name", "") or brand.get("name", ""),
            "agency_tax_id": agency.get("tax_id", ""),
            "void_reason": detail.void_reason,
            "disputed": "yes" if detail.disputed else "",
        }
        self.client_lines = [str(x) for x in client.get("address", [])]
        self.agency_lines = [str(x) for x in agency.get("address", [])]
        self.lines = [
            {
                "description": line["description"],
                "quantity": str(line["quantity"]),
                "unit_price": money(line["unit_price_minor"]),
                "discount": line.get("discount", ""),
                "taxes": ", ".join(line.get("taxes", [])),
                "amount": money(line["amount_minor"]),
            }
            for line in snap.get("lines", [])
        ]
        self.tax_rows = [
            {"label": f"{t['name']} {t['percent']}%", "amount": money(t["amount_minor"])}
            for t in snap.get("taxes", [])
        ]
        self.amounts = {
            "subtotal": money(snap.get("subtotal_minor", 0)),
            "discount": money(snap["discount_minor"]) if snap.get("discount_minor") else "",
            "total": detail.total,
            "paid": detail.paid,
            "refunded": "" if detail.refunded == money(0) else detail.refunded,
            "credited": detail.credited,
            "credit_applied": detail.credit_applied,
            "due": detail.due,
            "refundable": detail.refundable,
        }
        self.events = detail.timeline
        self.payment_rows = [_with_card(row, card, locale) for row in detail.payments]
        self.pdf_url = backend_path(routes.invoice_pdf(detail.id))
        self.original_pdf_url = backend_path(
            routes.invoice_pdf(detail.id, download=True, original=True)
        )
        self.today = detail.today.isoformat()
        self.can_comment = user.can(Permission.INVOICES_WRITE)
        self.can_send = user.can(Permission.INVOICES_SEND)
        self.can_record = user.can(Permission.PAYMENTS_RECORD)
        self.can_refund = user.can(Permission.REFUNDS_CREATE)
        self.is_payable = detail.can_record_payment
        self.is_refundable = detail.can_record_refund
        self.status = "ok"

    @guard(Permission.INVOICES_READ)
    def load(self) -> Any:
        raw = self.router.page.params.get("invoice_id", "")
        self.invoice_id = str(optional_int(raw) or "")
        self.errors = {}
        self.pay_open = self.refund_open = self.void_open = False
        self._refresh()
        if (
            self.found
            and self.inv_status == "draft"
            and current_user().can(Permission.INVOICES_WRITE)
        ):
            return rx.redirect(routes.invoice_edit(self.invoice_id))
        return None

    # ------------------------------------------------------------------ dialogs

    @guard(Permission.PAYMENTS_RECORD)
    def set_pay_open(self, value: bool) -> None:
        self.errors = {}
        self.pay_open = bool(value)

    @guard(Permission.REFUNDS_CREATE)
    def set_refund_open(self, value: bool) -> None:
        self.errors = {}
        self.refund_open = bool(value)

    @guard(Permission.INVOICES_SEND)
    def set_void_open(self, value: bool) -> None:
        self.errors = {}
        self.void_open = bool(value)

    @guard(Permission.PAYMENTS_RECORD)
    def open_reverse(self, payment_id: str) -> None:
        row = next(
            (r for r in self.payment_rows if r["id"] == str(payment_id) and r["can_reverse"]),
            None,
        )
        if row is None:
            return
        self.errors = {}
        self.reversing = {k: row[k] for k in ("id", "amount", "date", "method", "reference")}
        self.reverse_open = True

    @guard(Permission.REFUNDS_CREATE)
    def open_card_refund(self, payment_id: str) -> None:
        row = next(
            (
                r
                for r in self.payment_rows
                if r["id"] == str(payment_id) and r.get("card_refundable")
            ),
            None,
        )
        if row is None:
            return
        self.errors = {}
        self.card_refunding = {
            k: row[k] for k in ("id", "amount", "date", "reference", "card_refundable")
        }
        self.card_refund_open = True

    @guard(Permission.REFUNDS_CREATE)
    def set_card_refund_open(self, value: bool) -> None:
        self.errors = {}
        self.card_refund_open = bool(value)

    @guard(Permission.PAYMENTS_RECORD)
    def set_reverse_open(self, value: bool) -> None:
        self.errors = {}
        self.reverse_open = bool(value)

    # ------------------------------------------------------------------ actions

    @guard(Permission.INVOICES_WRITE)
    def add_comment(self, form: dict[str, Any]) -> Any:
        invoice_id = optional_int(self.invoice_id)
        if invoice_id is None:
            return None
        try:
            run(
                invoice_timeline.add_comment,
                current_user(),
                invoice_id,
                str(form.get("comment", "")),
            )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.errors = {}
        self.comment_key += 1
        self._refresh()
        return rx.toast.success("Comment added.")

    @guard(Permission.PAYMENTS_RECORD)
    def record_payment(self, form: dict[str, Any]) -> Any:
        invoice_id = optional_int(self.invoice_id)
        if invoice_id is None:
            return None
        self.errors = {}
        try:
            run(
                payments.record_payment,
                current_user(),
                invoice_id,
                _payment_form(form),
                send_receipt=_ticked(form, "send_receipt"),
            )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.pay_open = False
        self._refresh()
        return rx.toast.success("Payment recorded.")

    @guard(Permission.REFUNDS_CREATE)
    def record_refund(self, form: dict[str, Any]) -> Any:
        invoice_id = optional_int(self.invoice_id)
        if invoice_id is None:
            return None
        self.errors = {}
        try:
            run(payments.record_refund, current_user(), invoice_id, _payment_form(form))
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.refund_open = False
        self._refresh()
        return rx.toast.success("Refund recorded.")

    @guard(Permission.REFUNDS_CREATE)
    def refund_to_card(self, form: dict[str, Any]) -> Any:
        invoice_id = optional_int(self.invoice_id)
        payment_id = optional_int(self.card_refunding.get("id", ""))
        if invoice_id is None or payment_id is None:
            return None
        self.errors = {}
        try:
            run(
                card_refunds.refund_to_card,
                current_user(),
                invoice_id,
                payment_id,
                card_refunds.CardRefundForm(
                    amount=str(form.get("amount", "")), reason=str(form.get("reason", ""))
                ),
            )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            self._refresh()  # a refund made meanwhile changes what is left
            return None
        self.card_refund_open = False
        self.card_refunding = {}
        self._refresh()
        return rx.toast.success("Refunded to the card. The client was emailed.")

    @guard(Permission.PAYMENTS_RECORD)
    def reverse_payment(self, form: dict[str, Any]) -> Any:
        payment_id = optional_int(self.reversing.get("id", ""))
        if payment_id is None:
            return None
        self.errors = {}
        try:
            run(
                reversals.reverse_payment,
                current_user(),
                payment_id,
                str(form.get("reason", "")),
            )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.reverse_open = False
        self.reversing = {}
        self._refresh()
        return rx.toast.success("Payment reversed.")

    @guard(Permission.INVOICES_SEND)
    def void(self, form: dict[str, Any]) -> Any:
        invoice_id = optional_int(self.invoice_id)
        if invoice_id is None:
            return None
        self.errors = {}
        try:
            run(
                payments.void_invoice,
                current_user(),
                invoice_id,
                str(form.get("reason", "")),
                notify_client=_ticked(form, "notify_client"),
            )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.void_open = False
        self._refresh()
        return rx.toast.success("Invoice voided.")

    @guard(Permission.INVOICES_SEND)
    def resend(self) -> Any:
        return self._email("resend")

    @guard(Permission.INVOICES_SEND)
    def send_reminder(self) -> Any:
        return self._email("reminder")

    def _email(self, which: str) -> Any:
        invoice_id = optional_int(self.invoice_id)
        if invoice_id is None:
            return None
        use_case = notices.send_reminder if which == "reminder" else notices.resend_invoice
        try:
            run(use_case, current_user(), invoice_id)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._refresh()
        return rx.toast.success("Reminder sent." if which == "reminder" else "Invoice sent again.")
