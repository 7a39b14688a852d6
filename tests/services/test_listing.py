"""The list contract (services/common/listing.py): keyset pages walk every row exactly once in
both directions, whatever the sort, ties and NULL-free sort keys, on SQLite and PostgreSQL; the
last page is the remainder; a page that went away falls back sensibly; sizes are bounded."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func

from billing_app.db.models import AuditEvent
from billing_app.domain.permissions import ALL_PERMISSIONS, Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.common import audit
from billing_app.services.common.errors import NotAllowed
from billing_app.services.common.listing import (
    MAX_PER_PAGE,
    ListRequest,
    Page,
    keyset_page,
    like_pattern,
)

ADMIN = CurrentUser(
    id=1,
    name="Owner",
    email="owner@agency.test",
    role_key="owner",
    role_label="Owner",
    permissions=ALL_PERMISSIONS,
)
START = datetime(2026, 1, 1, tzinfo=UTC)


def _events(session: Session, n: int) -> None:
    # Targets repeat (ties) and timestamps go back and forth, so the id must break ties.
    for i in range(n):
        session.add(
            AuditEvent(
                at=START + timedelta(minutes=(i * 7) % 13),
                action=f"thing.{i % 3}",
                actor_label=f"actor {i % 4}",
                target=f"t{i % 5}",
                ip="",
                details=f"#{i}",
            )
        )
    session.commit()


def _page(session: Session, request: ListRequest, sort: str = "target") -> Page[AuditEvent]:
    keys = {
        "target": [func.lower(col(AuditEvent.target)), col(AuditEvent.id)],
        "at": [col(AuditEvent.at), col(AuditEvent.id)],
        "id": [col(AuditEvent.id)],
    }[sort]
    return keyset_page(
        session,
        sa.select(AuditEvent),
        sa.select(func.count()).select_from(AuditEvent),
        keys,
        request,
    )


def _expected(session: Session, sort: str, descending: bool) -> list[int]:
    rows = list(session.exec(sa.select(AuditEvent)).scalars())  # type: ignore[call-overload]
    key = {
        "target": lambda e: (e.target.lower(), e.id),
        "at": lambda e: (e.at.replace(tzinfo=None), e.id),
        "id": lambda e: (e.id,),
    }[sort]
    return [e.id for e in sorted(rows, key=key, reverse=descending)]


@pytest.mark.parametrize("sort", ["target", "at", "id"])
@pytest.mark.parametrize("descending", [False, True])
def test_next_walks_every_row_once_in_order_and_previous_walks_back(
    session: Session, sort: str, descending: bool
) -> None:
    _events(session, 23)
    expected = _expected(session, sort, descending)
    request = ListRequest(per_page=5, descending=descending)
    pages = [_page(session, request, sort)]
    while pages[-1].has_next:
        pages.append(_page(session, replace(request, after=pages[-1].last_key), sort))
    assert [len(p.rows) for p in pages] == [5, 5, 5, 5, 3]
    assert [e.id for p in pages for e in p.rows] == expected
    assert not pages[0].has_previous and all(p.has_previous for p in pages[1:])
    assert all(p.total == 23 and p.pages == 5 for p in pages)

    # Back from the last page, one page at a time, to the first.
    back = [_page(session, replace(request, last=True), sort)]
    assert [e.id for e in back[0].rows] == expected[20:]
    assert back[0].has_previous and not back[0].has_next
    while back[-1].has_previous:
        back.append(_page(session, replace(request, before=back[-1].first_key), sort))
    assert [[e.id for e in p.rows] for p in reversed(back)] == [
        [e.id for e in p.rows] for p in pages
    ]
    assert all(p.has_next for p in back[1:])


def test_the_last_page_holds_the_remainder_or_a_full_page(session: Session) -> None:
    _events(session, 10)
    assert len(_page(session, ListRequest(per_page=5, last=True)).rows) == 5
    assert len(_page(session, ListRequest(per_page=3, last=True)).rows) == 1
    assert len(_page(session, ListRequest(per_page=20, last=True)).rows) == 10


def test_an_empty_list_is_one_empty_page(session: Session) -> None:
    page = _page(session, ListRequest(last=True))
    assert page.rows == [] and page.total == 0 and page.pages == 1
    assert not page.has_next and not page.has_previous
    assert page.first_key is None and page.last_key is None


def test_a_key_of_another_sort_starts_from_the_first_page(session: Session) -> None:
    _events(session, 8)
    first = _page(session, ListRequest(per_page=3), "id")
    assert first.last_key is not None
    again = _page(session, ListRequest(per_page=3, after=first.last_key), "target")
    assert [e.id for e in again.rows] == _expected(session, "target", False)[:3]
    assert not again.has_previous


def test_page_sizes_are_bounded(session: Session) -> None:
    assert ListRequest(per_page=10_000).size == MAX_PER_PAGE
    assert ListRequest(per_page=0).size == 1
    assert ListRequest(per_page=-5).size == 1
    assert ListRequest(per_page="7").size == 7  # type: ignore[arg-type]
    assert ListRequest(per_page="lots").size == 25  # type: ignore[arg-type]


def test_search_text_is_trimmed_cut_and_wildcards_are_literal() -> None:
    assert ListRequest(search="  fjord  ").term == "fjord"
    assert len(ListRequest(search="x" * 1000).term) == 200
    assert like_pattern("100%_a\\b") == "%100\\%\\_a\\\\b%"


def test_the_audit_list_is_newest_first_and_searches_in_sql(session: Session) -> None:
    _events(session, 12)
    page = audit.list_events(session, ADMIN, ListRequest(per_page=5))
    assert [r.details for r in page.rows] == ["#11", "#10", "#9", "#8", "#7"]
    later = audit.list_events(session, ADMIN, ListRequest(per_page=5, after=page.last_key))
    assert [r.details for r in later.rows] == ["#6", "#5", "#4", "#3", "#2"]
    found = audit.list_events(session, ADMIN, ListRequest(search="ACTOR 3"))
    assert sorted(r.details for r in found.rows) == ["#11", "#3", "#7"]
    assert found.total == 3
    by_action = audit.list_events(session, ADMIN, ListRequest(filters={"action": "thing.1"}))
    assert by_action.total == 4
    assert audit.list_events(session, ADMIN, ListRequest(search="%")).total == 0


def test_the_audit_list_needs_the_permission(session: Session) -> None:
    clerk = replace(ADMIN, permissions=frozenset({Permission.CLIENTS_READ}))
    with pytest.raises(NotAllowed):
        audit.list_events(session, clerk, ListRequest())
    with pytest.raises(NotAllowed):
        audit.distinct_actions(session, clerk)
