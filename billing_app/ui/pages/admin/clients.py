"""Clients list, client overview (/clients/[client_id]) and CSV import."""

from __future__ import annotations

import reflex as rx

from billing_app.domain.permissions import FIGURE_PERMISSIONS
from billing_app.ui.components.layout import admin_page
from billing_app.ui.components.resource import (
    Column,
    Filter,
    FormField,
    Resource,
    RowAction,
    confirm_button,
    empty_state,
    field_error,
    form_alert,
    form_grid,
    money_text,
    resource_table,
    resource_toolbar,
    stat_card,
    status_badge,
)
from billing_app.ui.pages.admin.subscriptions import (
    CLIENT_SUBSCRIPTIONS,
    change_dialog,
    history_dialog,
)
from billing_app.ui.state.clients import ClientsState, ClientState, ImportState
from billing_app.ui.state.subscriptions import SubscriptionsState

CURRENCIES = tuple(
    (c, c) for c in ("EUR", "USD", "GBP", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "JPY")
)
LOCALES = (
    ("en", "English"),
    ("en_GB", "English (UK)"),
    ("en_US", "English (US)"),
    ("fr", "French"),
    ("de", "German"),
    ("es", "Spanish"),
    ("it", "Italian"),
    ("nl", "Dutch"),
    ("pt", "Portuguese"),
)

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
        kind="select",
        options=CURRENCIES,
        span=1,
        hint="Invoices and subscriptions are in this currency.",
    ),
    FormField("locale", "Language", kind="select", options=LOCALES, span=1),
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
            "status_filter",
            "set_status_filter",
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
        ),
        rx.input(
            name="site_url_" + i,
            default_value=row["url"],
            placeholder="https://example.com",
            width="60%",
            id="site-url-" + i,
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
                href="/clients/import",
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


# --------------------------------------------------------------------------- overview


def _detail(label: str, value: rx.Var | str, icon: str) -> rx.Component:
    return rx.hstack(
        rx.icon(icon, size=16, color=rx.color("gray", 9), margin_top="2px"),
        rx.vstack(
            rx.text(label, size="1", color_scheme="gray"),
            rx.text(value, size="2"),
            spacing="0",
        ),
        spacing="3",
        align="start",
    )


def _contact_card() -> rx.Component:
    c = ClientState.client
    return rx.card(
        rx.vstack(
            rx.text("Contact & billing", weight="bold", size="3"),
            _detail("Contact", c["contact_name"], "user"),
            _detail("Email", c["email"], "mail"),
            _detail("Phone", c["phone"], "phone"),
            rx.hstack(
                rx.icon("map-pin", size=16, color=rx.color("gray", 9), margin_top="2px"),
                rx.vstack(
                    rx.text("Billing address", size="1", color_scheme="gray"),
                    rx.cond(
                        ClientState.address_lines.length() > 0,
                        rx.foreach(ClientState.address_lines, lambda line: rx.text(line, size="2")),
                        rx.text("—", size="2"),
                    ),
                    spacing="0",
                ),
                spacing="3",
                align="start",
            ),
            _detail("Tax ID", c["tax_id"], "file-badge"),
            _detail("Currency · language", c["currency"] + " · " + c["locale"], "coins"),
            _detail("Client since", c["created"], "calendar"),
            rx.hstack(
                rx.icon("palette", size=16, color=rx.color("gray", 9), margin_top="2px"),
                rx.vstack(
                    rx.text("Brand", size="1", color_scheme="gray"),
                    rx.cond(
                        ClientState.can_write,
                        rx.el.select(
                            rx.foreach(
                                ClientState.brand_options,
                                lambda o: rx.el.option(o["label"], value=o["value"]),
                            ),
                            value=c["brand_id"],
                            on_change=ClientState.set_brand,
                            id="client-brand",
                            style={"font_size": "14px", "padding": "2px 4px"},
                        ),
                        rx.text(c["brand_label"], size="2"),
                    ),
                    spacing="0",
                ),
                spacing="3",
                align="start",
            ),
            rx.cond(
                c["notes"] != "",
                rx.callout(
                    c["notes"], icon="sticky-note", color_scheme="gray", size="1", width="100%"
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _websites_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text("Websites", weight="bold", size="3"),
            rx.cond(
                ClientState.websites.length() > 0,
                rx.vstack(
                    rx.foreach(
                        ClientState.websites,
                        lambda w: rx.hstack(
                            rx.icon("globe", size=16, color=rx.color("accent", 9)),
                            rx.vstack(
                                rx.text(w["name"], size="2", weight="medium"),
                                rx.link(w["host"], href=w["url"], is_external=True, size="1"),
                                spacing="0",
                            ),
                            spacing="3",
                            align="center",
                        ),
                    ),
                    spacing="3",
                    id="client-websites",
                ),
                rx.text("No websites yet.", size="2", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _tab(value: str, label: str) -> rx.Component:
    return rx.tabs.trigger(
        rx.hstack(
            rx.text(label),
            rx.badge(ClientState.tab_counts[value], variant="soft", radius="full", size="1"),
            spacing="2",
            align="center",
        ),
        value=value,
        id=f"tab-{value}",
    )


def attach_dialog() -> rx.Component:
    s = ClientState
    v = s.attach_values
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Attach a product or service"),
            rx.dialog.description(
                "Recurring products start a subscription; one-time products record a purchase.",
                size="2",
                color_scheme="gray",
            ),
            rx.form(
                rx.vstack(
                    form_alert(s.attach_errors),
                    rx.grid(
                        rx.vstack(
                            rx.text("Product", size="2", weight="medium"),
                            rx.select.root(
                                rx.select.trigger(
                                    placeholder="Choose a product",
                                    width="100%",
                                    id="attach-product",
                                ),
                                rx.select.content(
                                    rx.foreach(
                                        s.product_options,
                                        lambda o: rx.select.item(o["label"], value=o["value"]),
                                    )
                                ),
                                name="product_id",
                                default_value=v["product_id"],
                            ),
                            field_error(s.attach_errors, "product_id"),
                            spacing="1",
                            grid_column="span 2",
                        ),
                        rx.vstack(
                            rx.text("Website", size="2", weight="medium"),
                            rx.select.root(
                                rx.select.trigger(width="100%", id="attach-website"),
                                rx.select.content(
                                    rx.select.item("Not tied to a website", value="none"),
                                    rx.foreach(
                                        s.website_options,
                                        lambda o: rx.select.item(o["label"], value=o["value"]),
                                    ),
                                ),
                                name="website_id",
                                default_value=v["website_id"],
                            ),
                            field_error(s.attach_errors, "website_id"),
                            spacing="1",
                            grid_column="span 2",
                        ),
                        rx.vstack(
                            rx.text("Quantity", size="2", weight="medium"),
                            rx.input(
                                name="quantity",
                                type="number",
                                min="1",
                                default_value=v["quantity"],
                                id="attach-quantity",
                            ),
                            field_error(s.attach_errors, "quantity"),
                            spacing="1",
                        ),
                        rx.vstack(
                            rx.text(
                                "Price override (",
                                ClientState.client["currency"],
                                ")",
                                size="2",
                                weight="medium",
                            ),
                            rx.input(
                                name="price",
                                placeholder="Catalog price",
                                default_value=v["price"],
                                id="attach-price",
                            ),
                            field_error(s.attach_errors, "price"),
                            spacing="1",
                        ),
                        rx.vstack(
                            rx.text("Start date", size="2", weight="medium"),
                            rx.input(
                                name="start_date",
                                type="date",
                                default_value=v["start_date"],
                                id="attach-start",
                            ),
                            field_error(s.attach_errors, "start_date"),
                            spacing="1",
                        ),
                        rx.vstack(
                            rx.text("Trial days", size="2", weight="medium"),
                            rx.input(
                                name="trial_days",
                                type="number",
                                min="0",
                                default_value=v["trial_days"],
                                id="attach-trial",
                            ),
                            field_error(s.attach_errors, "trial_days"),
                            spacing="1",
                        ),
                        columns="2",
                        spacing="3",
                        width="100%",
                        key=s.attach_key,
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Attach", type="submit", id="attach-save"),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=s.attach,
                reset_on_submit=False,
            ),
            max_width="560px",
        ),
        open=s.attach_open,
        on_open_change=s.set_attach_open,
    )


INVOICE_COLORS = (
    ("draft", "gray"),
    ("open", "blue"),
    ("overdue", "red"),
    ("paid", "green"),
    ("partially_paid", "amber"),
    ("void", "gray"),
    ("uncollectible", "orange"),
    ("refunded", "violet"),
    ("partially_refunded", "violet"),
)


def _mini_table(headers: list[tuple[str, str]], rows, cells, table_id: str) -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(label, text_align=align, white_space="nowrap")
                    for label, align in headers
                ]
            )
        ),
        rx.table.body(rx.foreach(rows, lambda r: rx.table.row(*cells(r), align="center"))),
        variant="ghost",
        size="1",
        width="100%",
        id=table_id,
    )


def _invoices_card() -> rx.Component:
    s = ClientState
    invoices = _mini_table(
        [
            ("Invoice", "left"),
            ("Status", "left"),
            ("Issued", "left"),
            ("Due", "left"),
            ("Total", "right"),
            ("Balance", "right"),
        ],
        s.invoices,
        lambda i: [
            rx.table.cell(rx.link(i["number"], href=i["href"], weight="medium")),
            rx.table.cell(status_badge(i["status"], i["status_label"], INVOICE_COLORS)),
            rx.table.cell(rx.text(i["issued"], size="2", white_space="nowrap")),
            rx.table.cell(rx.text(i["due_date"], size="2", white_space="nowrap")),
            rx.table.cell(money_text(i["total"]), text_align="right"),
            rx.table.cell(money_text(i["due"]), text_align="right"),
        ],
        "client-invoices",
    )
    payments = _mini_table(
        [
            ("Date", "left"),
            ("Invoice", "left"),
            ("Method", "left"),
            ("Reference", "left"),
            ("Amount", "right"),
        ],
        s.payments,
        lambda p: [
            rx.table.cell(rx.text(p["date"], size="2", white_space="nowrap")),
            rx.table.cell(rx.link(p["invoice"], href=p["href"])),
            rx.table.cell(rx.text(p["kind_label"], " · ", p["method"], size="2")),
            rx.table.cell(rx.text(p["reference"], size="2", color_scheme="gray")),
            rx.table.cell(money_text(p["amount"]), text_align="right"),
        ],
        "client-payments",
    )
    return rx.cond(
        s.can_see_invoices,
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.text("Invoices", weight="bold", size="3"),
                    rx.spacer(),
                    rx.link("All invoices", href="/invoices", size="2"),
                    width="100%",
                ),
                rx.cond(
                    s.invoices.length() > 0,
                    invoices,
                    rx.text("No invoices yet.", size="2", color_scheme="gray"),
                ),
                rx.cond(
                    s.payments.length() > 0,
                    rx.vstack(
                        rx.text("Payments", weight="bold", size="3", padding_top="8px"),
                        payments,
                        width="100%",
                        spacing="2",
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
    )


def _overview_content() -> rx.Component:
    c = ClientState.client
    f = ClientState.figures
    return rx.cond(
        ClientState.found,
        rx.vstack(
            rx.hstack(
                rx.link(
                    rx.hstack(
                        rx.icon("arrow-left", size=14),
                        rx.text("Clients", size="2"),
                        spacing="1",
                        align="center",
                    ),
                    href="/clients",
                    color_scheme="gray",
                ),
                width="100%",
            ),
            rx.hstack(
                rx.center(
                    rx.text(
                        c["company"][:1], size="6", weight="bold", color=rx.color("accent", 11)
                    ),
                    width="56px",
                    height="56px",
                    border_radius="12px",
                    background=rx.color("accent", 3),
                ),
                rx.vstack(
                    rx.hstack(
                        rx.heading(c["company"], size="7", id="client-name"),
                        status_badge(c["status"], c["status_label"]),
                        spacing="3",
                        align="center",
                    ),
                    rx.text(c["email"], color_scheme="gray", size="2"),
                    spacing="1",
                ),
                rx.spacer(),
                rx.cond(
                    ClientState.can_write & (c["archived"] != "yes"),
                    rx.button(
                        rx.icon("pencil", size=16),
                        "Edit",
                        variant="soft",
                        on_click=ClientsState.open_edit(c["id"]),
                        id="client-edit",
                    ),
                ),
                rx.cond(
                    ClientState.can_write_subscriptions & (c["archived"] != "yes"),
                    rx.button(
                        rx.icon("plus", size=16),
                        "Attach product",
                        on_click=ClientState.open_attach,
                        id="client-attach",
                    ),
                ),
                rx.cond(
                    ClientState.can_write & (c["archived"] != "yes"),
                    confirm_button(
                        rx.button(
                            rx.icon("archive", size=16),
                            "Archive",
                            variant="soft",
                            color_scheme="red",
                            id="client-archive",
                        ),
                        "Archive " + c["company"] + "?",
                        "The client disappears from the current list; its history is kept. "
                        "Cancel its running subscriptions first.",
                        "Archive",
                        ClientsState.archive(c["id"]),
                        "red",
                    ),
                ),
                rx.cond(
                    ClientState.can_write & (c["archived"] == "yes"),
                    rx.button(
                        rx.icon("archive-restore", size=16),
                        "Restore",
                        variant="soft",
                        on_click=ClientsState.restore(c["id"]),
                    ),
                ),
                width="100%",
                align="center",
                spacing="3",
            ),
            rx.grid(
                # Only the figures the role may see (docs/security.md item 43).
                rx.cond(
                    f.contains("mrr"),
                    stat_card(
                        "MRR",
                        f["mrr"],
                        "trending-up",
                        "client-mrr",
                        rx.text("ARR ", f["arr"], size="1", color_scheme="gray"),
                    ),
                ),
                stat_card("Active subscriptions", f["active"], "repeat", "client-active"),
                rx.cond(
                    f.contains("net_invoiced"),
                    stat_card("Net invoiced", f["net_invoiced"], "receipt", "client-net-invoiced"),
                ),
                rx.cond(
                    f.contains("outstanding"),
                    stat_card("Outstanding", f["outstanding"], "hourglass", "client-outstanding"),
                ),
                columns="4",
                spacing="4",
                width="100%",
            ),
            rx.grid(
                rx.vstack(_contact_card(), _websites_card(), spacing="4", width="100%"),
                rx.vstack(
                    rx.card(
                        rx.vstack(
                            rx.text("Products & services", weight="bold", size="3"),
                            rx.tabs.root(
                                rx.tabs.list(
                                    _tab("active", "Active"),
                                    _tab("one_time", "One-time"),
                                    _tab("inactive", "Inactive"),
                                ),
                                value=SubscriptionsState.tab,
                                on_change=SubscriptionsState.set_tab,
                                width="100%",
                            ),
                            resource_table(CLIENT_SUBSCRIPTIONS),
                            spacing="3",
                            width="100%",
                        ),
                        width="100%",
                        min_width="0",
                    ),
                    _invoices_card(),
                    spacing="4",
                    width="100%",
                    min_width="0",
                ),
                columns="minmax(260px, 1fr) 3fr",
                spacing="4",
                width="100%",
            ),
            attach_dialog(),
            change_dialog(),
            history_dialog(),
            client_form(),
            width="100%",
            spacing="5",
        ),
        rx.card(
            empty_state(
                "search-x",
                "Client not found",
                "This client does not exist. It may have been mistyped in the address.",
                rx.link(rx.button("Back to clients", variant="soft"), href="/clients"),
            ),
            id="client-not-found",
            width="100%",
        ),
    )


def client_page() -> rx.Component:
    return admin_page("", ClientState.status, _overview_content)


# --------------------------------------------------------------------------- import


def _preview_row(row: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["line"], color_scheme="gray", size="2")),
        rx.table.cell(
            rx.cond(
                row["ok"] == "yes",
                rx.badge(rx.icon("check", size=12), "Ready", color_scheme="green", variant="soft"),
                rx.badge(rx.icon("x", size=12), "Skipped", color_scheme="red", variant="soft"),
            )
        ),
        rx.table.cell(rx.text(row["company"], weight="medium")),
        rx.table.cell(rx.text(row["email"], size="2")),
        rx.table.cell(rx.text(row["currency"], size="2")),
        rx.table.cell(rx.text(row["websites"], size="2", color_scheme="gray")),
        rx.table.cell(rx.text(row["error"], color_scheme="red", size="2")),
        id="import-row-" + row["line"],
        background=rx.cond(row["ok"] == "yes", "transparent", rx.color("red", 2)),
    )


def _import_content() -> rx.Component:
    s = ImportState
    return rx.vstack(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=14),
                rx.text("Clients", size="2"),
                spacing="1",
                align="center",
            ),
            href="/clients",
            color_scheme="gray",
        ),
        rx.card(
            rx.vstack(
                rx.text(
                    "The first row names the columns: company and email are required; "
                    "contact name, phone, address, city, postal code, country, currency, "
                    "language, tax ID, notes and website(s) are optional. Comma, semicolon or "
                    "tab separated, UTF-8 or Latin-1. Rows whose email matches an existing "
                    "client are skipped, so importing the same file twice creates nothing new.",
                    size="2",
                    color_scheme="gray",
                ),
                rx.upload.root(
                    rx.vstack(
                        rx.icon("file-spreadsheet", size=32, color=rx.color("accent", 9)),
                        rx.text("Drop a CSV file here or click to choose one", weight="medium"),
                        rx.text("Up to 5 MB", size="1", color_scheme="gray"),
                        align="center",
                        spacing="2",
                    ),
                    id="clients-csv",
                    accept={"text/csv": [".csv"], "text/plain": [".txt"]},
                    max_files=1,
                    multiple=False,
                    on_drop=ImportState.upload(rx.upload_files(upload_id="clients-csv")),
                    border=f"2px dashed {rx.color('accent', 7)}",
                    border_radius="12px",
                    padding="32px",
                    width="100%",
                    cursor="pointer",
                    background=rx.color("accent", 2),
                ),
                rx.cond(
                    s.error != "",
                    rx.callout(
                        s.error,
                        icon="triangle-alert",
                        color_scheme="red",
                        id="import-error",
                        width="100%",
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        rx.cond(
            s.rows.length() > 0,
            rx.vstack(
                rx.hstack(
                    rx.text(s.file_name, weight="bold"),
                    rx.badge(
                        s.valid.to_string() + " ready", color_scheme="green", id="import-valid"
                    ),
                    rx.badge(
                        s.invalid.to_string() + " with problems",
                        color_scheme="red",
                        id="import-invalid",
                    ),
                    rx.spacer(),
                    rx.cond(
                        s.imported >= 0,
                        rx.callout(
                            s.imported.to_string() + " clients imported.",
                            icon="check",
                            color_scheme="green",
                            size="1",
                            id="import-done",
                        ),
                        rx.button(
                            rx.icon("upload", size=16),
                            "Import " + s.valid.to_string() + " valid rows",
                            on_click=ImportState.run_import,
                            disabled=s.valid == 0,
                            id="import-run",
                        ),
                    ),
                    width="100%",
                    align="center",
                    spacing="3",
                ),
                rx.cond(
                    s.ignored != "",
                    rx.text("Ignored columns: ", s.ignored, size="1", color_scheme="gray"),
                ),
                rx.card(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Row"),
                                rx.table.column_header_cell(""),
                                rx.table.column_header_cell("Company"),
                                rx.table.column_header_cell("Email"),
                                rx.table.column_header_cell("Currency"),
                                rx.table.column_header_cell("Websites"),
                                rx.table.column_header_cell("Problem"),
                            )
                        ),
                        rx.table.body(rx.foreach(s.rows, _preview_row)),
                        variant="ghost",
                        width="100%",
                        id="import-preview",
                    ),
                    padding="0",
                    width="100%",
                ),
                width="100%",
                spacing="3",
            ),
        ),
        width="100%",
        spacing="4",
    )


def clients_import_page() -> rx.Component:
    return admin_page("Import clients", ImportState.status, _import_content)
