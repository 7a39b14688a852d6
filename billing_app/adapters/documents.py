"""Generated documents (invoice PDFs) in private storage: content-addressed, written once,
never under Reflex's public upload dir; served only through authorized routes."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from billing_app.adapters.storage import root

AREA = "documents"
KEY_PATTERN = re.compile(r"^[0-9a-f]{64}\.pdf$")


def save_document(data: bytes) -> str:
    """Store a PDF; returns its key ("<sha256>.pdf")."""
    if not data.startswith(b"%PDF-"):
        msg = "not a PDF document"
        raise ValueError(msg)
    key = f"{hashlib.sha256(data).hexdigest()}.pdf"
    target = root(AREA) / key
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".doc-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    return key


def document_path(key: str) -> Path | None:
    if not KEY_PATTERN.match(key):
        return None
    path = root(AREA) / key
    return path if path.is_file() else None


def read_document(key: str) -> bytes | None:
    path = document_path(key)
    return path.read_bytes() if path else None


def content_type(key: str) -> str:
    return "application/pdf" if key.endswith(".pdf") else "application/octet-stream"
