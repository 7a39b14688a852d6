"""Settings > Sign-in (/settings/sign-in): the owner connects the agency's OpenID Connect
provider for staff single sign-on (services/access/sso_config.py): issuer, client id and
secret (encrypted, never shown again), the button's label, allowed email domains, whether
password sign-in stays on for the team (the owner always keeps it), just-in-time members,
whether the provider's email is trusted as verified and whether it enforces MFA. "Test" runs
discovery and says what is wrong."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.access import sso_config
from billing_app.services.common.errors import NotAllowed, ServiceError
from billing_app.services.common.transactions import run
from billing_app.settings import get_settings
from billing_app.ui.admin.settings.form import error_text, labelled, section
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.kit.layout import NATIVE_SELECT_STYLE
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

TEXT_FIELDS = ("issuer_url", "client_id", "button_label", "allowed_domains")
TOGGLES = ("password_allowed", "jit_enabled", "trust_email", "provider_mfa")


class SignInSettingsState(SessionState):
    status: str = "loading"
    configured: bool = False
    values: dict[str, str] = {}
    toggles: dict[str, bool] = {}
    secret_hint: str = ""
    callback_url: str = ""
    roles: list[list[str]] = []
    errors: dict[str, str] = {}
    test_message: str = ""
    test_ok: bool = False
    form_key: int = 0

    def _refresh(self) -> None:
        view = run(sso_config.sso_view, current_user(), settings=get_settings())
        self.configured = view.configured
        self.values = {name: str(getattr(view, name)) for name in (*TEXT_FIELDS, "jit_role_key")}
        self.toggles = {name: bool(getattr(view, name)) for name in TOGGLES}
        self.secret_hint, self.callback_url = view.secret_hint, view.callback_url
        self.roles = [list(choice) for choice in sso_config.role_choices()]
        self.form_key += 1
        self.status = "ok"

    @guard(Permission.ROLES_MANAGE)
    def load(self) -> None:
        self.errors, self.test_message = {}, ""
        try:
            self._refresh()
        except NotAllowed:
            self.status = "denied"

    @guard(Permission.ROLES_MANAGE)
    def save(self, form: dict[str, Any]) -> Any:
        self.errors, self.test_message = {}, ""
        data = {name: str(form.get(name, ""))[:1000] for name in TEXT_FIELDS}
        flags = {name: bool(form.get(name)) for name in TOGGLES}  # unticked: not sent
        try:
            run(
                sso_config.save_sso,
                current_user(),
                sso_config.SsoForm(
                    **data,
                    client_secret=str(form.get("client_secret", ""))[:1000],
                    jit_role_key=str(form.get("jit_role_key", "viewer"))[:40],
                    **flags,
                ),
                settings=get_settings(),
            )
        except NotAllowed:
            return self._refuse(is_page_load=False)
        except ServiceError as exc:
            self.errors = field_errors(exc, default_field="issuer_url")
            self.values = {**self.values, **data}
            self.toggles = flags
            return rx.toast.error("Check the highlighted fields.")
        self._refresh()
        return rx.toast.success("Sign-in settings saved.")

    @guard(Permission.ROLES_MANAGE)
    def test(self) -> Any:
        try:
            outcome = run(sso_config.check_provider, current_user(), settings=get_settings())
        except NotAllowed:
            return self._refuse(is_page_load=False)
        self.test_ok, self.test_message = outcome.ok, outcome.message
        return None

    @guard(Permission.ROLES_MANAGE)
    def remove(self) -> Any:
        try:
            run(sso_config.remove_sso, current_user())
        except NotAllowed:
            return self._refuse(is_page_load=False)
        self._refresh()
        return rx.toast.success("Single sign-on is off.")


def _text(label: str, name: str, hint: str, placeholder: str = "") -> rx.Component:
    s = SignInSettingsState
    return rx.vstack(
        labelled(
            label,
            rx.input(
                name=name,
                id=f"sso-{name}",
                default_value=s.values[name],
                placeholder=placeholder,
                auto_complete="off",
                width="100%",
                size="2",
            ),
            hint,
            html_for=f"sso-{name}",
        ),
        error_text(s.errors, name),
        spacing="1",
        width="100%",
    )


def _toggle(name: str, label: str, hint: str) -> rx.Component:
    s = SignInSettingsState
    return rx.vstack(
        rx.el.label(
            rx.checkbox(name=name, id=f"sso-{name}", default_checked=s.toggles[name]),
            rx.text(label, size="2", weight="medium"),
            html_for=f"sso-{name}",
            style={"display": "flex", "gap": "8px", "align_items": "center"},
        ),
        rx.text(hint, size="1", color_scheme="gray"),
        spacing="1",
        width="100%",
    )


def _status() -> rx.Component:
    return rx.cond(
        SignInSettingsState.configured,
        rx.callout(
            "Single sign-on is on: the sign-in page shows \u201cSign in with "
            + SignInSettingsState.values["button_label"]
            + "\u201d.",
            icon="circle-check",
            color_scheme="green",
            high_contrast=True,
            id="sso-status",
        ),
        rx.callout(
            "Single sign-on is off: the team signs in with a password and two-factor codes.",
            icon="info",
            color_scheme="gray",
            id="sso-status",
        ),
    )


def _provider_form() -> rx.Component:
    s = SignInSettingsState
    return rx.form(
        rx.vstack(
            section(
                "Identity provider",
                "Google Workspace, Microsoft Entra, Okta, Keycloak or Authentik: create an "
                "OpenID Connect web application there with the redirect URI below, then paste "
                "its details. The client secret is stored encrypted and never shown again: "
                "leave it blank to keep it.",
                _text(
                    "Issuer URL",
                    "issuer_url",
                    "We read its discovery document (/.well-known/openid-configuration).",
                    "https://accounts.google.com",
                ),
                _text("Client ID", "client_id", "From the provider's application."),
                rx.vstack(
                    labelled(
                        "Client secret",
                        rx.input(
                            name="client_secret",
                            id="sso-client_secret",
                            type="password",
                            auto_complete="off",
                            placeholder=rx.cond(
                                s.secret_hint != "", s.secret_hint + "  (saved)", ""
                            ),
                            width="100%",
                            size="2",
                        ),
                        "Stored encrypted.",
                        html_for="sso-client_secret",
                    ),
                    error_text(s.errors, "client_secret"),
                    spacing="1",
                    width="100%",
                ),
                _text(
                    "Button label",
                    "button_label",
                    "The button reads \u201cSign in with \u2026\u201d.",
                ),
                rx.hstack(
                    rx.text("Redirect URI:", size="2", weight="medium"),
                    rx.code(
                        s.callback_url, id="sso-callback-url", style={"word_break": "break-all"}
                    ),
                    align="center",
                    wrap="wrap",
                    spacing="2",
                ),
            ),
            section(
                "Who may sign in",
                "Team members whose email matches, and people you invited. A deactivated member is "
                "refused whatever the provider says.",
                _text(
                    "Allowed email domains",
                    "allowed_domains",
                    "Separated by spaces, such as agency.com. Empty: any domain.",
                    "agency.com",
                ),
                _toggle(
                    "password_allowed",
                    "Team members may still sign in with a password",
                    "The owner always can (with two-factor), in case the provider is down.",
                ),
                _toggle(
                    "jit_enabled",
                    "Create members on first sign-in",
                    "Anyone of an allowed domain becomes a member with the role below. Off by "
                    "default.",
                ),
                rx.vstack(
                    labelled(
                        "Role of new members",
                        rx.el.select(
                            rx.foreach(s.roles, lambda r: rx.el.option(r[1], value=r[0])),
                            name="jit_role_key",
                            id="sso-jit_role_key",
                            default_value=s.values["jit_role_key"],
                            style={**NATIVE_SELECT_STYLE, "max_width": "240px"},
                        ),
                        html_for="sso-jit_role_key",
                    ),
                    error_text(s.errors, "jit_role_key"),
                    spacing="1",
                    width="100%",
                ),
                _toggle(
                    "trust_email",
                    "Trust the provider's email addresses as verified",
                    "Microsoft Entra sends no email_verified; Google Workspace does. Off: it "
                    "must be true.",
                ),
                _toggle(
                    "provider_mfa",
                    "Our provider enforces two-factor sign-in",
                    "Then our own code is not asked. Otherwise it is, unless the provider says it "
                    "checked a second factor.",
                ),
                error_text(s.errors, "allowed_domains"),
            ),
            rx.cond(
                s.test_message != "",
                rx.text(
                    s.test_message,
                    color=rx.cond(s.test_ok, rx.color("green", 11), rx.color("red", 11)),
                    size="2",
                    role="status",
                    id="sso-test-result",
                    style={"word_break": "break-word"},
                ),
            ),
            rx.hstack(
                rx.spacer(),
                rx.cond(
                    s.configured,
                    rx.button(
                        "Turn off",
                        type="button",
                        variant="soft",
                        color_scheme="red",
                        on_click=s.remove,
                        id="sso-remove",
                    ),
                ),
                rx.button("Test", type="button", variant="soft", on_click=s.test, id="sso-test"),
                rx.button("Save", type="submit", id="sso-save"),
                align="center",
                width="100%",
                wrap="wrap",
                spacing="3",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=s.save,
        reset_on_submit=False,
        key=s.form_key,
        width="100%",
        id="sso-form",
    )


def sign_in_settings_page() -> rx.Component:
    return admin_page(
        "Sign-in",
        SignInSettingsState.status,
        lambda: rx.vstack(_status(), _provider_form(), spacing="4", width="100%"),
    )
