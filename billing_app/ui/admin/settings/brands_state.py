"""The Brands page's state (/brands): the brand list, the selected brand's values and previews,
and its handlers (ui/admin/settings/brands.py draws the page, brands_form.py the form)."""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from billing_app.domain.bank import grouped
from billing_app.domain.permissions import Permission
from billing_app.services.agency import brand_mail, branding
from billing_app.services.common.errors import ServiceError, ValidationFailed
from billing_app.services.common.transactions import run
from billing_app.services.invoicing import samples as invoice_samples
from billing_app.ui import routes
from billing_app.ui.format import to_int
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
    "bank_account_holder",
    "bank_iban",
    "bank_bic",
    "bank_details",
    "mail_from",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "smtp_password",
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
    "bank_account_holder": "",
    "bank_iban": "",
    "bank_bic": "",
    "bank_details": "",
    "mail_from": "",
    "smtp_host": "",
    "smtp_port": "",
    "smtp_security": "starttls",
    "smtp_username": "",
    "smtp_password": "",
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
    password_saved: bool = False
    test_result: str = ""
    test_failed: bool = False

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
        self.test_result, self.test_failed = "", False
        if self.selected_id == "new":
            self.values = dict(BLANK)
            self.password_saved = False
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
                "bank_account_holder": brand.bank_account_holder,
                "bank_iban": grouped(brand.bank_iban),
                "bank_bic": brand.bank_bic,
                "bank_details": brand.bank_details,
                "mail_from": brand.mail_from,
                "smtp_host": brand.smtp_host,
                "smtp_port": str(brand.smtp_port) if brand.smtp_port else "",
                "smtp_security": brand.smtp_security,
                "smtp_username": brand.smtp_username,
                "smtp_password": "",  # never sent back to the browser
            }
            self.password_saved = bool(brand.smtp_password)
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
            self.values = {**data, "smtp_password": ""}  # what was typed is not kept in state
            if len(self.errors) > 1:
                return rx.toast.error("Check the highlighted fields.")
            return rx.toast.error("Check the highlighted field.")
        self._refresh()
        return rx.toast.success("Brand saved.")

    @guard(Permission.BRANDING_WRITE)
    def send_test(self) -> Any:
        """Send a test email as this brand, now, and say how it went."""
        if self.selected_id in ("", "new"):
            return rx.toast.error("Save the brand first, then send a test email.")
        try:
            outcome = run(brand_mail.send_test_email, current_user(), to_int(self.selected_id))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self.test_result, self.test_failed = outcome.message, not outcome.delivered
        return None

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
