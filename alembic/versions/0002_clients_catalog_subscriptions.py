"""clients, websites, tax rates, products and subscriptions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:24:06.108190
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("address_line1", sa.String(length=200), nullable=False),
        sa.Column("address_line2", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("postal_code", sa.String(length=30), nullable=False),
        sa.Column("region", sa.String(length=120), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("tax_id", sa.String(length=64), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("search_text", sa.String(length=2000), nullable=False),
        sa.Column("mrr_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("active_subscriptions", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("net_invoiced_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("outstanding_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_client_mrr_minor"), ["mrr_minor"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_client_net_invoiced_minor"), ["net_invoiced_minor"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_client_outstanding_minor"), ["outstanding_minor"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_client_status"), ["status"], unique=False)
        batch_op.create_index("ix_client_status_mrr", ["status", "mrr_minor"], unique=False)
    op.create_index("ix_client_company_lower", "client", [sa.text("lower(company)")], unique=False)

    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("image_key", sa.String(length=100), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billing_type", sa.String(length=16), nullable=False),
        sa.Column("interval_unit", sa.String(length=8), nullable=False),
        sa.Column("interval_count", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_archived"), ["archived"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_name"), ["name"], unique=False)

    op.create_table(
        "tax_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("rate_ppm", sa.Integer(), nullable=False),
        sa.Column("inclusive", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "client_website",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("client_website", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_website_client_id"), ["client_id"], unique=False
        )

    op.create_table(
        "product_tax_rate",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("tax_rate_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tax_rate_id"],
            ["tax_rate.id"],
        ),
        sa.PrimaryKeyConstraint("product_id", "tax_rate_id"),
    )
    with op.batch_alter_table("product_tax_rate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_tax_rate_tax_rate_id"), ["tax_rate_id"], unique=False
        )

    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("website_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval_unit", sa.String(length=8), nullable=False),
        sa.Column("interval_count", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("trial_ends_on", sa.Date(), nullable=True),
        sa.Column("next_renewal_on", sa.Date(), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("pending_quantity", sa.Integer(), nullable=True),
        sa.Column("pending_unit_price_minor", sa.BigInteger(), nullable=True),
        sa.Column("mrr_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
        ),
        sa.ForeignKeyConstraint(
            ["website_id"],
            ["client_website.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscription_client_status", ["client_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_subscription_next_renewal_on"), ["next_renewal_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_subscription_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_subscription_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_subscription_website_id"), ["website_id"], unique=False
        )

    op.create_table(
        "subscription_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("details", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("subscription_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subscription_event_subscription_id"), ["subscription_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("subscription_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscription_event_subscription_id"))

    op.drop_table("subscription_event")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscription_website_id"))
        batch_op.drop_index(batch_op.f("ix_subscription_status"))
        batch_op.drop_index(batch_op.f("ix_subscription_product_id"))
        batch_op.drop_index(batch_op.f("ix_subscription_next_renewal_on"))
        batch_op.drop_index("ix_subscription_client_status")

    op.drop_table("subscription")
    with op.batch_alter_table("product_tax_rate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_tax_rate_tax_rate_id"))

    op.drop_table("product_tax_rate")
    with op.batch_alter_table("client_website", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_website_client_id"))

    op.drop_table("client_website")
    op.drop_table("tax_rate")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_name"))
        batch_op.drop_index(batch_op.f("ix_product_archived"))

    op.drop_table("product")
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_index("ix_client_status_mrr")
        batch_op.drop_index("ix_client_company_lower")
        batch_op.drop_index(batch_op.f("ix_client_status"))
        batch_op.drop_index(batch_op.f("ix_client_outstanding_minor"))
        batch_op.drop_index(batch_op.f("ix_client_net_invoiced_minor"))
        batch_op.drop_index(batch_op.f("ix_client_mrr_minor"))
        batch_op.drop_index(batch_op.f("ix_client_created_at"))

    op.drop_table("client")
