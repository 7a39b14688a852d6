"""Which page origins may open the websocket: the app's public URL and every brand's custom
domain, read at run time so a domain added on the Brands page works at once, without a restart
(docs/security.md item 26). Reflex builds its Socket.IO server with a fixed list; billing_app.py
gives it ours, configured as Reflex would, with ``origin_allowed`` as its origin check.

The check runs inside the websocket handshake, on the event loop: the brands' domains are
cached for a few seconds so it never waits on the database more than once per refresh."""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError

from billing_app.db.engine import session_scope
from billing_app.services.agency.portal_brand import custom_domains
from billing_app.settings import get_settings

REFRESH_SECONDS = 5.0

_lock = threading.Lock()
_cache: dict[str, Any] = {"at": 0.0, "domains": frozenset()}


def _domains() -> frozenset[str]:
    now = time.monotonic()
    with _lock:
        if now - _cache["at"] < REFRESH_SECONDS:
            return frozenset(_cache["domains"])
    try:
        with session_scope() as session:
            domains = custom_domains(session)
    except SQLAlchemyError:  # the database is unreachable: keep what was known
        domains = frozenset(_cache["domains"])
    with _lock:
        _cache.update(at=now, domains=domains)
    return domains


def origin_allowed(origin: str | None, environ: Any = None) -> bool:
    """Whether a page on ``origin`` may open the websocket."""
    del environ
    if not origin:
        return False
    settings = get_settings()
    if origin in settings.allowed_origins:
        return True
    parts = urlsplit(origin)
    host = (parts.hostname or "").lower()
    if not host or host not in _domains():
        return False
    if parts.scheme == "https" and parts.port in (None, 443):
        return True
    # Served over http (a test or a local setup): the custom domain on the app's own port.
    base = urlsplit(settings.public_base_url)
    return parts.scheme == base.scheme == "http" and parts.port == base.port
