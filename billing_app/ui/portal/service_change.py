"""Changing a service from the portal's products and services (/portal/services): the quantity
or another plan where the agency allows it, with a live preview of what is paid now (prorated,
taxes included) and the price from the next renewal, then Confirm; and keeping a service set to
end at the end of its period."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

import reflex as rx
from babel.dates import format_date

from billing_app.domain.money import Money, format_money
from billing_app.domain.permissions import ClientPermission
from billing_app.i18n import N_, gettext
from billing_app.services.catalog import portal_changes, proration, proration_money
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.format import optional_int
from billing_app.ui.kit.forms import field_error, form_alert
from billing_app.ui.kit.layout import NATIVE_SELECT_STYLE, field_label
from billing_app.ui.portal.frame import PortalPageState
from billing_app.ui.session.portal import current_client_user, portal_guard
from billing_app.ui.session.staff import field_errors

CHANGE = ClientPermission.SUBSCRIPTIONS_CHANGE


def _text(message: str, locale: str, **values: str) -> str:
    """``message`` in the client's language, its ``{placeholders}`` filled in."""
    return gettext(message, locale=locale).format(**values)


class PortalChangeState(PortalPageState):
    change_open: bool = False
    name: str = ""
    quantity: str = "1"
    plan: str = "0"
    can_quantity: bool = False
    bounds: str = ""
    plans: list[dict[str, str]] = []
    quote_view: dict[str, str] = {}
    change_errors: dict[str, str] = {}
    busy: bool = False
    _sub_id: int = 0
    _token: str = ""
    _expected: tuple[int, int, int] = (0, 0, 0)
    _locale: str = "en"

    def _errors(self, exc: ServiceError) -> dict[str, str]:
        """The service's messages under their fields, in the client's language."""
        found = field_errors(exc, default_field="quantity")
        return {k: gettext(v, locale=self._locale) for k, v in found.items()}

    def _money(self, amount: int, currency: str) -> str:
        return format_money(Money(amount, currency), self._locale)

    def _day(self, value: date) -> str:
        return format_date(value, "d MMM yyyy", locale=self._locale)  # as the page shows dates

    def _quote(self) -> None:
        self.change_errors, self.quote_view, self._token = {}, {}, ""
        try:
            q = run(
                portal_changes.portal_quote,
                current_client_user(),
                self._sub_id,
                quantity=self.quantity,
                plan_id=optional_int(self.plan) or 0,
            )
        except ServiceError as exc:
            self.change_errors = self._errors(exc)
            return
        self._token, self._expected = (
            q.token,
            (q.old.product_id, q.old.quantity, q.old.unit_price_minor),
        )
        loc = self._locale
        now = _text(N_("Nothing to pay now."), loc)
        if q.charge_total:
            amount = self._money(q.charge_total, q.currency)
            now = _text(N_("Pay now: {amount} (taxes included)"), loc, amount=amount)
        elif q.credit_total:
            amount = self._money(q.credit_total, q.currency)
            now = _text(N_("Credited now: {amount} (taxes included)"), loc, amount=amount)
        period = ""
        if q.period is not None and (q.charge_total or q.credit_total):
            period = _text(
                N_("For {start} – {end}"),
                loc,
                start=self._day(q.change_on),
                end=self._day(q.period.last_day),
            )
        elif q.timing == proration.NEXT_PERIOD:
            now = _text(N_("Nothing to pay now: the change starts with your next renewal."), loc)
        price = self._money(q.next_total, q.currency)
        if q.next_renewal_on:
            after = _text(
                N_("From {day}: {price} per period (taxes included)"),
                loc,
                day=self._day(q.next_renewal_on),
                price=price,
            )
        else:
            after = _text(
                N_("From the next renewal: {price} per period (taxes included)"), loc, price=price
            )
        self.quote_view = {"now": now, "period": period, "next": after}

    @portal_guard(CHANGE)
    def open_change(self, subscription_id: str) -> Any:
        self._sub_id = optional_int(subscription_id) or 0
        try:
            options = run(portal_changes.change_options, current_client_user(), self._sub_id)
        except ServiceError as exc:
            return rx.toast.error(self._client_message(exc))
        self._locale = options.locale
        self.name, self.quantity, self.plan = options.name, str(options.quantity), "0"
        self.can_quantity = options.can_change_quantity
        self.bounds = _text(
            N_("From {low} to {high}."),
            options.locale,
            low=str(options.quantity_min),
            high=str(options.quantity_max),
        )
        self.plans = [{"id": str(p.id), "label": f"{p.name} ({p.price})"} for p in options.plans]
        self.change_errors, self.quote_view, self._token = {}, {}, ""
        self.change_open = True
        return None

    def _client_message(self, exc: ServiceError) -> str:
        """A refusal outside the dialog (a toast), in the client's language."""
        with contextlib.suppress(ServiceError):
            self._locale = run(portal_changes.portal_locale, current_client_user())
        return gettext(exc.message, locale=self._locale)

    @portal_guard(CHANGE)
    def set_change_open(self, value: bool) -> None:
        self.change_open = bool(value)

    @portal_guard(CHANGE)
    def pick_quantity(self, value: str) -> None:
        self.quantity = str(value)[:12]
        self._quote()

    @portal_guard(CHANGE)
    def pick_plan(self, value: str) -> None:
        self.plan = str(value)[:20]
        self._quote()

    @portal_guard(CHANGE)
    def confirm(self) -> Any:
        if not self._token or self.busy:
            return None
        self.busy = True
        try:
            outcome = run(
                portal_changes.portal_change,
                current_client_user(),
                self._sub_id,
                proration.Plan(*self._expected),
                quantity=self.quantity,
                plan_id=optional_int(self.plan) or 0,
                token=self._token,
            )
        except ServiceError as exc:
            self.change_errors = self._errors(exc)
            return None
        finally:
            self.busy = False
        if outcome.charge_pending and outcome.invoice_id is not None:
            # Its own transaction, after the change's: a failed charge never undoes the change.
            with contextlib.suppress(ServiceError):
                run(proration_money.charge_now, current_client_user(), outcome.invoice_id)
        self.change_open = False
        message = _text(N_("Your service was changed."), self._locale)
        if outcome.invoice_number:
            message = _text(
                N_("Your service was changed: invoice {number} is ready."),
                self._locale,
                number=outcome.invoice_number,
            )
        return [rx.toast.success(message), rx.redirect("/portal/services")]

    @portal_guard(CHANGE)
    def keep(self, subscription_id: str) -> Any:
        try:
            self._locale = run(portal_changes.portal_locale, current_client_user())
            run(
                portal_changes.keep_subscription,
                current_client_user(),
                optional_int(subscription_id) or 0,
            )
        except ServiceError as exc:
            return rx.toast.error(self._client_message(exc))
        message = _text(N_("Your service will renew."), self._locale)
        return [rx.toast.success(message), rx.redirect("/portal/services")]


C = PortalChangeState


def change_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Change ", C.name),
            rx.dialog.description(
                "See what you pay before you confirm.",
                size="2",
                color_scheme="gray",
                margin_bottom="12px",
            ),
            rx.vstack(
                form_alert(C.change_errors),
                rx.cond(
                    C.can_quantity,
                    rx.vstack(
                        field_label("Quantity", "change-quantity"),
                        rx.input(
                            value=C.quantity,
                            on_change=C.pick_quantity.debounce(400),  # type: ignore[attr-defined]
                            type="number",
                            id="change-quantity",
                            width="100%",
                        ),
                        rx.text(C.bounds, size="1", color_scheme="gray"),
                        field_error(C.change_errors, "quantity"),
                        spacing="1",
                        width="100%",
                    ),
                ),
                rx.cond(
                    C.plans.length() > 0,  # type: ignore[attr-defined,operator]
                    rx.vstack(
                        field_label("Plan", "change-plan"),
                        rx.el.select(
                            rx.el.option("Keep my plan", value="0"),
                            rx.foreach(C.plans, lambda p: rx.el.option(p["label"], value=p["id"])),
                            value=C.plan,
                            on_change=C.pick_plan,
                            id="change-plan",
                            style=NATIVE_SELECT_STYLE,
                        ),
                        field_error(C.change_errors, "plan"),
                        spacing="1",
                        width="100%",
                    ),
                ),
                rx.cond(
                    C.quote_view.contains("now"),  # type: ignore[attr-defined]
                    rx.callout(
                        rx.vstack(
                            rx.text(C.quote_view["now"], weight="bold", id="change-now"),
                            rx.cond(C.quote_view["period"] != "", rx.text(C.quote_view["period"])),
                            rx.text(C.quote_view["next"], id="change-next"),
                            spacing="1",
                        ),
                        icon="receipt",
                        color_scheme="blue",
                        high_contrast=True,
                        width="100%",
                    ),
                ),
                rx.hstack(
                    rx.dialog.close(
                        rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                    ),
                    rx.button(
                        "Confirm",
                        on_click=C.confirm,
                        disabled=~C.quote_view.contains("now") | C.busy,  # type: ignore[attr-defined]
                        loading=C.busy,
                        id="change-confirm",
                    ),
                    justify="end",
                    spacing="3",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            max_width="480px",
        ),
        open=C.change_open,
        on_open_change=C.set_change_open,
    )
