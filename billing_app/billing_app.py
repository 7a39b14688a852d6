"""Builds the Reflex app: our HTTP routes around Reflex's, the middleware every event passes,
lifespan tasks, and the pages of ui/routes.py's page table. Nothing else."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import reflex as rx
from reflex.utils.prerequisites import get_web_dir
from reflex_base.constants import Dirs

from billing_app.adapters import log_redaction
from billing_app.api import edge
from billing_app.api.origins import origin_allowed
from billing_app.api.routes import build_api
from billing_app.api.startup import secret_key_lifespan
from billing_app.jobs.consumer import consumer_lifespan
from billing_app.ui import routes
from billing_app.ui.portal.frame import portal_title
from billing_app.ui.routes import PAGES
from billing_app.ui.session.portal import PortalSessionBinding
from billing_app.ui.session.staff import SessionBinding


def resolve(reference: str) -> Any:
    """ "package.module:name.attr" -> the object."""
    module, _, path = reference.partition(":")
    target: Any = importlib.import_module(module)
    for part in path.split("."):
        target = getattr(target, part)
    return target


def socket_server() -> Any:
    """The Socket.IO server Reflex would build, with our origin check: the public URL and
    every brand's custom domain, read at run time (api/origins.py)."""
    from reflex.app import _sio_dumps, _sio_loads
    from reflex_base.environment import environment
    from socketio import AsyncServer  # type: ignore[import-untyped]

    return AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=origin_allowed,
        cors_credentials=True,
        max_http_buffer_size=environment.REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE.get(),
        ping_interval=environment.REFLEX_SOCKET_INTERVAL.get().total_seconds(),
        ping_timeout=environment.REFLEX_SOCKET_TIMEOUT.get().total_seconds(),
        json=SimpleNamespace(dumps=staticmethod(_sio_dumps), loads=staticmethod(_sio_loads)),
        allow_upgrades=False,
        transports=["websocket"],
        async_handlers=False,
    )


app = rx.App(
    # Our routes first, then the edge middleware around everything (cookies kept out of
    # Reflex's state, uploads authorised from their own request).
    api_transformer=[build_api(), edge.Edge],
    # Plain toasts (dark text on white, a coloured icon): sonner's rich colours put green or
    # red text on a tint below the 4.5:1 contrast small text needs.
    toaster=rx.toast.provider(rich_colors=False, close_button=True),
    # The websocket accepts the public URL and every brand's custom domain (api/origins.py).
    sio=socket_server(),
)
edge.bind_app(app, pages=(get_web_dir() / Dirs.STATIC).resolve())
app.add_middleware(SessionBinding(), index=0)
app.add_middleware(PortalSessionBinding(), index=1)  # the client portal's realm
app.register_lifespan_task(secret_key_lifespan)  # first (docs/security.md item 48)
app.register_lifespan_task(consumer_lifespan)
app.register_lifespan_task(log_redaction.redaction_lifespan)
log_redaction.install()

# What a portal page says of itself to search engines and link previews: the client's side of
# the brand, nothing of the product behind it.
PORTAL_DESCRIPTION = "Your invoices, services and account."

for page in PAGES:
    in_portal = page.path == routes.PORTAL or page.path.startswith(routes.PORTAL + "/")
    app.add_page(
        resolve(page.view),
        route=page.path,
        title=portal_title(page.title) if in_portal else page.title,
        description=PORTAL_DESCRIPTION if in_portal else None,
        on_load=[resolve(handler) for handler in page.on_load] or None,
    )
