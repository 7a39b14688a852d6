"""The brands page: white-label identities (logo, colours, sender, footer, domain) with a
preview of the branded email and a sample PDF."""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from billing_app.adapters import storage
from billing_app.db.engine import session_scope
from billing_app.domain.permissions import Permission
from billing_app.services.agency import branding
from billing_app.services.common.errors import ServiceError
from billing_app.services.invoicing import documents as invoice_documents
from billing_app.ui.format import to_int
from billing_app.ui.state.base import SessionState, backend_path, current_user, field_errors, guard

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
        with session_scope() as session:
            branding.default_brand(session)
            session.commit()
            rows = branding.list_brands(session)
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
                brand = branding.get_brand(session, to_int(self.selected_id))
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
                self.preview_html = invoice_documents.sample_email_html(session, brand.id or 0)
                version = f"?v={brand.logo_key[:8]}" if brand.logo_key else ""
                self.logo_url = (
                    backend_path(f"/api/brands/{brand.id}/logo") + version if brand.logo_key else ""
                )
                stamp = brand.updated_at.strftime("%Y%m%d%H%M%S")
                self.sample_pdf_url = backend_path(f"/api/brands/{brand.id}/sample.pdf?v={stamp}")
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
            with session_scope() as session:
                if self.selected_id == "new":
                    new_id = branding.create_brand(
                        session, current_user(), branding.BrandInput(**data)
                    )
                    self.selected_id = str(new_id)
                else:
                    branding.update_brand(
                        session,
                        current_user(),
                        to_int(self.selected_id),
                        branding.BrandInput(**data),
                    )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            self.values = data
            return rx.toast.error("Check the highlighted field.")
        self._refresh()
        return rx.toast.success("Brand saved.")

    @guard(Permission.BRANDING_WRITE)
    def make_default(self) -> Any:
        try:
            with session_scope() as session:
                branding.make_default(session, current_user(), to_int(self.selected_id))
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._refresh()
        return rx.toast.success("This brand is now the default.")

    @guard(Permission.BRANDING_WRITE)
    def delete(self) -> Any:
        try:
            with session_scope() as session:
                branding.delete_brand(session, current_user(), to_int(self.selected_id))
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
            key = storage.save_logo(data)
        except storage.StorageError as exc:
            self.errors = {"logo": str(exc)}
            return None
        try:
            with session_scope() as session:
                branding.set_logo(session, current_user(), to_int(self.selected_id), key)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self.errors = {}
        self._refresh()
        return rx.toast.success("Logo saved.")
