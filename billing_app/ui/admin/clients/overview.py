"""The client overview (/clients/[client_id]): figures, then two tabs: Overview (contact,
websites, products and services, invoices and payments) and Users (the client's portal users)."""

from __future__ import annotations

import reflex as rx

from billing_app.ui import routes
from billing_app.ui.admin.clients.credit_card import client_credit_card
from billing_app.ui.admin.clients.list import ClientsState, client_form
from billing_app.ui.admin.clients.overview_state import ClientState
from billing_app.ui.admin.clients.revenue_charts import client_revenue_charts
from billing_app.ui.admin.clients.users_state import ClientUsersState
from billing_app.ui.admin.clients.users_tab import users_tab
from billing_app.ui.admin.invoices.list import status_badge
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.admin.subscriptions.attach import AttachState, attach_dialog
from billing_app.ui.admin.subscriptions.state import SubscriptionsState
from billing_app.ui.admin.subscriptions.subscriptions import (
    CLIENT_SUBSCRIPTIONS,
    change_dialog,
    history_dialog,
)
from billing_app.ui.kit.resource import (
    confirm_button,
    empty_state,
    money_text,
    resource_table,
    stat_card,
)


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
                    rx.cond(
                        ClientState.can_write,
                        rx.text(
                            "Brand",
                            size="1",
                            color_scheme="gray",
                            as_="label",
                            custom_attrs={"htmlFor": "client-brand"},
                        ),
                        rx.text("Brand", size="1", color_scheme="gray"),
                    ),
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


SUBSCRIPTIONS_PANEL = "client-subscriptions-panel"


def _tab(value: str, label: str) -> rx.Component:
    return rx.tabs.trigger(
        rx.hstack(
            rx.text(label, as_="span"),
            rx.badge(ClientState.tab_counts[value], variant="soft", radius="full", size="1"),
            spacing="2",
            align="center",
        ),
        value=value,
        id=f"tab-{value}",
        # The tabs filter one list (no Radix tab panel): they control it.
        aria_controls=SUBSCRIPTIONS_PANEL,
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
            rx.table.cell(status_badge(i["status"], i["status_label"])),
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
                    rx.link("All invoices", href=routes.INVOICES, size="2"),
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


def _overview_grid() -> rx.Component:
    """The Overview tab: contact, websites, products and services, invoices and payments."""
    return rx.grid(
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
                        value=SubscriptionsState.filters["tab"],
                        on_change=lambda v: SubscriptionsState.set_filter("tab", v),
                        width="100%",
                    ),
                    rx.box(
                        resource_table(CLIENT_SUBSCRIPTIONS),
                        id=SUBSCRIPTIONS_PANEL,
                        role="tabpanel",
                        aria_labelledby="tab-" + SubscriptionsState.filters["tab"],
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                width="100%",
                min_width="0",
            ),
            _invoices_card(),
            client_credit_card(),
            spacing="4",
            width="100%",
            min_width="0",
        ),
        columns="minmax(260px, 1fr) 3fr",
        spacing="4",
        width="100%",
    )


def _client_tabs() -> rx.Component:
    """Overview and Users (the client's portal users, ui/admin/clients/users_tab.py)."""
    return rx.tabs.root(
        rx.tabs.list(
            rx.tabs.trigger("Overview", value="overview", id="client-tab-overview"),
            rx.tabs.trigger(
                rx.hstack(
                    rx.text("Users", as_="span"),
                    rx.badge(
                        ClientUsersState.total.to_string(), variant="soft", radius="full", size="1"
                    ),
                    spacing="2",
                    align="center",
                ),
                value="users",
                id="client-tab-users",
            ),
        ),
        rx.tabs.content(_overview_grid(), value="overview", padding_top="16px"),
        rx.tabs.content(users_tab(), value="users", padding_top="16px"),
        default_value="overview",
        width="100%",
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
                    href=routes.CLIENTS,
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
                    ClientState.can_preview_portal & (c["archived"] != "yes"),
                    rx.link(
                        rx.button(
                            rx.icon("eye", size=16),
                            "Preview portal",
                            variant="soft",
                            color_scheme="gray",
                            white_space="nowrap",
                        ),
                        href=ClientState.preview_url,
                        is_external=True,
                        id="client-preview-portal",
                        title="Opens, in a new tab, the client's portal as a view-only user sees "
                        "it (read-only, audited)",
                    ),
                ),
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
                        on_click=AttachState.open_attach,
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
            client_revenue_charts(),
            _client_tabs(),
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
                rx.link(rx.button("Back to clients", variant="soft"), href=routes.CLIENTS),
            ),
            id="client-not-found",
            width="100%",
        ),
    )


def client_page() -> rx.Component:
    return admin_page("", ClientState.status, _overview_content)
