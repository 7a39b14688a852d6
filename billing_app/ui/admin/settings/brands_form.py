"""The Brands page's form: logo, name and domain, colours, emails, support, bank details."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.admin.settings.brands_state import BrandsState
from billing_app.ui.admin.settings.form import (
    LABEL_STYLE,
    error_text,
    labelled,
    text_area_input,
    text_input,
)
from billing_app.ui.kit.forms import file_drop
from billing_app.ui.kit.layout import NATIVE_SELECT_STYLE, form_error


def _color_input(label: str, name: str) -> rx.Component:
    b = BrandsState
    return rx.vstack(
        rx.el.label(label, html_for=name, style=LABEL_STYLE),
        rx.hstack(
            rx.box(
                width="32px",
                min_width="32px",
                height="32px",
                border_radius="6px",
                background=b.values[name],
                border=f"1px solid {rx.color('gray', 6)}",
            ),
            rx.input(name=name, id=name, default_value=b.values[name], width="100%"),
            width="100%",
            align="center",
        ),
        error_text(b.errors, name),
        spacing="1",
        width="100%",
    )


def _logo_block() -> rx.Component:
    b = BrandsState
    return rx.vstack(
        rx.text("Logo", size="2", weight="medium"),
        rx.hstack(
            rx.cond(
                b.logo_url != "",
                rx.image(
                    src=b.logo_url,
                    height="48px",
                    max_width="160px",
                    object_fit="contain",
                    alt="Current logo",
                    id="brand-logo-img",
                ),
                rx.center(
                    rx.icon("image", size=20, color=rx.color("gray", 8)),
                    width="48px",
                    height="48px",
                    border_radius="8px",
                    background=rx.color("gray", 3),
                ),
            ),
            rx.cond(
                b.can_write & (b.selected_id != "new"),
                file_drop(
                    "Logo image",
                    rx.button(
                        rx.icon("upload", size=14),
                        "Upload logo",
                        size="1",
                        variant="soft",
                        type="button",
                    ),
                    id="brand-logo",
                    accept={
                        "image/png": [".png"],
                        "image/jpeg": [".jpg", ".jpeg"],
                        "image/svg+xml": [".svg"],
                    },
                    max_files=1,
                    multiple=False,
                    on_drop=b.upload_logo(rx.upload_files(upload_id="brand-logo")),
                    border="none",
                    padding="0",
                ),
            ),
            rx.text(
                "PNG or JPEG up to 2 MB, or a plain SVG; stored privately.",
                size="1",
                color_scheme="gray",
            ),
            align="center",
            spacing="3",
        ),
        error_text(b.errors, "logo"),
        spacing="1",
        width="100%",
    )


def _pair(*children: rx.Component) -> rx.Component:
    """Two fields side by side."""
    return rx.grid(*children, columns="2", spacing="4", width="100%")


def _section(title: str, about: str, *children: rx.Component) -> rx.Component:
    """A titled part of the form under a rule, with a sentence on what it is for."""
    return rx.vstack(
        rx.heading(title, size="3", as_="h3"),
        rx.text(about, size="2", color_scheme="gray"),
        *children,
        spacing="3",
        width="100%",
        padding_top="8px",
        border_top=f"1px solid {rx.color('gray', 5)}",
    )


def _sending_section() -> rx.Component:
    b = BrandsState
    v, e = b.values, b.errors
    return _section(
        "Sending",
        "Emails to this brand's clients come from its From address. To send from your own "
        "domain with its SPF and DKIM, give the SMTP server that domain allows; leave the "
        "server empty to send through this app's.",
        _pair(
            text_input(v, e, "From address", "mail_from", type_="email", placeholder="billing@"),
            text_input(v, e, "SMTP server", "smtp_host", placeholder="smtp.youragency.com"),
        ),
        _pair(
            text_input(v, e, "Port", "smtp_port", placeholder="587"),
            rx.vstack(
                labelled(
                    "Security",
                    rx.el.select(
                        rx.el.option("STARTTLS", value="starttls"),
                        rx.el.option("SSL/TLS", value="ssl"),
                        rx.el.option("None", value="none"),
                        name="smtp_security",
                        id="smtp_security",
                        default_value=v["smtp_security"],
                        style={**NATIVE_SELECT_STYLE, "width": "100%"},
                    ),
                    html_for="smtp_security",
                ),
                error_text(e, "smtp_security"),
                spacing="1",
                width="100%",
            ),
        ),
        _pair(
            text_input(v, e, "User name", "smtp_username", placeholder="Optional"),
            rx.vstack(
                labelled(
                    "Password",
                    rx.input(
                        name="smtp_password",
                        id="smtp_password",
                        type="password",
                        auto_complete="new-password",
                        placeholder=rx.cond(b.password_saved, "Saved: type to replace", ""),
                        width="100%",
                        size="2",
                    ),
                    html_for="smtp_password",
                ),
                error_text(e, "smtp_password"),
                spacing="1",
                width="100%",
            ),
        ),
        rx.cond(
            b.can_write & (b.selected_id != "new"),
            rx.hstack(
                rx.button(
                    rx.icon("send", size=14),
                    "Send a test email",
                    variant="soft",
                    type="button",
                    on_click=b.send_test,
                    id="brand-test-email",
                ),
                rx.text("Sent to you, with the saved settings.", size="1", color_scheme="gray"),
                align="center",
                spacing="3",
            ),
        ),
        rx.cond(
            b.test_result != "",
            rx.callout.root(
                rx.callout.icon(
                    rx.cond(b.test_failed, rx.icon("triangle-alert"), rx.icon("circle-check"))
                ),
                rx.callout.text(b.test_result),
                color_scheme=rx.cond(b.test_failed, "red", "green"),
                size="1",
                role="status",
                id="brand-test-result",
                width="100%",
            ),
        ),
    )


def _bank_section() -> rx.Component:
    v, e = BrandsState.values, BrandsState.errors
    return _section(
        "Bank details",
        "Printed on invoices while something is due and shown in the client portal, for "
        "clients who pay by transfer.",
        _pair(
            text_input(v, e, "Account holder", "bank_account_holder"),
            text_input(v, e, "BIC (SWIFT)", "bank_bic", placeholder="BNPAFRPP"),
        ),
        text_input(v, e, "IBAN", "bank_iban", placeholder="FR76 3000 6000 0112 3456 7890 189"),
        text_area_input(
            v,
            e,
            "Other details",
            "bank_details",
            hint="For accounts without an IBAN: bank name, routing and account number, sort code.",
        ),
    )


def brand_form() -> rx.Component:
    b = BrandsState
    v, e = b.values, b.errors
    return rx.form(
        rx.vstack(
            form_error(e),
            rx.cond(b.selected_id != "new", _logo_block()),
            _pair(
                text_input(v, e, "Brand name", "name"),
                text_input(
                    v, e, "Custom domain", "custom_domain", placeholder="billing.youragency.com"
                ),
            ),
            _pair(
                _color_input("Primary colour", "primary_color"),
                _color_input("Accent colour", "accent_color"),
            ),
            _pair(
                text_input(v, e, "Sender name", "sender_name", hint="Shown as the emails' sender."),
                text_input(v, e, "Reply-to", "reply_to", type_="email"),
            ),
            _pair(
                text_input(v, e, "Support email", "support_email", type_="email"),
                text_input(v, e, "Support URL", "support_url", placeholder="https://"),
            ),
            text_area_input(v, e, "Email footer", "email_footer"),
            _sending_section(),
            _bank_section(),
            rx.cond(
                b.can_write,
                rx.hstack(
                    rx.cond(
                        b.selected_id != "new",
                        rx.hstack(
                            rx.button(
                                "Make default",
                                variant="soft",
                                type="button",
                                on_click=b.make_default,
                                id="brand-default",
                            ),
                            rx.button(
                                "Delete",
                                variant="soft",
                                color_scheme="red",
                                type="button",
                                on_click=b.delete,
                            ),
                        ),
                    ),
                    rx.spacer(),
                    rx.button("Save brand", type="submit", id="brand-save"),
                    width="100%",
                ),
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=b.save,
        reset_on_submit=False,
        key=b.form_key,
        width="100%",
    )
