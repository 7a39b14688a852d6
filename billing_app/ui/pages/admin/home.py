"""Dashboard, Emails and Audit log pages."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.components.layout import admin_page, pager
from billing_app.ui.state.audit_log import AuditState
from billing_app.ui.state.dashboard import DashboardState
from billing_app.ui.state.emails import EmailsState


def _stat(label: str, value: rx.Var[int], icon: str, href: str) -> rx.Component:
    return rx.link(
        rx.card(
            rx.hstack(
                rx.icon(icon, size=22, color=rx.color("accent", 10)),
                rx.vstack(
                    rx.text(label, size="2", color_scheme="gray"),
                    rx.heading(value.to_string(), size="7"),
                    spacing="1",
                ),
                spacing="4",
                align="center",
            ),
            width="100%",
        ),
        href=href,
        underline="none",
        width="100%",
    )


def _revenue() -> rx.Component:
    return rx.cond(
        DashboardState.show_revenue,
        rx.vstack(
            rx.grid(
                _stat("Active clients", DashboardState.active_clients, "building-2", "/clients"),
                rx.cond(
                    DashboardState.show_receivables,
                    _stat(
                        "Overdue invoices", DashboardState.overdue_count, "alarm-clock", "/invoices"
                    ),
                ),
                columns="4",
                spacing="4",
                width="100%",
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Currency"),
                        rx.table.column_header_cell("MRR", text_align="right"),
                        rx.table.column_header_cell("ARR", text_align="right"),
                        rx.cond(
                            DashboardState.show_receivables,
                            rx.table.column_header_cell("Outstanding", text_align="right"),
                        ),
                        rx.cond(
                            DashboardState.show_receivables,
                            rx.table.column_header_cell("Overdue", text_align="right"),
                        ),
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        DashboardState.revenue,
                        lambda r: rx.table.row(
                            rx.table.cell(rx.badge(r["currency"], variant="soft")),
                            rx.table.cell(rx.text(r["mrr"], weight="bold"), text_align="right"),
                            rx.table.cell(r["arr"], text_align="right"),
                            rx.cond(
                                DashboardState.show_receivables,
                                rx.table.cell(r["outstanding"], text_align="right"),
                            ),
                            rx.cond(
                                DashboardState.show_receivables,
                                rx.table.cell(
                                    rx.text(
                                        r["overdue"],
                                        color_scheme=rx.cond(r["late"] == "yes", "red", "gray"),
                                    ),
                                    text_align="right",
                                ),
                            ),
                        ),
                    )
                ),
                width="100%",
                variant="surface",
                id="revenue",
            ),
            rx.cond(
                DashboardState.revenue.length() == 0,
                rx.text(
                    "No recurring revenue yet: attach a product to a client to start.",
                    color_scheme="gray",
                    size="2",
                ),
            ),
            width="100%",
            spacing="3",
        ),
    )


def _dashboard_content() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Signed in as ",
            DashboardState.user_name,
            " (",
            DashboardState.role_label,
            ").",
            color_scheme="gray",
            id="dashboard-welcome",
        ),
        _revenue(),
        rx.grid(
            _stat("Active team members", DashboardState.active_members, "users", "/team"),
            _stat("Pending invitations", DashboardState.pending_invitations, "mail-plus", "/team"),
            _stat("Emails waiting", DashboardState.emails_waiting, "send", "/emails"),
            _stat("Emails failing", DashboardState.emails_failed, "mail-warning", "/emails"),
            columns="4",
            spacing="4",
            width="100%",
        ),
        rx.cond(
            DashboardState.activity.length() > 0,  # type: ignore[operator]
            rx.vstack(
                rx.heading("Recent activity", size="4", padding_top="16px"),
                rx.table.root(
                    rx.table.body(
                        rx.foreach(
                            DashboardState.activity,
                            lambda a: rx.table.row(
                                rx.table.cell(rx.text(a["at"], size="2", color_scheme="gray")),
                                rx.table.cell(rx.code(a["action"])),
                                rx.table.cell(a["actor"]),
                                rx.table.cell(a["target"]),
                            ),
                        )
                    ),
                    width="100%",
                    variant="surface",
                ),
                rx.link("See the whole audit log", href="/audit", size="2"),
                width="100%",
            ),
        ),
        width="100%",
        spacing="4",
    )


def dashboard_page() -> rx.Component:
    return admin_page("Dashboard", DashboardState.status, _dashboard_content)


STATUS_COLORS = {
    "sent": "green",
    "queued": "blue",
    "sending": "blue",
    "failed": "orange",
    "dead": "red",
}


def _status_badge(status: rx.Var[str]) -> rx.Component:
    return rx.match(
        status,
        *[(k, rx.badge(k, color_scheme=v)) for k, v in STATUS_COLORS.items()],  # type: ignore[arg-type]
        rx.badge(status),
    )


def _email_detail() -> rx.Component:
    d = EmailsState.detail
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(d["subject"]),
            rx.vstack(
                rx.hstack(
                    rx.text("To:", weight="medium"), rx.text(d["to"]), _status_badge(d["status"])
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
                        rx.table.cell(_status_badge(r["status"])),
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
