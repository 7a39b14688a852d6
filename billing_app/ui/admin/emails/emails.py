"""The emails page (/emails): the outbox, each message readable in place, retries."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.common import outbox
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import format_timestamp, to_int
from billing_app.ui.kit.badges import status_badge
from billing_app.ui.kit.layout import pager
from billing_app.ui.session.staff import SessionState, guard

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
        rows, total = run(
            outbox.list_emails,
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
            detail = run(outbox.get_email, to_int(email_id))
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
            run(outbox.retry_now, to_int(email_id))
        except ServiceError:
            return rx.toast.error("That email no longer exists.")
        self._refresh()
        return rx.toast.success("The email is queued for delivery again.")


def _email_detail() -> rx.Component:
    d = EmailsState.detail
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(d["subject"]),
            rx.vstack(
                rx.hstack(
                    rx.text("To:", weight="medium"), rx.text(d["to"]), status_badge(d["status"])
                ),
                rx.cond(
                    d["error"] != "",
                    rx.callout(d["error"], color_scheme="red", icon="triangle-alert"),
                ),
                rx.tabs.root(
                    rx.tabs.list(
                        rx.tabs.trigger("HTML", value="html"),
                        rx.tabs.trigger("Plain text", value="text"),
                    ),
                    rx.tabs.content(
                        rx.el.iframe(
                            src_doc=d["html"],
                            width="100%",
                            height="420px",
                            sandbox="",
                            style={"border": "1px solid #ddd"},
                        ),
                        value="html",
                    ),
                    rx.tabs.content(
                        rx.code_block(d["text"], language="log", wrap_long_lines=True),
                        value="text",
                    ),
                    default_value="html",
                    width="100%",
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Close", variant="soft")), justify="end", width="100%"
                ),
                width="100%",
            ),
            max_width="760px",
        ),
        open=EmailsState.detail_open,
        on_open_change=EmailsState.set_detail_open,
    )


def _emails_content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.input(
                placeholder="Search recipient or subject",
                value=EmailsState.search,
                on_change=EmailsState.set_search.debounce(300),
                width="320px",
            ),  # type: ignore[attr-defined]
            rx.select(
                ["all", "queued", "sent", "failed", "dead"],
                value=EmailsState.status_filter,
                on_change=EmailsState.set_status_filter,
            ),
            spacing="3",
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Created"),
                    rx.table.column_header_cell("To"),
                    rx.table.column_header_cell("Subject"),
                    rx.table.column_header_cell("Status"),
                    rx.table.column_header_cell("Attempts"),
                    rx.table.column_header_cell(""),
                )
            ),
            rx.table.body(
                rx.foreach(
                    EmailsState.rows,
                    lambda r: rx.table.row(
                        rx.table.cell(rx.text(r["created"], size="2")),
                        rx.table.cell(r["to"]),
                        rx.table.cell(
                            rx.vstack(
                                rx.button(
                                    r["subject"],
                                    on_click=EmailsState.open_detail(r["id"]),
                                    variant="ghost",
                                    size="2",
                                    padding_x="0",
                                    class_name="email-subject",
                                ),
                                rx.cond(
                                    r["error"] != "",
                                    rx.text(r["error"], size="1", color_scheme="red"),
                                ),
                                rx.cond(
                                    r["next"] != "",
                                    rx.text(
                                        "Next attempt " + r["next"], size="1", color_scheme="gray"
                                    ),
                                ),
                                spacing="0",
                            )
                        ),
                        rx.table.cell(status_badge(r["status"])),
                        rx.table.cell(r["attempts"]),
                        rx.table.cell(
                            rx.cond(
                                (r["status"] == "failed") | (r["status"] == "dead"),
                                rx.button(
                                    "Retry now",
                                    size="1",
                                    variant="soft",
                                    on_click=EmailsState.retry(r["id"]),
                                ),
                            )
                        ),
                        align="center",
                    ),
                )
            ),
            width="100%",
            variant="surface",
            id="emails",
        ),
        rx.cond(
            EmailsState.total == 0, rx.text("No emails yet.", color_scheme="gray", padding="16px")
        ),
        pager(EmailsState.page, EmailsState.page_count, EmailsState.total, EmailsState.go_to_page),
        _email_detail(),
        width="100%",
    )


def emails_page() -> rx.Component:
    return admin_page("Emails", EmailsState.status, _emails_content)
