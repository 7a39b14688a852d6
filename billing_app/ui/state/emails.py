"""The Emails page: what was sent, what waits, what failed (and retrying it)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.db.engine import session_scope
from billing_app.domain.permissions import Permission
from billing_app.jobs.tasks import kick_outbox
from billing_app.services.common import outbox
from billing_app.services.common.errors import ServiceError
from billing_app.ui.format import format_timestamp, to_int
from billing_app.ui.state.base import SessionState, guard

PER_PAGE = 25


class EmailsState(SessionState):
    status: str = "loading"
    rows: list[dict[str, str]] = []
    total: int = 0
    page: int = 1
    status_filter: str = "all"
    search: str = ""
    detail_open: bool = False
    detail: dict[str, str] = {}

    @rx.var
    def page_count(self) -> int:
        return max(1, -(-self.total // PER_PAGE))

    def _refresh(self) -> None:
        with session_scope() as session:
            rows, total = outbox.list_emails(
                session,
                status="" if self.status_filter == "all" else self.status_filter,
                search=self.search.strip(),
                page=self.page,
                per_page=PER_PAGE,
            )
        self.total = total
        self.rows = [
            {
                "id": str(r.id),
                "created": format_timestamp(r.created_at),
                "kind": r.kind.replace("_", " "),
                "to": r.to_address,
                "subject": r.subject,
                "status": r.status,
                "attempts": str(r.attempts),
                "error": r.last_error,
                "sent": format_timestamp(r.sent_at),
                "next": format_timestamp(r.next_attempt_at) if r.status == "failed" else "",
            }
            for r in rows
        ]
        self.status = "ok"

    @guard(Permission.EMAILS_VIEW)
    def load(self) -> None:
        self.page = 1
        self.detail_open = False
        self._refresh()

    @guard(Permission.EMAILS_VIEW)
    def set_status_filter(self, value: str) -> None:
        self.status_filter = value
        self.page = 1
        self._refresh()

    @guard(Permission.EMAILS_VIEW)
    def set_search(self, value: str) -> None:
        self.search = str(value)[:200]
        self.page = 1
        self._refresh()

    @guard(Permission.EMAILS_VIEW)
    def go_to_page(self, page: int) -> None:
        self.page = min(to_int(page, 1), self.page_count)
        self._refresh()

    @guard(Permission.EMAILS_VIEW)
    def open_detail(self, email_id: str) -> Any:
        try:
            with session_scope() as session:
                detail = outbox.get_email(session, to_int(email_id))
        except ServiceError:
            return rx.toast.error("That email no longer exists.")
        self.detail = {
            "id": str(detail.row.id),
            "to": detail.row.to_address,
            "subject": detail.row.subject,
            "status": detail.row.status,
            "error": detail.row.last_error,
            "text": detail.body_text,
            "html": detail.body_html,
        }
        self.detail_open = True
        return None

    @guard(Permission.EMAILS_VIEW)
    def set_detail_open(self, value: bool) -> None:
        self.detail_open = value

    @guard(Permission.SETTINGS_WRITE)
    def retry(self, email_id: str) -> Any:
        try:
            with session_scope() as session:
                outbox.retry_now(session, to_int(email_id))
        except ServiceError:
            return rx.toast.error("That email no longer exists.")
        kick_outbox()
        self._refresh()
        return rx.toast.success("The email is queued for delivery again.")
