"""The one list state: search, filters, sort and keyset pages for every list of the admin (and
the coming portal), over the list contract of services/common/listing.py.

A page's list state mixes this in with the session state and says what it lists:

    class ClientsState(ListState, SessionState):
        LIST: ClassVar[ListSpec] = ListSpec(
            read=Permission.CLIENTS_READ,
            write=Permission.CLIENTS_WRITE,
            sorts=("name", "created", "mrr"),
            default_sort="name",
            filters={"status": ("current", "active", "inactive", "archived", "all")},
        )

        def _fetch(self, user, request): return run(client_queries.list_clients, user, request)
        def _row(self, user, client): return {"id": str(client.id), ...}

The browser only ever says "search for this", "sort by that", "next page"; the keys that find
a page stay in backend vars, and every handler needs the spec's read permission (on top of
the service's own check). The spec is a ClassVar: Reflex turns any other class attribute of a
state into a var the browser would see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.common.listing import Key, ListRequest, Page
from billing_app.ui.session.staff import current_user, read_guard

MAX_SEARCH = 100
ANY = "*"
MAX_FILTER_VALUE = 40


def _accepts(allowed: tuple[str, ...], value: str) -> bool:
    return value in allowed or (ANY in allowed and 0 < len(value) <= MAX_FILTER_VALUE)


@dataclass(frozen=True)
class ListSpec:
    """What a list state lists and how it may be sorted and filtered."""

    read: Permission
    write: Permission | None = None
    sorts: tuple[str, ...] = ()
    default_sort: str = ""
    default_descending: bool = False
    # Sorts that start from the largest (amounts, dates) when chosen.
    starting_descending: frozenset[str] = frozenset()
    # Sorts that would reveal a figure the viewer may not see (sorting leaks order).
    sort_permissions: Mapping[str, Permission] = field(default_factory=dict)
    # name -> the values the filter accepts; the first is the default. ANY among them lets
    # any short value through (an id the service checks, such as a product).
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    per_page: int = 25


class ListState(rx.State, mixin=True):
    LIST: ClassVar[ListSpec]

    status: str = "loading"
    rows: list[dict[str, str]] = []
    total: int = 0
    page: int = 1
    page_count: int = 1
    has_previous: bool = False
    has_next: bool = False
    search: str = ""
    sort: str = ""
    descending: bool = False
    filters: dict[str, str] = {}
    can_write: bool = False
    # Where the shown page starts: "first", "after" / "before" a key, or "last".
    _where: str = "first"
    _anchor: Key | None = None
    _first_key: Key | None = None
    _last_key: Key | None = None

    # -- what a list says about itself

    def _fetch(self, user: CurrentUser, request: ListRequest) -> Page[Any]:
        raise NotImplementedError

    def _row(self, user: CurrentUser, item: Any) -> dict[str, str]:
        raise NotImplementedError

    def _shown(self, user: CurrentUser, page: Page[Any]) -> None:
        """Called after a page was fetched (a list with figures of the whole, say)."""

    # -- the machinery

    def _defaults(self) -> None:
        self.search = ""
        self.sort = self.LIST.default_sort
        self.descending = self.LIST.default_descending
        self.filters = {name: values[0] for name, values in self.LIST.filters.items()}

    def _request(self) -> ListRequest:
        if self.sort not in self.LIST.sorts:
            self.sort, self.descending = self.LIST.default_sort, self.LIST.default_descending
        for name, values in self.LIST.filters.items():
            if not _accepts(values, self.filters.get(name, "")):
                self.filters = {**self.filters, name: values[0]}
        where, anchor = self._where, self._anchor
        return ListRequest(
            search=self.search,
            filters=dict(self.filters),
            sort=self.sort,
            descending=self.descending,
            per_page=self.LIST.per_page,
            after=anchor if where == "after" else None,
            before=anchor if where == "before" else None,
            last=where == "last",
        )

    def _show(self, where: str, anchor: Key | None = None, number: int = 1) -> None:
        """Fetch the page starting ``where`` and show it as page ``number``."""
        user = current_user()
        self._where, self._anchor = where, anchor
        page = self._fetch(user, self._request())
        if not page.rows and page.total and where != "last":
            # What was shown went away (deleted, or moved by a change): show the last page.
            self._show("last")
            return
        if not page.rows and where != "first":
            self._show("first")
            return
        self.rows = [self._row(user, item) for item in page.rows]
        self.total = page.total
        self.page_count = page.pages
        self.page = page.pages if where == "last" else max(1, min(number, page.pages))
        if not page.has_previous:
            self.page = 1
        self.has_previous, self.has_next = page.has_previous, page.has_next
        self._first_key, self._last_key = page.first_key, page.last_key
        write = self.LIST.write
        self.can_write = write is not None and user.can(write)
        self._shown(user, page)
        self.status = "ok"

    def _first(self) -> None:
        self._show("first")

    def _reload(self) -> None:
        """Show the current page again (after a change), staying where the person was."""
        self._show(self._where, self._anchor, self.page)

    @read_guard
    def load(self) -> None:
        self._defaults()
        self._first()

    @read_guard
    def reload(self) -> None:
        self._reload()

    @read_guard
    def set_search(self, value: str) -> None:
        self.search = str(value)[:MAX_SEARCH]
        self._first()

    @read_guard
    def sort_by(self, key: str) -> None:
        key = str(key)
        needs = self.LIST.sort_permissions.get(key)
        if key not in self.LIST.sorts or (needs is not None and not current_user().can(needs)):
            return
        if self.sort == key:
            self.descending = not self.descending
        else:
            self.sort, self.descending = key, key in self.LIST.starting_descending
        self._first()

    @read_guard
    def set_filter(self, name: str, value: str | list[str]) -> None:
        # A segmented control sends its value, a toggle group a list of one.
        chosen = value if isinstance(value, str) else "".join(str(v) for v in value[:1])
        allowed = self.LIST.filters.get(str(name))
        if allowed is None or not _accepts(allowed, chosen):
            return
        self.filters = {**self.filters, str(name): chosen}
        self._first()

    @read_guard
    def first_page(self) -> None:
        self._first()

    @read_guard
    def next_page(self) -> None:
        if self.has_next and self._last_key is not None:
            self._show("after", self._last_key, self.page + 1)

    @read_guard
    def previous_page(self) -> None:
        if self.has_previous and self._first_key is not None:
            self._show("before", self._first_key, self.page - 1)

    @read_guard
    def last_page(self) -> None:
        self._show("last")
