"""The state of Reports > Cash (ui/admin/reports/cash.py): the filters (period of months, brand,
currency: one currency at a time, never mixed), and what each report shows, read through the
services (services/reporting/cash_reports.py) in a worker thread by the guard."""

from __future__ import annotations

from datetime import date
from typing import Any

import reflex as rx

from billing_app.domain.money import Money
from billing_app.domain.permissions import Permission
from billing_app.domain.revenue import AgingBucket
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.services.reporting import cash_exports
from billing_app.services.reporting.cash_reports import (
    CashFilters,
    TopBy,
    aging,
    cash_by_month,
    report_options,
    top_clients,
)
from billing_app.services.reporting.renewal_forecast import renewal_forecast
from billing_app.ui import routes
from billing_app.ui.format import format_timestamp, money, optional_int
from billing_app.ui.session.staff import SessionState, current_user, guard

AGING_LABELS = {
    AgingBucket.CURRENT: "Not yet due",
    AgingBucket.DAYS_1_30: "1-30 days",
    AgingBucket.DAYS_31_60: "31-60 days",
    AgingBucket.DAYS_61_90: "61-90 days",
    AgingBucket.OVER_90: "Over 90 days",
}
ALL_BRANDS = "all"
CSV = "text/csv;charset=utf-8"


def parse_month(text: str) -> date | None:
    """A month the page sent ("2026-03"), or None."""
    try:
        year, month = (int(part) for part in str(text).strip().split("-"))
        return date(year, month, 1) if 2000 <= year <= 2100 else None
    except ValueError:
        return None


def _whole(amount: Money) -> int:
    """An amount in whole major units, for the height of a bar only (figures are shown
    exactly beside it)."""
    return amount.amount_minor // (10**amount.exponent)


def _month_label(month: date) -> str:
    return month.strftime("%b %Y")


class CashReportState(SessionState):
    status: str = "loading"
    error: str = ""
    start: str = ""  # "2026-03"
    end: str = ""
    brand: str = ALL_BRANDS
    currency: str = ""
    brands: list[dict[str, str]] = []
    currencies: list[str] = []
    months: list[dict[str, str]] = []
    chart: list[dict[str, Any]] = []
    totals: dict[str, str] = {}
    show_receivables: bool = False
    aging_rows: list[dict[str, str]] = []
    aging_total: str = ""
    top_mrr: list[dict[str, str]] = []
    top_owed: list[dict[str, str]] = []
    forecast: list[dict[str, str]] = []
    forecast_at: str = ""

    def _filters(self) -> CashFilters | None:
        start, end = parse_month(self.start), parse_month(self.end)
        if start is None or end is None:
            self.error = "Choose the first and last month of the period."
            return None
        brand_id = None if self.brand == ALL_BRANDS else optional_int(self.brand)
        return CashFilters(start, end, brand_id, self.currency)

    def _brand_id(self) -> int | None:
        return None if self.brand == ALL_BRANDS else optional_int(self.brand)

    def _read(self) -> None:
        """Every report for the filters, or the reason they cannot be read."""
        filters = self._filters()
        if filters is None:
            return
        user = current_user()
        try:
            rows = run(cash_by_month, user, filters)
            forecast = run(
                renewal_forecast, user, brand_id=filters.brand_id, currency=self.currency
            )
            top_mrr = run(top_clients, user, "mrr", self.currency, brand_id=filters.brand_id)
            self.show_receivables = user.can(Permission.INVOICES_READ)
            aged = run(aging, user, filters) if self.show_receivables else []
            owed = (
                run(top_clients, user, "outstanding", self.currency, brand_id=filters.brand_id)
                if self.show_receivables
                else []
            )
        except ServiceError as exc:
            self.error = exc.message
            return
        self.error = ""
        self.months = [
            {
                "month": _month_label(r.month),
                "collected": money(r.collected),
                "payments": money(r.payments),
                "refunds": money(r.refunds + r.reversals),
                "invoiced": money(r.invoiced),
                "invoices": str(r.invoices),
                "credited": money(r.credited),
                "credit_notes": str(r.credit_notes),
            }
            for r in rows
        ]
        self.chart = [
            {
                "month": r.month.strftime("%b %y"),
                "Collected": _whole(r.collected),
                "Invoiced": _whole(r.invoiced),
            }
            for r in rows
        ]
        zero = Money.zero(self.currency)
        self.totals = {
            "collected": money(sum((r.collected for r in rows), zero)),
            "invoiced": money(sum((r.invoiced for r in rows), zero)),
            "credited": money(sum((r.credited for r in rows), zero)),
        }
        self.aging_rows = [
            {
                "bucket": AGING_LABELS[b],
                "amount": money(row.buckets[b]),
                "invoices": str(row.invoices[b]),
                "late": "yes" if b != AgingBucket.CURRENT and row.invoices[b] else "",
            }
            for row in aged
            for b in AgingBucket
        ]
        self.aging_total = money(aged[0].total) if aged else money(zero)
        self.top_mrr = [_top(c) for c in top_mrr]
        self.top_owed = [_top(c) for c in owed]
        self.forecast = [
            {"days": str(r.days), "renewals": str(r.renewals), "amount": money(r.amount)}
            for r in forecast.rows
        ]
        zone = user.time_zone
        self.forecast_at = (
            format_timestamp(forecast.computed_at, zone) if forecast.computed_at else ""
        )

    @guard(Permission.REPORTS_VIEW)
    def load(self) -> None:
        options = run(report_options, current_user())
        self.brands = [{"id": str(i), "name": name} for i, name in options.brands]
        self.currencies = options.currencies
        if not self.currency or self.currency not in options.currencies:
            self.currency = options.default_currency
        if not self.start:
            first = options.today.replace(day=1)
            year, month = divmod(first.year * 12 + first.month - 1 - 11, 12)
            self.start = f"{year:04d}-{month + 1:02d}"
            self.end = first.strftime("%Y-%m")
        self._read()
        self.status = "ok"

    @guard(Permission.REPORTS_VIEW)
    def apply(self, form: dict[str, Any]) -> None:
        """The filters as submitted; anything not offered is refused with a message."""
        start, end = str(form.get("start", "")), str(form.get("end", ""))
        brand = str(form.get("brand", ALL_BRANDS))
        currency = str(form.get("currency", ""))
        if currency not in self.currencies:
            self.error = "Choose one of the currencies offered."
            return
        if brand != ALL_BRANDS and brand not in {b["id"] for b in self.brands}:
            self.error = "Choose one of the brands offered."
            return
        self.start, self.end, self.brand, self.currency = start, end, brand, currency
        self._read()

    def _download(self, data: bytes, name: str) -> Any:
        return rx.download(data=data, filename=name, mime_type=CSV)

    def _export(self, make: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            data = run(make, current_user(), *args, **kwargs)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        return self._download(data, name)

    @guard(Permission.REPORTS_VIEW)
    def export_months(self) -> Any:
        filters = self._filters()
        if filters is None:
            return None
        return self._export(cash_exports.cash_months_csv, f"cash-{self.currency}.csv", filters)

    @guard(Permission.REPORTS_VIEW)
    def export_aging(self) -> Any:
        filters = self._filters()
        if filters is None:
            return None
        return self._export(cash_exports.aging_csv, f"aging-{self.currency}.csv", filters)

    @guard(Permission.REPORTS_VIEW)
    def export_top(self, by: str) -> Any:
        which: TopBy = "outstanding" if by == "outstanding" else "mrr"
        return self._export(
            cash_exports.top_clients_csv,
            f"top-clients-{which}-{self.currency}.csv",
            which,
            self.currency,
            brand_id=self._brand_id(),
        )

    @guard(Permission.REPORTS_VIEW)
    def export_forecast(self) -> Any:
        filters = self._filters()
        if filters is None:
            return None
        return self._export(cash_exports.forecast_csv, f"forecast-{self.currency}.csv", filters)


def _top(client: Any) -> dict[str, str]:
    return {
        "company": client.company,
        "amount": money(client.amount),
        "href": routes.client(client.client_id),
    }
