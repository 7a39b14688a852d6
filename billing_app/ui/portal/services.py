"""The portal's products and services (/portal/services): active, one-time and ended services,
each with its website, price, renewal and what it has billed; asking to cancel one, and seeing
the agency's answer."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import ClientPermission
from billing_app.services.catalog import portal_services
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.listing import ListRequest
from billing_app.services.common.transactions import run
from billing_app.ui.format import day, money, optional_int
from billing_app.ui.kit.forms import field_error, form_alert
from billing_app.ui.kit.layout import field_label
from billing_app.ui.portal.frame import PortalPageState, portal_page
from billing_app.ui.portal.service_change import PortalChangeState, change_dialog
from billing_app.ui.session.portal import current_client_user, portal_guard
from billing_app.ui.session.staff import field_errors

TABS = (("active", "Active"), ("one_time", "One-time"), ("inactive", "Ended"))
SERVICES_PANEL = "portal-services-panel"  # the list the tabs control
REQUEST_LABELS = {
    "pending": "Cancellation requested: waiting for an answer",
    "approved": "Cancellation approved",
    "declined": "Cancellation declined",
    "withdrawn": "",
}


def _status(s: portal_services.PortalService) -> str:
    if s.kind == "one_time":
        return "One-time purchase"
    if s.cancel_at_period_end and s.ends_on:
        return f"Ends {day(s.ends_on)}"
    if s.status == "ended":
        return f"Ended {day(s.ends_on)}" if s.ends_on else "Ended"
    return s.status.replace("_", " ").capitalize()


class PortalServicesState(PortalPageState):
    tab: str = "active"
    rows: list[dict[str, str]] = []
    asking: dict[str, str] = {}
    ask_open: bool = False
    errors: dict[str, str] = {}

    def _show(self) -> None:
        page = run(
            portal_services.list_client_services,
            current_client_user(),
            ListRequest(filters={"tab": self.tab}, per_page=200),
        )
        self.rows = [
            {
                "id": str(s.id),
                "name": s.name,
                "website": s.website,
                "price": money(s.amount)
                + ("" if s.interval_label == "one-time" else f" {s.interval_label}"),
                "status": _status(s),
                "next": day(s.next_renewal_on) if s.next_renewal_on else "",
                "started": day(s.start_date),
                "billed": money(s.billed_to_date),
                "request": REQUEST_LABELS.get(s.request_status, ""),
                "request_status": s.request_status,
                "answer": s.request_message,
                "can_ask": "yes" if s.can_request_cancellation else "",
                "can_change": "yes" if s.can_change else "",
                "can_keep": "yes" if s.can_keep else "",
            }
            for s in page.rows
        ]

    @portal_guard(ClientPermission.SUBSCRIPTIONS_VIEW)
    def load(self) -> Any:
        self._frame()
        gate = self._two_factor_gate()
        if gate is not None:
            return gate
        self.tab, self.ask_open, self.asking, self.errors = "active", False, {}, {}
        self._show()
        return None

    @portal_guard(ClientPermission.SUBSCRIPTIONS_VIEW)
    def set_tab(self, tab: str) -> None:
        self.tab = tab if tab in dict(TABS) else "active"
        self._show()

    @portal_guard(ClientPermission.CANCELLATION_REQUEST)
    def open_ask(self, subscription_id: str) -> None:
        self.errors = {}
        self.asking = next((r for r in self.rows if r["id"] == subscription_id), {})
        self.ask_open = bool(self.asking)

    @portal_guard(ClientPermission.CANCELLATION_REQUEST)
    def set_ask_open(self, value: bool) -> None:
        self.ask_open = bool(value)

    @portal_guard(ClientPermission.CANCELLATION_REQUEST)
    def ask(self, form: dict[str, Any]) -> Any:
        try:
            run(
                portal_services.request_cancellation,
                current_client_user(),
                optional_int(self.asking.get("id", "")) or 0,
                str(form.get("reason", "")),
            )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.ask_open = False
        self._show()
        return rx.toast.success("Your request was sent. We'll let you know.")

    @portal_guard(ClientPermission.CANCELLATION_REQUEST)
    def withdraw(self, subscription_id: str) -> Any:
        try:
            run(
                portal_services.withdraw_cancellation,
                current_client_user(),
                optional_int(subscription_id) or 0,
            )
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._show()
        return rx.toast.success("Request withdrawn.")


S = PortalServicesState


def _fact(label: str, value: Any) -> rx.Component:
    return rx.cond(
        value != "",
        rx.vstack(
            rx.text(label, size="1", color_scheme="gray"),
            rx.text(value, size="2"),
            spacing="0",
        ),
    )


def _service(r: Any) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.heading(r["name"], size="3", as_="h2"),
                    rx.text(r["website"], size="2", color_scheme="gray"),
                    spacing="0",
                ),
                rx.spacer(),
                rx.text(r["price"], size="3", weight="bold"),
                width="100%",
                align="start",
            ),
            rx.grid(
                _fact("Status", r["status"]),
                _fact("Next renewal", r["next"]),
                _fact("Started", r["started"]),
                _fact("Billed to date", r["billed"]),
                columns=rx.breakpoints(initial="2", sm="4"),
                spacing="3",
                width="100%",
            ),
            rx.cond(
                r["request"] != "",
                rx.callout(
                    rx.vstack(
                        rx.text(r["request"], weight="medium"),
                        rx.cond(r["answer"] != "", rx.text(r["answer"])),
                        spacing="1",
                    ),
                    icon="info",
                    color_scheme=rx.cond(r["request_status"] == "declined", "amber", "blue"),
                    size="1",
                    width="100%",
                ),
            ),
            rx.hstack(
                rx.cond(
                    r["can_keep"] == "yes",
                    rx.button(
                        "Keep my subscription",
                        on_click=PortalChangeState.keep(r["id"]),  # type: ignore[call-arg]
                        id="keep-" + r["id"],
                    ),
                ),
                rx.cond(
                    r["can_change"] == "yes",
                    rx.button(
                        "Change",
                        variant="soft",
                        on_click=PortalChangeState.open_change(r["id"]),  # type: ignore[call-arg]
                        id="change-" + r["id"],
                    ),
                ),
                rx.cond(
                    r["can_ask"] == "yes",
                    rx.button(
                        "Request cancellation",
                        variant="soft",
                        color_scheme="red",
                        on_click=S.open_ask(r["id"]),  # type: ignore[call-arg]
                        id="ask-cancel-" + r["id"],
                    ),
                ),
                rx.cond(
                    (r["request_status"] == "pending")
                    & S.granted.contains(ClientPermission.CANCELLATION_REQUEST.value),  # type: ignore[attr-defined]
                    rx.button(
                        "Withdraw request",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.withdraw(r["id"]),  # type: ignore[call-arg]
                        id="withdraw-cancel-" + r["id"],
                    ),
                ),
                justify="end",
                wrap="wrap",
                spacing="2",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _ask_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Request cancellation"),
            rx.dialog.description(
                "We'll review your request for ",
                S.asking["name"],
                " and answer here and by email. The service keeps running meanwhile.",
                size="2",
            ),
            rx.form(
                rx.vstack(
                    form_alert(S.errors),
                    field_label("Reason (optional)", "cancel-reason"),
                    rx.text_area(name="reason", id="cancel-reason", width="100%", rows="4"),
                    field_error(S.errors, "reason"),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Keep it", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button(
                            "Send request",
                            color_scheme="red",
                            high_contrast=True,
                            type="submit",
                            id="cancel-submit",
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=S.ask,
                reset_on_submit=True,
            ),
            max_width="480px",
        ),
        open=S.ask_open,
        on_open_change=S.set_ask_open,
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.tabs.root(
            rx.tabs.list(
                *[
                    rx.tabs.trigger(
                        label,
                        value=value,
                        id=f"portal-services-{value}",
                        aria_controls=SERVICES_PANEL,
                    )
                    for value, label in TABS
                ]
            ),
            value=S.tab,
            on_change=S.set_tab,
        ),
        rx.box(
            rx.cond(
                S.rows.length() > 0,  # type: ignore[attr-defined,operator]
                rx.vstack(rx.foreach(S.rows, _service), spacing="3", width="100%"),
                rx.callout("Nothing here.", icon="package", color_scheme="gray"),
            ),
            id=SERVICES_PANEL,
            role="tabpanel",
            aria_labelledby="portal-services-" + S.tab,
            width="100%",
        ),
        _ask_dialog(),
        change_dialog(),
        spacing="4",
        width="100%",
        id="portal-services",
    )


def portal_services_page() -> rx.Component:
    return portal_page("Products & services", _content)
