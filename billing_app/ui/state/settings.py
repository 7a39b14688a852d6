"""The agency settings page: legal details, billing defaults and invoice numbering."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.db.engine import session_scope
from billing_app.domain.permissions import Permission
from billing_app.services.agency import branding
from billing_app.services.common.errors import ServiceError
from billing_app.ui.state.base import SessionState, current_user, field_errors, guard

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
        with session_scope() as session:
            agency = branding.get_agency(session)
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
        try:
            with session_scope() as session:
                branding.update_agency(session, current_user(), branding.AgencyInput(**data))
        except ServiceError as exc:
            self.errors = field_errors(exc)
            self.values = data
            return rx.toast.error("Check the highlighted field.")
        self._refresh()
        return rx.toast.success("Settings saved.")
