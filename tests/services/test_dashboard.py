"""Dashboard revenue figures: MRR/ARR per currency, what clients owe, what is overdue; a
client's ARR."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from sqlmodel import Session

from billing_app.domain.money import Money
from billing_app.domain.permissions import Permission
from billing_app.services.catalog import products as catalog
from billing_app.services.catalog import subscriptions
from billing_app.services.catalog.subscriptions import AttachInput
from billing_app.services.common.clock import FixedClock
from billing_app.services.customers import client_queries
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
    # The dashboard itself needs dashboard.view (docs/security.md item 22).
    dashboard = {Permission.DASHBOARD_VIEW}
    reports_only = replace(actor, permissions=frozenset({*dashboard, Permission.REPORTS_VIEW}))
    figures = revenue_figures(session, reports_only, clock=clock)
    assert figures is not None
    assert figures.outstanding is None and figures.overdue is None
    assert figures.overdue_count is None
    neither = replace(actor, permissions=frozenset({*dashboard, Permission.INVOICES_READ}))
    assert revenue_figures(session, neither, clock=clock) is None


def test_arr_is_the_exact_yearly_amount_not_the_rounded_mrr_times_twelve(
    session: Session,
    clock: FixedClock,
    world: dict[str, Any],  # noqa: F811
) -> None:
    """Every 4 weeks at 49.00 is 13 x 49.00 = 637.00 a year (domain/mrr.py arr_total); the
    rounded MRR (53.08) x 12 would say 636.96."""
    product = catalog.create_product(
        session,
        world["actor"],
        catalog.ProductInput(
            name="Site care (4-weekly)",
            price="49.00",
            currency="EUR",
            billing_type="recurring",
            interval_unit="week",
            interval_count="4",
        ),
        clock=clock,
    )
    assert product.id is not None
    subscriptions.attach(
        session,
        world["actor"],
        AttachInput(
            client_id=world["client"].id, product_id=product.id, start_date=date(2026, 3, 1)
        ),
        clock=clock,
    )
    session.commit()

    figures = revenue_figures(session, world["actor"], clock=clock)
    assert figures is not None
    assert figures.mrr == {"EUR": Money(5308, "EUR")}
    assert figures.arr == {"EUR": Money(63700, "EUR")}
    overview = client_queries.client_overview(session, world["actor"], world["client"].id)
    assert (overview.mrr, overview.arr) == (Money(5308, "EUR"), Money(63700, "EUR"))

    # ARR is a reports.view figure, like MRR (docs/security.md item 43).
    invoices_only = replace(
        world["actor"], permissions=frozenset({Permission.CLIENTS_READ, Permission.INVOICES_READ})
    )
    hidden = client_queries.client_overview(session, invoices_only, world["client"].id)
    assert (hidden.mrr, hidden.arr) == (None, None)
