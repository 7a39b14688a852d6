"""Private file storage under BILLING_DATA_DIR/private/ (never Reflex's public upload dir).

Files are content-addressed: the key is "<sha256>.<ext>", so the same bytes are stored once and
a key never names anything but what was stored. Keys are validated before any path is built:
a caller cannot reach outside the storage directory.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from billing_app.adapters import svg
from billing_app.settings import get_settings

KEY_PATTERN = re.compile(r"^[0-9a-f]{64}\.(png|jpg|gif|webp|svg)$")
MAX_IMAGE_BYTES = 2 * 1024 * 1024

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "svg": "image/svg+xml",
}


class StorageError(ValueError):
    """The file is not acceptable (too large, not an image)."""


def root(area: str = "files") -> Path:
    base = get_settings().data_dir.resolve() / "private" / area
    base.mkdir(parents=True, exist_ok=True)
    return base


def image_kind(data: bytes) -> str | None:
    """'png', 'jpg', 'gif' or 'webp' from the file's own bytes (never from its name)."""
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def save_image(data: bytes, area: str = "product-images") -> str:
    """Store an image; returns its key."""
    if not data:
        raise StorageError("The file is empty.")
    if len(data) > MAX_IMAGE_BYTES:
        raise StorageError("Images can be at most 2 MB.")
    kind = image_kind(data)
    if kind is None:
        raise StorageError("Upload a PNG, JPEG, GIF or WebP image.")
    key = f"{hashlib.sha256(data).hexdigest()}.{kind}"
    target = root(area) / key
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    return key


def path_of(key: str, area: str = "product-images") -> Path | None:
    """The file of a valid, existing key; None otherwise."""
    if not KEY_PATTERN.match(key):
        return None
    path = root(area) / key
    return path if path.is_file() else None


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")


def _write(data: bytes, area: str, key: str) -> str:
    target = root(area) / key
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    return key


def save_logo(data: bytes, area: str = "brand-logos") -> str:
    """Store a brand logo: a PNG/JPEG/GIF/WebP image, or an SVG that passes adapters.svg."""
    if image_kind(data) is not None or not svg.looks_like_svg(data):
        return save_image(data, area)
    try:
        checked = svg.check_svg(data)
    except svg.UnsafeSvg as exc:
        raise StorageError(str(exc)) from exc
    return _write(checked, area, f"{hashlib.sha256(checked).hexdigest()}.svg")
