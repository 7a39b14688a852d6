"""The client's company and billing details in the portal (/portal/account): read by every
member, changed by those whose role may edit billing details (every field's problem at once)."""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx

from billing_app.domain.permissions import ClientPermission
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.services.customers import portal_account
from billing_app.ui.kit.forms import field_error, form_alert
from billing_app.ui.kit.layout import field_label
from billing_app.ui.portal.frame import PortalPageState, portal_page
from billing_app.ui.portal.payment_methods import payment_methods_section
from billing_app.ui.session.portal import current_client_user, portal_guard
from billing_app.ui.session.staff import field_errors

FIELDS: tuple[tuple[str, str, str], ...] = (
    ("company", "Company name", "organization"),
    ("contact_name", "Contact name", "name"),
    ("email", "Billing email (where invoices go)", "email"),
    ("phone", "Phone", "tel"),
    ("address_line1", "Address", "address-line1"),
    ("address_line2", "Address (line 2)", "address-line2"),
    ("postal_code", "Postal code", "postal-code"),
    ("city", "City", "address-level2"),
    ("region", "Region", "address-level1"),
    ("country", "Country (two letters, e.g. FR)", "country"),
    ("tax_id", "Tax ID (VAT number)", "off"),
)


class PortalAccountState(PortalPageState):
    details: dict[str, str] = {}
    errors: dict[str, str] = {}
    form_key: int = 0

    def _fill(self) -> None:
        details = run(portal_account.billing_details, current_client_user())
        self.details = dataclasses.asdict(details)
        self.form_key += 1

    @portal_guard(None)
    def load(self) -> Any:
        self._frame()
        gate = self._two_factor_gate()
        if gate is not None:
            return gate
        self.errors = {}
        self._fill()
        return None

    @portal_guard(ClientPermission.BILLING_DETAILS_EDIT)
    def save(self, form: dict[str, Any]) -> Any:
        data = portal_account.BillingDetails(
            **{name: str(form.get(name, ""))[:5000] for name, _, _ in FIELDS}
        )
        try:
            run(portal_account.update_billing_details, current_client_user(), data)
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.errors = {}
        self._fill()
        return rx.toast.success("Your details were saved.")


S = PortalAccountState


def _field(name: str, label: str, autocomplete: str) -> rx.Component:
    field_id = f"account-{name.replace('_', '-')}"
    return rx.vstack(
        field_label(label, field_id),
        rx.input(
            name=name,
            default_value=S.details[name],
            id=field_id,
            auto_complete=autocomplete,
            read_only=~S.granted.contains(ClientPermission.BILLING_DETAILS_EDIT.value),  # type: ignore[attr-defined]
            aria_invalid=rx.cond(S.errors.contains(name), "true", "false"),  # type: ignore[attr-defined]
            width="100%",
        ),
        field_error(S.errors, name),
        spacing="1",
        width="100%",
    )


def _content() -> rx.Component:
    can_edit = S.granted.contains(ClientPermission.BILLING_DETAILS_EDIT.value)  # type: ignore[attr-defined]
    return rx.card(
        rx.form(
            rx.vstack(
                rx.cond(
                    ~can_edit,
                    rx.callout(
                        "Your role lets you read these details. A colleague with full access "
                        "can change them.",
                        icon="info",
                        size="1",
                    ),
                ),
                form_alert(S.errors),
                rx.grid(
                    *[_field(name, label, auto) for name, label, auto in FIELDS],
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="3",
                    width="100%",
                    key=S.form_key,
                ),
                rx.cond(
                    can_edit,
                    rx.hstack(
                        rx.button("Save details", type="submit", id="account-save"),
                        justify="end",
                        width="100%",
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=S.save,
            reset_on_submit=False,
        ),
        width="100%",
        id="portal-account",
    )


def _account() -> rx.Component:
    return rx.vstack(_content(), payment_methods_section(), spacing="4", width="100%")


def portal_account_page() -> rx.Component:
    return portal_page("Company & billing details", _account)
