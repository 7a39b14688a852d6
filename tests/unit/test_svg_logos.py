"""SVG logos are accepted only as plain drawings (no script, no external references)."""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest

from billing_app.adapters.svg import UnsafeSvg, check_svg, looks_like_svg

CLEAN = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"'
    b' viewBox="0 0 120 40"><rect width="40" height="40" rx="6" fill="#0f766e"/>'
    b'<circle cx="20" cy="20" r="10" fill="#ffffff"/>'
    b'<path d="M50 30 L60 10 L70 30 Z" fill="#f59e0b"/></svg>'
)
WITH_INTERNAL_LINKS = (
    b'<svg xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g">'
    b'<stop offset="0" stop-color="#0f766e"/></linearGradient></defs>'
    b'<rect width="40" height="20" fill="url(#g)"/><use href="#g"/>'
    b"<style>rect { fill: #123456; }</style></svg>"
)


def test_a_plain_drawing_is_accepted() -> None:
    assert looks_like_svg(CLEAN)
    assert check_svg(CLEAN) == CLEAN
    assert check_svg(WITH_INTERNAL_LINKS) == WITH_INTERNAL_LINKS


@pytest.mark.parametrize(
    ("svg", "message"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "<script>"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "script attribute"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
            b'<image x:href="https://evil.example/x.png"/></svg>',
            "outside itself",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><rect/></a>'
            b"</svg>",
            "outside itself",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject>'
            b"</svg>",
            "foreignobject",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><set attributeName="href" to="x"/></svg>',
            "<set>",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://e.x/a.css);'
            b"</style></svg>",
            "elsewhere",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://e.x/p)"/>'
            b"</svg>",
            "elsewhere",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "boom">]><svg>&x;</svg>',
            "cannot be read",
        ),
        (b"<html><body>hi</body></html>", "cannot be read|not an SVG"),
        (b"<svg" + b" " * (600 * 1024) + b"/>", "512 KB"),
    ],
)
def test_active_or_external_content_is_refused(svg: bytes, message: str) -> None:
    with pytest.raises(UnsafeSvg, match=message):
        check_svg(svg)


def test_a_clean_svg_logo_is_stored_privately_and_drawn_on_invoices() -> None:
    from billing_app.adapters import storage
    from billing_app.adapters.pdf import Brand, render_invoice_pdf
    from tests.integration.test_pdf import sample_document

    key = storage.save_logo(CLEAN)
    assert key.endswith(".svg")
    path = storage.path_of(key, "brand-logos")
    assert path is not None and path.read_bytes() == CLEAN
    assert storage.content_type(key) == "image/svg+xml"
    with pytest.raises(storage.StorageError, match="<script>"):
        storage.save_logo(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>')
    doc = sample_document()
    plain = render_invoice_pdf(dataclasses.replace(doc, brand=Brand(name="Nord")))
    branded = render_invoice_pdf(dataclasses.replace(doc, brand=Brand(name="Nord", logo=CLEAN)))
    assert branded.startswith(b"%PDF-")
    assert branded != plain, "the SVG logo is drawn, not replaced by the brand name"


# Complexity (docs/security.md item 41): every PDF draws the logo, so a small file that expands
# to a huge drawing is refused at upload and left out when it was stored before.

SVG_OPEN = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'


def nested_use_svg(levels: int, fan_out: int, comment: str = "") -> bytes:
    """Group n holds `fan_out` <use> of group n-1; the drawing uses the last group `fan_out`
    times: fan_out ** levels squares from a file of about a kilobyte."""
    groups = ['<g id="l0"><rect width="1" height="1"/></g>']
    for level in range(1, levels):
        uses = f'<use href="#l{level - 1}"/>' * fan_out
        groups.append(f'<g id="l{level}">{uses}</g>')
    drawing = f'<use href="#l{levels - 1}"/>' * fan_out
    return f"{SVG_OPEN}<!--{comment}--><defs>{''.join(groups)}</defs>{drawing}</svg>".encode()


def test_a_nested_use_bomb_is_refused_at_upload() -> None:
    from billing_app.adapters import storage

    bomb = nested_use_svg(10, 10)  # 10**10 squares
    assert len(bomb) < 4096
    with pytest.raises(UnsafeSvg, match=r"too complex to use as a logo \(.+\)\. Simplify it"):
        check_svg(bomb)
    with pytest.raises(storage.StorageError, match="too complex"):
        storage.save_logo(bomb)


def test_a_logo_reusing_its_shapes_is_accepted() -> None:
    symbol = (
        f'{SVG_OPEN}<defs><g id="dot"><circle r="2" fill="#0f766e"/></g>'
        '<g id="row"><use href="#dot" x="0"/><use href="#dot" x="6"/><use href="#dot" x="12"/>'
        "</g></defs>" + "".join(f'<use href="#row" y="{y}"/>' for y in range(0, 40, 5)) + "</svg>"
    ).encode()
    assert check_svg(symbol) == symbol
    assert check_svg(nested_use_svg(2, 30)) == nested_use_svg(2, 30)


def _svg(body: str) -> bytes:
    return f"{SVG_OPEN}{body}</svg>".encode()


@pytest.mark.parametrize(
    ("svg", "reason"),
    [
        (_svg('<rect width="1" height="1"/>' * 5_001), "more than 5,000 elements"),
        (nested_use_svg(2, 80), "more than 5,000 elements once what <use> repeats"),
        (_svg('<g id="a"><use href="#a"/></g>'), "<use> inside <use> more than 3 levels"),
        (nested_use_svg(5, 2), "<use> inside <use> more than 3 levels"),
        (_svg('<rect id="r"/>' + '<use href="#r"/>' * 501), "more than 500 <use>"),
        (_svg("<g>" * 70 + "</g>" * 70), "nested more than 64 levels"),
        (_svg(f'<path d="M0 0{" L1 1" * 12_000}"/>'), "a path longer than 50,000"),
        (_svg(f'<path d="M0 0{" L1 1" * 8_000}"/>' * 6), "200,000 characters of path data"),
        (_svg(f'<polygon points="{" 1,2" * 5_001}"/>'), "a polygon of more than 5,000 points"),
    ],
)
def test_too_complex_drawings_are_refused_with_the_reason(svg: bytes, reason: str) -> None:
    with pytest.raises(UnsafeSvg, match=re.escape(reason)):
        check_svg(svg)


def test_a_stored_logo_that_is_too_complex_is_left_out_of_the_pdf(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A logo stored before these bounds: the PDF is rendered, without the logo, at once
    (drawing this one, 10,000 squares through <use>, takes seconds), warning once."""
    import hashlib

    from billing_app.adapters import storage
    from billing_app.services.invoicing.documents import render_snapshot
    from billing_app.services.invoicing.samples import SAMPLE_SNAPSHOT

    bomb = nested_use_svg(4, 10, comment="stored before the bounds")
    key = f"{hashlib.sha256(bomb).hexdigest()}.svg"
    (storage.root("brand-logos") / key).write_bytes(bomb)  # as an old upload left it
    brand = {"name": "Nord", "primary_color": "#0f766e", "accent_color": "#f59e0b"}
    with_bomb = {**SAMPLE_SNAPSHOT, "brand": {**brand, "logo_key": key}}
    without_logo = {**SAMPLE_SNAPSHOT, "brand": brand}
    with caplog.at_level(logging.WARNING, logger="billing_app.adapters.pdf"):
        first = render_snapshot(with_bomb)
        second = render_snapshot(with_bomb)
    assert first.startswith(b"%PDF-")
    assert first == second == render_snapshot(without_logo), "rendered without the logo"
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "too complex" in warnings[0]
