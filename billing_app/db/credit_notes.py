"""Credit notes and clients' credit balances.

A credit note corrects a sent invoice (docs/architecture.md, "Credit notes"): its number comes
from the brand's own gapless ``credit_note_sequence`` inside the issuing transaction, its
``snapshot`` freezes what the client sees, and it is never edited or deleted. Its lines say how
much of each invoice line it took back (gross, net, tax per rate), so what is left to credit is
a sum over them. ``reduces_due_minor`` is what it took off what was still due; ``given_back_minor``
went back to the client as ``give_back`` says: ``card`` (a refund to the card, in flight until
``give_back_state`` is done), an offline method, or ``balance`` (the client's credit balance).

``client_credit`` holds a client's credit balance per currency (never below zero: spending it
is a compare-and-set), and ``client_credit_entry`` every movement of it, append-only.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from billing_app.db.models import UTCDateTime


def _ts(*, nullable: bool = False, index: bool = False) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


def _money() -> sa.Column[int]:
    return sa.Column(sa.BigInteger(), nullable=False, server_default="0")


class CreditNoteSequence(SQLModel, table=True):
    """The last credit note number used per brand and scope ("", "2026", "2026-03")."""

    __tablename__ = "credit_note_sequence"
    __table_args__ = {"extend_existing": True}

    brand_id: int = Field(foreign_key="brand.id", primary_key=True)
    scope: str = Field(default="", max_length=7, primary_key=True)
    last_value: int = Field(default=0)


class CreditNote(SQLModel, table=True):
    __tablename__ = "credit_note"
    __table_args__ = (
        sa.UniqueConstraint("brand_id", "number", name="uq_credit_note_brand_number"),
        sa.Index("ix_credit_note_issue_key", "issue_date", "id"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    brand_id: int = Field(foreign_key="brand.id")
    number: str = Field(max_length=60, index=True)
    currency: str = Field(max_length=3)
    locale: str = Field(default="en", max_length=16)
    issue_date: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    reason: str = Field(default="", max_length=500)
    net_minor: int = Field(default=0, sa_column=_money())
    tax_minor: int = Field(default=0, sa_column=_money())
    total_minor: int = Field(default=0, sa_column=_money())
    reduces_due_minor: int = Field(default=0, sa_column=_money())
    given_back_minor: int = Field(default=0, sa_column=_money())
    give_back: str = Field(default="", max_length=20)  # "" | card | balance | an offline method
    give_back_state: str = Field(default="", max_length=10)  # "" | pending | done | balance
    snapshot: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    pdf_key: str = Field(default="", max_length=100)
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    actor_label: str = Field(default="", max_length=320)
    created_at: datetime = Field(sa_column=_ts())


class CreditNoteLine(SQLModel, table=True):
    """What a credit note took off one invoice line (its position on the invoice)."""

    __tablename__ = "credit_note_line"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    credit_note_id: int = Field(foreign_key="credit_note.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    line_index: int
    quantity: str = Field(default="", max_length=24)  # units credited; "" for an amount
    gross_minor: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    net_minor: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    taxes: str = Field(default="[]", sa_column=sa.Column(sa.Text(), nullable=False))  # [minor]


class ClientCredit(SQLModel, table=True):
    """A client's credit balance in one currency."""

    __tablename__ = "client_credit"
    __table_args__ = (
        sa.CheckConstraint("balance_minor >= 0", name="ck_client_credit_not_negative"),
        {"extend_existing": True},
    )

    client_id: int = Field(foreign_key="client.id", primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    balance_minor: int = Field(default=0, sa_column=_money())
    updated_at: datetime = Field(sa_column=_ts())


class ClientCreditEntry(SQLModel, table=True):
    """One movement of a credit balance: ``credit_note`` (+, from a credit note), ``applied``
    (-, paid part of an invoice), ``returned`` (+, an invoice it paid was voided), ``refund``
    (-, given back to the client: ``method``, ``reference``)."""

    __tablename__ = "client_credit_entry"
    __table_args__ = (
        sa.Index("ix_client_credit_entry_client", "client_id", "currency", "id"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id")
    currency: str = Field(max_length=3)
    kind: str = Field(max_length=12)
    amount_minor: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))  # signed
    credit_note_id: int | None = Field(default=None, foreign_key="credit_note.id")
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id")
    method: str = Field(default="", max_length=20)
    reference: str = Field(default="", max_length=120)
    note: str = Field(default="", max_length=500)
    actor_label: str = Field(default="", max_length=320)
    created_at: datetime = Field(sa_column=_ts())
