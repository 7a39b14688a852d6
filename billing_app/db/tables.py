"""Imports every table module so SQLModel.metadata (and Alembic) sees the whole schema."""

from billing_app.db import models  # noqa: F401
