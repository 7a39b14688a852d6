"""Tax rates (/tax-rates)."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.catalog import tax_rates
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import to_int
from billing_app.ui.kit.forms import FormField
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


class TaxRatesState(ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.CATALOG_READ,
        write=Permission.CATALOG_WRITE,
        sorts=("name", "percent"),
        default_sort="name",
        starting_descending=frozenset({"percent"}),
        filters={"show": ("active", "all")},
    )

    form_open: bool = False
    form_title: str = ""
    form_key: str = "0"
    form_errors: dict[str, str] = {}
    form_values: dict[str, str] = {}
    editing_id: str = ""

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        return run(tax_rates.page_tax_rates, user, request)

    def _row(self, user: Any, r: Any) -> dict[str, str]:
        rate = tax_rates.tax_rate_of(r)
        return {
            "id": str(r.id),
            "name": rate.name,
            "percent": f"{rate.percent_text} %",
            "kind": "inclusive" if rate.inclusive else "exclusive",
            "kind_label": "Included in prices" if rate.inclusive else "Added on top",
            "status": "archived" if r.archived else "active",
            "status_label": "Archived" if r.archived else "Active",
            "archived": "yes" if r.archived else "",
            "live": "" if r.archived else "yes",
        }

    @guard(Permission.CATALOG_READ)
    def load(self) -> None:
        self.form_open = False
        self._defaults()
        self._first()

    @guard(Permission.CATALOG_WRITE)
    def open_new(self) -> None:
        self.editing_id = ""
        self.form_title = "New tax rate"
        self.form_values = {"name": "", "percent": "", "inclusive": ""}
        self.form_errors = {}
        self.form_key = str(to_int(self.form_key) + 1)
        self.form_open = True

    @guard(Permission.CATALOG_WRITE)
    def open_edit(self, tax_rate_id: str) -> Any:
        try:
            row = run(tax_rates.get_tax_rate, current_user(), to_int(tax_rate_id))
            rate = tax_rates.tax_rate_of(row)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self.editing_id = str(row.id)
        self.form_title = f"Edit {rate.name}"
        self.form_values = {
            "name": rate.name,
            "percent": rate.percent_text,
            "inclusive": "yes" if rate.inclusive else "",
        }
        self.form_errors = {}
        self.form_key = str(to_int(self.form_key) + 1)
        self.form_open = True
        return None

    @guard(Permission.CATALOG_WRITE)
    def set_form_open(self, value: bool) -> None:
        self.form_open = bool(value)

    @guard(Permission.CATALOG_WRITE)
    def save(self, form: dict[str, Any]) -> Any:
        self.form_errors = {}
        name = str(form.get("name", ""))
        percent = str(form.get("percent", ""))
        inclusive = bool(form.get("inclusive"))
        try:
            if self.editing_id:
                row = run(
                    tax_rates.update_tax_rate,
                    current_user(),
                    to_int(self.editing_id),
                    name=name,
                    percent=percent,
                    inclusive=inclusive,
                )
            else:
                row = run(
                    tax_rates.create_tax_rate,
                    current_user(),
                    name=name,
                    percent=percent,
                    inclusive=inclusive,
                )
            label = tax_rates.tax_rate_of(row).label
        except ServiceError as exc:
            self.form_values = {
                "name": name,
                "percent": percent,
                "inclusive": "yes" if inclusive else "",
            }
            self.form_errors = field_errors(exc)
            return None
        self.form_open = False
        self._reload()
        return rx.toast.success(f"{label} saved.")

    @guard(Permission.CATALOG_WRITE)
    def archive(self, tax_rate_id: str) -> Any:
        return self._set_archived(tax_rate_id, True)

    @guard(Permission.CATALOG_WRITE)
    def restore(self, tax_rate_id: str) -> Any:
        return self._set_archived(tax_rate_id, False)

    def _set_archived(self, tax_rate_id: str, archived: bool) -> Any:
        try:
            run(tax_rates.set_tax_rate_archived, current_user(), to_int(tax_rate_id), archived)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._reload()
        return rx.toast.success("Tax rate archived." if archived else "Tax rate restored.")


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
        Column("name", "Name", sort="name"),
        Column("percent", "Rate", sort="percent", kind="money", align="right"),
        Column(
            "kind",
            "Applies",
            kind="badge",
            label_key="kind_label",
            badges=(("inclusive", "blue"), ("exclusive", "gray")),
        ),
        Column("status", "Status", kind="badge", label_key="status_label"),
    ),
    filters=(Filter("show", (("active", "Active"), ("all", "All"))),),
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
