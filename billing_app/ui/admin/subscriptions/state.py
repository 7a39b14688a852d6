"""The state of the subscriptions list (/subscriptions) and of a client's products and services."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.lifecycle import SubscriptionStatus
from billing_app.domain.money import Money
from billing_app.domain.permissions import FIGURE_PERMISSIONS, Permission
from billing_app.services.catalog import (
    portal_services,
    product_queries,
    proration,
    proration_money,
    recurring_revenue,
    subscription_queries,
)
from billing_app.services.catalog import subscriptions as subscriptions_service
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.listing import MAX_PER_PAGE, ListRequest, Page
from billing_app.services.common.transactions import run
from billing_app.ui import routes
from billing_app.ui.admin.clients.overview_state import ClientState
from billing_app.ui.admin.invoices.list import PER_PAGE
from billing_app.ui.format import day, figure, format_timestamp, money, to_int
from billing_app.ui.kit.list_state import ANY, ListSpec, ListState
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

SORTS = ("next_renewal", "created", "mrr")


TABS = ("active", "one_time", "inactive")


STATUS_VALUES = ("all", *(s.value for s in SubscriptionStatus))


def _status_label(row: subscription_queries.SubscriptionRow) -> str:
    if row.kind == "one_time":
        return "One-time"
    if row.status == "canceled" and row.cancel_at_period_end and row.ends_on:
        return f"Cancels {day(row.ends_on)}"
    return SubscriptionStatus(row.status).label.capitalize()


class SubscriptionsState(ListState, SessionState):
    LIST: ClassVar[ListSpec] = ListSpec(
        read=Permission.SUBSCRIPTIONS_READ,
        write=Permission.SUBSCRIPTIONS_WRITE,
        sorts=SORTS,
        sort_permissions=FIGURE_PERMISSIONS,
        default_sort="next_renewal",
        starting_descending=frozenset({"mrr"}),
        filters={"status": STATUS_VALUES, "product": ("all", ANY), "tab": TABS},
        per_page=PER_PAGE,
    )

    scope: str = ""  # a client id when shown on the client's overview
    product_options: list[dict[str, str]] = []
    # change quantity / price
    change_open: bool = False
    change_key: str = "0"
    change_id: str = ""
    change_title: str = ""
    change_errors: dict[str, str] = {}
    change_values: dict[str, str] = {}
    change_preview: dict[str, str] = {}
    _change_token: str = ""
    _change_expected: tuple[int, int, int] = (0, 0, 0)
    # history
    history_open: bool = False
    history_title: str = ""
    history_summary: dict[str, str] = {}
    history: list[dict[str, str]] = []
    # Subscriptions whose client asked to cancel in the portal (server side only).
    _requested: list[int] = []

    def _fetch(self, user: Any, request: ListRequest) -> Page[Any]:
        if self.scope:
            # A client's products and services: that client's, by tab, unsearched.
            filters = {"client": self.scope, "tab": request.filter("tab", "active")}
            request = replace(request, filters=filters, search="")
        else:
            filters = {k: v for k, v in request.filters.items() if k != "tab" and v != "all"}
            request = replace(request, filters=filters)
        if not self.scope and not self.product_options:
            everything = ListRequest(filters={"status": "all"}, per_page=MAX_PER_PAGE)
            self.product_options = [
                {"value": str(p.id), "label": p.name}
                for p in run(product_queries.list_products, user, everything).rows
            ]
        page = run(subscription_queries.list_subscriptions, user, request)
        scope = to_int(self.scope, 0) if self.scope else None
        self._requested = [
            r.subscription_id
            for r in run(portal_services.pending_cancellations, user, client_id=scope)
        ]
        return page

    def _row(self, user: Any, r: subscription_queries.SubscriptionRow) -> dict[str, str]:
        running = r.status in recurring_revenue.RUNNING and r.kind == "recurring"
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
            "status_label": "Cancellation requested"
            if r.id in self._requested
            else _status_label(r),
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
        self.change_open = self.history_open = False
        self._defaults()
        if self._on_client_page():
            self.scope = str(to_int(self.router.page.params.get("client_id", ""), 0))
        else:
            self.scope = ""
            self.product_options = []
        self._first()

    @guard(Permission.SUBSCRIPTIONS_READ)
    def reload(self) -> None:
        if self.status == "ok":
            self._reload()

    # ---------------------------------------------------------------- actions

    def _act(self, action: Any, subscription_id: str, done: str) -> Any:
        try:
            run(action, current_user(), to_int(subscription_id))
        except ServiceError as exc:
            self._reload()
            return rx.toast.error(exc.message)
        self._reload()
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
                subscription_queries.subscription_detail, current_user(), to_int(subscription_id)
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
            "timing": proration.NEXT_PERIOD,
        }
        self.change_preview, self._change_token = {}, ""
        self.change_errors = {}
        self.change_key = str(to_int(self.change_key) + 1)
        self.change_open = True
        return None

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def set_change_open(self, value: bool) -> None:
        self.change_open = bool(value)

    def _quote_change(self) -> None:
        """The dialog's live preview of what the change costs."""
        self.change_errors, self.change_preview, self._change_token = {}, {}, ""
        v, sub_id, user = self.change_values, to_int(self.change_id), current_user()
        try:
            plan = run(proration.staff_plan, user, sub_id, v["quantity"], v["price"])
            q = run(proration.staff_quote, user, sub_id, plan, v["timing"])
        except ServiceError as exc:
            self.change_errors = field_errors(exc, default_field="quantity")
            return
        self._change_token = q.token
        self._change_expected = (q.old.product_id, q.old.quantity, q.old.unit_price_minor)
        if q.charge_total:
            now = f"Invoiced now: {money(Money(q.charge_total, q.currency))} (taxes included)"
        elif q.credit_total:
            now = f"Credited now: {money(Money(q.credit_total, q.currency))} (taxes included)"
        else:
            now = "Nothing invoiced or credited now."
        if q.period is not None and (q.charge_total or q.credit_total):
            now += f", for {day(q.change_on)} – {day(q.period.last_day)}"
        self.change_preview = {
            "now": now,
            "next": f"Then {money(Money(q.next_total, q.currency))} per period (taxes included)",
        }

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def edit_change(self, field: str, value: str) -> None:
        if field in ("quantity", "price", "timing"):
            self.change_values[field] = str(value)[:40]
            self._quote_change()

    @guard(Permission.SUBSCRIPTIONS_WRITE)
    def save_change(self, form: dict[str, Any]) -> Any:
        self.change_errors = {}
        if self.change_values.get("timing") == proration.PRORATE:
            return self._prorate_change()
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
        self._reload()
        return rx.toast.success("Change scheduled for the next period.")

    def _prorate_change(self) -> Any:
        if not self._change_token:
            self._quote_change()
            return None
        v, user = self.change_values, current_user()
        try:
            new = run(proration.staff_plan, user, to_int(self.change_id), v["quantity"], v["price"])
            outcome = run(
                proration.staff_change,
                user,
                to_int(self.change_id),
                proration.Plan(*self._change_expected),
                new,
                timing=proration.PRORATE,
                token=self._change_token,
            )
        except ServiceError as exc:
            self.change_errors = field_errors(exc, default_field="quantity")
            return None
        if outcome.charge_pending and outcome.invoice_id is not None:
            # Its own transaction, after the change's: a failed charge never undoes the change.
            with contextlib.suppress(ServiceError):
                run(proration_money.charge_now, current_user(), outcome.invoice_id)
        self.change_open = False
        self._reload()
        if outcome.invoice_number:
            return rx.toast.success(f"Changed now: invoice {outcome.invoice_number} made.")
        if outcome.credit_note_number:
            return rx.toast.success(f"Changed now: credit note {outcome.credit_note_number}.")
        return rx.toast.success("Changed now.")

    @guard(Permission.SUBSCRIPTIONS_READ)
    def open_history(self, subscription_id: str) -> Any:
        try:
            row, events = run(
                subscription_queries.subscription_detail, current_user(), to_int(subscription_id)
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
            "created": format_timestamp(row.created_at, current_user().time_zone),
        }
        if row.mrr is not None:
            self.history_summary["mrr"] = money(row.mrr)
        self.history = [
            {
                "at": format_timestamp(e.at, current_user().time_zone),
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
