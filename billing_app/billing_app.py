"""Builds the Reflex app: our HTTP routes around Reflex's, the middleware every event passes,
lifespan tasks, and the pages of ui/routes.py's page table. Nothing else."""

from __future__ import annotations

import importlib
from typing import Any

import reflex as rx

from billing_app.adapters import log_redaction
from billing_app.api import edge
from billing_app.api.routes import build_api
from billing_app.api.startup import secret_key_lifespan
from billing_app.jobs.consumer import consumer_lifespan
from billing_app.ui.routes import PAGES
from billing_app.ui.session.staff import SessionBinding


def resolve(reference: str) -> Any:
    """ "package.module:name.attr" -> the object."""
    module, _, path = reference.partition(":")
    target: Any = importlib.import_module(module)
    for part in path.split("."):
        target = getattr(target, part)
    return target


app = rx.App(
    # Our routes first, then the edge middleware around everything (cookies kept out of
    # Reflex's state, uploads authorised from their own request).
    api_transformer=[build_api(), edge.Edge],
)
edge.bind_app(app)
app.add_middleware(SessionBinding(), index=0)
app.register_lifespan_task(secret_key_lifespan)  # first (docs/security.md item 48)
app.register_lifespan_task(consumer_lifespan)
app.register_lifespan_task(log_redaction.redaction_lifespan)
log_redaction.install()

for page in PAGES:
    app.add_page(
        resolve(page.view),
        route=page.path,
        title=page.title,
        on_load=[resolve(handler) for handler in page.on_load] or None,
    )
