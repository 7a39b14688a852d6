"""The Clients list (search, filter, sort, pages, add/edit, archive, CSV export), the client
overview (/clients/[client_id]) and the CSV import page."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import reflex as rx
from babel.dates import format_date

from billing_app.db.engine import session_scope
from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import FIGURE_PERMISSIONS, Permission
from billing_app.services.agency import branding
from billing_app.services.catalog import products as catalog_service
from billing_app.services.catalog import subscriptions as subscriptions_service
from billing_app.services.common.clock import system_clock
from billing_app.services.common.errors import ServiceError
from billing_app.services.customers import clients as clients_service
from billing_app.services.customers import imports as imports_service
from billing_app.ui.format import to_int
from billing_app.ui.state.base import SessionState, current_user, field_errors, guard

ADMIN_LOCALE = "en"
PER_PAGE = 25
CLIENT_SORTS = ("name", "created", "mrr", "net_invoiced", "outstanding")
STATUS_FILTERS = ("current", "active", "inactive", "archived", "all")
CLIENT_FIELDS = (
    "company",
    "contact_name",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "postal_code",
    "region",
    "country",
    "currency",
    "locale",
    "tax_id",
    "notes",
    "status",
)
MAX_SITES = 20


def money(amount: Money) -> str:
    return format_money(amount, ADMIN_LOCALE)


def figure(amount: Money | None) -> str:
    """A figure the viewer may see, or "" (its column is not shown to them)."""
    return money(amount) if amount is not None else ""


def day(value: date | None) -> str:
    return format_date(value, "d MMM yyyy", locale=ADMIN_LOCALE) if value else "—"


def _page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def _empty_client_values() -> dict[str, str]:
    values = dict.fromkeys(CLIENT_FIELDS, "")
    values.update(currency="EUR", locale="en", status="active")
    return values


def client_input_from_form(form: dict[str, Any]) -> clients_service.ClientInput:
    values = {name: str(form.get(name, "") or "") for name in CLIENT_FIELDS}
    sites = []
    for i in range(MAX_SITES):
        name = str(form.get(f"site_name_{i}", "") or "")
        url = str(form.get(f"site_url_{i}", "") or "")
        site_id = to_int(form.get(f"site_id_{i}", ""), 0)
        if name.strip() or url.strip():
            sites.append(clients_service.WebsiteInput(name=name, url=url, id=site_id or None))
    return clients_service.ClientInput(**values, websites=sites)


class ClientsState(SessionState):
    status: str = "loading"
    rows: list[dict[str, str]] = []
    total: int = 0
    page: int = 1
    page_count: int = 1
    search: str = ""
    sort: str = "name"
    descending: bool = False
    status_filter: str = "current"
    can_write: bool = False
    # the add/edit form
    form_open: bool = False
    form_title: str = ""
    form_key: str = "0"
    form_errors: dict[str, str] = {}
    form_values: dict[str, str] = {}
    site_rows: list[dict[str, str]] = []
    editing_id: str = ""

    def _refresh(self) -> None:
        user = current_user()
        status = "" if self.status_filter == "all" else self.status_filter
        with session_scope() as session:
            result = clients_service.list_clients(
                session,
                user,
                search=self.search,
                status=status,
                sort=self.sort,
                descending=self.descending,
                page=self.page,
                per_page=PER_PAGE,
            )
        if result.rows == [] and self.page > 1 and result.total:
            self.page = result.pages
            self._refresh()
            return
        self.rows = [
            {
                "id": str(r.id),
                "href": f"/clients/{r.id}",
                "company": r.company,
                "contact": " · ".join(p for p in (r.contact_name, r.email) if p),
                "status": r.status,
                "status_label": r.status.capitalize(),
                "mrr": figure(r.mrr),
                "net_invoiced": figure(r.net_invoiced),
                "outstanding": figure(r.outstanding),
                "subscriptions": str(r.active_subscriptions),
                "created": day(r.created_at.date()),
                "archived": "yes" if r.status == "archived" else "",
                "not_archived": "" if r.status == "archived" else "yes",
            }
            for r in result.rows
        ]
        self.total = result.total
        self.page_count = result.pages
        self.can_write = user.can(Permission.CLIENTS_WRITE)
        self.status = "ok"

    @guard(Permission.CLIENTS_READ)
    def load(self) -> None:
        self.form_open = False
        self.page = 1
        self._refresh()

    @guard(Permission.CLIENTS_READ)
    def set_search(self, value: str) -> None:
        self.search = str(value)[:200]
        self.page = 1
        self._refresh()

    @guard(Permission.CLIENTS_READ)
    def set_status_filter(self, value: str | list[str]) -> None:
        value = value if isinstance(value, str) else "".join(value[:1])
        self.status_filter = value if value in STATUS_FILTERS else "current"
        self.page = 1
        self._refresh()

    @guard(Permission.CLIENTS_READ)
    def sort_by(self, key: str) -> None:
        if key not in CLIENT_SORTS:
            return
        needs = FIGURE_PERMISSIONS.get(key)
        if needs is not None and not current_user().can(needs):
            return
        if self.sort == key:
            self.descending = not self.descending
        else:
            self.sort = key
            self.descending = key != "name"
        self.page = 1
        self._refresh()

    @guard(Permission.CLIENTS_READ)
    def go(self, page: int) -> None:
        self.page = max(1, min(to_int(page, 1), self.page_count))
        self._refresh()

    @guard(Permission.CLIENTS_READ)
    def export_csv(self) -> Any:
        status = "" if self.status_filter == "all" else self.status_filter
        with session_scope() as session:
            data = clients_service.export_csv(
                session,
                current_user(),
                search=self.search,
                status=status,
                sort=self.sort,
                descending=self.descending,
            )
        return rx.download(data=data, filename="clients.csv", mime_type="text/csv;charset=utf-8")

    # ---------------------------------------------------------------- add / edit

    def _open_form(self, title: str, values: dict[str, str], sites: list[dict[str, str]]) -> None:
        self.form_title = title
        self.form_values = values
        self.site_rows = sites
        self.form_errors = {}
        self.form_key = str(to_int(self.form_key) + 1)
        self.form_open = True

    @guard(Permission.CLIENTS_WRITE)
    def open_new(self) -> None:
        self.editing_id = ""
        self._open_form(
            "Add a client",
            _empty_client_values(),
            [{"id": "", "name": "", "url": "", "index": "0"}],
        )

    @guard(Permission.CLIENTS_WRITE)
    def open_edit(self, client_id: str) -> Any:
        try:
            with session_scope() as session:
                overview = clients_service.client_overview(
                    session, current_user(), to_int(client_id)
                )
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        c = overview.client
        values = {name: str(getattr(c, name) or "") for name in CLIENT_FIELDS}
        if c.status == "archived":
            values["status"] = "inactive"
        self.editing_id = str(c.id)
        self._open_form(
            f"Edit {c.company}",
            values,
            [
                {"id": str(w.id), "name": w.name, "url": w.url, "index": str(i)}
                for i, w in enumerate(overview.websites)
            ],
        )
        return None

    @guard(Permission.CLIENTS_WRITE)
    def set_form_open(self, value: bool) -> None:
        self.form_open = bool(value)

    @guard(Permission.CLIENTS_WRITE)
    def add_site_row(self) -> None:
        if len(self.site_rows) < MAX_SITES:
            index = max((to_int(r["index"]) for r in self.site_rows), default=-1) + 1
            self.site_rows = [
                *self.site_rows,
                {"id": "", "name": "", "url": "", "index": str(index)},
            ]

    @guard(Permission.CLIENTS_WRITE)
    def remove_site_row(self, index: str) -> None:
        self.site_rows = [r for r in self.site_rows if r["index"] != str(index)]

    @guard(Permission.CLIENTS_WRITE)
    def save(self, form: dict[str, Any]) -> Any:
        self.form_errors = {}
        data = client_input_from_form(form)
        try:
            with session_scope() as session:
                if self.editing_id:
                    client = clients_service.update_client(
                        session, current_user(), to_int(self.editing_id), data
                    )
                else:
                    client = clients_service.create_client(session, current_user(), data)
                company, client_id = client.company, client.id
        except ServiceError as exc:
            self.form_values = {name: str(form.get(name, "") or "") for name in CLIENT_FIELDS}
            self.form_errors = field_errors(exc)
            return None
        self.form_open = False
        was_edit = bool(self.editing_id)
        self._refresh()
        if was_edit:
            return [rx.toast.success(f"{company} saved."), ClientState.refresh]
        return [rx.toast.success(f"{company} added."), rx.redirect(f"/clients/{client_id}")]

    @guard(Permission.CLIENTS_WRITE)
    def archive(self, client_id: str) -> Any:
        try:
            with session_scope() as session:
                client = clients_service.archive_client(session, current_user(), to_int(client_id))
                company = client.company
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._refresh()
        return [rx.toast.success(f"{company} archived."), ClientState.refresh]

    @guard(Permission.CLIENTS_WRITE)
    def restore(self, client_id: str) -> Any:
        try:
            with session_scope() as session:
                client = clients_service.restore_client(session, current_user(), to_int(client_id))
                company = client.company
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._refresh()
        return [rx.toast.success(f"{company} restored."), ClientState.refresh]


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
    invoices: list[dict[str, str]] = []
    payments: list[dict[str, str]] = []
    # attach a product
    attach_open: bool = False
    attach_key: str = "0"
    attach_errors: dict[str, str] = {}
    attach_values: dict[str, str] = {}
    product_options: list[dict[str, str]] = []
    website_options: list[dict[str, str]] = []
    brand_options: list[dict[str, str]] = []

    def _route_id(self) -> int:
        params = self.router.page.params
        return to_int(params.get("client_id", ""), 0)

    def _refresh(self) -> None:
        user = current_user()
        client_id = to_int(self.cid, 0)
        self.can_write = user.can(Permission.CLIENTS_WRITE)
        self.can_write_subscriptions = user.can(Permission.SUBSCRIPTIONS_WRITE)
        try:
            with session_scope() as session:
                overview = clients_service.client_overview(session, user, client_id)
                counts = subscriptions_service.tab_counts(session, client_id)
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
        with session_scope() as session:
            brands = branding.list_brands(session)
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
            self.figures["arr"] = money(overview.mrr * 12)
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
        from billing_app.services.invoicing import invoices as invoicing

        with session_scope() as session:
            page = invoicing.list_invoices(session, client_id=client_id, per_page=10)
            payments = clients_service.client_payments(session, client_id)
        self.invoices = [
            {
                "id": str(i.id),
                "href": f"/invoices/{i.id}",
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
                "href": f"/invoices/{p.invoice_id}",
                "invoice": p.invoice_number,
                "kind": p.kind,
                "kind_label": "Refund" if p.kind == "refund" else "Payment",
                "method": p.method.replace("_", " ").capitalize(),
                "amount": money(-p.amount if p.kind == "refund" else p.amount),
                "date": day(p.received_on),
                "reference": p.reference or "—",
            }
            for p in payments
        ]

    @guard(Permission.CLIENTS_WRITE)
    def set_brand(self, value: str) -> Any:
        brand_id = None if value == "default" else to_int(value, 0)
        try:
            with session_scope() as session:
                branding.assign_client_brand(session, current_user(), to_int(self.cid, 0), brand_id)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._refresh()
        return rx.toast.success("Brand changed. New invoices and emails use it.")

    @guard(Permission.CLIENTS_READ)
    def load(self) -> None:
        self.attach_open = False
        self.cid = str(self._route_id())
        self._refresh()

    @guard(Permission.CLIENTS_READ)
    def refresh(self) -> None:
        if self.cid and self.router.page.path.startswith("/clients/"):
            self._refresh()

    # ---------------------------------------------------------------- attach a product

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def open_attach(self) -> None:
        with session_scope() as session:
            products = catalog_service.product_choices(session)
            client = clients_service.get_client(session, to_int(self.cid))
            sites = clients_service.websites_of(session, to_int(self.cid))
            currency = client.currency
        self.product_options = [
            {
                "value": str(p.id),
                "label": f"{p.name} — {money(p.price)} {p.billing_label}"
                + ("" if p.price.currency == currency else f" (in {p.price.currency})"),
            }
            for p in products
        ]
        self.website_options = [{"value": str(w.id), "label": w.name} for w in sites]
        self.attach_values = {
            "product_id": "",
            "website_id": "none",
            "quantity": "1",
            "price": "",
            "start_date": _today_iso(),
            "trial_days": "0",
        }
        self.attach_errors = {}
        self.attach_key = str(to_int(self.attach_key) + 1)
        self.attach_open = True

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def set_attach_open(self, value: bool) -> None:
        self.attach_open = bool(value)

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def attach(self, form: dict[str, Any]) -> Any:
        self.attach_errors = {}
        self.attach_values = {k: str(v) for k, v in form.items()}
        product_id = to_int(form.get("product_id", ""), 0)
        if not product_id:
            self.attach_errors = {"product_id": "Choose a product."}
            return None
        website = str(form.get("website_id", "") or "none")
        try:
            start = date.fromisoformat(str(form.get("start_date", "")))
        except ValueError:
            self.attach_errors = {"start_date": "Choose the start date."}
            return None
        data = subscriptions_service.AttachInput(
            client_id=to_int(self.cid),
            product_id=product_id,
            website_id=None if website in ("", "none") else to_int(website),
            quantity=str(form.get("quantity", "1") or "1"),
            price_override=str(form.get("price", "") or ""),
            start_date=start,
            trial_days=str(form.get("trial_days", "0") or "0"),
        )
        try:
            with session_scope() as session:
                sub = subscriptions_service.attach(session, current_user(), data)
                label = sub.description
                kind = sub.kind
        except ServiceError as exc:
            self.attach_errors = field_errors(exc)
            return None
        self.attach_open = False
        self._refresh()
        from billing_app.ui.state.subscriptions import SubscriptionsState

        what = "One-time purchase of" if kind == "one_time" else "Subscribed to"
        return [rx.toast.success(f"{what} {label}."), SubscriptionsState.reload]


def _today_iso() -> str:
    return system_clock.now().date().isoformat()


class ImportState(SessionState):
    """Upload a CSV, preview every row with its problem, import the valid rows."""

    status: str = "loading"
    file_name: str = ""
    rows: list[dict[str, str]] = []
    valid: int = 0
    invalid: int = 0
    ignored: str = ""
    error: str = ""
    imported: int = -1
    _data: bytes = b""

    @guard(Permission.CLIENTS_WRITE)
    def load(self) -> None:
        self._reset_preview()
        self.status = "ok"

    def _reset_preview(self) -> None:
        self.file_name = ""
        self.rows = []
        self.valid = self.invalid = 0
        self.ignored = ""
        self.error = ""
        self.imported = -1
        self._data = b""

    def _preview(self) -> None:
        with session_scope() as session:
            result = imports_service.preview(session, self._data)
        self.rows = [
            {
                "line": str(r.line),
                "company": r.company or "—",
                "email": r.email or "—",
                "currency": r.currency,
                "websites": r.websites,
                "error": r.error,
                "ok": "yes" if r.ok else "",
            }
            for r in result.rows
        ]
        self.valid, self.invalid = result.valid, result.invalid
        self.ignored = ", ".join(result.ignored_columns)

    @guard(Permission.CLIENTS_WRITE, upload=True)
    async def upload(self, files: list[rx.UploadFile]) -> Any:
        self._reset_preview()
        if not files:
            self.error = "Choose a CSV file."
            return None
        upload = files[0]
        data = await upload.read()
        self.file_name = (upload.name or "clients.csv")[:200]
        if len(data) > imports_service.MAX_BYTES:
            self.error = "The file is larger than 5 MB."
            return None
        self._data = data
        await asyncio.to_thread(self._checked_preview)
        return None

    def _checked_preview(self) -> None:
        try:
            self._preview()
        except ServiceError as exc:
            self.error = exc.message
            self._data = b""

    @guard(Permission.CLIENTS_WRITE)
    def run_import(self) -> Any:
        if not self._data:
            return rx.toast.error("Upload a file first.")
        try:
            with session_scope() as session:
                created = imports_service.import_valid(session, current_user(), self._data)
        except ServiceError as exc:
            self.error = exc.message
            return None
        self.imported = created
        self._preview()
        return rx.toast.success(f"{created} client{'s' if created != 1 else ''} imported.")

    @guard(Permission.CLIENTS_WRITE)
    def clear(self) -> None:
        self._reset_preview()
