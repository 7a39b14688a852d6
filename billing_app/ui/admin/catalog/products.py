"""Products and services (/products)."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.money import Money
from billing_app.domain.permissions import Permission
from billing_app.services.catalog import product_queries, tax_rates
from billing_app.services.catalog import products as catalog_service
from billing_app.services.common.errors import ServiceError, ValidationFailed
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.admin.catalog.product_self_service import (
    ProductSelfServiceState,
    self_service_dialog,
)
from billing_app.ui.admin.invoices.list import PER_PAGE
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import ADMIN_LOCALE, day, money, to_int
from billing_app.ui.kit.forms import FormField, field_error, file_drop
from billing_app.ui.kit.list_state import ListSpec, ListState
from billing_app.ui.kit.resource import (
    Column,
    Filter,
    Resource,
    RowAction,
    resource_form,
    resource_table,
    resource_toolbar,
)
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

PRODUCT_SORTS = ("name", "price", "created")


PRODUCT_FIELDS = (
    "name",
    "description",
    "price",
    "currency",
    "billing_type",
    "interval_count",
    "interval_unit",
)


def _price_text(amount: Money) -> str:
    return format(amount.to_decimal(), "f")


class ProductsState(ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.CATALOG_READ,
        write=Permission.CATALOG_WRITE,
        sorts=PRODUCT_SORTS,
        default_sort="name",
        starting_descending=frozenset({"created"}),
        filters={"status": ("active", "archived", "all")},
        per_page=PER_PAGE,
    )

    form_open: bool = False
    form_title: str = ""
    form_key: str = "0"
    form_errors: dict[str, str] = {}
    form_values: dict[str, str] = {}
    tax_options: list[dict[str, str]] = []
    editing_id: str = ""
    editing_used: bool = False
    editing_image: str = ""

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        return run(product_queries.list_products, user, request)

    def _row(self, user: Any, r: Any) -> dict[str, str]:
        return {
            "id": str(r.id),
            "name": r.name,
            "description": (r.description[:90] + "…") if len(r.description) > 90 else r.description,
            "price": money(r.price),
            "billing": r.billing_label.capitalize(),
            "type": "recurring" if r.billing_type == "recurring" else "one-time",
            "type_label": "Recurring" if r.billing_type == "recurring" else "One-time",
            "taxes": ", ".join(t.label for t in r.tax_rates) or "—",
            "used": f"{r.subscriptions} subscription{'s' if r.subscriptions != 1 else ''}"
            if r.subscriptions
            else "Not used yet",
            "image": routes.product_image(r.id) if r.image_key else "",
            "archived": "yes" if r.archived else "",
            "live": "" if r.archived else "yes",
            "self_service": "yes" if r.billing_type == "recurring" and not r.archived else "",
            "deletable": "yes" if not r.subscriptions else "",
            "status": "archived" if r.archived else "active",
            "status_label": "Archived" if r.archived else "Active",
            "created": day(r.created_at.date()),
        }

    @guard(Permission.CATALOG_READ)
    def load(self) -> None:
        self.form_open = False
        self._defaults()
        self._first()

    # ---------------------------------------------------------------- add / edit

    def _open(self, title: str, values: dict[str, str], tax_ids: set[int]) -> None:
        rates = run(tax_rates.tax_rate_choices, current_user())
        self.tax_options = [
            {
                "value": str(r.id),
                "label": tax_rates.tax_rate_of(r).label,
                "checked": "yes" if r.id in tax_ids else "",
            }
            for r in rates
        ]
        self.form_title = title
        self.form_values = values
        self.form_errors = {}
        self.form_key = str(to_int(self.form_key) + 1)
        self.form_open = True

    @guard(Permission.CATALOG_WRITE)
    def open_new(self) -> None:
        self.editing_id = ""
        self.editing_used = False
        self.editing_image = ""
        self._open(
            "New product or service",
            {
                "name": "",
                "description": "",
                "price": "",
                "currency": "EUR",
                "billing_type": "recurring",
                "interval_count": "1",
                "interval_unit": "month",
                "update_subscriptions": "",
            },
            set(),
        )

    @guard(Permission.CATALOG_WRITE)
    def open_edit(self, product_id: str) -> Any:
        try:
            row = run(product_queries.product_row, current_user(), to_int(product_id))
            used = row.subscriptions > 0
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self.editing_id = str(row.id)
        self.editing_used = used
        self.editing_image = routes.product_image(row.id) if row.image_key else ""
        self._open(
            f"Edit {row.name}",
            {
                "name": row.name,
                "description": row.description,
                "price": _price_text(row.price),
                "currency": row.price.currency,
                "billing_type": row.billing_type,
                "interval_count": str(row.interval_count),
                "interval_unit": row.interval_unit or "month",
                "update_subscriptions": "",
            },
            set(row.tax_rate_ids),
        )
        return None

    @guard(Permission.CATALOG_WRITE)
    def set_form_open(self, value: bool) -> None:
        self.form_open = bool(value)

    @guard(Permission.CATALOG_WRITE)
    def save(self, form: dict[str, Any]) -> Any:
        self.form_errors = {}
        tax_ids = [
            to_int(key.split("__", 1)[1])
            for key, value in form.items()
            if key.startswith("tax_rate_ids__") and value
        ]
        data = catalog_service.ProductInput(
            name=str(form.get("name", "")),
            description=str(form.get("description", "")),
            price=str(form.get("price", "")),
            currency=str(form.get("currency", "")),
            billing_type=str(form.get("billing_type", "recurring")),
            interval_unit=str(form.get("interval_unit", "month")),
            interval_count=str(form.get("interval_count", "1")),
            tax_rate_ids=tax_ids,
            locale=ADMIN_LOCALE,
        )
        try:
            if self.editing_id:
                product = run(
                    catalog_service.update_product,
                    current_user(),
                    to_int(self.editing_id),
                    data,
                    update_subscriptions=bool(form.get("update_subscriptions")),
                )
            else:
                product = run(catalog_service.create_product, current_user(), data)
            name = product.name
        except ServiceError as exc:
            self.form_values = {k: str(form.get(k, "")) for k in PRODUCT_FIELDS}
            self.tax_options = [
                {**o, "checked": "yes" if to_int(o["value"]) in tax_ids else ""}
                for o in self.tax_options
            ]
            self.form_errors = field_errors(exc)
            return None
        self.form_open = False
        self._reload()
        return rx.toast.success(f"{name} saved.")

    @guard(Permission.CATALOG_WRITE, upload=True)
    async def upload_image(self, files: list[rx.UploadFile]) -> Any:
        if not self.editing_id or not files:
            return rx.toast.error("Save the product first, then add its image.")
        data = await files[0].read()
        return await asyncio.to_thread(self._save_image, data)

    def _save_image(self, data: bytes) -> Any:
        try:
            key = run(
                catalog_service.upload_product_image, current_user(), to_int(self.editing_id), data
            )
        except ValidationFailed as exc:
            self.form_errors = field_errors(exc)
            return None
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self.editing_image = routes.product_image(self.editing_id, key[:8])
        self.form_errors = {}
        self._reload()
        return rx.toast.success("Image saved.")

    @guard(Permission.CATALOG_WRITE)
    def open_self_service(self, product_id: str) -> Any:
        return ProductSelfServiceState.open_for(product_id)  # type: ignore[call-arg]

    @guard(Permission.CATALOG_WRITE)
    def duplicate(self, product_id: str) -> Any:
        try:
            copy = run(catalog_service.duplicate_product, current_user(), to_int(product_id))
            name = copy.name
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._reload()
        return rx.toast.success(f"{name} created.")

    @guard(Permission.CATALOG_WRITE)
    def archive(self, product_id: str) -> Any:
        return self._set_archived(product_id, True)

    @guard(Permission.CATALOG_WRITE)
    def restore(self, product_id: str) -> Any:
        return self._set_archived(product_id, False)

    def _set_archived(self, product_id: str, archived: bool) -> Any:
        try:
            product = run(
                catalog_service.set_product_archived, current_user(), to_int(product_id), archived
            )
            name = product.name
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._reload()
        return rx.toast.success(f"{name} {'archived' if archived else 'restored'}.")

    @guard(Permission.CATALOG_WRITE)
    def delete(self, product_id: str) -> Any:
        try:
            run(catalog_service.delete_product, current_user(), to_int(product_id))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._reload()
        return rx.toast.success("Product deleted.")


PRODUCT_FORM = (
    FormField("name", "Name", required=True, placeholder="Managed hosting"),
    FormField("description", "Description", kind="textarea", placeholder="What the client gets"),
    FormField("price", "Price", required=True, placeholder="25.00", span=1),
    FormField("currency", "Currency", kind="currency", span=1),
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
            "status",
            (("active", "Active"), ("archived", "Archived"), ("all", "All")),
        ),
    ),
    row_actions=(
        RowAction("Edit", "open_edit", icon="pencil", show_if="live"),
        RowAction(
            "Self-service",
            "open_self_service",
            icon="sliders-horizontal",
            show_if="self_service",
        ),
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
                file_drop(
                    "Product image",
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
        self_service_dialog(),
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
