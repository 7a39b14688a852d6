"""The emails page (/emails): the outbox, each message readable in place, retries."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.common import outbox
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import format_timestamp, to_int
from billing_app.ui.kit.badges import status_badge
from billing_app.ui.kit.layout import visually_hidden
from billing_app.ui.kit.list_state import ListSpec, ListState
from billing_app.ui.kit.resource import resource_pager
from billing_app.ui.session.staff import SessionState, current_user, guard

PER_PAGE = 25


class EmailsState(ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.EMAILS_VIEW,
        write=Permission.SETTINGS_WRITE,
        filters={"status": ("all", *outbox.EMAIL_STATUSES)},
        per_page=PER_PAGE,
    )

    detail_open: bool = False
    detail: dict[str, str] = {}

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        return run(outbox.list_emails, user, request)

    def _row(self, user: Any, r: Any) -> dict[str, str]:
        zone = user.time_zone
        return {
            "id": str(r.id),
            "created": format_timestamp(r.created_at, zone),
            "kind": r.kind.replace("_", " "),
            "to": r.to_address,
            "subject": r.subject,
            "status": r.status,
            "attempts": str(r.attempts),
            "error": r.last_error,
            "sent": format_timestamp(r.sent_at, zone),
            "next": format_timestamp(r.next_attempt_at, zone) if r.status == "failed" else "",
        }

    @guard(Permission.EMAILS_VIEW)
    def load(self) -> None:
        self.detail_open = False
        self._defaults()
        self._first()

    @guard(Permission.EMAILS_VIEW)
    def open_detail(self, email_id: str) -> Any:
        try:
            detail = run(outbox.get_email, current_user(), to_int(email_id))
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
            run(outbox.retry_now, current_user(), to_int(email_id))
        except ServiceError:
            return rx.toast.error("That email no longer exists.")
        self._reload()
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
            rx.debounce_input(
                rx.input(
                    placeholder="Search recipient or subject",
                    aria_label="Search recipient or subject",
                    value=EmailsState.search,
                    on_change=EmailsState.set_search,
                    width="320px",
                ),
                debounce_timeout=300,
            ),
            rx.select(
                ["all", *outbox.EMAIL_STATUSES],
                value=EmailsState.filters["status"],
                on_change=lambda v: EmailsState.set_filter("status", v),
                # rx.select hands only these to its trigger button, the element to name.
                custom_attrs={"aria-label": "Status"},
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
                    rx.table.column_header_cell(visually_hidden("Actions")),
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
                                EmailsState.can_write
                                & ((r["status"] == "failed") | (r["status"] == "dead")),
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
        resource_pager(EmailsState, "emails"),
        _email_detail(),
        width="100%",
    )


def emails_page() -> rx.Component:
    return admin_page("Emails", EmailsState.status, _emails_content)
