"""The state of the subscriptions list (/subscriptions) and of a client's products and services."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.lifecycle import SubscriptionStatus
from billing_app.domain.permissions import FIGURE_PERMISSIONS, Permission
from billing_app.services.catalog import products as catalog_service
from billing_app.services.catalog import subscriptions as subscriptions_service
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.admin.clients.overview_state import ClientState
from billing_app.ui.admin.invoices.list import PER_PAGE
from billing_app.ui.format import day, figure, format_timestamp, money, optional_int, to_int
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

SORTS = ("next_renewal", "created", "mrr")


TABS = ("active", "one_time", "inactive")


STATUS_VALUES = ("all", *(s.value for s in SubscriptionStatus))


def _status_label(row: subscriptions_service.SubscriptionRow) -> str:
    if row.kind == "one_time":
        return "One-time"
    if row.status == "canceled" and row.cancel_at_period_end and row.ends_on:
        return f"Cancels {day(row.ends_on)}"
    return SubscriptionStatus(row.status).label.capitalize()


class SubscriptionsState(SessionState):
    status: str = "loading"
    rows: list[dict[str, str]] = []
    total: int = 0
    page: int = 1
    page_count: int = 1
    search: str = ""
    sort: str = "next_renewal"
    descending: bool = False
    status_filter: str = "all"
    product_filter: str = "all"
    tab: str = "active"
    scope: str = ""  # a client id when shown on the client's overview
    product_options: list[dict[str, str]] = []
    can_write: bool = False
    # change quantity / price
    change_open: bool = False
    change_key: str = "0"
    change_id: str = ""
    change_title: str = ""
    change_errors: dict[str, str] = {}
    change_values: dict[str, str] = {}
    # history
    history_open: bool = False
    history_title: str = ""
    history_summary: dict[str, str] = {}
    history: list[dict[str, str]] = []

    def _refresh(self) -> None:
        user = current_user()
        scope = to_int(self.scope, 0) or None
        result = run(
            subscriptions_service.list_subscriptions,
            user,
            client_id=scope,
            tab=self.tab if scope else "",
            status="" if scope or self.status_filter == "all" else self.status_filter,
            product_id=None if self.product_filter == "all" else to_int(self.product_filter),
            search=self.search if not scope else "",
            sort=self.sort,
            descending=self.descending,
            page=self.page,
            per_page=PER_PAGE,
        )
        if not scope and not self.product_options:
            self.product_options = [
                {"value": str(p.id), "label": p.name}
                for p in run(catalog_service.list_products, status="", per_page=200).rows
            ]
        self.rows = [self._row(r) for r in result.rows]
        self.total = result.total
        self.page_count = result.pages
        self.can_write = user.can(Permission.SUBSCRIPTIONS_WRITE)
        self.status = "ok"

    @staticmethod
    def _row(r: subscriptions_service.SubscriptionRow) -> dict[str, str]:
        running = r.status in subscriptions_service.RUNNING and r.kind == "recurring"
        pending = ""
        if r.pending_quantity is not None or r.pending_unit_price is not None:
            price = money(r.pending_unit_price) if r.pending_unit_price else money(r.unit_price)
            pending = f"From next period: {r.pending_quantity or r.quantity} × {price}"
        return {
            "id": str(r.id),
            "client": r.client_company,
            "client_href": routes.client(r.client_id),
            "product": r.product_name,
            "website": r.website_name,
            "detail": " · ".join(
                p
                for p in (
                    r.website_name,
                    f"{r.quantity} × {money(r.unit_price)}" if r.quantity != 1 else "",
                )
                if p
            ),
            "status": "one-time" if r.kind == "one_time" else r.status,
            "status_label": _status_label(r),
            "amount": money(r.amount),
            "interval": r.interval_label.capitalize(),
            "mrr": figure(r.mrr) if r.kind == "recurring" else "—",
            "start": day(r.start_date),
            "next_renewal": day(r.next_renewal_on)
            if r.next_renewal_on
            else (f"Ends {day(r.ends_on)}" if r.ends_on else "—"),
            "pending": pending,
            "can_cancel": "yes" if running else "",
            "can_cancel_end": "yes" if running and r.status != "paused" else "",
            "can_resume": "yes" if r.status == "canceled" and r.cancel_at_period_end else "",
            "can_pause": "yes"
            if r.kind == "recurring" and r.status in ("active", "past_due")
            else "",
            "can_unpause": "yes" if r.status == "paused" else "",
            "can_change": "yes" if running else "",
        }

    def _on_client_page(self) -> bool:
        return self.router.page.path.startswith(routes.CLIENTS + "/")

    @guard(Permission.SUBSCRIPTIONS_READ)
    def load(self) -> None:
        self.page = 1
        self.change_open = self.history_open = False
        if self._on_client_page():
            self.scope = str(to_int(self.router.page.params.get("client_id", ""), 0))
            self.tab = "active"
        else:
            self.scope = ""
            self.product_options = []
        self._refresh()

    @guard(Permission.SUBSCRIPTIONS_READ)
    def reload(self) -> None:
        if self.status == "ok":
            self._refresh()

    @guard(Permission.SUBSCRIPTIONS_READ)
    def set_search(self, value: str) -> None:
        self.search = str(value)[:200]
        self.page = 1
        self._refresh()

    @guard(Permission.SUBSCRIPTIONS_READ)
    def set_tab(self, value: str) -> None:
        self.tab = value if value in TABS else "active"
        self.page = 1
        self._refresh()

    @guard(Permission.SUBSCRIPTIONS_READ)
    def set_status_filter(self, value: str) -> None:
        self.status_filter = value if value in STATUS_VALUES else "all"
        self.page = 1
        self._refresh()

    @guard(Permission.SUBSCRIPTIONS_READ)
    def set_product_filter(self, value: str) -> None:
        self.product_filter = value if value == "all" or optional_int(value) is not None else "all"
        self.page = 1
        self._refresh()

    @guard(Permission.SUBSCRIPTIONS_READ)
    def sort_by(self, key: str) -> None:
        if key not in SORTS:
            return
        needs = FIGURE_PERMISSIONS.get(key)
        if needs is not None and not current_user().can(needs):
            return
        if self.sort == key:
            self.descending = not self.descending
        else:
            self.sort, self.descending = key, key == "mrr"
        self.page = 1
        self._refresh()

    @guard(Permission.SUBSCRIPTIONS_READ)
    def go(self, page: int) -> None:
        self.page = max(1, min(to_int(page, 1), self.page_count))
        self._refresh()

    # ---------------------------------------------------------------- actions

    def _act(self, action: Any, subscription_id: str, done: str) -> Any:
        try:
            run(action, current_user(), to_int(subscription_id))
        except ServiceError as exc:
            self._refresh()
            return rx.toast.error(exc.message)
        self._refresh()
        return [rx.toast.success(done), ClientState.refresh]

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def cancel_now(self, subscription_id: str) -> Any:
        return self._act(
            subscriptions_service.cancel_now, subscription_id, "Subscription canceled."
        )

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def cancel_at_period_end(self, subscription_id: str) -> Any:
        return self._act(
            subscriptions_service.cancel_at_period_end,
            subscription_id,
            "The subscription will end with the current period.",
        )

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def resume_cancellation(self, subscription_id: str) -> Any:
        return self._act(
            subscriptions_service.resume_cancellation,
            subscription_id,
            "The subscription renews again.",
        )

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def pause(self, subscription_id: str) -> Any:
        return self._act(subscriptions_service.pause, subscription_id, "Subscription paused.")

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def unpause(self, subscription_id: str) -> Any:
        return self._act(subscriptions_service.unpause, subscription_id, "Subscription resumed.")

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def open_change(self, subscription_id: str) -> Any:
        try:
            row, _ = run(
                subscriptions_service.subscription_detail, current_user(), to_int(subscription_id)
            )
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self.change_id = str(row.id)
        self.change_title = f"Change {row.product_name} for {row.client_company}"
        price = row.pending_unit_price or row.unit_price
        self.change_values = {
            "quantity": str(row.pending_quantity or row.quantity),
            "price": format(price.to_decimal(), "f"),
            "currency": row.unit_price.currency,
            "next": day(row.next_renewal_on) if row.next_renewal_on else "the next period",
        }
        self.change_errors = {}
        self.change_key = str(to_int(self.change_key) + 1)
        self.change_open = True
        return None

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def set_change_open(self, value: bool) -> None:
        self.change_open = bool(value)

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def save_change(self, form: dict[str, Any]) -> Any:
        self.change_errors = {}
        try:
            run(
                subscriptions_service.change,
                current_user(),
                to_int(self.change_id),
                quantity=str(form.get("quantity", "")),
                price=str(form.get("price", "")),
            )
        except ServiceError as exc:
            self.change_errors = field_errors(exc)
            return None
        self.change_open = False
        self._refresh()
        return rx.toast.success("Change scheduled for the next period.")

    @guard(Permission.SUBSCRIPTIONS_READ)
    def open_history(self, subscription_id: str) -> Any:
        try:
            row, events = run(
                subscriptions_service.subscription_detail, current_user(), to_int(subscription_id)
            )
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self.history_title = f"{row.product_name} · {row.client_company}"
        self.history_summary = {
            "status": _status_label(row),
            "amount": f"{money(row.amount)} {row.interval_label}",
            "start": day(row.start_date),
            "next": day(row.next_renewal_on) if row.next_renewal_on else "—",
            "website": row.website_name or "—",
            "created": format_timestamp(row.created_at),
        }
        if row.mrr is not None:
            self.history_summary["mrr"] = money(row.mrr)
        self.history = [
            {
                "at": format_timestamp(e.at),
                "who": e.actor_label or "system",
                "action": e.action.replace("_", " ").capitalize(),
                "details": e.details,
            }
            for e in events
        ]
        self.history_open = True
        return None

    @guard(Permission.SUBSCRIPTIONS_READ)
    def set_history_open(self, value: bool) -> None:
        self.history_open = bool(value)
