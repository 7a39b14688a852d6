"""What the card and billing benchmarks share: a throwaway database (SQLite in a folder, or a
database made for the run on BILLING_TEST_POSTGRES_URL's server), and an agency with an owner
and Stripe keys."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

PG_URL = os.environ.get(
    "BILLING_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


def database(postgres: bool, folder: Path, prefix: str) -> str:
    """The URL of an empty database for one run."""
    if not postgres:
        return f"sqlite:///{folder / 'bench.db'}"
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_URL.rsplit("/", 1)[0] + f"/{name}"


def drop(url: str) -> None:
    """The run's PostgreSQL database goes with it (a SQLite file stays in its temp folder)."""
    if not url.startswith("postgresql"):
        return
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}"'))
    admin.dispose()


def studio(session: Session, data_dir: Path, now: datetime, keys: str) -> Any:
    """An owner (the actor returned), the agency's settings and Stripe keys (``keys`` makes
    them this benchmark's own)."""
    from billing_app.db.models import StaffUser
    from billing_app.services.access.identity import current_user_from
    from billing_app.services.agency import branding
    from billing_app.services.card_payments import stripe_settings
    from billing_app.services.common.tokens import hash_password
    from billing_app.settings import Settings

    owner = StaffUser(
        email="owner@bench.test",
        name="Owner",
        password_hash=hash_password("x" * 12),
        role_key="owner",
        created_at=now,
    )
    session.add(owner)
    session.commit()
    actor = current_user_from(session, owner)
    branding.update_agency(
        session,
        actor,
        branding.AgencyInput(
            legal_name="Bench Studio",
            address="Street 1",
            tax_id="",
            email="billing@bench.test",
            default_currency="EUR",
            locale="en",
            time_zone="Europe/Helsinki",
            payment_terms_days="14",
            number_format="INV-{YYYY}-{SEQ:6}",
            number_reset="never",
        ),
    )
    stripe_settings.save_stripe_keys(
        session,
        actor,
        stripe_settings.StripeKeysForm(
            publishable_key=f"pk_test_{keys}",
            secret_key=f"sk_test_{keys}",
            webhook_secret=f"whsec_{keys}",
        ),
        settings=Settings(data_dir=data_dir),
    )
    session.commit()
    return actor
