"""Rollups the reports read instead of the rows they sum (docs/architecture.md, "Cash reports").

``cash_month`` holds, per month (its first day, the agency's dates), brand and currency, the
sums of ``invoice_payment`` rows by kind (payments, refunds, reversals; refunds to the credit
balance excluded: no money moved), of invoices issued (by issue date, drafts and voids
excluded) and of credit notes issued. It is written by the same transactions that write those
rows (services/reporting/cash_rollup.py), so it is always exact.

``renewal_forecast`` holds the renewals due in the next 30, 60 and 90 days per brand and
currency, computed from the billing engine's schedule by the hourly job (``computed_at``).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from billing_app.db.models import UTCDateTime


def _money() -> sa.Column[int]:
    return sa.Column(sa.BigInteger(), nullable=False, server_default="0")


def _count() -> sa.Column[int]:
    return sa.Column(sa.Integer(), nullable=False, server_default="0")


class CashMonth(SQLModel, table=True):
    __tablename__ = "cash_month"
    __table_args__ = {"extend_existing": True}

    month: date = Field(sa_column=sa.Column(sa.Date(), primary_key=True))
    brand_id: int = Field(primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    payments_minor: int = Field(default=0, sa_column=_money())
    refunds_minor: int = Field(default=0, sa_column=_money())
    reversals_minor: int = Field(default=0, sa_column=_money())
    invoiced_minor: int = Field(default=0, sa_column=_money())
    invoices: int = Field(default=0, sa_column=_count())
    credited_minor: int = Field(default=0, sa_column=_money())
    credit_notes: int = Field(default=0, sa_column=_count())


class RenewalForecast(SQLModel, table=True):
    __tablename__ = "renewal_forecast"
    __table_args__ = {"extend_existing": True}

    brand_id: int = Field(primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    days: int = Field(primary_key=True)  # 30, 60 or 90
    renewals: int = Field(default=0, sa_column=_count())
    amount_minor: int = Field(default=0, sa_column=_money())
    computed_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
