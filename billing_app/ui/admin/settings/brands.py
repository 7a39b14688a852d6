"""Brands (/brands): logo, colours, sender, footer, custom domain, previews."""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.agency import branding
from billing_app.services.common.errors import ServiceError, ValidationFailed
from billing_app.services.common.transactions import run
from billing_app.services.invoicing import samples as invoice_samples
from billing_app.ui import routes
from billing_app.ui.admin.settings.form import LABEL_STYLE, error_text, labelled, text_input
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import to_int
from billing_app.ui.kit.forms import file_drop
from billing_app.ui.kit.layout import form_error
from billing_app.ui.routes import backend_path
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

BRAND_FIELDS = (
    "name",
    "primary_color",
    "accent_color",
    "sender_name",
    "reply_to",
    "support_email",
    "support_url",
    "email_footer",
    "custom_domain",
)


BLANK = {
    "name": "",
    "primary_color": "#1f4b99",
    "accent_color": "#f59e0b",
    "sender_name": "",
    "reply_to": "",
    "support_email": "",
    "support_url": "",
    "email_footer": "",
    "custom_domain": "",
}


class BrandsState(SessionState):
    status: str = "loading"
    brands: list[dict[str, str]] = []
    selected_id: str = ""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    can_write: bool = False
    preview_html: str = ""
    logo_url: str = ""
    sample_pdf_url: str = ""
    form_key: int = 0

    def _refresh(self) -> None:
        user = current_user()
        self.can_write = user.can(Permission.BRANDING_WRITE)
        rows = run(branding.brands_page, user)
        self.brands = [
            {
                "id": str(b.id),
                "name": b.name,
                "color": b.primary_color,
                "default": "yes" if b.is_default else "",
                "domain": b.custom_domain or "",
            }
            for b in rows
        ]
        ids = [str(b.id) for b in rows]
        if self.selected_id not in ids and self.selected_id != "new":
            self.selected_id = ids[0] if ids else "new"
        if self.selected_id == "new":
            self.values = dict(BLANK)
            self.preview_html, self.logo_url, self.sample_pdf_url = "", "", ""
        else:
            brand = run(branding.brand_detail, user, to_int(self.selected_id))
            self.values = {
                "name": brand.name,
                "primary_color": brand.primary_color,
                "accent_color": brand.accent_color,
                "sender_name": brand.sender_name,
                "reply_to": brand.reply_to,
                "support_email": brand.support_email,
                "support_url": brand.support_url,
                "email_footer": brand.email_footer,
                "custom_domain": brand.custom_domain or "",
            }
            self.preview_html = run(
                invoice_samples.sample_email_html, current_user(), brand.id or 0
            )
            version = f"?v={brand.logo_key[:8]}" if brand.logo_key else ""
            self.logo_url = (
                backend_path(routes.brand_logo(brand.id)) + version if brand.logo_key else ""
            )
            stamp = brand.updated_at.strftime("%Y%m%d%H%M%S")
            self.sample_pdf_url = backend_path(routes.brand_sample_pdf(brand.id, str(stamp)))
        self.form_key += 1
        self.status = "ok"

    @guard(Permission.SETTINGS_READ)
    def load(self) -> None:
        self.errors = {}
        self._refresh()

    @guard(Permission.SETTINGS_READ)
    def select(self, brand_id: str) -> None:
        self.errors = {}
        self.selected_id = brand_id
        self._refresh()

    @guard(Permission.BRANDING_WRITE)
    def new_brand(self) -> None:
        self.errors = {}
        self.selected_id = "new"
        self._refresh()

    @guard(Permission.BRANDING_WRITE)
    def save(self, form: dict[str, Any]) -> Any:
        self.errors = {}
        data = {name: str(form.get(name, "")) for name in BRAND_FIELDS}
        try:
            if self.selected_id == "new":
                new_id = run(branding.create_brand, current_user(), branding.BrandInput(**data))
                self.selected_id = str(new_id)
            else:
                run(
                    branding.update_brand,
                    current_user(),
                    to_int(self.selected_id),
                    branding.BrandInput(**data),
                )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            self.values = data
            if len(self.errors) > 1:
                return rx.toast.error("Check the highlighted fields.")
            return rx.toast.error("Check the highlighted field.")
        self._refresh()
        return rx.toast.success("Brand saved.")

    @guard(Permission.BRANDING_WRITE)
    def make_default(self) -> Any:
        try:
            run(branding.make_default, current_user(), to_int(self.selected_id))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._refresh()
        return rx.toast.success("This brand is now the default.")

    @guard(Permission.BRANDING_WRITE)
    def delete(self) -> Any:
        try:
            run(branding.delete_brand, current_user(), to_int(self.selected_id))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self.selected_id = ""
        self._refresh()
        return rx.toast.success("Brand deleted.")

    @guard(Permission.BRANDING_WRITE, upload=True)
    async def upload_logo(self, files: list[rx.UploadFile]) -> Any:
        if self.selected_id in ("", "new") or not files:
            return rx.toast.error("Save the brand first, then add its logo.")
        data = await files[0].read()
        return await asyncio.to_thread(self._save_logo, data)

    def _save_logo(self, data: bytes) -> Any:
        try:
            run(branding.upload_logo, current_user(), to_int(self.selected_id), data)
        except ValidationFailed as exc:
            self.errors = field_errors(exc)
            return None
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self.errors = {}
        self._refresh()
        return rx.toast.success("Logo saved.")


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
                        rx.badge(
                            "Default",
                            color_scheme="green",
                            variant="soft",
                            size="1",
                            high_contrast=True,
                        ),
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


def _brand_form() -> rx.Component:
    b = BrandsState
    v, e = b.values, b.errors
    return rx.form(
        rx.vstack(
            form_error(e),
            rx.cond(b.selected_id != "new", _logo_block()),
            rx.grid(
                text_input(v, e, "Brand name", "name"),
                text_input(
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
                text_input(v, e, "Sender name", "sender_name", hint="Shown as the emails' sender."),
                text_input(v, e, "Reply-to", "reply_to", type_="email"),
                columns="2",
                spacing="4",
                width="100%",
            ),
            rx.grid(
                text_input(v, e, "Support email", "support_email", type_="email"),
                text_input(v, e, "Support URL", "support_url", placeholder="https://"),
                columns="2",
                spacing="4",
                width="100%",
            ),
            rx.vstack(
                labelled(
                    "Email footer",
                    rx.text_area(
                        name="email_footer",
                        id="email_footer",
                        default_value=v["email_footer"],
                        rows="2",
                        width="100%",
                    ),
                    html_for="email_footer",
                ),
                error_text(e, "email_footer"),
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
