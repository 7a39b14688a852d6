"""Refuse to run without the key to the secrets stored encrypted (docs/security.md item 48).

When BILLING_SECRET_KEY is unset and ``<data dir>/secret.key`` is missing, the first secret
encrypted would create a new key; if the database already holds values encrypted with the old
one, that would lock every member out of two-factor sign-in. ``check_secret_key`` runs before
the app serves (``python -m billing_app banner``, which ``make run`` calls, and a lifespan task of
the app) and stops it with the way out: put the key back from a backup, or set the variable."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters import crypto
from billing_app.db.invoicing import Brand
from billing_app.db.models import StaffUser
from billing_app.db.portal import PortalUser
from billing_app.services.access.account import TOTP_PURPOSE
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.outbox import SMTP_PASSWORD_PURPOSE
from billing_app.settings import Settings, get_settings

# Every column holding ciphertext, with its table and the purpose its values were encrypted
# for: staff members' and client users' two-factor keys, brands' SMTP passwords.
ENCRYPTED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    (StaffUser.__tablename__, StaffUser.totp_secret, TOTP_PURPOSE),
    (StaffUser.__tablename__, StaffUser.totp_pending_secret, TOTP_PURPOSE),
    (PortalUser.__tablename__, PortalUser.totp_secret, TOTP_PURPOSE),
    (PortalUser.__tablename__, PortalUser.totp_pending_secret, TOTP_PURPOSE),
    (Brand.__tablename__, Brand.smtp_password, SMTP_PASSWORD_PURPOSE),
)


class SecretKeyProblem(ServiceError):
    """The app must not start: the key to the stored secrets is missing or wrong."""


def _restore_hint(settings: Settings) -> str:
    return (
        "Restore the key from your latest backup (`python -m billing_app restore ARCHIVE` puts "
        f"secret.key back, or copy it out of the archive to {crypto.key_file(settings)} and "
        "`chmod 600` it), or set BILLING_SECRET_KEY to the key used before. If the key is lost "
        "for good, see README.md, 'The secret key'."
    )


def encrypted_sample(session: Session) -> tuple[str, str] | None:
    """One stored ciphertext and its purpose, or None when nothing is encrypted yet."""
    inspector = sa.inspect(session.connection())
    for table, column, purpose in ENCRYPTED_COLUMNS:
        if not inspector.has_table(table):
            continue  # a database not migrated that far holds nothing there
        value = session.exec(
            select(col(column))
            .where(col(column).startswith(crypto.PREFIX, autoescape=True))
            .limit(1)
        ).first()
        if value:
            return value, purpose
    return None


def check_secret_key(session: Session, settings: Settings | None = None) -> None:
    """Raise ``SecretKeyProblem`` when the configured key is malformed, or when the database
    holds encrypted secrets and the key to them is missing (no BILLING_SECRET_KEY, no key
    file) or does not decrypt them."""
    settings = settings or get_settings()
    if crypto.key_configured(settings):
        try:
            crypto.load_keys(settings)
        except crypto.CryptoError as exc:
            msg = f"The secret key is not valid: {exc} Refusing to start."
            raise SecretKeyProblem(msg) from exc
    sample = encrypted_sample(session)
    if sample is None:
        return
    value, purpose = sample
    if not crypto.key_configured(settings):
        msg = (
            "The database holds encrypted secrets (two-factor keys) but the secret key is "
            f"missing: BILLING_SECRET_KEY is not set and {crypto.key_file(settings)} does not "
            "exist. Refusing to start, since a new key would lock everyone out of two-factor "
            f"sign-in. {_restore_hint(settings)}"
        )
        raise SecretKeyProblem(msg)
    try:
        crypto.decrypt(value, purpose=purpose, settings=settings)
    except crypto.CryptoError as exc:
        source = (
            "BILLING_SECRET_KEY"
            if crypto.key_from_environment(settings)
            else str(crypto.key_file(settings))
        )
        msg = (
            f"The secret key in {source} does not decrypt the secrets stored in the database "
            f"({exc}). Refusing to start. {_restore_hint(settings)}"
        )
        raise SecretKeyProblem(msg) from exc
