"""Agency settings (/settings): legal details, defaults, numbering."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.agency import branding
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.admin.settings.dunning import dunning_settings_section
from billing_app.ui.admin.settings.form import (
    error_text,
    labelled,
    picker_field,
    section,
    text_area_input,
    text_input,
)
from billing_app.ui.admin.settings.portal import portal_settings_section
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.kit.layout import form_error
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

FIELDS = (
    "legal_name",
    "address",
    "tax_id",
    "email",
    "default_currency",
    "locale",
    "time_zone",
    "payment_terms_days",
    "number_format",
    "number_reset",
    "credit_note_format",
    "credit_note_reset",
    "renewal_catch_up",
)


def _reset_select(v: Any, e: Any, name: str) -> rx.Component:
    return rx.vstack(
        labelled(
            "Restart numbering",
            rx.el.select(
                rx.el.option("Never", value="never"),
                rx.el.option("Every year", value="yearly"),
                rx.el.option("Every month", value="monthly"),
                name=name,
                id=name,
                default_value=v[name],
                style={
                    "width": "100%",
                    "height": "32px",
                    "border": "1px solid var(--gray-7)",
                    "border_radius": "6px",
                    "padding": "0 8px",
                    "background": "var(--color-surface)",
                    "font_size": "14px",
                },
            ),
            html_for=name,
        ),
        error_text(e, name),
        width="100%",
    )


class SettingsState(SessionState):
    status: str = "loading"
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    can_write: bool = False
    time_zones: list[str] = []
    form_key: int = 0

    def _refresh(self) -> None:
        user = current_user()
        agency = run(branding.agency_settings, user)
        self.values = {
            "legal_name": agency.legal_name,
            "address": agency.address,
            "tax_id": agency.tax_id,
            "email": agency.email,
            "default_currency": agency.default_currency,
            "locale": agency.locale,
            "time_zone": agency.time_zone,
            "payment_terms_days": str(agency.payment_terms_days),
            "number_format": agency.number_format,
            "number_reset": agency.number_reset,
            "credit_note_format": agency.credit_note_format,
            "credit_note_reset": agency.credit_note_reset,
            "renewal_catch_up": str(agency.renewal_catch_up),
            "auto_charge": "on" if agency.auto_charge else "",
        }
        self.can_write = user.can(Permission.SETTINGS_WRITE)
        if not self.time_zones:
            self.time_zones = branding.time_zones()
        self.form_key += 1
        self.status = "ok"

    @guard(Permission.SETTINGS_READ)
    def load(self) -> None:
        self.errors = {}
        self._refresh()

    @guard(Permission.SETTINGS_WRITE)
    def save(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        data = {name: str(form.get(name, self.values.get(name, ""))) for name in FIELDS}
        data["auto_charge"] = "on" if form.get("auto_charge") else ""  # unticked: not sent
        try:
            run(branding.update_agency, current_user(), branding.AgencyInput(**data))
        except ServiceError as exc:
            self.errors = field_errors(exc)
            self.values = data
            if len(self.errors) > 1:
                return rx.toast.error("Check the highlighted fields.")
            return rx.toast.error("Check the highlighted field.")
        self._refresh()
        return rx.toast.success("Settings saved.")


def _settings_content() -> rx.Component:
    s = SettingsState
    v, e = s.values, s.errors
    return rx.form(
        rx.vstack(
            form_error(e),
            section(
                "Your agency",
                "Printed on every invoice as the seller.",
                text_input(v, e, "Legal name", "legal_name", placeholder="Studio Nord Oy"),
                text_area_input(v, e, "Address", "address", rows="3"),
                rx.grid(
                    text_input(v, e, "Tax id", "tax_id", placeholder="FI12345678"),
                    text_input(v, e, "Billing email", "email", type_="email"),
                    columns="2",
                    spacing="4",
                    width="100%",
                ),
            ),
            section(
                "Billing defaults",
                "Used for new clients and new invoices.",
                rx.grid(
                    picker_field(
                        v, e, "Default currency", "default_currency", "currency", "Type to search."
                    ),
                    picker_field(
                        v, e, "Language and region", "locale", "locale", "e.g. en, en_GB, fr_FR"
                    ),
                    columns="2",
                    spacing="4",
                    width="100%",
                ),
                rx.grid(
                    rx.vstack(
                        labelled(
                            "Time zone",
                            rx.el.select(
                                rx.foreach(
                                    s.time_zones,
                                    lambda z: rx.el.option(z, value=z),
                                ),
                                name="time_zone",
                                id="time_zone",
                                default_value=v["time_zone"],
                                style={
                                    "width": "100%",
                                    "height": "32px",
                                    "border": "1px solid var(--gray-7)",
                                    "border_radius": "6px",
                                    "padding": "0 8px",
                                    "background": "var(--color-surface)",
                                    "font_size": "14px",
                                },
                            ),
                            "Due dates and overdue are computed in this time zone.",
                            html_for="time_zone",
                        ),
                        error_text(e, "time_zone"),
                        width="100%",
                    ),
                    text_input(
                        v,
                        e,
                        "Payment terms (days)",
                        "payment_terms_days",
                        type_="number",
                        hint="The default due date of new invoices.",
                    ),
                    columns="2",
                    spacing="4",
                    width="100%",
                ),
            ),
            section(
                "Invoice numbering",
                "Numbers are assigned when an invoice is sent: per brand, unique, without gaps.",
                text_input(
                    v,
                    e,
                    "Number format",
                    "number_format",
                    hint="{YYYY} year, {YY}, {MM} month, {SEQ:5} sequence padded to 5 digits.",
                ),
                _reset_select(v, e, "number_reset"),
            ),
            section(
                "Credit note numbering",
                "Credit notes have their own sequence per brand, assigned when one is issued.",
                text_input(
                    v,
                    e,
                    "Credit note format",
                    "credit_note_format",
                    hint="The same codes as invoice numbers, e.g. CN-{YYYY}-{SEQ:5}.",
                ),
                _reset_select(v, e, "credit_note_reset"),
            ),
            section(
                "Renewals",
                "Subscriptions are invoiced on the first day of each period. After downtime, the "
                "missed periods are billed oldest first, up to this many per subscription; the "
                "rest wait on the Renewals page for you to bill or skip.",
                text_input(
                    v,
                    e,
                    "Missed periods billed per subscription",
                    "renewal_catch_up",
                    hint="1 to 24 (default 3).",
                ),
                rx.vstack(
                    rx.checkbox(
                        "Charge renewal invoices at once to the client's default card",
                        name="auto_charge",
                        id="auto_charge",
                        default_checked=v["auto_charge"] == "on",
                    ),
                    rx.text(
                        "Clients without a saved card get the invoice by email, to pay by its "
                        "due date. A client can be set apart on its page.",
                        size="1",
                        color_scheme="gray",
                    ),
                    spacing="1",
                ),
            ),
            rx.cond(
                s.can_write,
                rx.hstack(
                    rx.button("Save settings", type="submit", id="settings-save", size="3"),
                    justify="end",
                    width="100%",
                ),
                rx.callout(
                    "You can see the settings; changing them needs the settings.write permission.",
                    icon="info",
                    width="100%",
                ),
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=s.save,
        reset_on_submit=False,
        key=s.form_key,
        width="100%",
    )


def settings_page() -> rx.Component:
    return admin_page(
        "Settings",
        SettingsState.status,
        lambda: rx.vstack(
            _settings_content(),
            portal_settings_section(),
            dunning_settings_section(),
            spacing="4",
            width="100%",
        ),
    )
