"""The audit log (/audit)."""

from __future__ import annotations

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.common import audit
from billing_app.services.common.transactions import run
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import format_timestamp, to_int
from billing_app.ui.kit.layout import pager
from billing_app.ui.session.staff import SessionState, guard

PER_PAGE = 50


class AuditState(SessionState):
    status: str = "loading"
    rows: list[dict[str, str]] = []
    total: int = 0
    page: int = 1
    search: str = ""
    action: str = "all"
    actions: list[str] = []

    @rx.var
    def page_count(self) -> int:
        return max(1, -(-self.total // PER_PAGE))

    def _refresh(self) -> None:
        rows, total = run(
            audit.list_events,
            search=self.search.strip(),
            action="" if self.action == "all" else self.action,
            page=self.page,
            per_page=PER_PAGE,
        )
        self.actions = ["all", *run(audit.distinct_actions)]
        self.total = total
        self.rows = [
            {
                "at": format_timestamp(r.at),
                "action": r.action,
                "actor": r.actor,
                "target": r.target,
                "ip": r.ip,
                "details": r.details,
            }
            for r in rows
        ]
        self.status = "ok"

    @guard(Permission.AUDIT_VIEW)
    def load(self) -> None:
        self.page = 1
        self._refresh()

    @guard(Permission.AUDIT_VIEW)
    def set_search(self, value: str) -> None:
        self.search = str(value)[:200]
        self.page = 1
        self._refresh()

    @guard(Permission.AUDIT_VIEW)
    def set_action(self, value: str) -> None:
        self.action = value
        self.page = 1
        self._refresh()

    @guard(Permission.AUDIT_VIEW)
    def go_to_page(self, page: int) -> None:
        self.page = min(to_int(page, 1), self.page_count)
        self._refresh()


def _audit_content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.input(
                placeholder="Search actor, target or details",
                value=AuditState.search,
                on_change=AuditState.set_search.debounce(300),
                width="320px",
            ),  # type: ignore[attr-defined]
            rx.select(AuditState.actions, value=AuditState.action, on_change=AuditState.set_action),
            spacing="3",
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Time"),
                    rx.table.column_header_cell("Action"),
                    rx.table.column_header_cell("Actor"),
                    rx.table.column_header_cell("Target"),
                    rx.table.column_header_cell("IP"),
                    rx.table.column_header_cell("Details"),
                )
            ),
            rx.table.body(
                rx.foreach(
                    AuditState.rows,
                    lambda r: rx.table.row(
                        rx.table.cell(rx.text(r["at"], size="2")),
                        rx.table.cell(rx.code(r["action"])),
                        rx.table.cell(r["actor"]),
                        rx.table.cell(r["target"]),
                        rx.table.cell(rx.text(r["ip"], size="1")),
                        rx.table.cell(rx.text(r["details"], size="1")),
                    ),
                )
            ),
            width="100%",
            variant="surface",
            id="audit",
        ),
        pager(AuditState.page, AuditState.page_count, AuditState.total, AuditState.go_to_page),
        width="100%",
    )


def audit_page() -> rx.Component:
    return admin_page("Audit log", AuditState.status, _audit_content)
