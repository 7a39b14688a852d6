"""cash reports: the monthly cash rollup (payments, refunds, reversals, invoices and credit
notes issued per month, brand and currency) filled from the existing rows, the renewal
forecast, and the indexes of the top clients per currency

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

_MONEY = {"nullable": False, "server_default": "0"}
FIELDS = (
    "payments_minor",
    "refunds_minor",
    "reversals_minor",
    "invoiced_minor",
    "invoices",
    "credited_minor",
    "credit_notes",
)


def _month(day: Any) -> date:
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    return date(day.year, day.month, 1)


def _backfill() -> None:
    """The rollup of the rows already there: sums per day (a few thousand rows), folded into
    months here so that the SQL is the same on both databases."""
    conn = op.get_bind()
    sums: dict[tuple[date, int, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(FIELDS, 0)
    )
    payments = conn.execute(
        sa.text(
            "SELECT p.received_on, i.brand_id, p.currency, p.kind, SUM(p.amount_minor) "
            "FROM invoice_payment p JOIN invoice i ON i.id = p.invoice_id "
            "WHERE NOT (p.kind = 'refund' AND p.method = 'credit_balance') "
            "GROUP BY p.received_on, i.brand_id, p.currency, p.kind"
        )
    ).all()
    column = {"payment": "payments_minor", "refund": "refunds_minor", "reversal": "reversals_minor"}
    for day, brand_id, currency, kind, total in payments:
        if kind in column:
            sums[(_month(day), brand_id, currency)][column[kind]] += int(total or 0)
    invoices = conn.execute(
        sa.text(
            "SELECT issue_date, brand_id, currency, SUM(total_minor), COUNT(*) FROM invoice "
            "WHERE status NOT IN ('draft', 'void') GROUP BY issue_date, brand_id, currency"
        )
    ).all()
    for day, brand_id, currency, total, count in invoices:
        row = sums[(_month(day), brand_id, currency)]
        row["invoiced_minor"] += int(total or 0)
        row["invoices"] += int(count)
    notes = conn.execute(
        sa.text(
            "SELECT issue_date, brand_id, currency, SUM(total_minor), COUNT(*) FROM credit_note "
            "GROUP BY issue_date, brand_id, currency"
        )
    ).all()
    for day, brand_id, currency, total, count in notes:
        row = sums[(_month(day), brand_id, currency)]
        row["credited_minor"] += int(total or 0)
        row["credit_notes"] += int(count)
    if sums:
        table = sa.table(
            "cash_month",
            sa.column("month", sa.Date()),
            sa.column("brand_id", sa.Integer()),
            sa.column("currency", sa.String()),
            *(sa.column(name, sa.BigInteger()) for name in FIELDS),
        )
        conn.execute(
            sa.insert(table),
            [
                {"month": month, "brand_id": brand_id, "currency": currency, **values}
                for (month, brand_id, currency), values in sums.items()
            ],
        )


def upgrade() -> None:
    op.create_table(
        "cash_month",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("brand_id", sa.Integer(), primary_key=True),
        sa.Column("currency", sa.String(length=3), primary_key=True),
        sa.Column("payments_minor", sa.BigInteger(), **_MONEY),
        sa.Column("refunds_minor", sa.BigInteger(), **_MONEY),
        sa.Column("reversals_minor", sa.BigInteger(), **_MONEY),
        sa.Column("invoiced_minor", sa.BigInteger(), **_MONEY),
        sa.Column("invoices", sa.Integer(), **_MONEY),
        sa.Column("credited_minor", sa.BigInteger(), **_MONEY),
        sa.Column("credit_notes", sa.Integer(), **_MONEY),
    )
    op.create_table(
        "renewal_forecast",
        sa.Column("brand_id", sa.Integer(), primary_key=True),
        sa.Column("currency", sa.String(length=3), primary_key=True),
        sa.Column("days", sa.Integer(), primary_key=True),
        sa.Column("renewals", sa.Integer(), **_MONEY),
        sa.Column("amount_minor", sa.BigInteger(), **_MONEY),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_client_currency_mrr", "client", ["currency", "mrr_minor", "id"])
    op.create_index(
        "ix_client_currency_outstanding", "client", ["currency", "outstanding_minor", "id"]
    )
    _backfill()


def downgrade() -> None:
    op.drop_index("ix_client_currency_outstanding", table_name="client")
    op.drop_index("ix_client_currency_mrr", table_name="client")
    op.drop_table("renewal_forecast")
    op.drop_table("cash_month")
