"""Imports every table module so SQLModel.metadata (and Alembic) sees the whole schema."""

from billing_app.db import (
    card_payments,  # noqa: F401
    credit_notes,  # noqa: F401
    customers,  # noqa: F401
    dunning,  # noqa: F401
    invoicing,  # noqa: F401
    models,  # noqa: F401
    mrr_rollups,  # noqa: F401
    portal,  # noqa: F401
    reporting,  # noqa: F401
    sso,  # noqa: F401
)
