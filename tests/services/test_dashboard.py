"""Dashboard revenue figures: MRR/ARR per currency, what clients owe, what is overdue."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from sqlmodel import Session

from billing_app.domain.permissions import Permission
from billing_app.services.catalog import subscriptions
from billing_app.services.catalog.subscriptions import AttachInput
from billing_app.services.common.clock import FixedClock
from billing_app.services.reporting.dashboard import revenue_figures

from .test_invoicing import draft, send, world  # noqa: F401  (the world fixture)


def test_revenue_figures_come_from_subscriptions_and_invoices(
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],  # noqa: F811
) -> None:
    empty = revenue_figures(session, world["actor"], clock=clock)
    assert empty is not None
    assert (empty.mrr, empty.outstanding, empty.overdue_count) == ({}, {}, 0)
    assert empty.active_clients == 1

    subscriptions.attach(
        session,
        world["actor"],
        AttachInput(
            client_id=world["client"].id,
            product_id=world["product"].id,
            start_date=date(2026, 3, 1),
            quantity=2,
        ),
        clock=clock,
    )
    session.commit()
    send(session, world, draft(session, world, clock), clock)  # €496.92, due 28 March

    figures = revenue_figures(session, world["actor"], clock=clock)
    assert figures is not None and figures.outstanding is not None
    assert {c: m.amount_minor for c, m in figures.mrr.items()} == {"EUR": 5000}
    assert {c: m.amount_minor for c, m in figures.outstanding.items()} == {"EUR": 49692}
    assert figures.overdue_count == 0

    clock.at = clock.at.replace(month=4, day=2)
    late = revenue_figures(session, world["actor"], clock=clock)
    assert late is not None and late.overdue is not None
    assert late.overdue_count == 1
    assert {c: m.amount_minor for c, m in late.overdue.items()} == {"EUR": 49692}


def test_revenue_figures_need_their_permissions(
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],  # noqa: F811
) -> None:
    """MRR needs reports.view; what clients owe needs invoices.read too."""
    send(session, world, draft(session, world, clock), clock)
    actor = world["actor"]
    reports_only = replace(actor, permissions=frozenset({Permission.REPORTS_VIEW}))
    figures = revenue_figures(session, reports_only, clock=clock)
    assert figures is not None
    assert figures.outstanding is None and figures.overdue is None
    assert figures.overdue_count is None
    neither = replace(actor, permissions=frozenset({Permission.INVOICES_READ}))
    assert revenue_figures(session, neither, clock=clock) is None
