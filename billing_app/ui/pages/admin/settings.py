"""Agency settings and Brands pages."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.components.layout import admin_page, form_error
from billing_app.ui.state.brands import BrandsState
from billing_app.ui.state.settings import SettingsState


def _error(errors: rx.Var[dict[str, str]], name: str) -> rx.Component:
    return rx.cond(
        errors.contains(name),
        rx.text(errors[name], color_scheme="red", size="2", id=f"{name}-error"),
    )


def _labelled(label: str, control: rx.Component, hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        control,
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")),
        spacing="1",
        width="100%",
        align="start",
    )


def _input(
    state_values: rx.Var[dict[str, str]],
    errors: rx.Var[dict[str, str]],
    label: str,
    name: str,
    *,
    hint: str = "",
    type_: str = "text",
    placeholder: str = "",
) -> rx.Component:
    return rx.vstack(
        _labelled(
            label,
            rx.input(
                name=name,
                id=name,
                type=type_,
                default_value=state_values[name],
                placeholder=placeholder,
                width="100%",
                size="2",
            ),
            hint,
        ),
        _error(errors, name),
        spacing="1",
        width="100%",
    )


def _section(title: str, description: str, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.grid(
            rx.vstack(
                rx.heading(title, size="4"),
                rx.text(description, size="2", color_scheme="gray"),
                spacing="1",
            ),
            rx.vstack(*children, spacing="4", width="100%"),
            columns="1fr 2fr",
            spacing="6",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def _settings_content() -> rx.Component:
    s = SettingsState
    v, e = s.values, s.errors
    return rx.form(
        rx.vstack(
            form_error(e),
            _section(
                "Your agency",
                "Printed on every invoice as the seller.",
                _input(v, e, "Legal name", "legal_name", placeholder="Studio Nord Oy"),
                rx.vstack(
                    _labelled(
                        "Address",
                        rx.text_area(
                            name="address",
                            id="address",
                            default_value=v["address"],
                            rows="3",
                            width="100%",
                        ),
                    ),
                    _error(e, "address"),
                    width="100%",
                    spacing="1",
                ),
                rx.grid(
                    _input(v, e, "Tax id", "tax_id", placeholder="FI12345678"),
                    _input(v, e, "Billing email", "email", type_="email"),
                    columns="2",
                    spacing="4",
                    width="100%",
                ),
            ),
            _section(
                "Billing defaults",
                "Used for new clients and new invoices.",
                rx.grid(
                    _input(v, e, "Default currency", "default_currency", hint="ISO code, e.g. EUR"),
                    _input(v, e, "Language and region", "locale", hint="e.g. en, en_GB, fr_FR"),
                    columns="2",
                    spacing="4",
                    width="100%",
                ),
                rx.grid(
                    rx.vstack(
                        _labelled(
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
                        ),
                        _error(e, "time_zone"),
                        width="100%",
                    ),
                    _input(
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
            _section(
                "Invoice numbering",
                "Numbers are assigned when an invoice is sent: per brand, unique, without gaps.",
                _input(
                    v,
                    e,
                    "Number format",
                    "number_format",
                    hint="{YYYY} year, {YY}, {MM} month, {SEQ:5} sequence padded to 5 digits.",
                ),
                rx.vstack(
                    _labelled(
                        "Restart numbering",
                        rx.el.select(
                            rx.el.option("Never", value="never"),
                            rx.el.option("Every year", value="yearly"),
                            rx.el.option("Every month", value="monthly"),
                            name="number_reset",
                            id="number_reset",
                            default_value=v["number_reset"],
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
                    ),
                    _error(e, "number_reset"),
                    width="100%",
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
    return admin_page("Settings", SettingsState.status, _settings_content)


# --------------------------------------------------------------------------- brands


def _brand_list() -> rx.Component:
    b = BrandsState
    return rx.vstack(
        rx.foreach(
            b.brands,
            lambda row: rx.box(
                rx.hstack(
                    rx.box(
                        width="14px",
                        height="14px",
                        border_radius="4px",
                        background=row["color"],
                    ),
                    rx.text(row["name"], weight="medium", size="2"),
                    rx.spacer(),
                    rx.cond(
                        row["default"] == "yes",
                        rx.badge("Default", color_scheme="green", variant="soft", size="1"),
                    ),
                    align="center",
                    width="100%",
                ),
                on_click=b.select(row["id"]),
                cursor="pointer",
                padding="10px 12px",
                border_radius="8px",
                width="100%",
                background=rx.cond(
                    b.selected_id == row["id"], rx.color("accent", 4), "transparent"
                ),
                _hover={"background": rx.color("accent", 3)},
                id="brand-" + row["id"],
            ),
        ),
        rx.cond(
            b.can_write,
            rx.button(
                rx.icon("plus", size=14),
                "New brand",
                variant="soft",
                width="100%",
                on_click=b.new_brand,
                id="brand-new",
            ),
        ),
        width="220px",
        min_width="220px",
        spacing="1",
    )


def _color_input(label: str, name: str) -> rx.Component:
    b = BrandsState
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
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
        _error(b.errors, name),
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
                rx.upload.root(
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
        _error(b.errors, "logo"),
        spacing="1",
        width="100%",
    )


def _brand_form() -> rx.Component:
    b = BrandsState
    v, e = b.values, b.errors
    return rx.form(
        rx.vstack(
            form_error(e),
            rx.cond(b.selected_id != "new", _logo_block()),
            rx.grid(
                _input(v, e, "Brand name", "name"),
                _input(
                    v, e, "Custom domain", "custom_domain", placeholder="billing.youragency.com"
                ),
                columns="2",
                spacing="4",
                width="100%",
            ),
            rx.grid(
                _color_input("Primary colour", "primary_color"),
                _color_input("Accent colour", "accent_color"),
                columns="2",
                spacing="4",
                width="100%",
            ),
            rx.grid(
                _input(v, e, "Sender name", "sender_name", hint="Shown as the emails' sender."),
                _input(v, e, "Reply-to", "reply_to", type_="email"),
                columns="2",
                spacing="4",
                width="100%",
            ),
            rx.grid(
                _input(v, e, "Support email", "support_email", type_="email"),
                _input(v, e, "Support URL", "support_url", placeholder="https://"),
                columns="2",
                spacing="4",
                width="100%",
            ),
            rx.vstack(
                _labelled(
                    "Email footer",
                    rx.text_area(
                        name="email_footer",
                        id="email_footer",
                        default_value=v["email_footer"],
                        rows="2",
                        width="100%",
                    ),
                ),
                _error(e, "email_footer"),
                width="100%",
                spacing="1",
            ),
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


def _previews() -> rx.Component:
    b = BrandsState
    return rx.cond(
        b.selected_id != "new",
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading("Preview", size="4"),
                    rx.spacer(),
                    rx.link(
                        rx.button(
                            rx.icon("file-text", size=14), "Sample PDF", variant="soft", size="2"
                        ),
                        href=b.sample_pdf_url,
                        is_external=True,
                        id="brand-sample-pdf",
                    ),
                    width="100%",
                    align="center",
                ),
                rx.text(
                    "The invoice email your clients receive, with sample data.",
                    size="2",
                    color_scheme="gray",
                ),
                rx.el.iframe(
                    src_doc=b.preview_html,
                    title="Email preview",
                    sandbox="",
                    id="brand-email-preview",
                    style={
                        "width": "100%",
                        "height": "560px",
                        "border": "1px solid var(--gray-5)",
                        "border_radius": "8px",
                        "background": "#f4f5f7",
                    },
                ),
                spacing="3",
                width="100%",
            ),
            size="3",
            width="100%",
        ),
    )


def _brands_content() -> rx.Component:
    return rx.hstack(
        _brand_list(),
        rx.vstack(
            rx.card(_brand_form(), size="3", width="100%"),
            _previews(),
            spacing="4",
            width="100%",
            min_width="0",
        ),
        spacing="6",
        align="start",
        width="100%",
    )


def brands_page() -> rx.Component:
    return admin_page("Brands", BrandsState.status, _brands_content)
