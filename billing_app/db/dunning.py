"""Dunning: what the agency set (Settings > Dunning), where each invoice's automatic retries
stand, and the reminder steps each invoice was sent (a unique key per invoice and step, so a
step is never sent twice)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from billing_app.db.models import UTCDateTime


def _ts(*, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable)


class DunningSettings(SQLModel, table=True):
    """One row (id 1). Days are counted in the agency's time zone."""

    __tablename__ = "dunning_settings"
    __table_args__ = {"extend_existing": True}

    id: int = Field(default=1, primary_key=True)
    retry_days: str = Field(default="1,3,5,7", max_length=60)  # after each failure, in turn
    remind_before_days: int = Field(default=3)  # 0: no reminder before the due date
    remind_after_days: str = Field(default="1,7,14", max_length=60)  # after the due date
    # Once the retries are over, the subscriptions of the invoice are past due; this many days
    # later they are paused or canceled (``past_due_action``) unless it was paid.
    past_due_days: int = Field(default=14, sa_column_kwargs={"server_default": "14"})
    past_due_action: str = Field(
        default="cancel", max_length=8, sa_column_kwargs={"server_default": "cancel"}
    )
    updated_at: datetime = Field(sa_column=_ts())


class DunningState(SQLModel, table=True):
    """Where the automatic retries of one invoice stand. ``stopped``: "" while retrying, else
    paid | hard (the card must not be tried again) | exhausted | limit (too many tries of the
    card) | closed (nothing to collect any more)."""

    __tablename__ = "dunning_state"
    __table_args__ = (
        sa.Index("ix_dunning_state_next", "stopped", "next_retry_on"),
        sa.Index("ix_dunning_state_past_due", "past_due_since"),
        {"extend_existing": True},
    )

    invoice_id: int = Field(foreign_key="invoice.id", primary_key=True)
    failures: int = Field(default=0)
    next_retry_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date(), nullable=True))
    stopped: str = Field(default="", max_length=10)
    # When its subscriptions went past due (the retries over, still unpaid); ended: the
    # agency's action was taken.
    past_due_since: date | None = Field(default=None, sa_column=sa.Column(sa.Date(), nullable=True))
    past_due_ended: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    updated_at: datetime = Field(sa_column=_ts())


class InvoiceReminder(SQLModel, table=True):
    """A reminder step sent for an invoice ("before-3", "after-7")."""

    __tablename__ = "invoice_reminder"
    __table_args__ = {"extend_existing": True}

    invoice_id: int = Field(foreign_key="invoice.id", primary_key=True)
    step: str = Field(max_length=20, primary_key=True)
    sent_at: datetime = Field(sa_column=_ts())


class DunningEmail(SQLModel, table=True):
    """An email dunning sent about an invoice, once per event: "failed-2" (the second failed
    automatic charge), "action-1" (the bank wants the client), "past-due", "stopped" (its
    subscriptions paused or canceled). The key is claimed in the transaction that queues it."""

    __tablename__ = "dunning_email"
    __table_args__ = {"extend_existing": True}

    invoice_id: int = Field(foreign_key="invoice.id", primary_key=True)
    event: str = Field(max_length=20, primary_key=True)
    kind: str = Field(max_length=40)
    queued_at: datetime = Field(sa_column=_ts())
