"""Settings > Payments > Events (/settings/payments/events): the events Stripe sent, newest
first, by tab (problems first), with their handling state, deliveries, attempts and last error;
"Replay" handles one again (after its cause is fixed)."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.numbers import parse_id
from billing_app.domain.permissions import Permission
from billing_app.services.card_payments import event_log
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.listing import ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.admin.shell import admin_page
from billing_app.ui.format import format_timestamp
from billing_app.ui.kit.layout import visually_hidden
from billing_app.ui.kit.list_state import ListSpec, ListState
from billing_app.ui.kit.resource import resource_pager
from billing_app.ui.session.staff import SessionState, current_user, guard

PER_PAGE = 50
PANEL = "stripe-events-panel"  # the list the tabs control
TABS = (
    ("problems", "Problems"),
    ("waiting", "Waiting"),
    ("handled", "Handled"),
    ("ignored", "Ignored"),
    ("all", "All"),
)
STATE_COLORS = {
    "handled": "green",
    "ignored": "gray",
    "pending": "blue",
    "handling": "blue",
    "failed": "orange",
    "dead": "red",
}


class StripeEventsState(ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.PAYMENTS_CONFIGURE,
        filters={"state": tuple(value for value, _ in TABS)},
        per_page=PER_PAGE,
    )

    problems: int = 0

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        return run(event_log.list_stripe_events, user, request)

    def _row(self, user: Any, r: Any) -> dict[str, str]:
        return {
            "id": str(r.id),
            "received": format_timestamp(r.received_at, user.time_zone),
            "type": r.type,
            "event_id": r.event_id,
            "object_id": r.object_id,
            "mode": "live" if r.livemode else "test",
            "state": r.state,
            "color": STATE_COLORS.get(r.state, "gray"),
            "tries": f"{r.attempts} tries, {r.deliveries} deliveries",
            "error": r.last_error,
        }

    @guard(Permission.PAYMENTS_CONFIGURE)
    def load(self) -> None:
        self._defaults()
        self.problems = run(event_log.problem_count, current_user())
        if self.problems == 0:
            self.filters = {**self.filters, "state": "all"}
        self._first()

    @guard(Permission.PAYMENTS_CONFIGURE)
    def replay(self, row_id: str) -> Any:
        try:
            run(event_log.replay_event, current_user(), parse_id(row_id) or 0)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self.problems = run(event_log.problem_count, current_user())
        self._first()
        return rx.toast.success("The event will be handled again in a moment.")


S = StripeEventsState
_WRAP = {"overflow_wrap": "anywhere", "word_break": "break-word"}


def _row(r: Any) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(r["received"], size="2")),
        rx.table.cell(
            rx.vstack(
                rx.code(r["type"], style=_WRAP),
                rx.text(
                    r["event_id"], " · ", r["object_id"], size="1", color_scheme="gray", style=_WRAP
                ),
                spacing="1",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.badge(r["state"], color_scheme=r["color"], high_contrast=True),  # type: ignore[arg-type]
                rx.text(r["tries"], size="1", color_scheme="gray"),
                spacing="1",
            )
        ),
        rx.table.cell(rx.text(r["error"], size="1"), style=_WRAP),
        rx.table.cell(
            rx.button(
                "Replay",
                size="1",
                variant="soft",
                on_click=S.replay(r["id"]),  # type: ignore[call-arg]
                aria_label="Replay " + r["type"] + " " + r["event_id"],
            ),
        ),
        custom_attrs={"data-event": r["event_id"]},
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.link("← Payments settings", href=routes.PAYMENTS_SETTINGS, size="2"),
        rx.hstack(
            rx.tabs.root(
                rx.tabs.list(
                    *[
                        rx.tabs.trigger(
                            rx.cond(
                                (value == "problems") & (S.problems > 0),
                                label + " (" + S.problems.to_string() + ")",  # type: ignore[attr-defined]
                                label,
                            ),
                            value=value,
                            id=f"events-tab-{value}",
                            aria_controls=PANEL,
                        )
                        for value, label in TABS
                    ]
                ),
                value=S.filters["state"],
                on_change=lambda v: S.set_filter("state", v),
            ),
            rx.spacer(),
            rx.debounce_input(
                rx.input(
                    placeholder="Search type or id",
                    aria_label="Search event type or id",
                    value=S.search,
                    on_change=S.set_search,
                    width="260px",
                ),
                debounce_timeout=300,
            ),
            width="100%",
            wrap="wrap",
            spacing="3",
            align="center",
        ),
        rx.box(
            rx.cond(
                S.rows.length() > 0,  # type: ignore[attr-defined,operator]
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Received"),
                            rx.table.column_header_cell("Event"),
                            rx.table.column_header_cell("State"),
                            rx.table.column_header_cell("Last error"),
                            rx.table.column_header_cell(visually_hidden("Actions")),
                        )
                    ),
                    rx.table.body(rx.foreach(S.rows, _row)),
                    width="100%",
                    variant="surface",
                    id="stripe-events",
                ),
                rx.callout("No events here.", icon="inbox", color_scheme="gray", id="no-events"),
            ),
            id=PANEL,
            role="tabpanel",
            aria_labelledby="events-tab-" + S.filters["state"],
            width="100%",
        ),
        resource_pager(S, "stripe-events"),
        spacing="4",
        width="100%",
    )


def stripe_events_page() -> rx.Component:
    return admin_page("Stripe events", S.status, _content)
