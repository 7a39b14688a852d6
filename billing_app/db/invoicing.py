"""Agency settings, brands, invoices (with their lines, payments and timeline) and the per-brand
invoice number sequences.

A draft invoice is editable: its lines live in ``invoice_line`` and its totals are recomputed by
domain/invoice_math.py on every change. Sending finalizes it (docs/architecture.md,
"Decisions"): the number is allocated from ``invoice_sequence`` inside the transaction, and
``snapshot`` freezes what the
client sees (agency, brand, client, lines, taxes, totals) as JSON; a sent invoice is rendered
and shown from its snapshot only. Money columns are integer minor units in ``currency``.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from billing_app.db.models import UTCDateTime


def _ts(*, nullable: bool = False, index: bool = False) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


def _money(*, index: bool = False) -> sa.Column[int]:
    return sa.Column(sa.BigInteger(), nullable=False, server_default="0", index=index)


class AgencySettings(SQLModel, table=True):
    """The agency's own details and billing defaults (one row, id 1)."""

    __tablename__ = "agency_settings"
    __table_args__ = {"extend_existing": True}

    id: int = Field(default=1, primary_key=True)
    legal_name: str = Field(default="", max_length=200)
    address: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    tax_id: str = Field(default="", max_length=64)
    email: str = Field(default="", max_length=320)
    default_currency: str = Field(default="EUR", max_length=3)
    locale: str = Field(default="en", max_length=16)
    time_zone: str = Field(default="UTC", max_length=64)
    payment_terms_days: int = Field(default=14)
    number_format: str = Field(default="INV-{YYYY}-{SEQ:5}", max_length=40)
    number_reset: str = Field(default="never", max_length=8)  # never | yearly | monthly
    # Credit notes have their own numbers (their own sequence per brand).
    credit_note_format: str = Field(
        default="CN-{YYYY}-{SEQ:5}",
        max_length=40,
        sa_column_kwargs={"server_default": "CN-{YYYY}-{SEQ:5}"},
    )
    credit_note_reset: str = Field(
        default="never", max_length=8, sa_column_kwargs={"server_default": "never"}
    )
    # Renewals: after downtime, at most this many missed periods per subscription are billed.
    renewal_catch_up: int = Field(default=3, sa_column_kwargs={"server_default": "3"})
    # Renewal invoices of clients with a default card are charged to it at once (a client may
    # say otherwise: client.auto_charge).
    auto_charge: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.true())
    )
    # The portal: the role a new client user gets unless staff pick another, and whether every
    # client user must turn on two-factor sign-in.
    client_default_role: str = Field(
        default="full", max_length=40, sa_column_kwargs={"server_default": "full"}
    )
    client_require_2fa: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    # Changes clients make to their subscriptions in the portal: prorated now (else from the
    # next period).
    client_changes_prorate: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.true())
    )
    # A new random value whenever a brand or these settings change (see the flush listener
    # below): processes keep both in memory while it stays the same.
    looks_stamp: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})
    updated_at: datetime = Field(sa_column=_ts())


class Brand(SQLModel, table=True):
    """A white-label identity: drives the portal theme, emails, PDF header and sender."""

    __tablename__ = "brand"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    logo_key: str = Field(default="", max_length=100)
    primary_color: str = Field(default="#1f4b99", max_length=7)
    accent_color: str = Field(default="#f59e0b", max_length=7)
    sender_name: str = Field(default="", max_length=120)
    reply_to: str = Field(default="", max_length=320)
    support_email: str = Field(default="", max_length=320)
    support_url: str = Field(default="", max_length=500)
    email_footer: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    custom_domain: str | None = Field(
        default=None, max_length=253, sa_column_kwargs={"unique": True}
    )
    is_default: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    # Where clients pay offline: printed on PDFs and shown in the portal ("" when not given).
    bank_account_holder: str = Field(
        default="", max_length=120, sa_column_kwargs={"server_default": ""}
    )
    bank_iban: str = Field(default="", max_length=34, sa_column_kwargs={"server_default": ""})
    bank_bic: str = Field(default="", max_length=11, sa_column_kwargs={"server_default": ""})
    bank_details: str = Field(
        default="", sa_column=sa.Column(sa.Text(), nullable=False, server_default="")
    )
    # Sending as the brand: its From address ("" = the app's) and, optionally, its own SMTP
    # server (no host = the app's transport). The password is ciphertext (adapters/crypto.py).
    mail_from: str = Field(default="", max_length=320, sa_column_kwargs={"server_default": ""})
    smtp_host: str = Field(default="", max_length=253, sa_column_kwargs={"server_default": ""})
    smtp_port: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # 0: 587 / 465
    smtp_security: str = Field(
        default="starttls", max_length=10, sa_column_kwargs={"server_default": "starttls"}
    )  # starttls | ssl | none
    smtp_username: str = Field(default="", max_length=320, sa_column_kwargs={"server_default": ""})
    smtp_password: str = Field(
        default="", sa_column=sa.Column(sa.Text(), nullable=False, server_default="")
    )
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


class InvoiceSequence(SQLModel, table=True):
    """The last number used per brand and scope ("" for never-reset, "2026", "2026-03")."""

    __tablename__ = "invoice_sequence"
    __table_args__ = {"extend_existing": True}

    brand_id: int = Field(foreign_key="brand.id", primary_key=True)
    scope: str = Field(default="", max_length=7, primary_key=True)
    last_value: int = Field(default=0)


class Invoice(SQLModel, table=True):
    """An invoice: a draft until sent, then frozen (snapshot + number)."""

    __tablename__ = "invoice"
    __table_args__ = (
        sa.Index("ix_invoice_status_due", "status", "due_date"),
        # Keyset pages of the list (services/common/listing.py): each sort, then the id.
        sa.Index("ix_invoice_issue_key", "issue_date", "id"),
        sa.Index("ix_invoice_due_key", "due_date", "id"),
        sa.Index("ix_invoice_total_key", "total_minor", "id"),
        sa.UniqueConstraint("brand_id", "number", name="uq_invoice_brand_number"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    website_id: int | None = Field(default=None, foreign_key="client_website.id")
    brand_id: int = Field(foreign_key="brand.id", index=True)
    status: str = Field(default="draft", max_length=20)  # domain.lifecycle.InvoiceStatus
    number: str | None = Field(default=None, max_length=60, index=True)
    currency: str = Field(max_length=3)
    locale: str = Field(default="en", max_length=16)
    issue_date: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    due_date: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    message: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    subtotal_minor: int = Field(default=0, sa_column=_money())
    discount_minor: int = Field(default=0, sa_column=_money())
    tax_minor: int = Field(default=0, sa_column=_money())
    total_minor: int = Field(default=0, sa_column=_money())
    paid_minor: int = Field(default=0, sa_column=_money())
    refunded_minor: int = Field(default=0, sa_column=_money())
    # Taken off by credit notes, and paid from the client's credit balance.
    credited_minor: int = Field(default=0, sa_column=_money())
    credit_applied_minor: int = Field(default=0, sa_column=_money())
    snapshot: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    pdf_key: str = Field(default="", max_length=100)
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = Field(sa_column=_ts(index=True))
    updated_at: datetime = Field(sa_column=_ts())
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    voided_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    void_reason: str = Field(default="", max_length=500)
    # A renewal invoice waiting for its automatic charge (set with it, cleared when the charge
    # starts: a run that died in between charges it at the next).
    charge_pending: bool = Field(
        default=False,
        sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    # When the client's bank disputed a card payment of it (staff answer in Stripe).
    disputed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class InvoiceLine(SQLModel, table=True):
    """A line of a draft (kept after sending; the snapshot is what is shown then)."""

    __tablename__ = "invoice_line"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    position: int = Field(default=0)
    product_id: int | None = Field(default=None, foreign_key="product.id")
    description: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    quantity: str = Field(default="1", max_length=24)  # Decimal as text, up to 4 decimals
    unit_price_minor: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    discount_kind: str = Field(default="", max_length=8)  # "" | percent | amount
    discount_value: str = Field(default="", max_length=24)  # percent text or minor units
    taxes: str = Field(default="[]", sa_column=sa.Column(sa.Text(), nullable=False))  # JSON
    amount_minor: int = Field(default=0, sa_column=_money())
    net_minor: int = Field(default=0, sa_column=_money())
    tax_minor: int = Field(default=0, sa_column=_money())


class InvoicePayment(SQLModel, table=True):
    """Money received for an invoice, given back (kind ``refund``), or a payment taken back
    because it was recorded by mistake (kind ``reversal``, naming the payment it reverses;
    ``received_on`` is the day of the correction, ``note`` its reason). Rows are never
    changed or deleted, so a month's cash figures never change after the fact."""

    __tablename__ = "invoice_payment"
    __table_args__ = (
        sa.Index("uq_invoice_payment_reversal_of_id", "reversal_of_id", unique=True),
        # A card payment or card refund is recorded once, whoever records it first (the page,
        # the event job, the reconciliation).
        sa.Index("uq_invoice_payment_processor_id", "processor_id", unique=True),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    kind: str = Field(default="payment", max_length=8)  # payment | refund | reversal
    # The payment a reversal takes back (at most one reversal per payment).
    reversal_of_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer(),
            sa.ForeignKey("invoice_payment.id", name="fk_invoice_payment_reversal_of_id"),
            nullable=True,
        ),
    )
    method: str = Field(max_length=20)  # bank_transfer cheque cash other card
    amount_minor: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    currency: str = Field(max_length=3)
    received_on: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    reference: str = Field(default="", max_length=120)
    note: str = Field(default="", max_length=500)
    # The card processor's id of a card payment (its PaymentIntent) or card refund (its Refund).
    processor_id: str | None = Field(default=None, max_length=255)
    # The card payment a card refund gives back (what may still be refunded is per payment).
    refund_of_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer(),
            sa.ForeignKey("invoice_payment.id", name="fk_invoice_payment_refund_of_id"),
            nullable=True,
            index=True,
        ),
    )
    # The credit note a refund belongs to (the money a credit note gave back).
    credit_note_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer(),
            sa.ForeignKey("credit_note.id", name="fk_invoice_payment_credit_note_id"),
            nullable=True,
        ),
    )
    recorded_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = Field(sa_column=_ts())


class InvoiceEvent(SQLModel, table=True):
    """The invoice's timeline: created, sent, emailed, viewed, comments, payments, voids.

    ``internal`` entries (notes, drafting) are for staff only; the others are what the client
    may see, by their message alone: ``actor_label`` (the staff member) is never shown to the
    client, and a client-visible message never names staff. Whoever writes an event decides
    (the column has no default in Python; the database's default is the safe one)."""

    __tablename__ = "invoice_event"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    at: datetime = Field(sa_column=_ts())
    kind: str = Field(max_length=30)
    actor_label: str = Field(default="", max_length=320)
    message: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    internal: bool = Field(
        sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.true())
    )


# Where services/agency/agency_cache.py keeps, in a transaction's session, what it read in it.
SNAPSHOT_KEY = "billing_agency_snapshot"


@sa.event.listens_for(OrmSession, "after_flush")
def _new_looks_stamp(session: OrmSession, _context: Any) -> None:
    """A flush that wrote a brand or the agency settings gives ``looks_stamp`` a new value in
    the same transaction, so every process reloads what it keeps of them in memory."""
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(row, Brand | AgencySettings) for row in changed):
        session.info.pop(SNAPSHOT_KEY, None)
        table: Any = AgencySettings.__table__  # type: ignore[attr-defined]
        session.connection().execute(
            sa.update(table).where(table.c.id == 1).values(looks_stamp=secrets.token_hex(16))
        )


@sa.event.listens_for(OrmSession, "after_transaction_end")
def _forget_snapshot(session: OrmSession, transaction: Any) -> None:
    """What a transaction read of the brands and settings is not kept past its end."""
    if transaction.parent is None:
        session.info.pop(SNAPSHOT_KEY, None)
