"""encrypt TOTP secrets at rest (docs/security.md item 48)

Revision ID: 0009
Revises: 0008

staff_user.totp_secret and totp_pending_secret grow to 255 characters and their plain base32
secrets are encrypted in place with the configured key (BILLING_SECRET_KEY, else
<data dir>/secret.key, created here when needed: nothing was encrypted before this revision).
The downgrade decrypts them, so it needs the same key.

The columns are replaced (add, copy, drop, rename) rather than altered: on SQLite an ALTER of the
type would rebuild staff_user, which fails once other tables refer to its rows. ADD, DROP and
RENAME COLUMN work in place on SQLite (3.35+) and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from billing_app.adapters import crypto

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PURPOSE = "totp"
COLUMNS = ("totp_secret", "totp_pending_secret")


def _replace_columns(length: int, convert: Callable[[str], str]) -> None:
    bind = op.get_bind()
    for name in COLUMNS:
        new = f"{name}_0009"
        op.execute(
            f"ALTER TABLE staff_user ADD COLUMN {new} VARCHAR({length}) DEFAULT '' NOT NULL"
        )
        rows = bind.execute(
            sa.text(f"SELECT id, {name} FROM staff_user WHERE {name} <> ''")
        ).fetchall()
        for row_id, value in rows:
            bind.execute(
                sa.text(f"UPDATE staff_user SET {new} = :value WHERE id = :id"),
                {"value": convert(value), "id": row_id},
            )
        op.execute(f"ALTER TABLE staff_user DROP COLUMN {name}")
        op.execute(f"ALTER TABLE staff_user RENAME COLUMN {new} TO {name}")


def _encrypt(value: str) -> str:
    return value if crypto.is_encrypted(value) else crypto.encrypt(value, purpose=PURPOSE)


def _decrypt(value: str) -> str:
    return crypto.decrypt(value, purpose=PURPOSE) if crypto.is_encrypted(value) else value


def upgrade() -> None:
    _replace_columns(255, _encrypt)


def downgrade() -> None:
    _replace_columns(64, _decrypt)
