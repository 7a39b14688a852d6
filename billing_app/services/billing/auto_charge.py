"""Automatic charges of renewal invoices (docs/architecture.md, "Renewals").

A renewal invoice of a client who charges automatically (their choice, else the agency's) and
has a default card is made due on issue, without the "please pay" email, and marked
``charge_pending`` in the transaction that makes it. The charge then runs off-session through
the same path as every card payment (services/card_payments/charges.py: an attempt committed
first, one charge in flight per invoice, recorded once); the flag is cleared in the transaction
that commits the attempt, so a run that died in between charges it at the next run, and never
twice. The outcome is the client's only email: the receipt; or "your bank needs you to confirm"
with the invoice's pay link (never retried off-session; a charge the bank left waiting for the
absent client is canceled at Stripe first); or "payment failed" with the pay link
(where a new card can be used and kept). A client without a usable card by then, or card
payments turned off, gets the invoice email asking for payment.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from billing_app.adapters import stripe_gateway as gateway
from billing_app.adapters.stripe_gateway import StripeConfig
from billing_app.db.card_payments import SavedCard, StripeCustomer
from billing_app.db.customers import Client, RenewalDocument
from billing_app.db.engine import make_engine
from billing_app.db.invoicing import Invoice
from billing_app.domain.cards import card_label
from billing_app.domain.permissions import Permission
from billing_app.services.agency.branding import default_brand, get_agency
from billing_app.services.billing.charge_recovery import (
    AUTHENTICATION,
    AUTOMATIC,
    note,
    recover_automatic_charges,
    tell_failure,
)
from billing_app.services.billing.renewal_documents import drain_one
from billing_app.services.card_payments.charges import PaymentOutcome, charge, settle_charge
from billing_app.services.card_payments.stripe_settings import stripe_config
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import NotFound, ValidationFailed
from billing_app.services.invoicing.documents import (
    resend_invoice_email,
)
from billing_app.services.invoicing.payments import (
    card_payment_in_flight,
    charge_in_flight,
    locked_invoice,
)
from billing_app.services.invoicing.settlement import payable_minor
from billing_app.settings import Settings, get_settings

log = logging.getLogger(__name__)
# SQLite's writers take turns without a queue: past this many threads, one may wait beyond
# the busy timeout (seen at 32 with 10,000 charges).
SQLITE_CHARGE_THREADS = 16


def default_card(session: Session, client_id: int) -> SavedCard | None:
    return session.exec(
        select(SavedCard)
        .where(col(SavedCard.client_id) == client_id)
        .where(col(SavedCard.is_default))
        .where(col(SavedCard.removed_at).is_(None))
    ).first()


def charges_automatically(session: Session, client: Client) -> bool:
    """Whether the client's renewal invoices are charged at once: their choice, else the
    agency's, and only with a default card."""
    wanted = client.auto_charge
    if wanted is None:
        wanted = get_agency(session).auto_charge
    return bool(wanted) and client.id is not None and default_card(session, client.id) is not None


def system_invoice(
    session: Session,
    client: Client,
    currency: str,
    website_id: int | None,
    today: date,
    clock: Clock,
) -> Invoice:
    """A new invoice the system makes for ``client`` (a renewal, a prorated change), added and
    flushed: its brand the client's; due on issue and waiting for its automatic charge when the
    client pays automatically, else due after the agency's payment terms."""
    automatic = charges_automatically(session, client)
    days = 0 if automatic else get_agency(session, clock=clock).payment_terms_days
    now = clock.now()
    assert client.id is not None
    invoice = Invoice(
        client_id=client.id,
        website_id=website_id,
        brand_id=client.brand_id or default_brand(session, clock=clock).id or 0,
        currency=currency,
        locale=client.locale,
        issue_date=today,
        due_date=today + timedelta(days=days),
        charge_pending=automatic,
        created_at=now,
        updated_at=now,
    )
    session.add(invoice)
    session.flush()
    return invoice


@dataclass
class ChargeReport:
    paid: int = 0
    failed: int = 0
    action: int = 0  # the bank wants the client: emailed the pay link
    emailed: int = 0  # no card to charge any more: the invoice emailed for payment
    pending: int = 0  # the outcome comes later (Stripe's event, the reconciliation)

    def add(self, outcome: str) -> None:
        if outcome in ("paid", "failed", "action", "emailed", "pending"):
            setattr(self, outcome, getattr(self, outcome) + 1)


def charge_pending_invoices(
    engine: sa.Engine,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
    limit: int = 500,
    concurrency: int | None = None,
) -> ChargeReport:
    """Charge every renewal invoice waiting for its automatic charge, each once, up to
    ``concurrency`` at a time (default: Settings.charge_concurrency). Each charge has its own
    session and the exactly-once rules of every charge: the flag cleared and the attempt
    committed under the invoice's lock before Stripe is called, so two runs at once charge an
    invoice once. Charges a killed run left unsettled are settled first, and one that was
    never made is made again (services/billing/charge_recovery.py)."""
    recover_automatic_charges(engine, clock=clock, settings=settings)
    workers = max(1, concurrency or (settings or get_settings()).charge_concurrency)
    if engine.dialect.name == "sqlite":  # one writer at a time: more threads only starve
        workers = min(workers, SQLITE_CHARGE_THREADS)
    report = ChargeReport()
    # The threads' own connections, one each (a charge keeps its connection while Stripe
    # answers): the app's shared pool is left to the pages and the other jobs.
    charging = make_engine(engine.url.render_as_string(hide_password=False), pool_size=workers)

    def one(invoice_id: int) -> str:
        if invoice_id in undrained:  # its PDF, for the receipt, rendered out of the lock
            try:
                drain_one(charging, invoice_id, clock=clock)
            except Exception:  # the receipt renders it then; the drain tries again
                log.exception("renewal invoice %s: PDF not rendered before its charge", invoice_id)
        with Session(charging, expire_on_commit=False) as session:
            outcome = _charge(session, invoice_id, clock, settings, config)
            session.commit()
            return outcome

    ids: list[int] = []
    with Session(engine) as session:
        config = stripe_config(session, settings=settings)  # decrypted once for the run
        while True:  # every invoice waiting now, read in pages
            page = [
                i
                for i in session.exec(
                    select(Invoice.id)
                    .where(col(Invoice.charge_pending))
                    .where(col(Invoice.id) > (ids[-1] if ids else 0))
                    .order_by(col(Invoice.id))
                    .limit(limit)
                )
                if i is not None
            ]
            ids += page
            if len(page) < limit:
                break
        undrained = set(session.exec(select(RenewalDocument.invoice_id)))
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="charge") as pool:
            for outcome in pool.map(one, ids):
                report.add(outcome)
    finally:
        charging.dispose()
    return report


def charge_pending_in(
    session: Session,
    invoice_id: int,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> str:
    """Charge one invoice waiting for its automatic charge, in the caller's transaction (once:
    another run may have taken it), e.g. a prorated change's invoice just committed."""
    return _charge(session, invoice_id, clock, settings, None)


def _charge(
    session: Session,
    invoice_id: int,
    clock: Clock,
    settings: Settings | None,
    config: StripeConfig | None,
) -> str:
    invoice = locked_invoice(session, invoice_id)
    if not invoice.charge_pending:
        return ""  # another run took it
    invoice.charge_pending = False
    session.add(invoice)
    outcome = charge_default_card(session, invoice, clock, settings, config)
    if outcome == "nocard":
        resend_invoice_email(session, invoice, clock=clock)  # pay it another way
        note(session, invoice, "No card to charge: the invoice was emailed for payment", clock)
        return "emailed"
    return outcome


def charge_default_card(
    session: Session,
    invoice: Invoice,
    clock: Clock,
    settings: Settings | None,
    config: StripeConfig | None = None,
) -> str:
    """Charge what is due on ``invoice`` (locked by the caller) to the client's default card,
    off-session, and tell the client a failure: the outcome's state ("paid", "failed",
    "action", "pending"), "nocard" when there is no card or Stripe to charge, "" when nothing
    is due or a payment of it is in flight. ``config``: Stripe's, when the caller has it."""
    assert invoice.id is not None
    due = payable_minor(invoice)
    if due <= 0 or card_payment_in_flight(session, invoice.id):
        return ""  # paid another way meanwhile (the credit balance, by hand, in the portal)
    config = config or stripe_config(session, settings=settings)
    card = default_card(session, invoice.client_id)
    customer = session.exec(
        select(StripeCustomer).where(col(StripeCustomer.client_id) == invoice.client_id)
    ).first()
    if config is None or card is None or customer is None:
        return "nocard"
    label = card_label(card.brand, card.last4)
    outcome = charge(
        session,
        config,
        invoice,
        customer_id=customer.customer_id,
        payment_method_id=card.payment_method_id,
        card=label,
        actor_label=AUTOMATIC,
        expected_due_minor=due,
        clock=clock,
        off_session=True,
    )
    if outcome.state == "action":
        outcome = _client_away(session, config, invoice.id, clock)
    return _told(session, invoice.id, outcome, label, clock)


def _client_away(
    session: Session, config: StripeConfig, invoice_id: int, clock: Clock
) -> PaymentOutcome:
    """An off-session charge the bank left waiting for the client (localstripe does so;
    Stripe refuses it at once with ``authentication_required``): the client is away and will
    never confirm it, so it is canceled at Stripe and told as Stripe's refusal. The invoice is
    then free to be paid in the portal or by its link. Should the cancel not get through, the
    client is told all the same: their next payment, or the reconciliation, cancels it."""
    session.commit()
    needs_client = PaymentOutcome(
        "failed", gateway.CARD_MESSAGES[AUTHENTICATION], code=AUTHENTICATION
    )
    attempt = charge_in_flight(session, invoice_id)
    if attempt is None or attempt.state != "action" or not attempt.stripe_id:
        return PaymentOutcome("pending")  # settled meanwhile (Stripe's event)
    try:
        intent = gateway.cancel_payment_intent(config, attempt.stripe_id)
    except gateway.GatewayError:
        return needs_client
    told = replace(intent, error_message=needs_client.message)
    outcome = settle_charge(session, attempt, told, clock=clock)
    return replace(outcome, code=AUTHENTICATION) if outcome.state == "failed" else outcome


def _told(
    session: Session, invoice_id: int, outcome: PaymentOutcome, card: str, clock: Clock
) -> str:
    """Email the client what a failed automatic charge needs of them (the receipt of a paid
    one is the payment's own)."""
    if outcome.state != "failed":
        return outcome.state
    return tell_failure(session, invoice_id, outcome.code, outcome.message, card, clock)


def set_auto_charge(session: Session, actor: Acting, client_id: int, choice: str) -> None:
    """A client's automatic charges: "default" (the agency's setting), "on" or "off"."""
    require(actor, Permission.CLIENTS_WRITE)
    client = session.get(Client, client_id) if 0 < client_id < 2**63 else None
    if client is None:
        msg = "That client does not exist."
        raise NotFound(msg)
    if choice not in AUTO_CHOICES:
        msg = "Choose the agency's setting, on or off."
        raise ValidationFailed(msg, field="auto_charge")
    client.auto_charge = AUTO_CHOICES[choice]
    session.add(client)
    audit.record(
        session, "client.auto_charge", actor.actor(), target=client.company, details=choice
    )


def auto_charge_choice(client: Client) -> str:
    return next(key for key, value in AUTO_CHOICES.items() if value == client.auto_charge)


AUTO_CHOICES: dict[str, bool | None] = {"default": None, "on": True, "off": False}
