"""Card payments with Stripe: the account's keys and the events Stripe sends us.

``payment_settings`` has one row (id 1): the publishable key in clear (it is public), the
secret key and the webhook signing secret encrypted (adapters/crypto.py; purposes
"stripe-secret" and "stripe-webhook"). ``stripe_event`` keeps every verified event by Stripe's
id (unique), stored before anything acts on it; a job handles it and records the outcome
(docs/architecture.md, "Card payments").
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from billing_app.db.models import UTCDateTime

# A charge is in flight while its outcome is not known or it waits for the client's bank.
IN_FLIGHT = ("started", "action")
IN_FLIGHT_WHERE = "kind = 'charge' AND state IN ('started', 'action')"
# A refund is in flight while its outcome is not known: one per invoice at a time.
REFUND_IN_FLIGHT_WHERE = "kind = 'refund' AND state = 'started'"


def _ts(*, nullable: bool = False, index: bool = False) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


class PaymentSettings(SQLModel, table=True):
    __tablename__ = "payment_settings"
    __table_args__ = {"extend_existing": True}

    id: int = Field(default=1, primary_key=True)
    stripe_publishable_key: str = Field(default="", max_length=255)
    stripe_secret_key: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    stripe_webhook_secret: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    updated_at: datetime = Field(sa_column=_ts())
    updated_by_id: int | None = Field(default=None, foreign_key="staff_user.id")


class StripeEvent(SQLModel, table=True):
    """A verified event from Stripe. ``state``: pending (stored, not handled yet), handled,
    ignored (a type we do not act on), failed (a handler raised; retried until
    ``next_attempt_at``; after repeated failures staff are told)."""

    __tablename__ = "stripe_event"
    __table_args__ = (
        sa.Index("ix_stripe_event_state_next", "state", "next_attempt_at"),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=255, unique=True)
    type: str = Field(max_length=100, index=True)
    livemode: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    object_id: str = Field(default="", max_length=255, index=True)
    created: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    payload: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    received_at: datetime = Field(sa_column=_ts(index=True))
    deliveries: int = Field(default=1)
    state: str = Field(default="pending", max_length=10)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    handled_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_error: str = Field(default="", max_length=500)


class StripeCustomer(SQLModel, table=True):
    """The Stripe customer of a client (one per client, made the first time a card is saved)."""

    __tablename__ = "stripe_customer"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", unique=True)
    customer_id: str = Field(max_length=255, unique=True)
    livemode: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    created_at: datetime = Field(sa_column=_ts())


class SavedCard(SQLModel, table=True):
    """Our copy of a client's saved card: what the portal lists (never the number). Stripe's
    events keep it true; ``removed_at`` once detached."""

    __tablename__ = "saved_card"
    __table_args__ = (
        sa.Index("ix_saved_card_client", "client_id", "removed_at"),
        # At most one default among a client's cards, whoever races to set it.
        sa.Index(
            "uq_saved_card_default",
            "client_id",
            unique=True,
            sqlite_where=sa.text("is_default AND removed_at IS NULL"),
            postgresql_where=sa.text("is_default AND removed_at IS NULL"),
        ),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id")
    payment_method_id: str = Field(max_length=255, unique=True)
    brand: str = Field(default="", max_length=40)
    last4: str = Field(default="", max_length=4)
    exp_month: int = Field(default=0)
    exp_year: int = Field(default=0)
    is_default: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    created_at: datetime = Field(sa_column=_ts())
    removed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class PaymentAttempt(SQLModel, table=True):
    """A call that creates something at Stripe, written and committed before the call: its
    ``idempotency_key`` goes with the call (a retry sends the same), and its outcome is
    recorded after. ``state``: started (the outcome is not known yet), action (a charge waits
    for the client's bank: 3-D Secure in the browser), done, failed.

    A charge is an invoice's payment in flight while started or action: the database keeps at
    most one per invoice, whoever starts it."""

    __tablename__ = "payment_attempt"
    __table_args__ = (
        sa.Index("ix_payment_attempt_state", "state", "created_at"),
        sa.Index(
            "uq_payment_attempt_in_flight",
            "invoice_id",
            unique=True,
            sqlite_where=sa.text(IN_FLIGHT_WHERE),
            postgresql_where=sa.text(IN_FLIGHT_WHERE),
        ),
        sa.Index(
            "uq_payment_attempt_refund_in_flight",
            "invoice_id",
            unique=True,
            sqlite_where=sa.text(REFUND_IN_FLIGHT_WHERE),
            postgresql_where=sa.text(REFUND_IN_FLIGHT_WHERE),
        ),
        {"extend_existing": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=255, unique=True)
    kind: str = Field(max_length=20)  # customer | setup | charge | refund
    client_id: int = Field(foreign_key="client.id", index=True)
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id", index=True)
    amount_minor: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    currency: str = Field(default="", max_length=3)
    state: str = Field(default="started", max_length=10)
    stripe_id: str = Field(default="", max_length=255, index=True)
    stripe_status: str = Field(default="", max_length=40)
    error: str = Field(default="", max_length=500)
    payment_method_id: str = Field(default="", max_length=255)  # the card a charge uses
    card_label: str = Field(default="", max_length=60)  # "Visa •••• 4242", for the records
    actor_label: str = Field(default="", max_length=320)  # who started it (staff see it)
    note: str = Field(default="", max_length=500)  # a refund's reason (the client reads it)
    # The card payment a refund gives back.
    payment_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer(),
            sa.ForeignKey("invoice_payment.id", name="fk_payment_attempt_payment_id"),
            nullable=True,
        ),
    )
    # The credit note whose money a refund gives back.
    credit_note_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer(),
            sa.ForeignKey("credit_note.id", name="fk_payment_attempt_credit_note_id"),
            nullable=True,
        ),
    )
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


# What a pay link's token is sealed for (adapters/crypto.py).
PAY_LINK_PURPOSE = "pay-link"


class PayLink(SQLModel, table=True):
    """An invoice's "Pay now" link, sent in its emails: found by the digest of its token; the
    token itself is kept encrypted (purpose "pay-link") so every reminder carries the same link.
    Valid until ``expires_at``, and only while the invoice has something to pay."""

    __tablename__ = "pay_link"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", unique=True)
    token_digest: str = Field(max_length=64, unique=True)
    token_sealed: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    created_at: datetime = Field(sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())


class StaffNotice(SQLModel, table=True):
    """Something about card payments staff may be told of (services/card_payments/notices.py):
    emailed at once to who asked for it, and gathered into the daily digests."""

    __tablename__ = "staff_notice"
    __table_args__ = {"extend_existing": True}

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # payment_received | payment_failed | dispute
    message: str = Field(max_length=500)
    link: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_column=_ts(index=True))
