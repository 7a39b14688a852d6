"""Reflex configuration, read from billing_app.settings (BILLING_* environment variables)."""

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

from billing_app.settings import get_settings
from billing_app.ui.first_paint import FirstPaintPlugin
from billing_app.ui.lean_bundle import LeanBundlePlugin

_settings = get_settings()

config = rx.Config(
    app_name="billing_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    backend_host=_settings.host,
    frontend_port=_settings.port,
    redis_url=_settings.redis_url,
    # Tab states hold what pages show: kept in memory in the embedded mode (never written to
    # disk), in Redis when scaling out (docs/security.md item 37).
    state_manager_mode="redis" if _settings.redis_url else "memory",
    cors_allowed_origins=_settings.allowed_origins,
    # Each page imports the components it uses, not every library the app bundles (no page
    # evaluates components sent at run time).
    frontend_lazy_bundled_libraries=True,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", gray_color="slate", radius="medium")
        ),
        LeanBundlePlugin(),  # fewer, smaller files for every page
        FirstPaintPlugin(),  # pages paint before their JavaScript starts
    ],
    disable_plugins=[SitemapPlugin],
)
