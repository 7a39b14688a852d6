"""Monthly MRR rollups (docs/architecture.md, "Revenue"): kept exact by the transaction that
writes each MRR movement (services/catalog/mrr_rollups.py), read by the MRR reports.

* ``mrr_client_month``: one (client, currency)'s month in which its ledger moved
  (domain/mrr_rollup.py ``ClientMonth``), under the client's brand (0: the default brand).
* ``mrr_month``: per (month, brand, currency), the sum of those rows' contributions: movement
  amounts, customers won and lost, and the change of MRR and customers over the month (their
  sums over the months up to one give its MRR and customers at its end).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _minor() -> sa.Column[int]:
    return sa.Column(sa.BigInteger(), nullable=False, server_default="0")


def _count() -> sa.Column[int]:
    return sa.Column(sa.Integer(), nullable=False, server_default="0")


class MrrClientMonth(SQLModel, table=True):
    __tablename__ = "mrr_client_month"
    __table_args__ = (
        sa.Index("ix_mrr_client_month_month", "month", "brand_id", "currency"),
        {"extend_existing": True},
    )

    client_id: int = Field(foreign_key="client.id", primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    month: date = Field(sa_column=sa.Column(sa.Date(), primary_key=True))
    brand_id: int = Field(default=0, sa_column=_count())
    start_minor: int = Field(default=0, sa_column=_minor())
    end_minor: int = Field(default=0, sa_column=_minor())
    had_before: bool = Field(default=False, sa_column=sa.Column(sa.Boolean(), nullable=False))
    active: bool = Field(default=False, sa_column=sa.Column(sa.Boolean(), nullable=False))


class MrrMonth(SQLModel, table=True):
    __tablename__ = "mrr_month"
    __table_args__ = {"extend_existing": True}

    month: date = Field(sa_column=sa.Column(sa.Date(), primary_key=True))
    brand_id: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True))
    currency: str = Field(max_length=3, primary_key=True)
    new_minor: int = Field(default=0, sa_column=_minor())
    reactivation_minor: int = Field(default=0, sa_column=_minor())
    expansion_minor: int = Field(default=0, sa_column=_minor())
    contraction_minor: int = Field(default=0, sa_column=_minor())
    churn_minor: int = Field(default=0, sa_column=_minor())
    new_customers: int = Field(default=0, sa_column=_count())
    reactivated_customers: int = Field(default=0, sa_column=_count())
    churned_customers: int = Field(default=0, sa_column=_count())
    mrr_change_minor: int = Field(default=0, sa_column=_minor())
    customer_change: int = Field(default=0, sa_column=_count())
