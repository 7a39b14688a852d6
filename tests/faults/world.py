"""The agency the fault tests bill, and what must hold once the runs are over.

``populate`` makes ``n`` subscriptions due on TODAY: clients of two brands, in EUR, USD and
GBP, two thirds with a default card (charged automatically through the gateway fake; one in
twenty of those cards declines), some clients with two subscriptions on one invoice, and some
subscriptions one or two months behind (catch-up periods). It returns the reference: the
period starts each subscription must be billed for. ``check`` asserts the invariants against
the database and the fake's journal, and returns the figures.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tests.faults.durable_gateway import DECLINING, accepted_charges

TODAY = date(2026, 3, 14)
START = datetime(2026, 3, 14, 7, 0, tzinfo=UTC)  # 09:00 in Helsinki: the agency's TODAY
CURRENCIES = ("EUR", "USD", "GBP")


def months_before(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 - months
    return date(total // 12, total % 12 + 1, day.day)


@dataclass(frozen=True)
class Reference:
    periods: dict[int, list[date]]  # subscription -> the period starts to bill
    invoices: int  # (client, currency, period start) groups
    charged_clients: set[int]  # clients charged automatically with a card that works
    declining_clients: set[int]


def populate(engine: sa.Engine, data_dir: Path, n: int, *, seed: int = 13) -> Reference:
    from billing_app.db.card_payments import SavedCard, StripeCustomer
    from billing_app.db.customers import Client, Product, Subscription
    from billing_app.db.invoicing import Brand
    from billing_app.db.models import StaffUser
    from billing_app.services.access.identity import current_user_from
    from billing_app.services.agency import branding
    from billing_app.services.card_payments import stripe_settings
    from billing_app.services.common.tokens import hash_password
    from billing_app.settings import Settings

    rng = random.Random(seed)
    now = START
    periods: dict[int, list[date]] = {}
    groups: set[tuple[int, str, date]] = set()
    charged: set[int] = set()
    declining: set[int] = set()
    with Session(engine, expire_on_commit=False) as session:
        owner = StaffUser(
            email="owner@faults.test",
            name="Owner",
            password_hash=hash_password("x" * 12),
            role_key="owner",
            created_at=now,
        )
        session.add(owner)
        session.commit()
        actor = current_user_from(session, owner)
        branding.update_agency(
            session,
            actor,
            branding.AgencyInput(
                legal_name="Fault Studio",
                address="Street 1",
                tax_id="",
                email="billing@faults.test",
                default_currency="EUR",
                locale="en",
                time_zone="Europe/Helsinki",
                payment_terms_days="14",
                number_format="INV-{YYYY}-{SEQ:6}",
                number_reset="never",
            ),
        )
        stripe_settings.save_stripe_keys(
            session,
            actor,
            stripe_settings.StripeKeysForm(
                publishable_key="pk_test_faults01",
                secret_key="sk_test_faults01",
                webhook_secret="whsec_faults01",
            ),
            settings=Settings(data_dir=data_dir),
        )
        second = Brand(name="Second Studio", created_at=now, updated_at=now)
        session.add(second)
        products = {
            currency: Product(
                name=f"Site care {currency}",
                price_minor=4950,
                currency=currency,
                created_at=now,
                updated_at=now,
            )
            for currency in CURRENCIES
        }
        session.add_all(products.values())
        session.flush()
        made = 0
        while made < n:
            currency = rng.choice(CURRENCIES)
            client = Client(
                company=f"Client {made}",
                email=f"c{made}@faults.test",
                currency=currency,
                brand_id=second.id if rng.random() < 0.3 else None,
                created_at=now,
                updated_at=now,
            )
            session.add(client)
            session.flush()
            assert client.id is not None
            if rng.random() < 2 / 3:
                declines = rng.random() < 0.05
                card = f"{DECLINING if declines else 'pm_fault_'}{made}"
                (declining if declines else charged).add(client.id)
                session.add(
                    SavedCard(
                        client_id=client.id,
                        payment_method_id=card,  # the fake charges any card it does not know
                        brand="visa",
                        last4="4242",
                        exp_month=12,
                        exp_year=2031,
                        is_default=True,
                        created_at=now,
                    )
                )
                session.add(
                    StripeCustomer(
                        client_id=client.id,
                        customer_id=f"cus_fault_{made}",
                        livemode=False,
                        created_at=now,
                    )
                )
            for _ in range(min(n - made, rng.choice((1, 1, 1, 2)))):
                behind = rng.choice((0, 0, 0, 0, 1, 2))  # months of catch-up
                start = months_before(TODAY, behind)
                product = products[currency]
                sub = Subscription(
                    client_id=client.id,
                    product_id=product.id or 0,
                    description=product.name,
                    unit_price_minor=rng.choice((1500, 4950, 12000)),
                    currency=currency,
                    start_date=start,
                    next_renewal_on=start,
                    next_billing_on=start,
                    created_at=now,
                    updated_at=now,
                )
                session.add(sub)
                session.flush()
                assert sub.id is not None
                periods[sub.id] = [months_before(TODAY, m) for m in range(behind, -1, -1)]
                groups.update((client.id, currency, p) for p in periods[sub.id])
                made += 1
        session.commit()
    return Reference(periods, len(groups), charged, declining)


@dataclass(frozen=True)
class Figures:
    invoices: int
    lines: int
    charges: int  # charges the fake accepted (all recorded)
    declined: int


def check(engine: sa.Engine, journal: Path, ref: Reference) -> Figures:
    """Everything that must hold after runs were killed or ran at once."""
    from billing_app.db.card_payments import PaymentAttempt
    from billing_app.db.customers import Client, RenewalClaim
    from billing_app.db.invoicing import Invoice, InvoiceLine, InvoicePayment, InvoiceSequence
    from billing_app.db.models import OutboxEmail

    with Session(engine) as session:
        claims = session.exec(select(RenewalClaim)).all()
        billed: dict[int, list[date]] = defaultdict(list)
        for claim in claims:
            billed[claim.subscription_id].append(claim.period_start)
        # Every due period invoiced exactly once (the claims are unique keys; the lines too).
        assert {s: sorted(p) for s, p in billed.items()} == ref.periods
        lines = session.exec(select(InvoiceLine)).all()
        assert len(lines) == len(claims)
        assert {c.invoice_id for c in claims} <= {line.invoice_id for line in lines}
        invoices = session.exec(select(Invoice)).all()
        assert len(invoices) == ref.invoices
        per_invoice = Counter(line.invoice_id for line in lines)
        assert all(per_invoice[i.id] > 0 for i in invoices), "an invoice without lines"
        assert all(i.status != "draft" and i.number for i in invoices), "left unfinished"
        assert not [i.id for i in invoices if i.charge_pending], "charges left pending"

        # Numbering without gaps, per brand.
        by_brand: dict[int, list[int]] = defaultdict(list)
        for invoice in invoices:
            match = re.search(r"(\d+)$", invoice.number or "")
            assert match, invoice.number
            by_brand[invoice.brand_id].append(int(match.group(1)))
        sequences = {s.brand_id: s.last_value for s in session.exec(select(InvoiceSequence))}
        for brand_id, numbers in by_brand.items():
            assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"gap in {brand_id}"
            assert sequences[brand_id] == len(numbers)

        # Every charge the bank accepted is recorded, once, and an invoice is paid once.
        accepted = accepted_charges(journal)
        payments = session.exec(
            select(InvoicePayment).where(col(InvoicePayment.processor_id).is_not(None))
        ).all()
        assert {p.processor_id for p in payments} == set(accepted)
        assert len(payments) == len(accepted)
        paid_invoices = Counter(intent.metadata["invoice_id"] for intent in accepted.values())
        assert max(paid_invoices.values(), default=1) == 1, "an invoice charged twice"
        clients = {c.id: c for c in session.exec(select(Client))}
        for invoice in invoices:
            if invoice.client_id in ref.charged_clients:
                assert invoice.status == "paid", (invoice.number, invoice.status)
                assert paid_invoices[str(invoice.id)] == 1
            else:
                assert invoice.status == "open" and invoice.paid_minor == 0
        attempts = session.exec(select(PaymentAttempt)).all()
        assert not [a.id for a in attempts if a.state in ("started", "action")]
        declined = [a for a in attempts if a.state == "failed" and a.stripe_status]

        # One email per invoice: the receipt, the "payment failed" or the invoice asking for
        # payment, to the client.
        emails = Counter(
            (e.to_address, e.subject, e.kind) for e in session.exec(select(OutboxEmail))
        )
        assert max(emails.values(), default=1) == 1, "an email queued twice"
        kinds_of: dict[tuple[str, str], list[str]] = defaultdict(list)
        for (to, subject, kind), _ in emails.items():
            found = re.search(r"INV-\d{4}-\d{6}", subject)
            if found:
                kinds_of[(to, found.group(0))].append(kind)
        for invoice in invoices:
            kinds = kinds_of[(clients[invoice.client_id].email, invoice.number or "")]
            if invoice.client_id in ref.charged_clients:
                assert kinds == ["receipt"], (invoice.number, kinds)
            elif invoice.client_id in ref.declining_clients:
                assert kinds == ["payment_failed"], (invoice.number, kinds)
            else:
                assert kinds == ["invoice_sent"], (invoice.number, kinds)
    return Figures(len(invoices), len(lines), len(accepted), len(declined))
