"""The list contract: every list of the admin (and the coming portal) is asked for with a
``ListRequest`` and answers with a ``Page``, searched, filtered, sorted and paginated in SQL.

Pages are found by keyset, not OFFSET: a page is "the rows after (or before) this row's sort
key", so the database seeks that key in an index on (sort expression, id) and walks from there,
and the last page of 200,000 rows costs what the first does. The key of a row is the value of
each sort expression plus the id (the tie-breaker, so every row has a distinct key); sort
expressions are never NULL (nullable columns are sorted through COALESCE), so keys compare the
same way in SQLite and PostgreSQL.

Cursors (``first_key``/``last_key``) stay on the server, in the tab's state: the browser asks
for "next", "previous", "first" or "last", never sends a key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

T = TypeVar("T")
U = TypeVar("U")

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 25
MAX_SEARCH_LENGTH = 200  # longer searches are cut: SQLite refuses LIKE patterns over 50,000

Key = tuple[Any, ...]


@dataclass(frozen=True)
class ListRequest:
    """What a list is asked for. At most one of ``after``, ``before`` and ``last``: none is
    the first page."""

    search: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    sort: str = ""
    descending: bool = False
    per_page: int = DEFAULT_PER_PAGE
    after: Key | None = None  # the page that follows the row with this key
    before: Key | None = None  # the page that precedes the row with this key
    last: bool = False  # the last page

    def filter(self, name: str, default: str = "") -> str:
        return str(self.filters.get(name, default) or default)

    @property
    def size(self) -> int:
        """The page size, within 1..MAX_PER_PAGE whatever was asked."""
        try:
            wanted = int(self.per_page)
        except (TypeError, ValueError):
            wanted = DEFAULT_PER_PAGE
        return min(MAX_PER_PAGE, max(1, wanted))

    @property
    def term(self) -> str:
        """The search text, trimmed and cut to MAX_SEARCH_LENGTH."""
        return self.search.strip()[:MAX_SEARCH_LENGTH]

    def first_page(self) -> ListRequest:
        return replace(self, after=None, before=None, last=False)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and where it stands in the whole."""

    rows: list[T]
    total: int  # rows matching the search and filters, on every page
    per_page: int
    first_key: Key | None = None  # key of the first row (for "previous")
    last_key: Key | None = None  # key of the last row (for "next")
    has_previous: bool = False
    has_next: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def map(self, fn: Callable[[T], U]) -> Page[U]:
        """The same page with each row turned into something else."""
        return Page(
            rows=[fn(row) for row in self.rows],
            total=self.total,
            per_page=self.per_page,
            first_key=self.first_key,
            last_key=self.last_key,
            has_previous=self.has_previous,
            has_next=self.has_next,
        )


def like_pattern(text: str) -> str:
    """A lower-case LIKE pattern matching ``text`` (its first MAX_SEARCH_LENGTH characters)
    anywhere, with LIKE wildcards escaped by a backslash."""
    cut = text.strip()[:MAX_SEARCH_LENGTH].lower()
    escaped = cut.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def sort_choice(request: ListRequest, sorts: Mapping[str, Any], default: str) -> str:
    """The requested sort when the list offers it, else ``default``."""
    return request.sort if request.sort in sorts else default


def beyond(keys: Sequence[Any], values: Key, *, descending: bool) -> ColumnElement[bool]:
    """Rows whose key comes after ``values`` in the order of ``keys`` (before, descending).

    Written as ``k1 >= v1 AND (k1 > v1 OR (k2 >= v2 AND (...)))`` rather than a row-value
    comparison: both databases then seek the index on the first key to ``v1`` (SQLite scans
    an expression index from its start for a row value)."""
    key: ColumnElement[Any] = keys[0]
    rest = keys[1:]
    value = sa.literal(values[0], type_=key.type)
    strictly: ColumnElement[bool] = key < value if descending else key > value
    if not rest:
        return strictly
    at_least = key <= value if descending else key >= value
    return sa.and_(at_least, sa.or_(strictly, beyond(rest, values[1:], descending=descending)))


def keyset_page(
    session: Session,
    query: sa.Select[Any] | sa.Select[*tuple[Any, ...]],
    count: sa.Select[Any],
    keys: Sequence[Any],  # SQL expressions (columns, lower(...), literal columns)
    request: ListRequest,
    *,
    params: Mapping[str, Any] | None = None,  # values of bound parameters in the queries
) -> Page[Any]:
    """Run ``query`` (the list's select with its conditions) for the page ``request`` asks
    for, ordered by ``keys`` (the sort expressions, the id last; all ascending, or all
    descending when ``request.descending``). ``count`` counts the same rows.

    Rows are what ``query`` selects: the entity when it selects one, else a tuple."""
    size = request.size
    total = int(session.execute(count, params).scalar_one())
    cursor = request.after if request.after is not None else request.before
    if cursor is not None and len(cursor) != len(keys):
        cursor = None  # a key from another sort: start again from the first page
    backwards = request.last or (request.before is not None and cursor is not None)
    scan_descending = request.descending != backwards
    ordered = query.add_columns(*keys).order_by(
        *[k.desc() if scan_descending else k.asc() for k in keys]
    )
    if cursor is not None and not request.last:
        ordered = ordered.where(beyond(keys, cursor, descending=scan_descending))
    limit = size
    if request.last:
        limit = total % size or size
    fetched = list(session.execute(ordered.limit(limit + 1), params).all())
    more = len(fetched) > limit
    fetched = fetched[:limit]
    if backwards:
        fetched.reverse()
    width = len(keys)
    selected = len(fetched[0]) - width if fetched else 0
    rows = [row[0] if selected == 1 else tuple(row[:selected]) for row in fetched]
    row_keys = [tuple(row[selected:]) for row in fetched]
    if backwards:
        has_previous, has_next = more, not request.last
    else:
        has_previous, has_next = cursor is not None, more
    return Page(
        rows=rows,
        total=total,
        per_page=size,
        first_key=row_keys[0] if row_keys else None,
        last_key=row_keys[-1] if row_keys else None,
        has_previous=has_previous and bool(rows),
        has_next=has_next and bool(rows),
    )


def single_page(rows: list[T], per_page: int = MAX_PER_PAGE) -> Page[T]:
    """A short list that is never longer than one page (a fixed set, such as built-in roles)."""
    return Page(rows=rows, total=len(rows), per_page=max(per_page, len(rows), 1))
