"""subscription changes prorated now, and clients changing their subscriptions in the portal:
per product, whether clients may change the quantity (and its bounds) and the plans they may
switch to; the agency's choice of timing for client changes; one row per confirmed change

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "product",
        sa.Column("client_quantity", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "product",
        sa.Column("client_quantity_min", sa.Integer(), nullable=False, server_default="1"),
    )
    op.add_column(
        "product",
        sa.Column("client_quantity_max", sa.Integer(), nullable=False, server_default="10"),
    )
    op.add_column(
        "agency_settings",
        sa.Column("client_changes_prorate", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column("subscription", sa.Column("pending_product_id", sa.Integer(), nullable=True))
    op.create_table(
        "product_alternative",
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("product.id"), primary_key=True),
        sa.Column("alternative_id", sa.Integer(), sa.ForeignKey("product.id"), primary_key=True),
    )
    op.create_index(
        "ix_product_alternative_alternative_id", "product_alternative", ["alternative_id"]
    )
    op.create_table(
        "subscription_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "subscription_id", sa.Integer(), sa.ForeignKey("subscription.id"), nullable=False
        ),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("timing", sa.String(length=12), nullable=False),
        sa.Column("by_client", sa.Boolean(), nullable=False),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.Column("old_product_id", sa.Integer(), sa.ForeignKey("product.id"), nullable=False),
        sa.Column("new_product_id", sa.Integer(), sa.ForeignKey("product.id"), nullable=False),
        sa.Column("old_quantity", sa.Integer(), nullable=False),
        sa.Column("new_quantity", sa.Integer(), nullable=False),
        sa.Column("old_unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("new_unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("change_on", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), sa.ForeignKey("invoice.id"), nullable=True),
        sa.Column("credit_note_id", sa.Integer(), sa.ForeignKey("credit_note.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subscription_id", "token", name="uq_subscription_change_token"),
    )


def downgrade() -> None:
    op.drop_table("subscription_change")
    op.drop_index("ix_product_alternative_alternative_id", table_name="product_alternative")
    op.drop_table("product_alternative")
    # A plain column (no constraint): SQLite drops it in place, keeping the table's indexes.
    op.execute("ALTER TABLE subscription DROP COLUMN pending_product_id")
    op.drop_column("agency_settings", "client_changes_prorate")
    op.drop_column("product", "client_quantity_max")
    op.drop_column("product", "client_quantity_min")
    op.drop_column("product", "client_quantity")
