"""SVG logos: accepted only when they are plain drawings.

An SVG is a document that can carry script and load other resources, so an uploaded one is
parsed with defusedxml (no entities, no DTD tricks) and refused if it holds anything active or
external: script, foreignObject, animation elements that can rewrite links, event-handler
attributes, links other than in-document ``#ids`` or embedded PNG/JPEG data, or CSS with
``url(...)`` to elsewhere, ``@import`` or ``javascript:``. It is refused rather than cleaned, so
what is stored is exactly what was checked."""

from __future__ import annotations

import re

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

MAX_SVG_BYTES = 512 * 1024
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


class UnsafeSvg(ValueError):
    """The file is not an SVG we accept; the message says why."""


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def _check_css(text: str) -> None:
    lowered = text.lower()
    if "@import" in lowered or "javascript:" in lowered or CSS_URL.search(text):
        msg = "This SVG loads styles or images from elsewhere. Export it as a plain SVG or a PNG."
        raise UnsafeSvg(msg)


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
    return data
