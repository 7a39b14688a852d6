"""What every page downloads, made smaller and fewer (docs/architecture.md, "First paint").

Two changes to the generated frontend, made as the app is compiled:

- Stylesheet: Radix Themes' full stylesheet carries the tokens of all its 30 colour scales;
  the app imports the base tokens, the scales it uses (``COLORS``, checked against the code by
  a test) and the components and utilities, which is everything else the full sheet holds.
- Unused components' rules are removed from the built stylesheet (ui/lean_styles.py).
- Scripts: the modules every page runs anyway (React, the router, Emotion, the websocket
  client, Reflex's state) are bundled into one chunk instead of a dozen small ones. Over a
  phone's connection each file costs a round trip on one of a handful of connections, so a
  dozen small files cost more than their bytes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import reflex as rx

from billing_app.ui.lean_styles import lean_stylesheets

# The Radix colour scales the app uses, by name (color_scheme, rx.color, the theme's accent and
# gray). tests/unit/test_lean_bundle.py fails when code uses one that is not here.
COLORS = (
    "amber",
    "blue",
    "grass",
    "gray",
    "green",
    "indigo",
    "orange",
    "purple",
    "red",
    "slate",
    "teal",
    "violet",
)

_FULL_SHEET = "@import url('@radix-ui/themes/styles.css');"
STYLES_FILE = "styles/__reflex_global_styles.css"
VITE_CONFIG = "vite.config.js"
ROOT_FILE = "app/root.jsx"

# npm packages every page imports through the app's root (the framework, not a page's own).
FRAMEWORK_PACKAGES = (
    "react",
    "react-dom",
    "scheduler",
    "react-router",
    "@react-router",
    "cookie",
    "set-cookie-parser",
    "@emotion",
    "stylis",
    "hoist-non-react-statics",
    "react-is",
    "@babel/runtime",
    "socket.io-client",
    "socket.io-parser",
    "engine.io-client",
    "engine.io-parser",
    "@socket.io",
    "universal-cookie",
    "react-error-boundary",
    "sonner",
    "json5",
    "mergician",
)
# Reflex's own modules in .web/utils (state, contexts, helpers).
_REFLEX_UTILS = (
    r"[\\/]\.web[\\/]utils[\\/]"
    r"(state|context|context-registry|helpers[\\/][^\\/]+|react-theme|theme)\.jsx?$"
)


def radix_sheet(colors: tuple[str, ...] = COLORS) -> str:
    """The imports standing in for Radix Themes' full stylesheet."""
    parts = ["tokens/base.css", *(f"tokens/colors/{c}.css" for c in colors)]
    parts += ["components.css", "utilities.css"]
    return "\n".join(f"@import url('@radix-ui/themes/{part}');" for part in parts)


def lean_styles(css: str) -> str:
    if _FULL_SHEET not in css:
        if "@radix-ui/themes/tokens/base.css" in css:
            return css
        raise ValueError("the global stylesheet no longer imports Radix Themes' full sheet")
    return css.replace(_FULL_SHEET, radix_sheet())


def _package_pattern(packages: tuple[str, ...]) -> str:
    names = "|".join(re.escape(p).replace("/", r"[\\/]") for p in packages)
    return r"[\\/]node_modules[\\/](" + names + r")[\\/]"


FRAMEWORK_GROUP = (
    '{ name: "framework", priority: 20, test: /'
    + _package_pattern(FRAMEWORK_PACKAGES).replace("/", r"\/")
    + "|"
    + _REFLEX_UTILS.replace("/", r"\/")
    + "/ },"
)
# Every icon the app draws, in one file (a dozen icons were a dozen requests). Icon names are
# literals in the code: a name taken from state would make the bundler ship every icon there is
# (``check_icons`` fails the build if that happens).
ICONS_GROUP = (
    r'{ name: "icons", priority: 30, test: /[\\\/]node_modules[\\\/]lucide-react[\\\/]/ },'
)
# Radix: the parts most pages use (themes, props, the primitives of the shell's menus and the
# common components) in one file; a component only a few pages use stays in a file of its own
# that only those pages load.
RADIX_PACKAGES = (
    "@radix-ui",
    "radix-ui",
    "@floating-ui",
    "classnames",
    "aria-hidden",
    "react-remove-scroll",
    "react-remove-scroll-bar",
    "react-style-singleton",
    "use-callback-ref",
    "use-sidecar",
    "get-nonce",
    "detect-node-es",
    "tslib",
)
RADIX_SHARED_BY = 20  # pages
RADIX_GROUP = (
    f'{{ name: "radix", priority: 10, minShareCount: {RADIX_SHARED_BY}, test: /'
    + _package_pattern(RADIX_PACKAGES).replace("/", r"\/")
    + "/ },"
)
ICONS_LIMIT = 100_000  # bytes: the icons file holds the app's few dozen icons, not lucide's 1,600
_GROUPS = re.compile(r"codeSplitting:\s*\{\s*groups:\s*\[")


def lean_vite_config(config: str) -> str:
    if '"framework"' in config:
        return config
    match = _GROUPS.search(config)
    if match is None:
        raise ValueError("vite.config.js no longer has codeSplitting groups")
    groups = "".join("\n            " + g for g in (ICONS_GROUP, FRAMEWORK_GROUP, RADIX_GROUP))
    return config[: match.end()] + groups + config[match.end() :]


# The root's loader of whole libraries for components sent at run time (evaluated in the
# browser): the app sends none, and importing Radix Themes' whole namespace, even lazily, made
# the bundler put every Radix component into one file that every page loaded.
_RADIX_LOADER = re.compile(r'\n\s*"@radix-ui/themes": \(\) => import\("@radix-ui/themes"\),')


def lean_root(js: str) -> str:
    js = _RADIX_LOADER.sub("", js)
    if 'import("@radix-ui/themes")' in js:
        raise ValueError("app/root.jsx loads Radix Themes' namespace in a way not recognised")
    return js


class IconsTooLarge(Exception):
    """The icons file holds more than the icons the pages draw."""


def check_icons(static_dir: Path) -> None:
    for chunk in (static_dir / "assets").glob("icons-*.js"):
        if chunk.stat().st_size > ICONS_LIMIT:
            raise IconsTooLarge(
                f"{chunk.name} is {chunk.stat().st_size:,} bytes: an rx.icon name comes from "
                "state somewhere (use rx.cond between literal icons)"
            )


class LeanBundlePlugin(rx.plugins.Plugin):
    """Applies ``lean_styles`` and ``lean_vite_config`` to the generated frontend."""

    def pre_compile(self, **context: Any) -> None:
        context["add_modify_task"](STYLES_FILE, lean_styles)
        context["add_modify_task"](VITE_CONFIG, lean_vite_config)
        context["add_modify_task"](ROOT_FILE, lean_root)

    def post_build(self, **context: Any) -> None:
        static_dir = Path(context["static_dir"])
        check_icons(static_dir)
        lean_stylesheets(static_dir, web_dir=static_dir.parent.parent)
