"""Clients and their websites, the catalog (tax rates, products) and subscriptions.

Money columns are integer minor units in the row's currency (a client has one currency; its
subscriptions are in that currency). Figures used for sorting lists are stored and indexed:

* ``subscription.mrr_minor``: the subscription's monthly amount (domain/mrr.py), rounded once,
  kept up to date by services/catalog/subscriptions.py whenever the subscription changes.
* ``client.mrr_minor``: the client's MRR, mrr_total() over its renewing recurring
  subscriptions, updated in the same transaction by the subscription service.
* ``client.net_invoiced_minor`` / ``client.outstanding_minor``: zero until invoices exist;
  maintained by the invoicing service.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from billing_app.db.models import UTCDateTime


def _ts(*, nullable: bool = False, index: bool = False) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


def _money(*, index: bool = False) -> sa.Column[int]:
    return sa.Column(sa.BigInteger(), nullable=False, server_default="0", index=index)


class Client(SQLModel, table=True):
    """A client company the agency bills."""

    __tablename__ = "client"
    __table_args__ = (
        sa.Index("ix_client_status_mrr", "status", "mrr_minor"),
        # Keyset pages (services/common/listing.py): each sort of the list, then the id.
        sa.Index("ix_client_company_key", sa.text("lower(company)"), "id"),
        sa.Index("ix_client_created_key", "created_at", "id"),
        sa.Index("ix_client_mrr_key", "mrr_minor", "id"),
        sa.Index("ix_client_net_invoiced_key", "net_invoiced_minor", "id"),
        sa.Index("ix_client_outstanding_key", "outstanding_minor", "id"),
        # The reports' top clients per currency (services/reporting/cash_reports.py).
        sa.Index("ix_client_currency_mrr", "currency", "mrr_minor", "id"),
        sa.Index("ix_client_currency_outstanding", "currency", "outstanding_minor", "id"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="active", max_length=16, index=True)  # active inactive archived
    company: str = Field(max_length=200)
    contact_name: str = Field(default="", max_length=200)
    email: str = Field(max_length=320, sa_column_kwargs={"unique": True}, nullable=False)
    phone: str = Field(default="", max_length=50)
    address_line1: str = Field(default="", max_length=200)
    address_line2: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=120)
    postal_code: str = Field(default="", max_length=30)
    region: str = Field(default="", max_length=120)
    country: str = Field(default="", max_length=2)  # ISO 3166 alpha-2, upper case
    currency: str = Field(default="EUR", max_length=3)
    locale: str = Field(default="en", max_length=16)
    # The brand the client sees (portal, emails, PDFs); None means the default brand.
    brand_id: int | None = Field(default=None, foreign_key="brand.id", index=True)
    tax_id: str = Field(default="", max_length=64)
    notes: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    # lower-case "company contact email website names and urls", for substring search
    search_text: str = Field(default="", max_length=2000)
    mrr_minor: int = Field(default=0, sa_column=_money())
    active_subscriptions: int = Field(default=0, sa_column=_money())
    net_invoiced_minor: int = Field(default=0, sa_column=_money())
    outstanding_minor: int = Field(default=0, sa_column=_money())
    # Renewal invoices charged to the default card at once: None follows the agency's setting.
    auto_charge: bool | None = Field(default=None, sa_column=sa.Column(sa.Boolean(), nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())
    archived_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ClientWebsite(SQLModel, table=True):
    """One of a client's websites."""

    __tablename__ = "client_website"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    name: str = Field(max_length=200)
    url: str = Field(max_length=500)
    created_at: datetime = Field(sa_column=_ts())


class TaxRateRow(SQLModel, table=True):
    """A named tax percentage (stored exactly, in parts per million)."""

    __tablename__ = "tax_rate"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    rate_ppm: int = Field()  # 20 % = 200_000
    inclusive: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    archived: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


class Product(SQLModel, table=True):
    """A product or service of the catalog."""

    __tablename__ = "product"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    description: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    image_key: str = Field(default="", max_length=100)  # adapters/storage.py key, "" = none
    price_minor: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    currency: str = Field(max_length=3)
    billing_type: str = Field(default="recurring", max_length=16)  # recurring | one_time
    interval_unit: str = Field(default="month", max_length=8)  # day week month year ("" one-time)
    interval_count: int = Field(default=1)
    archived: bool = Field(
        default=False,
        sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false(), index=True),
    )
    # Portal self-service: clients may change the quantity between these bounds.
    client_quantity: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    client_quantity_min: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    client_quantity_max: int = Field(default=10, sa_column_kwargs={"server_default": "10"})
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


class ProductAlternative(SQLModel, table=True):
    """Another plan a client may switch a subscription of ``product_id`` to in the portal (same
    currency and interval, checked when saved and again when switching)."""

    __tablename__ = "product_alternative"
    __table_args__ = {"extend_existing": True}

    product_id: int = Field(foreign_key="product.id", primary_key=True)
    alternative_id: int = Field(foreign_key="product.id", primary_key=True, index=True)


class ProductTaxRate(SQLModel, table=True):
    """A default tax rate of a product (in order)."""

    __tablename__ = "product_tax_rate"
    __table_args__ = {"extend_existing": True}

    product_id: int = Field(foreign_key="product.id", primary_key=True)
    tax_rate_id: int = Field(foreign_key="tax_rate.id", primary_key=True, index=True)
    position: int = Field(default=0)


# A subscription's renewal date as sorted, with "no renewal" after every date in either
# direction: the list's keyset (services/catalog/subscription_queries.py) uses these very
# expressions, literal for literal, so that both databases use their indexes.
RENEWAL_FIRST = "coalesce(next_renewal_on, '9999-12-31')"
RENEWAL_LAST = "coalesce(next_renewal_on, '0001-01-01')"


class Subscription(SQLModel, table=True):
    """A product attached to a client: recurring (renews) or a one-time purchase."""

    __tablename__ = "subscription"
    __table_args__ = (
        sa.Index("ix_subscription_client_status", "client_id", "status"),
        # Covers the dashboard's MRR per currency (an index-only scan, no table reads).
        sa.Index(
            "ix_subscription_mrr_cover",
            "status",
            "kind",
            "currency",
            "interval_unit",
            "interval_count",
            "unit_price_minor",
            "quantity",
        ),
        # Keyset pages of the list: by renewal (no renewal last, either way), created, MRR.
        sa.Index("ix_subscription_renewal_first", sa.text(RENEWAL_FIRST), "id"),
        sa.Index("ix_subscription_renewal_last", sa.text(RENEWAL_LAST), "id"),
        sa.Index("ix_subscription_created_key", "created_at", "id"),
        sa.Index("ix_subscription_mrr_key", "mrr_minor", "id"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id")
    product_id: int = Field(foreign_key="product.id", index=True)
    website_id: int | None = Field(default=None, foreign_key="client_website.id", index=True)
    kind: str = Field(default="recurring", max_length=16)  # recurring | one_time
    status: str = Field(default="active", max_length=16, index=True)  # SubscriptionStatus
    description: str = Field(default="", max_length=300)  # product name when attached
    quantity: int = Field(default=1)
    unit_price_minor: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    currency: str = Field(max_length=3)
    interval_unit: str = Field(default="month", max_length=8)
    interval_count: int = Field(default=1)
    start_date: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    trial_ends_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date(), nullable=True))
    next_renewal_on: date | None = Field(
        default=None, sa_column=sa.Column(sa.Date(), nullable=True, index=True)
    )
    cancel_at_period_end: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    ends_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date(), nullable=True))
    # The first day of the first period not invoiced yet (None: nothing more to bill).
    next_billing_on: date | None = Field(
        default=None, sa_column=sa.Column(sa.Date(), nullable=True, index=True)
    )
    pending_quantity: int | None = Field(default=None)
    pending_unit_price_minor: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True)
    )
    # A switch to another plan (same currency and interval) from the next period.
    pending_product_id: int | None = Field(default=None)
    mrr_minor: int = Field(default=0, sa_column=_money())
    canceled_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    paused_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


class SubscriptionEvent(SQLModel, table=True):
    """One recorded change of a subscription: who, when, what."""

    __tablename__ = "subscription_event"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    at: datetime = Field(sa_column=_ts())
    actor_id: int | None = Field(default=None)
    actor_label: str = Field(default="", max_length=320)
    action: str = Field(max_length=40)
    details: str = Field(default="", max_length=1000)


class RenewalClaim(SQLModel, table=True):
    """One billed period of a subscription (its first day): a unique key, so a period is
    invoiced once whatever runs at once or again (docs/architecture.md, "Renewals")."""

    __tablename__ = "renewal_claim"
    __table_args__ = {"extend_existing": True}

    subscription_id: int = Field(foreign_key="subscription.id", primary_key=True)
    period_start: date = Field(sa_column=sa.Column(sa.Date(), primary_key=True))
    period_end: date | None = Field(default=None, sa_column=sa.Column(sa.Date(), nullable=True))
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id", index=True)
    created_at: datetime = Field(sa_column=_ts())


class SubscriptionChange(SQLModel, table=True):
    """One confirmed change of a subscription's quantity, price or plan (staff or client): what
    it was and became, and what proration made of it. ``token`` comes from the preview the
    change was confirmed on: unique per subscription, so a double submit changes it once."""

    __tablename__ = "subscription_change"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "token", name="uq_subscription_change_token"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id")
    token: str = Field(max_length=64)
    timing: str = Field(max_length=12)  # prorate | next_period
    by_client: bool = Field(default=False)
    actor_label: str = Field(default="", max_length=320)
    old_product_id: int = Field(foreign_key="product.id")
    new_product_id: int = Field(foreign_key="product.id")
    old_quantity: int = Field()
    new_quantity: int = Field()
    old_unit_price_minor: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    new_unit_price_minor: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    change_on: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    period_end: date | None = Field(default=None, sa_column=sa.Column(sa.Date(), nullable=True))
    # Taxes included: charged (> 0) or credited (< 0) for the rest of the period.
    amount_minor: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id")
    credit_note_id: int | None = Field(default=None, foreign_key="credit_note.id")
    created_at: datetime = Field(sa_column=_ts())


class RenewalHold(SQLModel, table=True):
    """A period that was due beyond the agency's catch-up limit after downtime: not billed,
    listed for staff to bill or skip (``state``: held | billed | skipped)."""

    __tablename__ = "renewal_hold"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "period_start", name="uq_renewal_hold_period"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id")
    period_start: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    period_end: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    state: str = Field(default="held", max_length=8, index=True)
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id")
    created_at: datetime = Field(sa_column=_ts())
    decided_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    decided_by: str = Field(default="", max_length=320)


class MrrMovement(SQLModel, table=True):
    """One change of a subscription's monthly amount (docs/architecture.md, "Renewals"):
    written in the transaction that changed it, never edited; revenue history reads these."""

    __tablename__ = "mrr_movement"
    __table_args__ = (
        sa.Index("ix_mrr_movement_at", "at", "id"),
        sa.Index("ix_mrr_movement_subscription", "subscription_id", "id"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id")
    client_id: int = Field(foreign_key="client.id", index=True)
    currency: str = Field(max_length=3)
    kind: str = Field(max_length=12)  # domain.mrr.MovementKind
    delta_minor: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    mrr_after_minor: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    at: datetime = Field(sa_column=_ts())


class RenewalDocument(SQLModel, table=True):
    """A renewal invoice whose PDF is still to render and, with ``email``, whose email is still
    to queue: written with the invoice, deleted by the drain that does it (so a crash in
    between loses nothing and sends nothing twice)."""

    __tablename__ = "renewal_document"
    __table_args__ = {"extend_existing": True}

    invoice_id: int = Field(foreign_key="invoice.id", primary_key=True)
    email: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    created_at: datetime = Field(sa_column=_ts())
