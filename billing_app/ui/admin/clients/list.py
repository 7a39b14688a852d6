"""The clients list (/clients): search, filter, sort, pages, add and edit, archive, CSV export."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import FIGURE_PERMISSIONS, Permission
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.services.customers import client_queries
from billing_app.services.customers import clients as clients_service
from billing_app.ui import routes
from billing_app.ui.admin.clients.overview_state import ClientState
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import PER_PAGE, day, figure, to_int
from billing_app.ui.kit.forms import FormField, field_error, form_alert, form_grid
from billing_app.ui.kit.list_state import ListSpec, ListState
from billing_app.ui.kit.resource import (
    Column,
    Filter,
    Resource,
    RowAction,
    resource_table,
    resource_toolbar,
)
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

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


class ClientsState(ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.CLIENTS_READ,
        write=Permission.CLIENTS_WRITE,
        sorts=CLIENT_SORTS,
        sort_permissions=FIGURE_PERMISSIONS,
        default_sort="name",
        starting_descending=frozenset(CLIENT_SORTS) - {"name"},
        filters={"status": STATUS_FILTERS},
        per_page=PER_PAGE,
    )

    # the add/edit form
    form_open: bool = False
    form_title: str = ""
    form_key: str = "0"
    form_errors: dict[str, str] = {}
    form_values: dict[str, str] = {}
    site_rows: list[dict[str, str]] = []
    editing_id: str = ""

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        return run(client_queries.list_clients, user, request)

    def _row(self, user: Any, r: Any) -> dict[str, str]:
        return {
            "id": str(r.id),
            "href": routes.client(r.id),
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

    @guard(Permission.CLIENTS_READ)
    def load(self) -> None:
        self.form_open = False
        self._defaults()
        self._first()

    @guard(Permission.CLIENTS_READ)
    def export_csv(self) -> Any:
        status = self.filters.get("status", "current")
        data = run(
            client_queries.export_csv,
            current_user(),
            search=self.search,
            status="" if status == "all" else status,
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
            overview = run(client_queries.client_overview, current_user(), to_int(client_id))
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
            if self.editing_id:
                client = run(
                    clients_service.update_client, current_user(), to_int(self.editing_id), data
                )
            else:
                client = run(clients_service.create_client, current_user(), data)
            company, client_id = client.company, client.id
        except ServiceError as exc:
            self.form_values = {name: str(form.get(name, "") or "") for name in CLIENT_FIELDS}
            self.form_errors = field_errors(exc)
            return None
        self.form_open = False
        was_edit = bool(self.editing_id)
        self._reload()
        if was_edit:
            return [rx.toast.success(f"{company} saved."), ClientState.refresh]
        return [rx.toast.success(f"{company} added."), rx.redirect(routes.client(client_id))]

    @guard(Permission.CLIENTS_WRITE)
    def archive(self, client_id: str) -> Any:
        try:
            client = run(clients_service.archive_client, current_user(), to_int(client_id))
            company = client.company
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._reload()
        return [rx.toast.success(f"{company} archived."), ClientState.refresh]

    @guard(Permission.CLIENTS_WRITE)
    def restore(self, client_id: str) -> Any:
        try:
            client = run(clients_service.restore_client, current_user(), to_int(client_id))
            company = client.company
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._reload()
        return [rx.toast.success(f"{company} restored."), ClientState.refresh]


CLIENT_FORM = (
    FormField("company", "Company", required=True, placeholder="Acme Bakery Ltd", span=1),
    FormField("contact_name", "Contact name", placeholder="Amélie Martin", span=1),
    FormField(
        "email",
        "Billing email",
        required=True,
        placeholder="billing@acme.com",
        span=1,
    ),
    FormField("phone", "Phone", kind="tel", span=1),
    FormField("address_line1", "Address", placeholder="Street and number", span=2),
    FormField("address_line2", "Address line 2", span=2),
    FormField("postal_code", "Postal code", span=1),
    FormField("city", "City", span=1),
    FormField("region", "Region / state", span=1),
    FormField("country", "Country code", placeholder="FR", span=1),
    FormField(
        "currency",
        "Currency",
        kind="currency",
        span=1,
        hint="Invoices and subscriptions are in this currency. Type to search.",
    ),
    FormField("locale", "Language", kind="locale", span=1, hint="Invoices and emails use it."),
    FormField("tax_id", "Tax ID", placeholder="VAT number", span=1),
    FormField(
        "status",
        "Status",
        kind="select",
        options=(("active", "Active"), ("inactive", "Inactive")),
        span=1,
    ),
    FormField("notes", "Internal notes", kind="textarea", span=2),
)


CLIENTS = Resource(
    name="clients",
    state=ClientsState,
    columns=(
        Column("company", "Client", sort="name", sub="contact", link="href"),
        Column("status", "Status", kind="badge", label_key="status_label"),
        *(
            Column(
                key,
                label,
                sort=key,
                kind="money",
                align="right",
                permission=FIGURE_PERMISSIONS[key],
            )
            for key, label in (
                ("mrr", "MRR"),
                ("net_invoiced", "Net invoiced"),
                ("outstanding", "Outstanding"),
            )
        ),
        Column("created", "Added", sort="created", kind="muted"),
    ),
    filters=(
        Filter(
            "status",
            (
                ("current", "Current"),
                ("active", "Active"),
                ("inactive", "Inactive"),
                ("archived", "Archived"),
                ("all", "All"),
            ),
        ),
    ),
    row_actions=(
        RowAction("Edit", "open_edit", icon="pencil", show_if="not_archived"),
        RowAction(
            "Archive",
            "archive",
            icon="archive",
            color="red",
            confirm="Archive this client?",
            confirm_text="The client disappears from the current list; its history is kept and "
            "you can restore it at any time.",
            show_if="not_archived",
        ),
        RowAction("Restore", "restore", icon="archive-restore", show_if="archived"),
    ),
    search_placeholder="Search name, email or website",
    empty_icon="building-2",
    empty_title="No clients yet",
    empty_text="Add your first client, or import your existing clients from a CSV file.",
    form_fields=CLIENT_FORM,
)


def _site_row(row: rx.Var[dict[str, str]]) -> rx.Component:
    i = row["index"]
    return rx.hstack(
        rx.el.input(type="hidden", name="site_id_" + i, value=row["id"]),
        rx.input(
            name="site_name_" + i,
            default_value=row["name"],
            placeholder="Name (e.g. Shop)",
            width="40%",
            id="site-name-" + i,
            aria_label="Website name",
        ),
        rx.input(
            name="site_url_" + i,
            default_value=row["url"],
            placeholder="https://example.com",
            width="60%",
            id="site-url-" + i,
            aria_label="Website address",
        ),
        rx.icon_button(
            rx.icon("x", size=14),
            variant="ghost",
            color_scheme="gray",
            type="button",
            on_click=ClientsState.remove_site_row(i),
            aria_label="Remove website",
        ),
        width="100%",
        spacing="2",
        align="center",
    )


def client_form() -> rx.Component:
    s = ClientsState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(s.form_title),
            rx.dialog.description(
                "Everything the invoices need. Only the company and billing email are required.",
                size="2",
                color_scheme="gray",
            ),
            rx.form(
                rx.vstack(
                    form_alert(s.form_errors),
                    rx.box(form_grid(s, CLIENT_FORM), key=s.form_key, width="100%"),
                    rx.vstack(
                        rx.hstack(
                            rx.text("Websites", size="2", weight="medium"),
                            rx.spacer(),
                            rx.button(
                                rx.icon("plus", size=14),
                                "Add website",
                                size="1",
                                variant="soft",
                                type="button",
                                on_click=s.add_site_row,
                                id="add-website",
                            ),
                            width="100%",
                            align="center",
                        ),
                        rx.box(
                            rx.vstack(
                                rx.foreach(s.site_rows, _site_row), spacing="2", width="100%"
                            ),
                            key=s.form_key,
                            width="100%",
                        ),
                        field_error(s.form_errors, "websites"),
                        width="100%",
                        spacing="2",
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Save client", type="submit", id="clients-save"),
                        justify="end",
                        spacing="3",
                        width="100%",
                        padding_top="8px",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=s.save,
                reset_on_submit=False,
            ),
            max_width="640px",
            max_height="92vh",
            overflow_y="auto",
        ),
        open=s.form_open,
        on_open_change=s.set_form_open,
    )


def _list_actions() -> rx.Component:
    return rx.cond(
        ClientsState.can_write,
        rx.hstack(
            rx.link(
                rx.button(rx.icon("upload", size=16), "Import CSV", variant="soft"),
                href=routes.CLIENTS_IMPORT,
                id="clients-import",
            ),
            rx.button(
                rx.icon("plus", size=16),
                "Add client",
                on_click=ClientsState.open_new,
                id="clients-add",
            ),
            spacing="3",
        ),
    )


def _clients_content() -> rx.Component:
    export = rx.button(
        rx.icon("download", size=16),
        "Export CSV",
        variant="outline",
        color_scheme="gray",
        on_click=ClientsState.export_csv,
        id="clients-export",
    )
    return rx.vstack(
        resource_toolbar(CLIENTS, export),
        resource_table(
            CLIENTS,
            rx.cond(
                ClientsState.can_write,
                rx.button(rx.icon("plus", size=16), "Add client", on_click=ClientsState.open_new),
            ),
        ),
        client_form(),
        width="100%",
        spacing="4",
    )


def clients_page() -> rx.Component:
    return admin_page("Clients", ClientsState.status, _clients_content, actions=_list_actions())
