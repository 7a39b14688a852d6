"""SVG logos: accepted only when they are plain drawings.

An SVG is a document that can carry script and load other resources, so an uploaded one is
parsed with defusedxml (no entities, no DTD tricks) and refused if it holds anything active or
external: script, foreignObject, animation elements that can rewrite links, event-handler
attributes, links other than in-document ``#ids`` or embedded PNG/JPEG data, or CSS with
``url(...)`` to elsewhere, ``@import`` or ``javascript:``. It is refused rather than cleaned, so
what is stored is exactly what was checked.

Its complexity is bounded too (docs/security.md item 41), since every PDF draws the logo: a
few kilobytes of ``<use>`` elements that repeat groups of ``<use>`` elements expand to millions
of shapes. The elements are counted with every ``<use>`` copy expanded, as the renderer draws
them, and so are nesting, path data and polygon points. The PDF renderer checks a stored logo
again with ``check_svg`` and leaves out one that was stored before these bounds existed."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

MAX_SVG_BYTES = 512 * 1024
MAX_ELEMENTS = 5_000  # counting every copy a <use> makes
MAX_USES = 500
MAX_USE_DEPTH = 3  # a <use> of something holding a <use> of something holding a <use>
MAX_NESTING = 64  # elements inside elements, through <use> too
MAX_PATH_DATA = 50_000  # characters of one `d`
MAX_TOTAL_PATH_DATA = 200_000  # characters of every `d` and `points` together
MAX_POINTS = 5_000  # points of one polygon or polyline
FORBIDDEN_ELEMENTS = {
    "script",
    "foreignobject",
    "iframe",
    "object",
    "embed",
    "audio",
    "video",
    "animate",
    "set",
    "animatemotion",
    "animatetransform",
    "handler",
    "listener",
}
SAFE_LINK = re.compile(r"^(#[\w.:-]+|data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]+)$")
CSS_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class UnsafeSvg(ValueError):
    """The file is not an SVG we accept; the message says why."""


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def _check_css(text: str) -> None:
    lowered = text.lower()
    if "@import" in lowered or "javascript:" in lowered or CSS_URL.search(text):
        msg = "This SVG loads styles or images from elsewhere. Export it as a plain SVG or a PNG."
        raise UnsafeSvg(msg)


def _too_complex(reason: str) -> UnsafeSvg:
    return UnsafeSvg(
        f"This SVG is too complex to use as a logo ({reason}). Simplify it or upload a PNG."
    )


def _href(element: Element) -> str:
    return next((v.strip() for k, v in element.attrib.items() if _local(k) == "href"), "")


def _check_drawing_data(root: Element) -> None:
    uses = total = 0
    for element in root.iter():
        tag = _local(element.tag)
        if tag == "use":
            uses += 1
        path = element.get("d", "")
        points = element.get("points", "") if tag in {"polygon", "polyline"} else ""
        if len(path) > MAX_PATH_DATA:
            raise _too_complex(f"a path longer than {MAX_PATH_DATA:,} characters")
        if len(NUMBER.findall(points)) > 2 * MAX_POINTS:
            raise _too_complex(f"a {tag} of more than {MAX_POINTS:,} points")
        total += len(path) + len(points)
    if uses > MAX_USES:
        raise _too_complex(f"more than {MAX_USES:,} <use> elements")
    if total > MAX_TOTAL_PATH_DATA:
        raise _too_complex(f"more than {MAX_TOTAL_PATH_DATA:,} characters of path data")


def _check_expansion(root: Element) -> None:
    """Walk the drawing as it is rendered, into what each <use> refers to, and stop as soon
    as it is too big: the work is bounded by MAX_ELEMENTS whatever the file holds."""
    by_id = {element.get("id"): element for element in root.iter() if element.get("id")}
    budget = MAX_ELEMENTS
    stack: list[tuple[Element, int, int]] = [(root, 1, 0)]  # element, nesting, <use> depth
    while stack:
        element, nesting, use_depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise _too_complex(
                f"more than {MAX_ELEMENTS:,} elements once what <use> repeats is counted"
            )
        if nesting > MAX_NESTING:
            raise _too_complex(f"elements nested more than {MAX_NESTING} levels deep")
        if _local(element.tag) == "use":
            target = by_id.get(_href(element).removeprefix("#"))
            if target is not None:
                if use_depth == MAX_USE_DEPTH:
                    raise _too_complex(f"<use> inside <use> more than {MAX_USE_DEPTH} levels deep")
                stack.append((target, nesting + 1, use_depth + 1))
        stack.extend((child, nesting + 1, use_depth) for child in element)


def looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!--")) and b"<svg" in head


def check_svg(data: bytes) -> bytes:
    """The SVG bytes if they are a safe drawing; UnsafeSvg otherwise."""
    if len(data) > MAX_SVG_BYTES:
        msg = "SVG logos can be at most 512 KB."
        raise UnsafeSvg(msg)
    try:
        root = ElementTree.fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, ElementTree.ParseError) as exc:
        msg = "This SVG cannot be read. Export it again as a plain SVG."
        raise UnsafeSvg(msg) from exc
    if _local(root.tag) != "svg":
        msg = "This file is not an SVG image."
        raise UnsafeSvg(msg)
    for element in root.iter():
        tag = _local(element.tag)
        if tag in FORBIDDEN_ELEMENTS:
            msg = f"This SVG contains <{tag}>, which is not allowed in a logo."
            raise UnsafeSvg(msg)
        if tag == "style" and element.text:
            _check_css(element.text)
        for name, value in element.attrib.items():
            attribute = _local(name)
            if attribute.startswith("on"):
                msg = f"This SVG contains a script attribute ({attribute}), not allowed in a logo."
                raise UnsafeSvg(msg)
            if attribute in {"href", "src"} and not SAFE_LINK.match(value.strip()):
                msg = "This SVG links to something outside itself. Embed everything it needs."
                raise UnsafeSvg(msg)
            if attribute == "style":
                _check_css(value)
    _check_drawing_data(root)
    _check_expansion(root)
    return data
