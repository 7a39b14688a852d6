"""The client portal section of Settings (/settings): the role new client users get unless
another is picked, and two-factor sign-in for every client user."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.access import client_roles
from billing_app.services.agency import portal_settings
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.admin.settings.form import error_text, labelled, section
from billing_app.ui.kit.layout import NATIVE_SELECT_STYLE
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard


class PortalSettingsState(SessionState):
    status: str = "loading"
    default_role: str = ""
    require_2fa: bool = False
    changes_prorate: bool = True
    role_choices: list[dict[str, str]] = []
    errors: dict[str, str] = {}
    can_write: bool = False
    form_key: int = 0

    def _refresh(self) -> None:
        user = current_user()
        current = run(portal_settings.portal_settings, user)
        choices = run(client_roles.client_role_choices, user)
        self.role_choices = [{"value": v, "label": label} for v, label in choices.options]
        self.default_role, self.require_2fa = current.default_role, current.require_2fa
        self.changes_prorate = current.changes_prorate
        self.can_write = user.can(Permission.SETTINGS_WRITE)
        self.form_key += 1
        self.status = "ok"

    @guard(Permission.SETTINGS_READ)
    def load(self) -> None:
        self.errors = {}
        self._refresh()

    @guard(Permission.SETTINGS_WRITE)
    def save(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        try:
            run(
                portal_settings.update_portal_settings,
                current_user(),
                default_role=str(form.get("default_role", "")),
                require_2fa=str(form.get("require_2fa", "")).lower() in ("on", "true"),
                changes_prorate=str(form.get("changes_prorate", "")).lower() in ("on", "true"),
            )
        except ServiceError as exc:
            self.errors = field_errors(exc, default_field="default_role")
            return rx.toast.error("Check the highlighted field.")
        self._refresh()
        return rx.toast.success("Portal settings saved.")


def portal_settings_section() -> rx.Component:
    s = PortalSettingsState
    return rx.form(
        section(
            "Client portal",
            "How your clients' people get in. The role is preselected when you invite someone; "
            "you can pick another each time.",
            rx.vstack(
                labelled(
                    "Default role of new client users",
                    rx.el.select(
                        rx.foreach(
                            s.role_choices, lambda c: rx.el.option(c["label"], value=c["value"])
                        ),
                        name="default_role",
                        id="default_role",
                        default_value=s.default_role,
                        style=NATIVE_SELECT_STYLE,
                    ),
                    "Client roles are made on the Roles page.",
                    html_for="default_role",
                ),
                error_text(s.errors, "default_role"),
                width="100%",
                spacing="1",
            ),
            rx.vstack(
                rx.checkbox(
                    "Require two-factor sign-in for every client user",
                    name="require_2fa",
                    id="require_2fa",
                    default_checked=s.require_2fa,
                ),
                rx.text(
                    "When on, every client user signs in with an authenticator app as well as "
                    "their password.",
                    size="1",
                    color_scheme="gray",
                ),
                spacing="1",
                width="100%",
            ),
            rx.vstack(
                rx.checkbox(
                    "Prorate clients' subscription changes now",
                    name="changes_prorate",
                    id="changes_prorate",
                    default_checked=s.changes_prorate,
                ),
                rx.text(
                    "Where a product lets clients change the quantity or switch plans: when on, "
                    "the rest of the period is invoiced or credited at once; when off, changes "
                    "start with the next renewal.",
                    size="1",
                    color_scheme="gray",
                ),
                spacing="1",
                width="100%",
            ),
            rx.cond(
                s.can_write,
                rx.hstack(
                    rx.button("Save portal settings", type="submit", id="portal-settings-save"),
                    justify="end",
                    width="100%",
                ),
            ),
        ),
        on_submit=s.save,
        reset_on_submit=False,
        key=s.form_key,
        width="100%",
        id="portal-settings",
    )
