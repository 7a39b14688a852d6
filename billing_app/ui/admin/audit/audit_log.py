"""The audit log (/audit)."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.common import audit
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import format_timestamp
from billing_app.ui.kit.list_state import ANY, ListSpec, ListState
from billing_app.ui.kit.resource import resource_pager
from billing_app.ui.session.staff import SessionState, current_user, guard

PER_PAGE = 50


class AuditState(ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.AUDIT_VIEW,
        filters={"action": ("all", ANY)},
        per_page=PER_PAGE,
    )

    actions: list[str] = []

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        return run(audit.list_events, user, request)

    def _row(self, user: Any, r: Any) -> dict[str, str]:
        return {
            "at": format_timestamp(r.at, user.time_zone),
            "action": r.action,
            "actor": r.actor,
            "target": r.target,
            "ip": r.ip,
            "details": r.details,
        }

    @guard(Permission.AUDIT_VIEW)
    def load(self) -> None:
        self.actions = ["all", *run(audit.distinct_actions, current_user())]
        self._defaults()
        self._first()


# Long emails, targets and details wrap inside their cell: the table never becomes a region
# that scrolls sideways (which keyboard users could not reach).
_WRAP = {"overflow_wrap": "anywhere", "word_break": "break-word"}


def _audit_content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.debounce_input(
                rx.input(
                    placeholder="Search actor, target or details",
                    aria_label="Search actor, target or details",
                    value=AuditState.search,
                    on_change=AuditState.set_search,
                    width="320px",
                ),
                debounce_timeout=300,
            ),
            rx.select(
                AuditState.actions,
                value=AuditState.filters["action"],
                on_change=lambda v: AuditState.set_filter("action", v),
                # rx.select hands only these to its trigger button, the element to name.
                custom_attrs={"aria-label": "Action"},
            ),
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
                        rx.table.cell(rx.code(r["action"], style=_WRAP)),
                        rx.table.cell(r["actor"], style=_WRAP),
                        rx.table.cell(r["target"], style=_WRAP),
                        rx.table.cell(rx.text(r["ip"], size="1"), style=_WRAP),
                        rx.table.cell(rx.text(r["details"], size="1"), style=_WRAP),
                    ),
                )
            ),
            width="100%",
            variant="surface",
            id="audit",
        ),
        resource_pager(AuditState, "audit"),
        width="100%",
    )


def audit_page() -> rx.Component:
    return admin_page("Audit log", AuditState.status, _audit_content)
