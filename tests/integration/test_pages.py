"""Every page of the page table (ui/routes.py) resolves and builds its component tree, and every
on_load names a registered, guarded handler: a broken page fails here, not at `make run`."""

from __future__ import annotations

import pytest
import reflex as rx

from billing_app.billing_app import resolve
from billing_app.ui.routes import PAGES, Page
from billing_app.ui.session.staff import GUARD_ATTR


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.path)
def test_every_page_builds(page: Page) -> None:
    component = resolve(page.view)()
    assert isinstance(component, rx.Component)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.path)
def test_every_on_load_is_a_guarded_handler(page: Page) -> None:
    for reference in page.on_load:
        handler = resolve(reference)
        assert getattr(handler.fn, GUARD_ATTR, None), reference


def test_paths_are_unique() -> None:
    paths = [p.path for p in PAGES]
    assert len(paths) == len(set(paths))
