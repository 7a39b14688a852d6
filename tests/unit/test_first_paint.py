"""Built pages paint before their JavaScript starts: the rewrite of a page as React Router
builds it (the browser journeys run every page through the rewritten boot)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from billing_app.ui import first_paint
from billing_app.ui.first_paint import UnexpectedPage, defer_boot, rewrite_pages

BOOT = (
    'import "/assets/manifest-1.js";\n'
    'import * as route0 from "/assets/root-2.js";\n'
    '  window.__reactRouterRouteModules = {"root":route0};\n'
    'import("/assets/entry.client-3.js");'
)
PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/>'
    '<link as="style" href="/assets/styles-9.css" rel="preload"/><title>Sign in</title>'
    '<link rel="modulepreload" href="/assets/manifest-1.js"/>'
    '<link rel="modulepreload" href="/assets/entry.client-3.js"/>'
    '<link rel="modulepreload" href="/assets/root-2.js"/>'
    '<link href="/assets/styles-9.css" rel="stylesheet" type="text/css"/></head>'
    '<body><main><h1>Sign in</h1><img src="/api/portal/brand-logo" alt=""/></main>'
    "<script>window.__reactRouterContext = {};</script>"
    f'<script type="module" async="">{BOOT}</script>'
    '<div hidden id="S:0"><script>enqueue("[]")</script></div></body></html>'
)


def _loader(html: str) -> str:
    found = re.findall(r"<script data-first-paint>(.*?)</script>", html, re.S)
    assert len(found) == 1
    return found[0]


def test_the_page_keeps_its_content_and_loses_its_early_module_loads() -> None:
    out = defer_boot(PAGE)
    assert 'rel="modulepreload"' not in out
    assert 'type="module" async' not in out
    # Everything the page shows, its stylesheet and React Router's own data stay in place.
    for kept in (
        "<h1>Sign in</h1>",
        '<img src="/api/portal/brand-logo" alt=""/>',
        '<link href="/assets/styles-9.css" rel="stylesheet" type="text/css"/>',
        "<script>window.__reactRouterContext = {};</script>",
        '<script>enqueue("[]")</script>',
    ):
        assert kept in out
    # The loader sits where the boot script was: after the router context, before its data.
    assert out.index("__reactRouterContext") < out.index("data-first-paint")
    assert out.index("data-first-paint") < out.index('id="S:0"')


def test_the_loader_preloads_the_same_modules_then_runs_the_same_boot_script() -> None:
    loader = _loader(defer_boot(PAGE))
    literals = re.search(r"var preload=(\[.*?\]),boot=(\".*?\"),", loader, re.S)
    assert literals is not None
    assert json.loads(literals.group(1)) == [
        "/assets/manifest-1.js",
        "/assets/entry.client-3.js",
        "/assets/root-2.js",
    ]
    assert json.loads(literals.group(2)) == BOOT
    # It waits for the load event and the first contentful paint, and never longer than the
    # fallback (a tab opened in the background paints nothing).
    assert "addEventListener('load'" in loader
    assert "first-contentful-paint" in loader
    assert f"setTimeout(start,{first_paint.FALLBACK_MS})" in loader
    assert "if(started)return" in loader  # started once, whichever comes first


def test_a_form_sent_before_the_app_starts_is_held_not_sent_by_the_browser() -> None:
    loader = _loader(defer_boot(PAGE))
    guard = loader.split("var preload=", 1)[0]
    # Registered at once (not when the app starts), on the window: it sees a form's submit
    # after the app's own handler, which cancels the browser's sending itself.
    assert guard.startswith("(function(){var held=null;addEventListener('submit',")
    assert "if(e.defaultPrevented){" in guard  # the app took it: nothing to do
    assert "e.preventDefault()" in guard and "f.requestSubmit()" in guard
    assert "f.hasAttribute('action')" in guard  # a form with its own action is left alone
    assert f"waited>{first_paint.HOLD_MS}" in guard and f"}},{first_paint.RETRY_MS})" in guard
    assert "f.checkValidity()" in guard  # no validation bubble every retry


def test_markup_in_the_boot_code_cannot_end_or_comment_out_the_loader() -> None:
    code = BOOT + '\nconsole.log("</div><!-- x");'
    loader = _loader(defer_boot(PAGE.replace(BOOT, code)))
    assert "</" not in loader and "<!--" not in loader
    literal = re.search(r"boot=(\".*?[^\\]\"),", loader, re.S)
    assert literal is not None
    assert json.loads(literal.group(1)) == code


def test_rewriting_twice_changes_nothing_more() -> None:
    once = defer_boot(PAGE)
    assert defer_boot(once) == once


def test_a_page_without_the_app_is_left_alone() -> None:
    plain = "<html><head><title>x</title></head><body>Nothing to boot</body></html>"
    assert defer_boot(plain) == plain


def test_an_unrecognised_page_fails_the_build() -> None:
    renamed = PAGE.replace('<script type="module" async="">', '<script type="module">')
    with pytest.raises(UnexpectedPage):
        defer_boot(renamed)
    twice = PAGE.replace("</body>", f'<script type="module" async="">{BOOT}</script></body>')
    with pytest.raises(UnexpectedPage):
        defer_boot(twice)


def test_every_built_page_is_rewritten_and_a_bad_one_is_named(tmp_path: Path) -> None:
    (tmp_path / "portal" / "login").mkdir(parents=True)
    (tmp_path / "portal" / "login" / "index.html").write_text(PAGE)
    (tmp_path / "login.html").write_text(PAGE)
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "readme.txt").write_text(PAGE)  # not a page
    assert rewrite_pages(tmp_path) == 2
    assert "data-first-paint" in (tmp_path / "portal" / "login" / "index.html").read_text()
    assert (tmp_path / "assets" / "readme.txt").read_text() == PAGE
    assert rewrite_pages(tmp_path) == 0
    (tmp_path / "broken.html").write_text(PAGE.replace(' async=""', ""))
    with pytest.raises(UnexpectedPage, match=r"broken\.html"):
        rewrite_pages(tmp_path)
