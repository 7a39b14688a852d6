"""Products & services and tax rates: plain CRUD pages from resource specs."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.components.layout import admin_page
from billing_app.ui.components.resource import (
    Column,
    Filter,
    FormField,
    Resource,
    RowAction,
    field_error,
    resource_form,
    resource_table,
    resource_toolbar,
)
from billing_app.ui.pages.admin.clients import CURRENCIES
from billing_app.ui.state.catalog import ProductsState, TaxRatesState

PRODUCT_FORM = (
    FormField("name", "Name", required=True, placeholder="Managed hosting"),
    FormField("description", "Description", kind="textarea", placeholder="What the client gets"),
    FormField("price", "Price", required=True, placeholder="25.00", span=1),
    FormField("currency", "Currency", kind="select", options=CURRENCIES, span=1),
    FormField(
        "billing_type",
        "Billing",
        kind="select",
        options=(("recurring", "Recurring"), ("one_time", "One-time")),
        span=2,
    ),
    FormField("interval_count", "Every", kind="number", span=1, hint="For recurring products"),
    FormField(
        "interval_unit",
        "Period",
        kind="select",
        options=(
            ("day", "Day(s)"),
            ("week", "Week(s)"),
            ("month", "Month(s)"),
            ("year", "Year(s)"),
        ),
        span=1,
    ),
    FormField("tax_rate_ids", "Default tax rates", kind="checkboxes", options_var="tax_options"),
)

PRODUCTS = Resource(
    name="products",
    state=ProductsState,
    columns=(
        Column("name", "Product or service", sort="name", sub="description", image="image"),
        Column("type", "Type", kind="badge", label_key="type_label"),
        Column("price", "Price", sort="price", kind="money", align="right"),
        Column("billing", "Billing", kind="muted"),
        Column("taxes", "Tax", kind="muted"),
        Column("used", "Used by", kind="muted"),
    ),
    filters=(
        Filter(
            "status_filter",
            "set_status_filter",
            (("active", "Active"), ("archived", "Archived"), ("all", "All")),
        ),
    ),
    row_actions=(
        RowAction("Edit", "open_edit", icon="pencil", show_if="live"),
        RowAction("Duplicate", "duplicate", icon="copy"),
        RowAction(
            "Archive",
            "archive",
            icon="archive",
            color="orange",
            confirm="Archive this product?",
            confirm_text="It can no longer be attached to clients. Existing subscriptions keep "
            "running and its history stays intact.",
            show_if="live",
        ),
        RowAction("Restore", "restore", icon="archive-restore", show_if="archived"),
        RowAction(
            "Delete",
            "delete",
            icon="trash-2",
            color="red",
            confirm="Delete this product?",
            confirm_text="It was never used, so nothing else changes. This cannot be undone.",
            show_if="deletable",
        ),
    ),
    search_placeholder="Search products and services",
    empty_icon="package",
    empty_title="Your catalog is empty",
    empty_text="Add the services you sell — hosting, site care, one-off work — with their "
    "price and billing period.",
    form_fields=PRODUCT_FORM,
)


def _image_and_options() -> rx.Component:
    s = ProductsState
    return rx.vstack(
        rx.cond(
            s.editing_used,
            rx.checkbox(
                "Also apply a new price to existing subscriptions (from their next period)",
                name="update_subscriptions",
                id="field-update_subscriptions",
            ),
        ),
        rx.cond(
            s.editing_id != "",
            rx.hstack(
                rx.cond(
                    s.editing_image != "",
                    rx.image(
                        src=s.editing_image,
                        width="56px",
                        height="56px",
                        object_fit="cover",
                        border_radius="8px",
                    ),
                    rx.center(
                        rx.icon("image", size=20, color=rx.color("gray", 8)),
                        width="56px",
                        height="56px",
                        border_radius="8px",
                        background=rx.color("gray", 3),
                    ),
                ),
                rx.upload.root(
                    rx.button(
                        rx.icon("upload", size=14),
                        "Upload image",
                        size="1",
                        variant="soft",
                        type="button",
                    ),
                    id="product-image",
                    accept={
                        "image/png": [".png"],
                        "image/jpeg": [".jpg", ".jpeg"],
                        "image/gif": [".gif"],
                        "image/webp": [".webp"],
                    },
                    max_files=1,
                    multiple=False,
                    on_drop=ProductsState.upload_image(rx.upload_files(upload_id="product-image")),
                    border="none",
                    padding="0",
                ),
                rx.text(
                    "PNG, JPEG, GIF or WebP up to 2 MB, stored privately.",
                    size="1",
                    color_scheme="gray",
                ),
                field_error(s.form_errors, "image"),
                align="center",
                spacing="3",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _products_content() -> rx.Component:
    return rx.vstack(
        resource_toolbar(PRODUCTS),
        resource_table(
            PRODUCTS,
            rx.cond(
                ProductsState.can_write,
                rx.button(rx.icon("plus", size=16), "New product", on_click=ProductsState.open_new),
            ),
        ),
        resource_form(
            PRODUCTS, submit_label="Save product", extra=_image_and_options(), max_width="600px"
        ),
        width="100%",
        spacing="4",
    )


def products_page() -> rx.Component:
    return admin_page(
        "Products & services",
        ProductsState.status,
        _products_content,
        actions=rx.cond(
            ProductsState.can_write,
            rx.button(
                rx.icon("plus", size=16),
                "New product",
                on_click=ProductsState.open_new,
                id="products-add",
            ),
        ),
    )


TAX_FORM = (
    FormField("name", "Name", required=True, placeholder="VAT", span=1),
    FormField("percent", "Rate (%)", required=True, placeholder="20", span=1),
    FormField(
        "inclusive", "Inclusive", kind="checkbox", placeholder="Prices already include this tax"
    ),
)

TAX_RATES = Resource(
    name="tax-rates",
    state=TaxRatesState,
    columns=(
        Column("name", "Name"),
        Column("percent", "Rate", kind="money", align="right"),
        Column(
            "kind",
            "Applies",
            kind="badge",
            label_key="kind_label",
            badges=(("inclusive", "blue"), ("exclusive", "gray")),
        ),
        Column("status", "Status", kind="badge", label_key="status_label"),
    ),
    filters=(Filter("show", "set_show", (("active", "Active"), ("all", "All"))),),
    row_actions=(
        RowAction("Edit", "open_edit", icon="pencil", show_if="live"),
        RowAction(
            "Archive",
            "archive",
            icon="archive",
            color="orange",
            confirm="Archive this tax rate?",
            confirm_text="It can no longer be chosen for products; "
            "invoices already issued keep it.",
            show_if="live",
        ),
        RowAction("Restore", "restore", icon="archive-restore", show_if="archived"),
    ),
    search_placeholder="Search tax rates",
    empty_icon="percent",
    empty_title="No tax rates yet",
    empty_text="Add the taxes you charge (VAT, GST, sales tax) "
    "and pick them as defaults on products.",
    form_fields=TAX_FORM,
)


def _tax_content() -> rx.Component:
    return rx.vstack(
        resource_toolbar(TAX_RATES),
        resource_table(TAX_RATES),
        resource_form(TAX_RATES, submit_label="Save tax rate", max_width="480px"),
        width="100%",
        spacing="4",
        max_width="820px",
    )


def tax_rates_page() -> rx.Component:
    return admin_page(
        "Tax rates",
        TaxRatesState.status,
        _tax_content,
        actions=rx.cond(
            TaxRatesState.can_write,
            rx.button(
                rx.icon("plus", size=16),
                "New tax rate",
                on_click=TaxRatesState.open_new,
                id="tax-rates-add",
            ),
        ),
    )
