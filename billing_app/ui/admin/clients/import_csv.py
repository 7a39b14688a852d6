"""Import clients from a CSV file (/clients/import): every row is checked before anything
is written."""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.access import client_roles
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.services.customers import imports as imports_service
from billing_app.ui import routes
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.kit.forms import file_drop
from billing_app.ui.session.staff import SessionState, current_user, guard


class ImportState(SessionState):
    """Upload a CSV, preview every row with its problem, import the valid rows."""

    status: str = "loading"
    file_name: str = ""
    rows: list[dict[str, str]] = []
    valid: int = 0
    invalid: int = 0
    ignored: str = ""
    error: str = ""
    imported: int = -1
    # Inviting each new client's contact to the portal needs clients.users too.
    can_invite: bool = False
    invite: bool = False
    invite_role: str = ""  # the default client role they would get
    _data: bytes = b""

    @guard(Permission.CLIENTS_WRITE)
    def load(self) -> None:
        self._reset_preview()
        user = current_user()
        self.can_invite = user.can(Permission.CLIENTS_USERS)
        self.invite, self.invite_role = False, ""
        if self.can_invite:
            choices = run(client_roles.client_role_choices, user)
            self.invite_role = dict(choices.options).get(choices.default, "")
        self.status = "ok"

    @guard(Permission.CLIENTS_USERS)
    def set_invite(self, value: bool) -> None:
        self.invite = bool(value)

    def _reset_preview(self) -> None:
        self.file_name = ""
        self.rows = []
        self.valid = self.invalid = 0
        self.ignored = ""
        self.error = ""
        self.imported = -1
        self._data = b""

    def _preview(self) -> None:
        result = run(imports_service.preview, current_user(), self._data)
        self.rows = [
            {
                "line": str(r.line),
                "company": r.company or "—",
                "email": r.email or "—",
                "currency": r.currency,
                "websites": r.websites,
                "error": r.error,
                "ok": "yes" if r.ok else "",
            }
            for r in result.rows
        ]
        self.valid, self.invalid = result.valid, result.invalid
        self.ignored = ", ".join(result.ignored_columns)

    @guard(Permission.CLIENTS_WRITE, upload=True)
    async def upload(self, files: list[rx.UploadFile]) -> Any:
        self._reset_preview()
        if not files:
            self.error = "Choose a CSV file."
            return None
        upload = files[0]
        data = await upload.read()
        self.file_name = (upload.name or "clients.csv")[:200]
        if len(data) > imports_service.MAX_BYTES:
            self.error = "The file is larger than 5 MB."
            return None
        self._data = data
        await asyncio.to_thread(self._checked_preview)
        return None

    def _checked_preview(self) -> None:
        try:
            self._preview()
        except ServiceError as exc:
            self.error = exc.message
            self._data = b""

    @guard(Permission.CLIENTS_WRITE)
    def run_import(self) -> Any:
        if not self._data:
            return rx.toast.error("Upload a file first.")
        try:
            invite = self.invite and current_user().can(Permission.CLIENTS_USERS)
            created = run(imports_service.import_valid, current_user(), self._data, invite=invite)
        except ServiceError as exc:
            self.error = exc.message
            return None
        self.imported = created
        self._preview()
        invited = " and their contacts invited to the portal" if invite and created else ""
        return rx.toast.success(f"{created} client{'s' if created != 1 else ''} imported{invited}.")

    @guard(Permission.CLIENTS_WRITE)
    def clear(self) -> None:
        self._reset_preview()


def _preview_row(row: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["line"], color_scheme="gray", size="2")),
        rx.table.cell(
            rx.cond(
                row["ok"] == "yes",
                rx.badge(rx.icon("check", size=12), "Ready", color_scheme="green", variant="soft"),
                rx.badge(rx.icon("x", size=12), "Skipped", color_scheme="red", variant="soft"),
            )
        ),
        rx.table.cell(rx.text(row["company"], weight="medium")),
        rx.table.cell(rx.text(row["email"], size="2")),
        rx.table.cell(rx.text(row["currency"], size="2")),
        rx.table.cell(rx.text(row["websites"], size="2", color_scheme="gray")),
        rx.table.cell(rx.text(row["error"], color_scheme="red", size="2")),
        id="import-row-" + row["line"],
        background=rx.cond(row["ok"] == "yes", "transparent", rx.color("red", 2)),
    )


def _import_content() -> rx.Component:
    s = ImportState
    return rx.vstack(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=14),
                rx.text("Clients", size="2"),
                spacing="1",
                align="center",
            ),
            href=routes.CLIENTS,
            color_scheme="gray",
        ),
        rx.link(
            "Your clients are Stripe customers already? Import them from Stripe",
            href=routes.CLIENTS_IMPORT_STRIPE,
            size="2",
            id="import-from-stripe",
        ),
        rx.card(
            rx.vstack(
                rx.text(
                    "The first row names the columns: company and email are required; "
                    "contact name, phone, address, city, postal code, country, currency, "
                    "language, tax ID, notes and website(s) are optional. Comma, semicolon or "
                    "tab separated, UTF-8 or Latin-1. Rows whose email matches an existing "
                    "client are skipped, so importing the same file twice creates nothing new.",
                    size="2",
                    color_scheme="gray",
                ),
                file_drop(
                    "CSV file of clients",
                    rx.vstack(
                        rx.icon("file-spreadsheet", size=32, color=rx.color("accent", 9)),
                        rx.text("Drop a CSV file here or click to choose one", weight="medium"),
                        rx.text("Up to 5 MB", size="1", color_scheme="gray"),
                        align="center",
                        spacing="2",
                    ),
                    id="clients-csv",
                    accept={"text/csv": [".csv"], "text/plain": [".txt"]},
                    max_files=1,
                    multiple=False,
                    on_drop=ImportState.upload(rx.upload_files(upload_id="clients-csv")),
                    border=f"2px dashed {rx.color('accent', 7)}",
                    border_radius="12px",
                    padding="32px",
                    width="100%",
                    cursor="pointer",
                    background=rx.color("accent", 2),
                ),
                rx.cond(
                    s.error != "",
                    rx.callout(
                        s.error,
                        icon="triangle-alert",
                        color_scheme="red",
                        id="import-error",
                        width="100%",
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        rx.cond(
            s.rows.length() > 0,
            rx.vstack(
                rx.hstack(
                    rx.text(s.file_name, weight="bold"),
                    rx.badge(
                        s.valid.to_string() + " ready", color_scheme="green", id="import-valid"
                    ),
                    rx.badge(
                        s.invalid.to_string() + " with problems",
                        color_scheme="red",
                        id="import-invalid",
                    ),
                    rx.spacer(),
                    rx.cond(
                        s.imported >= 0,
                        rx.callout(
                            s.imported.to_string() + " clients imported.",
                            icon="check",
                            color_scheme="green",
                            size="1",
                            id="import-done",
                        ),
                        rx.hstack(
                            rx.cond(
                                s.can_invite,
                                rx.checkbox(
                                    "Invite each client's contact to the portal ("
                                    + s.invite_role
                                    + ")",
                                    checked=s.invite,
                                    on_change=ImportState.set_invite,
                                    id="import-invite",
                                ),
                            ),
                            rx.button(
                                rx.icon("upload", size=16),
                                "Import " + s.valid.to_string() + " valid rows",
                                on_click=ImportState.run_import,
                                disabled=s.valid == 0,
                                id="import-run",
                            ),
                            spacing="4",
                            align="center",
                        ),
                    ),
                    width="100%",
                    align="center",
                    spacing="3",
                ),
                rx.cond(
                    s.ignored != "",
                    rx.text("Ignored columns: ", s.ignored, size="1", color_scheme="gray"),
                ),
                rx.card(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Row"),
                                rx.table.column_header_cell(""),
                                rx.table.column_header_cell("Company"),
                                rx.table.column_header_cell("Email"),
                                rx.table.column_header_cell("Currency"),
                                rx.table.column_header_cell("Websites"),
                                rx.table.column_header_cell("Problem"),
                            )
                        ),
                        rx.table.body(rx.foreach(s.rows, _preview_row)),
                        variant="ghost",
                        width="100%",
                        id="import-preview",
                    ),
                    padding="0",
                    width="100%",
                ),
                width="100%",
                spacing="3",
            ),
        ),
        width="100%",
        spacing="4",
    )


def clients_import_page() -> rx.Component:
    return admin_page("Import clients", ImportState.status, _import_content)
