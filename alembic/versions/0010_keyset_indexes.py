"""indexes for keyset pages: each list sort, then the id

Revision ID: 0010
Revises: 0009

Lists page by keyset (services/common/listing.py): "the rows after (sort value, id)". An index on
(sort expression, id) lets both databases start the walk at that key, so the last page of a long
list costs what the first does. Each replaces the index on the sort column alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

RENEWAL_FIRST = "coalesce(next_renewal_on, '9999-12-31')"
RENEWAL_LAST = "coalesce(next_renewal_on, '0001-01-01')"

# (table, old single-column index or None, new index, its columns)
CHANGES: list[tuple[str, str | None, str, list[object]]] = [
    ("client", "ix_client_company_lower", "ix_client_company_key", ["lower(company)", "id"]),
    ("client", "ix_client_created_at", "ix_client_created_key", ["created_at", "id"]),
    ("client", "ix_client_mrr_minor", "ix_client_mrr_key", ["mrr_minor", "id"]),
    (
        "client",
        "ix_client_net_invoiced_minor",
        "ix_client_net_invoiced_key",
        ["net_invoiced_minor", "id"],
    ),
    (
        "client",
        "ix_client_outstanding_minor",
        "ix_client_outstanding_key",
        ["outstanding_minor", "id"],
    ),
    ("subscription", None, "ix_subscription_renewal_first", [RENEWAL_FIRST, "id"]),
    ("subscription", None, "ix_subscription_renewal_last", [RENEWAL_LAST, "id"]),
    ("subscription", None, "ix_subscription_created_key", ["created_at", "id"]),
    ("subscription", None, "ix_subscription_mrr_key", ["mrr_minor", "id"]),
    ("invoice", "ix_invoice_issue_date", "ix_invoice_issue_key", ["issue_date", "id"]),
    ("invoice", "ix_invoice_due_date", "ix_invoice_due_key", ["due_date", "id"]),
    ("invoice", "ix_invoice_total_minor", "ix_invoice_total_key", ["total_minor", "id"]),
]


def _columns(columns: list[object]) -> list[object]:
    return [sa.text(c) if isinstance(c, str) and "(" in c else c for c in columns]


def upgrade() -> None:
    for table, old, new, columns in CHANGES:
        op.create_index(new, table, _columns(columns), unique=False)
        if old is not None:
            op.drop_index(old, table_name=table)


def downgrade() -> None:
    for table, old, new, columns in reversed(CHANGES):
        if old is not None:
            first = columns[0]
            op.create_index(old, table, _columns([first]), unique=False)
        op.drop_index(new, table_name=table)
