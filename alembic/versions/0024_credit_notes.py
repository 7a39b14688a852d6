"""credit notes: their own numbers per brand, their lines, what they did to the invoice, and
clients' credit balances

Revision ID: 0024
Revises: 0023

Columns of existing tables are added in place (ADD COLUMN ... REFERENCES on SQLite) so SQLite
does not rebuild them.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def _money(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def _add_reference(table: str, column: str, name: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES credit_note (id)")
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(name, table, "credit_note", [column], ["id"])


def upgrade() -> None:
    op.add_column(
        "agency_settings",
        sa.Column(
            "credit_note_format",
            sa.String(length=40),
            nullable=False,
            server_default="CN-{YYYY}-{SEQ:5}",
        ),
    )
    op.add_column(
        "agency_settings",
        sa.Column("credit_note_reset", sa.String(length=8), nullable=False, server_default="never"),
    )
    op.add_column("invoice", _money("credited_minor"))
    op.add_column("invoice", _money("credit_applied_minor"))
    op.create_table(
        "credit_note_sequence",
        sa.Column("brand_id", sa.Integer(), sa.ForeignKey("brand.id"), primary_key=True),
        sa.Column("scope", sa.String(length=7), primary_key=True),
        sa.Column("last_value", sa.Integer(), nullable=False),
    )
    op.create_table(
        "credit_note",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("invoice_id", sa.Integer(), sa.ForeignKey("invoice.id"), nullable=False),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("client.id"), nullable=False),
        sa.Column("brand_id", sa.Integer(), sa.ForeignKey("brand.id"), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        _money("net_minor"),
        _money("tax_minor"),
        _money("total_minor"),
        _money("reduces_due_minor"),
        _money("given_back_minor"),
        sa.Column("give_back", sa.String(length=20), nullable=False),
        sa.Column("give_back_state", sa.String(length=10), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("pdf_key", sa.String(length=100), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("staff_user.id"), nullable=True),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("brand_id", "number", name="uq_credit_note_brand_number"),
    )
    op.create_index("ix_credit_note_invoice_id", "credit_note", ["invoice_id"])
    op.create_index("ix_credit_note_client_id", "credit_note", ["client_id"])
    op.create_index("ix_credit_note_number", "credit_note", ["number"])
    op.create_index("ix_credit_note_issue_key", "credit_note", ["issue_date", "id"])
    op.create_table(
        "credit_note_line",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "credit_note_id", sa.Integer(), sa.ForeignKey("credit_note.id"), nullable=False
        ),
        sa.Column("invoice_id", sa.Integer(), sa.ForeignKey("invoice.id"), nullable=False),
        sa.Column("line_index", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.String(length=24), nullable=False),
        sa.Column("gross_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("taxes", sa.Text(), nullable=False),
    )
    op.create_index("ix_credit_note_line_credit_note_id", "credit_note_line", ["credit_note_id"])
    op.create_index("ix_credit_note_line_invoice_id", "credit_note_line", ["invoice_id"])
    op.create_table(
        "client_credit",
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("client.id"), primary_key=True),
        sa.Column("currency", sa.String(length=3), primary_key=True),
        _money("balance_minor"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("balance_minor >= 0", name="ck_client_credit_not_negative"),
    )
    op.create_table(
        "client_credit_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("client.id"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("credit_note_id", sa.Integer(), sa.ForeignKey("credit_note.id"), nullable=True),
        sa.Column("invoice_id", sa.Integer(), sa.ForeignKey("invoice.id"), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_client_credit_entry_client", "client_credit_entry", ["client_id", "currency", "id"]
    )
    _add_reference("invoice_payment", "credit_note_id", "fk_invoice_payment_credit_note_id")
    _add_reference("payment_attempt", "credit_note_id", "fk_payment_attempt_credit_note_id")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_payment_attempt_credit_note_id", "payment_attempt")
        op.drop_constraint("fk_invoice_payment_credit_note_id", "invoice_payment")
    op.drop_column("payment_attempt", "credit_note_id")
    op.drop_column("invoice_payment", "credit_note_id")
    op.drop_index("ix_client_credit_entry_client", table_name="client_credit_entry")
    op.drop_table("client_credit_entry")
    op.drop_table("client_credit")
    op.drop_index("ix_credit_note_line_invoice_id", table_name="credit_note_line")
    op.drop_index("ix_credit_note_line_credit_note_id", table_name="credit_note_line")
    op.drop_table("credit_note_line")
    op.drop_index("ix_credit_note_issue_key", table_name="credit_note")
    op.drop_index("ix_credit_note_number", table_name="credit_note")
    op.drop_index("ix_credit_note_client_id", table_name="credit_note")
    op.drop_index("ix_credit_note_invoice_id", table_name="credit_note")
    op.drop_table("credit_note")
    op.drop_table("credit_note_sequence")
    op.drop_column("invoice", "credit_applied_minor")
    op.drop_column("invoice", "credited_minor")
    op.drop_column("agency_settings", "credit_note_reset")
    op.drop_column("agency_settings", "credit_note_format")
