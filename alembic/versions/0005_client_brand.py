"""client brand: each client belongs to a brand (None = the default brand)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 06:13:55.454196

On SQLite the column is added with an inline REFERENCES clause (ALTER TABLE ADD COLUMN allows
it), so the table is not rebuilt: a rebuild would drop the lower(company) expression index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE client ADD COLUMN brand_id INTEGER REFERENCES brand (id)")
    else:
        op.add_column("client", sa.Column("brand_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_client_brand_id_brand", "client", "brand", ["brand_id"], ["id"])
    op.create_index("ix_client_brand_id", "client", ["brand_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_client_brand_id", table_name="client")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("client", schema=None) as batch_op:
            batch_op.drop_column("brand_id")
        # The rebuild above loses expression indexes: put back the one 0002 made.
        op.execute("DROP INDEX IF EXISTS ix_client_company_lower")
        op.create_index("ix_client_company_lower", "client", [sa.text("lower(company)")])
    else:
        op.drop_constraint("fk_client_brand_id_brand", "client", type_="foreignkey")
        op.drop_column("client", "brand_id")
