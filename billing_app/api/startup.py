"""Checks the server makes before it serves anyone (a Reflex lifespan task, registered in
billing_app/billing_app.py). Plain Python: no Reflex import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa

from billing_app.db.engine import session_scope
from billing_app.services.access import secrets_check
from billing_app.settings import Settings

log = logging.getLogger(__name__)


def check_secret_key(engine: sa.Engine | None = None, settings: Settings | None = None) -> None:
    """Raise ``secrets_check.SecretKeyProblem`` when the key to the stored secrets is missing
    or wrong (docs/security.md item 48)."""
    with session_scope(engine) as session:
        try:
            secrets_check.check_secret_key(session, settings)
        except secrets_check.SecretKeyProblem as exc:
            log.critical("%s", exc.message)
            raise


@contextlib.asynccontextmanager
async def secret_key_lifespan(**_: Any) -> AsyncIterator[None]:
    """Reflex lifespan task: the app does not start without the key to its stored secrets."""
    await asyncio.to_thread(check_secret_key)
    yield
