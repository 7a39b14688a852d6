"""The renewal engine: subscriptions bill themselves (docs/architecture.md, "Renewals").

A run on ``today`` (the agency's date) plans what is due (renewal_plans.py: every subscription
whose first unbilled period has started, the oldest periods first, up to the agency's catch-up
limit, the rest held for staff, a runaway refused) and bills it: all of a client's periods that
start on the same day, in the same currency, go on one invoice (its brand is the client's), one
line per subscription and period, with the service period printed. Invoices made late are
dated the day they are made.

Most invoices are made in batches (renewal_batches.py: many per transaction, the PDFs and
emails drained after by renewal_documents.py). The rest, and any batch that meets something
unusual, go one by one through ``bill_group``: the periods are claimed (``renewal_claim``, a
unique key per subscription and period, so two runs at once or a run again after a crash bill a
period once), each subscription moves on by compare-and-set on ``next_billing_on``, scheduled
changes take effect, a trial's end makes it active, a one-time purchase ends; then the invoice
is numbered, frozen, rendered and emailed as staff would send it (the credit balance first).
Then the invoices of clients who pay automatically are charged.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from billing_app.db.customers import (
    Client,
    ClientWebsite,
    RenewalClaim,
    RenewalHold,
    Subscription,
    TaxRateRow,
)
from billing_app.db.invoicing import InvoiceLine
from billing_app.domain.billing import ONE_TIME
from billing_app.domain.invoice_math import InvoiceLineInput, compute_invoice
from billing_app.domain.lifecycle import transition
from billing_app.domain.money import Money
from billing_app.domain.periods import Period
from billing_app.domain.renewals import due_periods
from billing_app.services.agency.branding import agency_today, get_agency
from billing_app.services.billing.auto_charge import (
    ChargeReport,
    charge_pending_invoices,
    system_invoice,
)
from billing_app.services.billing.renewal_batches import BATCH, Fallback, batchable, bill_batch
from billing_app.services.billing.renewal_documents import drain_documents
from billing_app.services.billing.renewal_plans import (
    BILLABLE,
    RENEWALS,
    GroupKey,
    Item,
    S,
    line_description,
    plan_renewals,
)
from billing_app.services.catalog.proration import apply_pending_plan
from billing_app.services.catalog.proration_money import product_rates
from billing_app.services.catalog.recurring_revenue import (
    anchor_of,
    interval_of,
    refresh_client,
    subscription_mrr_minor,
)
from billing_app.services.catalog.subscriptions import record_event
from billing_app.services.common import audit
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.outbox import WAKE_OUTBOX
from billing_app.services.common.transactions import wake
from billing_app.services.invoicing.documents import queue_invoice_email
from billing_app.services.invoicing.drafts import domain_rate, tax_json
from billing_app.services.invoicing.sending import finalize_invoice
from billing_app.services.invoicing.timeline import add_event
from billing_app.settings import Settings


@dataclass
class RunReport:
    today: date
    dry_run: bool = False
    invoices: list[str] = field(default_factory=list)
    periods: int = 0
    held: int = 0
    runaways: list[int] = field(default_factory=list)  # subscriptions refused
    skipped: int = 0  # invoices another run made meanwhile
    charges: ChargeReport | None = None  # the automatic charges that followed
    documents: int = 0  # PDFs rendered (and emails queued) after the invoices were made
    # Seconds each part took: "invoices", "charges", "documents".
    seconds: dict[str, float] = field(default_factory=dict)
    # What the invoices come to before taxes, per currency (minor units).
    amounts: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _description(session: Session, sub: Subscription, billed: Period | None, locale: str) -> str:
    site = session.get(ClientWebsite, sub.website_id) if sub.website_id is not None else None
    return line_description(sub.description, site.name if site else None, billed, locale)


def _advance(session: Session, sub: Subscription, item: Item, clock: Clock) -> bool:
    """Move the subscription on past this period (compare-and-set: False when another run did
    it first), make its scheduled change, trial end or one-time purchase take effect."""
    moved = session.execute(
        sa.update(Subscription)
        .where(col(Subscription.id) == sub.id)
        .where(col(Subscription.next_billing_on) == item.expected)
        .values(next_billing_on=item.moves_to)
    )
    if getattr(moved, "rowcount", 0) != 1:
        return False
    session.refresh(sub)
    if sub.pending_quantity is not None or sub.pending_unit_price_minor is not None:
        apply_pending_plan(session, sub)
        sub.quantity = sub.pending_quantity or sub.quantity
        if sub.pending_unit_price_minor is not None:
            sub.unit_price_minor = sub.pending_unit_price_minor
        sub.pending_quantity = sub.pending_unit_price_minor = None
        record_event(
            session,
            RENEWALS,
            sub,
            "change_applied",
            f"Now quantity {sub.quantity} from this period",
            clock,
        )
    if sub.kind == ONE_TIME:
        sub.status = transition(S(sub.status), S.CANCELED).value
        sub.status = transition(S.CANCELED, S.ENDED).value
        sub.ended_at = clock.now()
    elif sub.status == S.TRIALING.value and item.period is not None:
        sub.status = transition(S.TRIALING, S.ACTIVE).value
        record_event(session, RENEWALS, sub, "trial_ended", "Trial over: now billed", clock)
    if sub.kind != ONE_TIME and sub.status != S.CANCELED.value:
        sub.next_renewal_on = item.moves_to
    sub.mrr_minor = subscription_mrr_minor(sub)
    sub.updated_at = clock.now()
    session.add(sub)
    return True


def bill_group(
    session: Session, key: tuple[int, str, date], items: list[Item], today: date, clock: Clock
) -> str | None:
    """One invoice for these periods of one client, in the caller's transaction; None when
    another run billed them first (the caller rolls back)."""
    client_id, currency, _ = key
    # Lock the client first (a write: on SQLite it also opens the transaction, so the claims'
    # savepoints below are released into it, never committed on their own).
    session.execute(sa.update(Client).where(col(Client.id) == client_id).values(id=col(Client.id)))
    client = session.get(Client, client_id)
    assert client is not None
    now = clock.now()
    lines: list[tuple[Subscription, Period | None, list[TaxRateRow]]] = []
    for item in items:
        try:
            with session.begin_nested():
                session.add(
                    RenewalClaim(
                        subscription_id=item.subscription_id,
                        period_start=item.period.start if item.period else item.expected,
                        period_end=item.period.end if item.period else None,
                        created_at=now,
                    )
                )
        except IntegrityError:
            return None
        sub = session.get(Subscription, item.subscription_id)
        assert sub is not None
        if item.hold_id is not None:
            billed = session.execute(
                sa.update(RenewalHold)
                .where(col(RenewalHold.id) == item.hold_id)
                .where(col(RenewalHold.state) == "held")
                .values(state="billed", decided_at=now)
            )
            if getattr(billed, "rowcount", 0) != 1:
                return None
        elif not _advance(session, sub, item, clock):
            return None
        for held in item.held:
            session.add(
                RenewalHold(
                    subscription_id=item.subscription_id,
                    period_start=held.start,
                    period_end=held.end,
                    created_at=now,
                )
            )
        lines.append((sub, item.period, product_rates(session, sub.product_id)))
    sites = {sub.website_id for sub, _, _ in lines}
    site = sites.pop() if len(sites) == 1 else None
    invoice = system_invoice(session, client, currency, site, today, clock)
    automatic = invoice.charge_pending
    assert invoice.id is not None
    domain_lines = [
        InvoiceLineInput(
            _description(session, sub, billed, client.locale),
            Decimal(sub.quantity),
            Money(sub.unit_price_minor, currency),
            None,
            tuple(domain_rate(r) for r in rates),
        )
        for sub, billed, rates in lines
    ]
    totals = compute_invoice(domain_lines, currency)
    for position, ((sub, _, rates), line, result) in enumerate(
        zip(lines, domain_lines, totals.lines, strict=True)
    ):
        session.add(
            InvoiceLine(
                invoice_id=invoice.id,
                position=position,
                product_id=sub.product_id,
                description=line.description,
                quantity=str(sub.quantity),
                unit_price_minor=sub.unit_price_minor,
                taxes=json.dumps([tax_json(r) for r in rates]),
                amount_minor=result.amount_minor,
                net_minor=result.net_minor,
                tax_minor=result.tax_total_minor,
            )
        )
    session.flush()
    add_event(
        session, invoice.id, "created", "Renewals", "Renewal invoice made", clock, internal=True
    )
    sent = finalize_invoice(
        session,
        invoice,
        actor_label="Renewals",
        audit_actor=RENEWALS.actor(),
        clock=clock,
        email=not automatic,
    )
    if automatic and invoice.credit_applied_minor >= invoice.total_minor:
        invoice.charge_pending = False  # the credit balance paid it all: nothing to charge
        queue_invoice_email(session, invoice, json.loads(invoice.snapshot), sent.pdf_key)
    session.execute(
        sa.update(RenewalClaim)
        .where(col(RenewalClaim.subscription_id).in_([i.subscription_id for i in items]))
        .where(col(RenewalClaim.invoice_id).is_(None))
        .values(invoice_id=invoice.id)
    )
    held_ids = [i.hold_id for i in items if i.hold_id is not None]
    if held_ids:
        session.execute(
            sa.update(RenewalHold)
            .where(col(RenewalHold.id).in_(held_ids))
            .values(invoice_id=invoice.id)
        )
    refresh_client(session, client_id)
    audit.record(
        session,
        "renewal.invoiced",
        RENEWALS.actor(),
        target=sent.number,
        details=f"{len(items)} period(s) of {client.company}",
        clock=clock,
    )
    wake(session, WAKE_OUTBOX)
    return sent.number


def billing_run(
    engine: sa.Engine,
    *,
    clock: Clock = system_clock,
    today: date | None = None,
    dry_run: bool = False,
    settings: Settings | None = None,
) -> RunReport:
    """Bill every period due on ``today`` (the agency's date by default), then charge the
    invoices of clients who pay automatically. With ``dry_run``, say what would be billed and
    write nothing."""
    with Session(engine, expire_on_commit=False) as session:
        agency = get_agency(session, clock=clock)
        today = today or agency_today(agency, clock)
        cap = max(1, agency.renewal_catch_up)
        subs = list(
            session.exec(
                select(Subscription)
                .where(col(Subscription.next_billing_on) <= today)
                .where(col(Subscription.status).in_(BILLABLE))
                .order_by(col(Subscription.client_id), col(Subscription.id))
            )
        )
        plans = plan_renewals(session, subs, today, cap)
        groups, runaways = plans.groups, plans.runaways
        report = RunReport(today=today, dry_run=dry_run, runaways=runaways, held=plans.held)
        by_id = {s.id: s for s in subs}
        for items in groups.values():
            for item in items:
                sub = by_id[item.subscription_id]
                quantity = sub.pending_quantity or sub.quantity
                price = sub.pending_unit_price_minor or sub.unit_price_minor
                report.amounts[sub.currency] += quantity * price
                report.periods += 1
        if plans.finished and not dry_run:
            session.execute(
                sa.update(Subscription)
                .where(col(Subscription.id).in_(plans.finished))
                .values(next_billing_on=None)
            )
        if not dry_run:
            for sub_id in runaways:
                audit.record(
                    session,
                    "renewal.refused",
                    RENEWALS.actor(),
                    target=f"subscription {sub_id}",
                    details=f"more than the safety bound of periods due by {today.isoformat()}",
                    clock=clock,
                )
            session.commit()
    if dry_run:
        return report
    started = time.perf_counter()
    with Session(engine) as session:
        fast = batchable(session, groups, by_id)
    batch: list[tuple[GroupKey, list[Item]]] = []
    for key in sorted(groups, key=lambda k: (k[2], k[0], k[1])):
        if key in fast:
            batch.append((key, groups[key]))
            if len(batch) < BATCH:
                continue
        _bill_batch(engine, batch, today, clock, report)
        batch = []
        if key not in fast:
            _bill_one(engine, key, groups[key], today, clock, report)
    _bill_batch(engine, batch, today, clock, report)
    report.seconds["invoices"] = time.perf_counter() - started
    started = time.perf_counter()
    report.charges = charge_pending_invoices(engine, clock=clock, settings=settings)
    report.seconds["charges"] = time.perf_counter() - started
    started = time.perf_counter()
    report.documents = drain_documents(engine, clock=clock)
    report.seconds["documents"] = time.perf_counter() - started
    return report


def _bill_batch(
    engine: sa.Engine,
    batch: list[tuple[GroupKey, list[Item]]],
    today: date,
    clock: Clock,
    report: RunReport,
) -> None:
    """Many invoices in one transaction; one by one if the batch meets anything unusual."""
    if not batch:
        return
    with Session(engine, expire_on_commit=False) as session:
        try:
            numbers = bill_batch(session, batch, today, clock)
        except Fallback:
            session.rollback()
        else:
            session.commit()
            report.invoices.extend(numbers)
            return
    for key, items in batch:
        _bill_one(engine, key, items, today, clock, report)


def _bill_one(
    engine: sa.Engine,
    key: GroupKey,
    items: list[Item],
    today: date,
    clock: Clock,
    report: RunReport,
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        number = bill_group(session, key, items, today, clock)
        if number is None:
            session.rollback()
            report.skipped += 1
            return
        session.commit()
        report.invoices.append(number)


@dataclass(frozen=True)
class Upcoming:
    """What renewals will bill from tomorrow to ``until``: periods and amounts (before taxes,
    minor units) per currency."""

    until: date
    periods: dict[str, int]
    amounts: dict[str, int]


def upcoming_renewals(engine: sa.Engine, today: date, *, days: int = 30) -> Upcoming:
    """The renewals of the next ``days`` days after ``today``, per currency (scheduled changes
    included, cancellations at period end respected)."""
    with Session(engine) as session:
        return upcoming_in(session, today, days=days)


def upcoming_in(session: Session, today: date, *, days: int = 30) -> Upcoming:
    """``upcoming_renewals`` in the caller's session."""
    until = today + timedelta(days=days)
    periods: dict[str, int] = defaultdict(int)
    amounts: dict[str, int] = defaultdict(int)
    for sub in billable_until(session, until):
        starts, amount = coming_renewals(sub, today, until)
        periods[sub.currency] += len(starts)
        amounts[sub.currency] += len(starts) * amount
    return Upcoming(until, dict(periods), dict(amounts))


def billable_until(session: Session, until: date) -> Sequence[Subscription]:
    """The subscriptions the engine will bill by ``until``."""
    return session.exec(
        select(Subscription)
        .where(col(Subscription.next_billing_on) <= until)
        .where(col(Subscription.status).in_(BILLABLE))
    ).all()


def coming_renewals(sub: Subscription, today: date, until: date) -> tuple[list[date], int]:
    """The days the subscription's periods start after ``today`` up to ``until`` as the engine
    will bill them, and what one period costs (before taxes, scheduled changes included)."""
    assert sub.next_billing_on is not None
    amount = (sub.pending_quantity or sub.quantity) * (
        sub.pending_unit_price_minor or sub.unit_price_minor
    )
    interval = interval_of(sub)
    if interval is None:
        return ([sub.next_billing_on] if sub.next_billing_on > today else []), amount
    plan = due_periods(
        anchor_of(sub),
        interval,
        sub.next_billing_on,
        until,
        cap=10_000,
        bound=10_000,
        ends_on=sub.ends_on if sub.cancel_at_period_end else None,
    )
    return [p.start for p in plan.bill if p.start > today], amount
