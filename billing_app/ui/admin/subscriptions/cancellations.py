"""Cancellation requests clients made in the portal, waiting for the agency's answer: shown above
the subscriptions list and on the client's overview, each approved (at the end of the period or
now) or declined with a message the client reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import reflex as rx

from billing_app.domain.lifecycle import CancellationTiming
from billing_app.domain.permissions import Permission
from billing_app.services.catalog import portal_services
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.format import format_timestamp, to_int
from billing_app.ui.kit.forms import field_error, form_alert
from billing_app.ui.kit.layout import field_label
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard


class CancellationRequestsState(SessionState):
    requests: list[dict[str, str]] = []
    deciding: dict[str, str] = {}
    decide_open: bool = False
    errors: dict[str, str] = {}

    def _scope(self) -> int | None:
        """The client whose overview this is, or None on the subscriptions list."""
        if self.router.page.path.startswith(routes.CLIENTS + "/"):
            return to_int(self.router.page.params.get("client_id", ""), 0)
        return None

    def _refresh(self) -> None:
        user = current_user()
        rows = run(portal_services.pending_cancellations, user, client_id=self._scope())
        self.requests = [
            {
                "id": str(r.id),
                "service": r.service,
                "requested_by": r.requested_by,
                "reason": r.reason or "No reason given.",
                "at": format_timestamp(datetime.fromisoformat(r.requested_at), user.time_zone),
                "client_href": routes.client(r.client_id),
            }
            for r in rows
        ]

    @guard(Permission.SUBSCRIPTIONS_READ)
    def load(self) -> None:
        self.decide_open, self.deciding, self.errors = False, {}, {}
        self._refresh()

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def open_decide(self, request_id: str) -> None:
        self.errors = {}
        self.deciding = next((r for r in self.requests if r["id"] == request_id), {})
        self.decide_open = bool(self.deciding)

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def set_decide_open(self, value: bool) -> None:
        self.errors = {}
        self.decide_open = bool(value)

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def decide(self, form: dict[str, Any]) -> Any:
        answer = str(form.get("answer", ""))
        approve = answer in (CancellationTiming.NOW, CancellationTiming.PERIOD_END)
        try:
            run(
                portal_services.decide_cancellation,
                current_user(),
                to_int(self.deciding.get("id", ""), 0),
                approve=approve,
                timing=answer if approve else CancellationTiming.PERIOD_END,
                message=str(form.get("message", "")),
            )
        except ServiceError as exc:
            self.errors = field_errors(exc)
            return None
        self.decide_open = False
        self._refresh()
        done = "Cancellation approved." if approve else "Request declined."
        return rx.toast.success(done)


S = CancellationRequestsState


def _request_row(r: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.hstack(
                rx.text(r["service"], weight="medium", size="2"),
                rx.badge("Cancellation requested", color_scheme="orange", high_contrast=True),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(r["reason"], size="2"),
            rx.text(r["requested_by"], " · ", r["at"], size="1", color_scheme="gray"),
            spacing="1",
            flex="1",
            min_width="0",
        ),
        rx.button(
            "Answer",
            size="2",
            variant="soft",
            on_click=S.open_decide(r["id"]),
            id="answer-cancellation-" + r["id"],
        ),
        width="100%",
        align="center",
        spacing="3",
    )


def cancellation_requests_panel() -> rx.Component:
    """The pending requests (nothing at all when there are none)."""
    return rx.cond(
        S.requests.length() > 0,  # type: ignore[operator]
        rx.card(
            rx.vstack(
                rx.heading("Cancellation requests", size="3", as_="h2"),
                rx.foreach(S.requests, _request_row),
                _decide_dialog(),
                spacing="3",
                width="100%",
            ),
            width="100%",
            id="cancellation-requests",
        ),
    )


def _decide_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Answer the request: ", S.deciding["service"]),
            rx.dialog.description(
                S.deciding["requested_by"], " asks: ", S.deciding["reason"], size="2"
            ),
            rx.form(
                rx.vstack(
                    form_alert(S.errors),
                    rx.radio_group.root(
                        rx.vstack(
                            rx.text(
                                rx.radio_group.item(value=CancellationTiming.PERIOD_END),
                                " Approve: cancel at the end of the period",
                                as_="label",
                                size="2",
                            ),
                            rx.text(
                                rx.radio_group.item(value=CancellationTiming.NOW),
                                " Approve: cancel now",
                                as_="label",
                                size="2",
                            ),
                            rx.text(
                                rx.radio_group.item(value="decline"),
                                " Decline",
                                as_="label",
                                size="2",
                            ),
                            spacing="2",
                        ),
                        name="answer",
                        default_value=CancellationTiming.PERIOD_END,
                        aria_label="Answer",
                        id="cancellation-answer",
                    ),
                    field_error(S.errors, "timing"),
                    field_label("Message to the client (required to decline)", "decide-message"),
                    rx.text_area(name="message", id="decide-message", width="100%"),
                    field_error(S.errors, "message"),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Send answer", type="submit", id="decide-submit"),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=S.decide,
                reset_on_submit=False,
            ),
            max_width="520px",
        ),
        open=S.decide_open,
        on_open_change=S.set_decide_open,
    )
