"""SVG logos are accepted only as plain drawings (no script, no external references)."""

from __future__ import annotations

import dataclasses

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
