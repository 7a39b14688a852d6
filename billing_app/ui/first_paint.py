"""Pages paint before their JavaScript starts (docs/architecture.md, "First paint").

Every page is prerendered at build time: its HTML already holds what the page shows before
any state arrives (the frame, headings, forms, the host brand's logo on the sign-in pages).
As built, each page also asks for all its JavaScript modules at once (``modulepreload``) and
starts the app as soon as they are in, so on a phone the first paint waits behind downloading
and evaluating them. After the build this plugin rewrites every page so the browser paints
the prerendered HTML first (once the stylesheet and the page's images are in), and only then
asks for the modules, all at once as before, and starts the app. A form sent before the app
has taken it over is held and sent again once it has, never submitted by the browser itself
(which would put its fields, a password included, in the URL).

The rewrite is a plain function of the HTML (``defer_boot``); a page whose shape it does not
recognise fails the build rather than shipping half-rewritten.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import reflex as rx

_PRELOAD = re.compile(r'<link rel="modulepreload" href="([^"]+)"/>')
_BOOT = re.compile(r'<script type="module" async="">(.*?)</script>', re.S)
_MARK = "data-first-paint"

# Runs at the end of <body>. The app starts once the page is loaded (stylesheet and images in),
# two frames have been produced since, and the browser has reported its first contentful
# paint; at the latest after FALLBACK_MS (a tab opened in the background paints nothing). The
# preloads are added first so the modules still download in parallel, then the app's own
# entry script runs.
#
# Until the app has taken a form over, a form sent (Enter, a click) must not go the browser's
# own way: a GET to the page's address with every field in the URL, passwords included. The
# app's form handler cancels that itself (preventDefault) once it runs; a listener on the
# window, which sees the event after the app's (React listens on its root), cancels it when the
# app did not, and sends the form again through the app every RETRY_MS until the app takes it,
# for up to HOLD_MS (or until a field is changed to something the form refuses). React may
# already have attached its props to a form it is still hydrating and not yet handle its
# events, so "did the app cancel it" is the only reliable test.
FALLBACK_MS = 3000
HOLD_MS = 20000
RETRY_MS = 200
_LOADER = (
    "<script " + _MARK + ">(function(){"
    "var held=null;"
    "addEventListener('submit',function(e){var f=e.target;"
    "if(!(f instanceof HTMLFormElement)||f.hasAttribute('action'))return;"
    "if(e.defaultPrevented){if(held===f)held=null;return}"
    "e.preventDefault();if(held===f)return;held=f;var waited=0,t=setInterval(function(){"
    "waited+=%(retry)d;if(held!==f||!f.isConnected||waited>%(hold)d){clearInterval(t);"
    "if(held===f)held=null;return}if(f.checkValidity()){f.requestSubmit()}else{held=null}"
    "},%(retry)d)});"
    "var preload=%(preload)s,boot=%(boot)s,loaded=false,painted=false,started=false;"
    "function start(){if(started)return;started=true;"
    "preload.forEach(function(h){var l=document.createElement('link');"
    "l.rel='modulepreload';l.href=h;document.head.appendChild(l)});"
    "var s=document.createElement('script');s.type='module';s.textContent=boot;"
    "document.body.appendChild(s)}"
    "function ready(){if(loaded&&painted)setTimeout(start,0)}"
    "function onLoad(){requestAnimationFrame(function(){requestAnimationFrame(function(){"
    "loaded=true;ready()})})}"
    "try{new PerformanceObserver(function(list){"
    "if(list.getEntriesByName('first-contentful-paint').length){painted=true;ready()}"
    "}).observe({type:'paint',buffered:true})}catch(e){painted=true}"
    "if(document.readyState==='complete'){onLoad()}"
    "else{addEventListener('load',onLoad,{once:true})}"
    "setTimeout(start,%(fallback)d)"
    "})()</script>"
)


class UnexpectedPage(Exception):
    """A built page is not shaped as the rewrite expects (React Router's output changed)."""


def _js(value: Any) -> str:
    """A JSON literal safe inside an inline <script>."""
    return json.dumps(value).replace("<", "\\u003c")


def defer_boot(html: str) -> str:
    """The page with its module preloads and boot script moved after its first paint."""
    if _MARK in html:
        return html  # already rewritten
    boots = _BOOT.findall(html)
    if not boots:
        if _PRELOAD.search(html) or 'type="module"' in html:
            raise UnexpectedPage("modules but no boot script")
        return html  # a page without the app (nothing to defer)
    if len(boots) != 1:
        raise UnexpectedPage(f"{len(boots)} boot scripts")
    preload = _PRELOAD.findall(html)
    html = _PRELOAD.sub("", html)
    loader = _LOADER % {
        "preload": _js(preload),
        "boot": _js(boots[0]),
        "fallback": FALLBACK_MS,
        "hold": HOLD_MS,
        "retry": RETRY_MS,
    }
    return _BOOT.sub(lambda _: loader, html, count=1)


def rewrite_pages(static_dir: Path) -> int:
    """Rewrite every built page under ``static_dir``; the number rewritten."""
    count = 0
    for page in sorted(static_dir.rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        try:
            rewritten = defer_boot(html)
        except UnexpectedPage as exc:
            raise UnexpectedPage(f"{page.relative_to(static_dir)}: {exc}") from None
        if rewritten != html:
            page.write_text(rewritten, encoding="utf-8")
            count += 1
    return count


class FirstPaintPlugin(rx.plugins.Plugin):
    """Runs ``rewrite_pages`` on the production build, before it is compressed."""

    def post_build(self, **context: Any) -> None:
        rewrite_pages(Path(context["static_dir"]))
