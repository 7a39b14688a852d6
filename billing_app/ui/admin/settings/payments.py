"""Settings > Payments (/settings/payments): connect Stripe. The owner (or a role given
"payments.configure") pastes the publishable key, the secret key and the webhook signing
secret; the secrets are never shown again (masked hints); "Test connection" asks Stripe; the
webhook address to paste into Stripe's dashboard is shown with the events to send."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.card_payments import stripe_settings
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.admin.settings.form import error_text, labelled, section
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

# What the agency ticks when it adds the endpoint in Stripe's dashboard.
EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.canceled",
    "payment_intent.processing",
    "charge.refunded",
    "charge.refund.updated",
    "charge.dispute.created",
    "setup_intent.succeeded",
    "payment_method.attached",
    "payment_method.detached",
    "payment_method.updated",
    "customer.deleted",
)


class PaymentsSettingsState(SessionState):
    status: str = "loading"
    configured: bool = False
    livemode: bool = False
    publishable_key: str = ""
    secret_hint: str = ""
    webhook_hint: str = ""
    webhook_url: str = ""
    errors: dict[str, str] = {}
    test_message: str = ""
    test_ok: bool = False
    testing: bool = False
    form_key: int = 0

    def _refresh(self) -> None:
        view = run(stripe_settings.payment_settings, current_user())
        self.configured, self.livemode = view.configured, view.livemode
        self.publishable_key = view.publishable_key
        self.secret_hint, self.webhook_hint = view.secret_key_hint, view.webhook_secret_hint
        self.webhook_url = view.webhook_url
        self.form_key += 1
        self.status = "ok"

    @guard(Permission.PAYMENTS_CONFIGURE)
    def load(self) -> None:
        self.errors, self.test_message = {}, ""
        self._refresh()

    @guard(Permission.PAYMENTS_CONFIGURE)
    def save(self, form: dict[str, Any]) -> Any:
        self.errors, self.test_message = {}, ""
        try:
            run(
                stripe_settings.save_stripe_keys,
                current_user(),
                stripe_settings.StripeKeysForm(
                    publishable_key=str(form.get("publishable_key", ""))[:300],
                    secret_key=str(form.get("secret_key", ""))[:300],
                    webhook_secret=str(form.get("webhook_secret", ""))[:300],
                ),
            )
        except ServiceError as exc:
            self.errors = field_errors(exc, default_field="publishable_key")
            return rx.toast.error("Check the highlighted fields.")
        self._refresh()
        return rx.toast.success("Stripe keys saved.")

    @guard(Permission.PAYMENTS_CONFIGURE)
    def test(self) -> None:
        outcome = run(stripe_settings.test_connection, current_user())
        self.test_ok, self.test_message = outcome.ok, outcome.message


def _secret_field(label: str, name: str, hint_var: rx.Var[str], help_text: str) -> rx.Component:
    s = PaymentsSettingsState
    return rx.vstack(
        labelled(
            label,
            rx.input(
                name=name,
                id=name,
                type="password",
                auto_complete="off",
                placeholder=rx.cond(hint_var != "", hint_var + "  (saved)", ""),
                width="100%",
                size="2",
            ),
            help_text,
            html_for=name,
        ),
        error_text(s.errors, name),
        spacing="1",
        width="100%",
    )


def _status() -> rx.Component:
    s = PaymentsSettingsState
    return rx.cond(
        s.configured,
        rx.callout(
            rx.cond(
                s.livemode,
                "Connected in live mode: clients can pay their invoices by card.",
                "Connected in test mode: card payments use Stripe's test cards only.",
            ),
            icon="circle-check",
            color_scheme="green",
            high_contrast=True,
            id="payments-status",
        ),
        rx.callout(
            "Card payments are off until Stripe is connected. Offline payments work as before.",
            icon="info",
            color_scheme="gray",
            id="payments-status",
        ),
    )


def _keys_form() -> rx.Component:
    s = PaymentsSettingsState
    return rx.form(
        section(
            "Stripe keys",
            "From Stripe's dashboard, Developers > API keys. The secret key and the signing "
            "secret are stored encrypted and never shown again: leave them blank to keep them.",
            rx.vstack(
                labelled(
                    "Publishable key",
                    rx.input(
                        name="publishable_key",
                        id="publishable_key",
                        default_value=s.publishable_key,
                        placeholder="pk_live_...",
                        auto_complete="off",
                        width="100%",
                        size="2",
                    ),
                    "Starts with pk_live_ (or pk_test_ to try things out).",
                    html_for="publishable_key",
                ),
                error_text(s.errors, "publishable_key"),
                spacing="1",
                width="100%",
            ),
            _secret_field(
                "Secret key",
                "secret_key",
                s.secret_hint,
                "Starts with sk_live_ or sk_test_ (a restricted key, rk_, works too).",
            ),
            _secret_field(
                "Webhook signing secret",
                "webhook_secret",
                s.webhook_hint,
                "Shown by Stripe when you add the endpoint below; starts with whsec_.",
            ),
            rx.hstack(
                rx.cond(
                    s.test_message != "",
                    rx.text(
                        s.test_message,
                        color=rx.cond(s.test_ok, rx.color("green", 11), rx.color("red", 11)),
                        size="2",
                        role="status",
                        id="payments-test-result",
                    ),
                ),
                rx.spacer(),
                rx.button(
                    "Test connection",
                    type="button",
                    variant="soft",
                    on_click=s.test,
                    disabled=~s.configured,
                    id="payments-test",
                ),
                rx.button("Save keys", type="submit", id="payments-save"),
                align="center",
                width="100%",
                wrap="wrap",
                spacing="3",
            ),
        ),
        on_submit=s.save,
        reset_on_submit=False,
        key=s.form_key,
        width="100%",
        id="payments-keys",
    )


def _webhook_section() -> rx.Component:
    s = PaymentsSettingsState
    return section(
        "Webhook endpoint",
        "Stripe tells us about payments, refunds and disputes here. In Stripe's dashboard, "
        "Developers > Webhooks, add an endpoint with this address and these events, then paste "
        "its signing secret above.",
        rx.hstack(
            rx.code(
                s.webhook_url,
                id="payments-webhook-url",
                size="2",
                style={"word_break": "break-all"},
            ),
            rx.icon_button(
                rx.icon("copy", size=16),
                on_click=[rx.set_clipboard(s.webhook_url), rx.toast.success("Address copied.")],
                variant="soft",
                size="1",
                type="button",
                aria_label="Copy the webhook address",
            ),
            align="center",
            spacing="2",
            width="100%",
        ),
        rx.el.ul(
            *[rx.el.li(rx.code(event, size="1")) for event in EVENTS],
            style={"columns": "2 16rem", "padding_left": "1.2rem", "margin": "0"},
            aria_label="Events to send",
        ),
        rx.link(
            "See the events received, and replay one",
            href=routes.STRIPE_EVENTS,
            id="payments-events-link",
            size="2",
        ),
    )


def payments_settings_page() -> rx.Component:
    return admin_page(
        "Payments",
        PaymentsSettingsState.status,
        lambda: rx.vstack(_status(), _keys_form(), _webhook_section(), spacing="4", width="100%"),
    )
