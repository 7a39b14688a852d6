"""The state of the client overview page."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.agency import branding
from billing_app.services.catalog import subscription_queries
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.listing import ListRequest
from billing_app.services.common.transactions import run
from billing_app.services.customers import client_queries
from billing_app.services.invoicing.views import ENTRY_LABELS
from billing_app.ui import routes
from billing_app.ui.format import day, money, to_int
from billing_app.ui.session.staff import SessionState, current_user, guard


class ClientState(SessionState):
    """The client overview. The id comes from the URL and is loaded by the guarded handler."""

    status: str = "loading"
    found: bool = False
    cid: str = ""
    client: dict[str, str] = {}
    address_lines: list[str] = []
    websites: list[dict[str, str]] = []
    figures: dict[str, str] = {}
    tab_counts: dict[str, str] = {}
    can_write: bool = False
    can_write_subscriptions: bool = False
    can_see_invoices: bool = False
    can_preview_portal: bool = False
    preview_url: str = ""
    invoices: list[dict[str, str]] = []
    payments: list[dict[str, str]] = []
    brand_options: list[dict[str, str]] = []

    def _route_id(self) -> int:
        params = self.router.page.params
        return to_int(params.get("client_id", ""), 0)

    def _refresh(self) -> None:
        user = current_user()
        client_id = to_int(self.cid, 0)
        self.can_write = user.can(Permission.CLIENTS_WRITE)
        self.can_write_subscriptions = user.can(Permission.SUBSCRIPTIONS_WRITE)
        self.can_preview_portal = user.can(Permission.CLIENTS_PORTAL_PREVIEW)
        # Resolved per request: the backend's address as the browser reaches it.
        self.preview_url = routes.backend_path(routes.portal_preview(client_id))
        try:
            overview = run(client_queries.client_overview, user, client_id)
            counts: dict[str, int] = {}
            if user.can(Permission.SUBSCRIPTIONS_READ):
                counts = run(subscription_queries.tab_counts, user, client_id)
        except ServiceError:
            self.found = False
            self.client = {}
            self.status = "ok"
            return
        c = overview.client
        self.found = True
        self.client = {
            "id": str(c.id),
            "company": c.company,
            "contact_name": c.contact_name or "—",
            "email": c.email,
            "phone": c.phone or "—",
            "currency": c.currency,
            "locale": c.locale,
            "tax_id": c.tax_id or "—",
            "notes": c.notes,
            "status": c.status,
            "status_label": c.status.capitalize(),
            "created": day(c.created_at.date()),
            "archived": "yes" if c.status == "archived" else "",
            "brand_id": str(c.brand_id) if c.brand_id else "default",
        }
        brands = run(branding.brand_choices, user)
        default = next((b.name for b in brands if b.is_default), "")
        self.brand_options = [
            {"value": "default", "label": f"Default brand ({default})" if default else "Default"},
            *({"value": str(b.id), "label": b.name} for b in brands),
        ]
        self.client["brand_label"] = next(
            (o["label"] for o in self.brand_options if o["value"] == self.client["brand_id"]),
            "Default",
        )
        self.address_lines = overview.address_lines
        self.websites = [
            {"id": str(w.id), "name": w.name, "url": w.url, "host": w.url.split("://", 1)[-1]}
            for w in overview.websites
        ]
        # Only the figures the role may see (docs/security.md item 43); the page shows those keys.
        self.figures = {"active": str(overview.active_subscriptions)}
        if overview.mrr is not None:
            self.figures["mrr"] = money(overview.mrr)
        if overview.arr is not None:
            self.figures["arr"] = money(overview.arr)
        if overview.net_invoiced is not None:
            self.figures["net_invoiced"] = money(overview.net_invoiced)
        if overview.outstanding is not None:
            self.figures["outstanding"] = money(overview.outstanding)
        self.tab_counts = {k: str(v) for k, v in counts.items()}
        self.can_see_invoices = user.can(Permission.INVOICES_READ)
        self.invoices, self.payments = [], []
        if self.can_see_invoices:
            self._load_invoices(client_id)
        self.status = "ok"

    def _load_invoices(self, client_id: int) -> None:
        from billing_app.services.invoicing import queries as invoice_queries

        latest = ListRequest(filters={"client": str(client_id)}, descending=True, per_page=10)
        page = run(invoice_queries.list_invoices, current_user(), latest)
        payments = run(client_queries.client_payments, current_user(), client_id)
        self.invoices = [
            {
                "id": str(i.id),
                "href": routes.invoice(i.id),
                "number": i.number,
                "status": i.status,
                "status_label": i.status.replace("_", " ").capitalize(),
                "issued": day(i.issue_date),
                "due_date": day(i.due_date),
                "total": money(i.total),
                "due": money(i.due),
            }
            for i in page.rows
        ]
        self.payments = [
            {
                "id": str(p.id),
                "href": routes.invoice(p.invoice_id),
                "invoice": p.invoice_number,
                "kind": p.kind,
                "kind_label": ENTRY_LABELS.get(p.kind, p.kind),
                "method": p.method.replace("_", " ").capitalize(),
                "amount": money(p.amount if p.kind == "payment" else -p.amount),
                "date": day(p.received_on),
                "reference": p.reference or "—",
            }
            for p in payments
        ]

    @guard(Permission.CLIENTS_WRITE)
    def set_brand(self, value: str) -> Any:
        brand_id = None if value == "default" else to_int(value, 0)
        try:
            run(branding.assign_client_brand, current_user(), to_int(self.cid, 0), brand_id)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._refresh()
        return rx.toast.success("Brand changed. New invoices and emails use it.")

    @guard(Permission.CLIENTS_READ)
    def load(self) -> None:
        self.cid = str(self._route_id())
        self._refresh()

    @guard(Permission.CLIENTS_READ)
    def refresh(self) -> None:
        if self.cid and self.router.page.path.startswith(routes.CLIENTS + "/"):
            self._refresh()
