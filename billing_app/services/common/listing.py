"""Pages of rows for server-side paginated lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PER_PAGE = 200
MAX_SEARCH_LENGTH = 200  # longer searches are cut: SQLite refuses LIKE patterns over 50,000


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def clamp_page(page: int, per_page: int) -> tuple[int, int]:
    """A page number >= 1 and a page size within 1..MAX_PER_PAGE."""
    return max(1, int(page)), min(MAX_PER_PAGE, max(1, int(per_page)))


def like_pattern(text: str) -> str:
    """A lower-case LIKE pattern matching ``text`` (its first MAX_SEARCH_LENGTH characters)
    anywhere, with LIKE wildcards escaped by a backslash."""
    cut = text.strip()[:MAX_SEARCH_LENGTH].lower()
    escaped = cut.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
