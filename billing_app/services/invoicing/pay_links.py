"""An invoice's "Pay now" link: what its emails carry so the client pays that one invoice by
card without a portal account (services/card_payments/pay_by_link.py serves it).

The token is random (256 bits), found by its SHA-256 digest, and kept encrypted (purpose
"pay-link") so the invoice email and every reminder carry the same link; it is valid for
LINK_LIFETIME and only while something can be paid on the invoice. A link that expired is
replaced by a new one when the next email is sent (docs/security.md, "Card payments").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from billing_app.adapters import crypto
from billing_app.db.card_payments import PAY_LINK_PURPOSE, PayLink, PaymentSettings
from billing_app.db.invoicing import Brand, Invoice
from billing_app.services.agency.portal_brand import portal_base_url
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.outbox import SECRET_PLACEHOLDER
from billing_app.services.common.tokens import new_token, token_digest
from billing_app.services.invoicing.settlement import payable_minor
from billing_app.settings import Settings

LINK_LIFETIME = timedelta(days=90)
PURPOSE = PAY_LINK_PURPOSE
PAY_PATH = "/pay"  # under the portal: /portal/pay/<token>
MAX_TOKEN = 100


def card_payments_on(session: Session) -> bool:
    """Whether the agency has connected Stripe (its keys are saved)."""
    keys = session.get(PaymentSettings, 1)
    return keys is not None and bool(keys.stripe_publishable_key and keys.stripe_secret_key)


@dataclass(frozen=True)
class PayLinkUrl:
    """The Pay now link an email carries: ``url`` holds the outbox's placeholder where the
    token goes (put in at delivery, from the sealed token: the outbox never holds a usable
    link), ``link_id`` names the pay link."""

    url: str
    link_id: int


def pay_url(
    session: Session,
    invoice: Invoice,
    brand: Brand | None,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> PayLinkUrl | None:
    """The invoice's Pay now link (on its brand's portal address), or None when card payments
    are off or nothing can be paid on it."""
    if brand is None or invoice.id is None or payable_minor(invoice) <= 0:
        return None
    if not card_payments_on(session):
        return None
    link = _live_link(session, invoice.id, clock, settings)
    assert link.id is not None
    return PayLinkUrl(f"{portal_base_url(brand, settings)}{PAY_PATH}/{SECRET_PLACEHOLDER}", link.id)


def _live_link(
    session: Session, invoice_id: int, clock: Clock, settings: Settings | None
) -> PayLink:
    """The invoice's pay link, made (or given a new token once expired) when needed; its
    token is sealed, so emails get it at delivery (no decryption here)."""
    now = clock.now()
    for _ in range(2):
        link = session.exec(select(PayLink).where(col(PayLink.invoice_id) == invoice_id)).first()
        if link is not None and link.expires_at > now:
            return link
        token = new_token()
        sealed = crypto.encrypt(token, purpose=PURPOSE, settings=settings)
        if link is None:
            link = PayLink(
                invoice_id=invoice_id,
                token_digest=token_digest(token),
                token_sealed=sealed,
                created_at=now,
                expires_at=now + LINK_LIFETIME,
            )
        else:  # expired: a new token from now on
            link.token_digest, link.token_sealed = token_digest(token), sealed
            link.created_at, link.expires_at = now, now + LINK_LIFETIME
        try:
            with session.begin_nested():
                session.add(link)
        except IntegrityError:  # another email of this invoice made it a moment ago
            continue
        return link
    msg = "the invoice's pay link could not be kept"
    raise RuntimeError(msg)


def invoice_of_link(session: Session, token: str, *, clock: Clock = system_clock) -> Invoice | None:
    """The invoice a link that has not expired pays, or None (whatever the reason: the page
    says the same for an unknown, expired or mistyped link)."""
    if not token or len(token) > MAX_TOKEN:
        return None
    link = session.exec(
        select(PayLink).where(col(PayLink.token_digest) == token_digest(token))
    ).first()
    if link is None or link.expires_at <= clock.now():
        return None
    return session.get(Invoice, link.invoice_id)
