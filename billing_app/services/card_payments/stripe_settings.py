"""The agency's Stripe keys (Settings > Payments): saved by whoever may configure payments,
the secret key and the webhook signing secret encrypted at rest and never shown again (the
page shows them masked), every change audited without the values. Without keys, card payments
are not offered and Stripe's webhooks are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, col

from billing_app.adapters import crypto, stripe_gateway
from billing_app.adapters.stripe_gateway import StripeConfig
from billing_app.db.card_payments import PaymentSettings
from billing_app.domain.permissions import Permission
from billing_app.services.common import audit
from billing_app.services.common.actors import Acting, require
from billing_app.services.common.clock import Clock, system_clock
from billing_app.services.common.errors import FieldChecks
from billing_app.settings import Settings, get_settings

SECRET_KEY_PURPOSE = "stripe-secret"
WEBHOOK_SECRET_PURPOSE = "stripe-webhook"
WEBHOOK_PATH = "/api/stripe/webhook"

_PUBLISHABLE = re.compile(r"pk_(test|live)_[A-Za-z0-9_]{8,247}")
_SECRET = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9_]{8,247}")
_WEBHOOK = re.compile(r"whsec_[A-Za-z0-9_+/=]{8,247}")


@dataclass(frozen=True)
class StripeKeysForm:
    publishable_key: str
    secret_key: str = field(default="", repr=False)  # "" keeps the stored one (never shown)
    webhook_secret: str = field(default="", repr=False)  # the same


@dataclass(frozen=True)
class PaymentSettingsView:
    """What Settings > Payments shows: never a secret, only its kind and last four."""

    configured: bool  # both keys and the signing secret are set: card payments are on
    livemode: bool
    publishable_key: str
    secret_key_hint: str  # "sk_live_…4242", or ""
    webhook_secret_hint: str  # "whsec_…9f3a", or ""
    webhook_url: str  # what to paste into Stripe's dashboard


def _row(session: Session) -> PaymentSettings | None:
    return session.get(PaymentSettings, 1)


def _hint(secret: str) -> str:
    if not secret:
        return ""
    for prefix in ("sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"):
        if secret.startswith(prefix):
            return f"{prefix}…{secret[-4:]}"
    return f"…{secret[-4:]}"


def _mode(key: str) -> str:
    return "live" if "_live_" in key else "test"


def save_stripe_keys(
    session: Session,
    actor: Acting,
    form: StripeKeysForm,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> None:
    """Check and store the keys: a blank secret keeps the stored one; a test key with a live
    key is refused (they would belong to two different worlds); nothing is written when any
    field is wrong."""
    require(actor, Permission.PAYMENTS_CONFIGURE)
    row = _row(session)
    checks = FieldChecks()
    publishable = form.publishable_key.strip()
    secret = form.secret_key.strip()
    webhook = form.webhook_secret.strip()
    if not _PUBLISHABLE.fullmatch(publishable):
        checks.add(
            "publishable_key", "Paste the publishable key: it starts with pk_test_ or pk_live_."
        )
    if secret and not _SECRET.fullmatch(secret):
        checks.add("secret_key", "Paste the secret key: it starts with sk_test_ or sk_live_.")
    if webhook and not _WEBHOOK.fullmatch(webhook):
        checks.add("webhook_secret", "Paste the signing secret: it starts with whsec_.")
    stored_secret = _stored(row.stripe_secret_key if row else "", SECRET_KEY_PURPOSE, settings)
    if not secret and not stored_secret:
        checks.add("secret_key", "Paste the secret key.")
    if not webhook and not (row and row.stripe_webhook_secret):
        checks.add("webhook_secret", "Paste the webhook signing secret.")
    effective_secret = secret or stored_secret
    if not checks.failed() and _mode(publishable) != _mode(effective_secret):
        checks.add(
            "secret_key",
            "The publishable key and the secret key must both be test keys or both live keys.",
        )
    # Stripe signs live and test events with different secrets: keeping the old one would
    # refuse every event of the new mode.
    switched = stored_secret and _mode(effective_secret) != _mode(stored_secret)
    if not checks.failed() and switched and not webhook:
        checks.add(
            "webhook_secret", "Paste the signing secret of the endpoint in the new mode as well."
        )
    checks.raise_if_failed()
    if row is None:
        row = PaymentSettings(id=1, updated_at=clock.now())
    row.stripe_publishable_key = publishable
    if secret:
        row.stripe_secret_key = crypto.encrypt(
            secret, purpose=SECRET_KEY_PURPOSE, settings=settings
        )
    if webhook:
        row.stripe_webhook_secret = crypto.encrypt(
            webhook, purpose=WEBHOOK_SECRET_PURPOSE, settings=settings
        )
    row.updated_at = clock.now()
    row.updated_by_id = actor.actor().user_id
    session.add(row)
    changed = ["publishable key"]
    changed += ["secret key"] if secret else []
    changed += ["webhook signing secret"] if webhook else []
    audit.record(
        session,
        "payments.stripe_keys_saved",
        actor.actor(),
        target=f"Stripe ({_mode(publishable)} mode)",
        details="Saved: " + ", ".join(changed),
        clock=clock,
    )


def remove_stripe_keys(session: Session, actor: Acting, *, clock: Clock = system_clock) -> None:
    """Forget the keys: card payments stop being offered and webhooks are refused."""
    require(actor, Permission.PAYMENTS_CONFIGURE)
    row = _row(session)
    if row is None:
        return
    session.delete(row)
    audit.record(
        session, "payments.stripe_keys_removed", actor.actor(), target="Stripe", clock=clock
    )


def _stored(value: str, purpose: str, settings: Settings | None) -> str:
    return crypto.decrypt(value, purpose=purpose, settings=settings) if value else ""


def payment_settings(
    session: Session, viewer: Acting, *, settings: Settings | None = None
) -> PaymentSettingsView:
    """Settings > Payments as ``viewer`` may see it (the keys masked)."""
    require(viewer, Permission.PAYMENTS_CONFIGURE)
    settings = settings or get_settings()
    row = _row(session)
    secret = _stored(row.stripe_secret_key, SECRET_KEY_PURPOSE, settings) if row else ""
    webhook = _stored(row.stripe_webhook_secret, WEBHOOK_SECRET_PURPOSE, settings) if row else ""
    publishable = row.stripe_publishable_key if row else ""
    return PaymentSettingsView(
        configured=bool(publishable and secret and webhook),
        livemode=_mode(secret) == "live" if secret else False,
        publishable_key=publishable,
        secret_key_hint=_hint(secret),
        webhook_secret_hint=_hint(webhook),
        webhook_url=f"{settings.public_base_url}{WEBHOOK_PATH}",
    )


def stripe_config(session: Session, *, settings: Settings | None = None) -> StripeConfig | None:
    """How to call Stripe for the agency, or None when card payments are not set up. For use
    cases that checked their actor (and for jobs)."""
    settings = settings or get_settings()
    row = _row(session)
    if row is None or not row.stripe_secret_key or not row.stripe_publishable_key:
        return None
    secret = _stored(row.stripe_secret_key, SECRET_KEY_PURPOSE, settings)
    return StripeConfig(secret_key=secret, api_base=settings.stripe_api_base)


_WEBHOOK_SECRET = sa.select(PaymentSettings.stripe_webhook_secret).where(  # type: ignore[call-overload]
    col(PaymentSettings.id) == 1
)


def webhook_secrets(session: Session, *, settings: Settings | None = None) -> tuple[str, ...]:
    """The signing secrets a webhook may be signed with (none: webhooks are refused). Every
    webhook asks: the secret is decrypted once per stored value and key."""
    stored = session.execute(_WEBHOOK_SECRET).scalar()
    if not stored:
        return ()
    settings = settings or get_settings()
    master = settings.secret_key.get_secret_value() if settings.secret_key else ""
    cache_key = (stored, str(settings.data_dir), master)
    opened = _OPENED.get(cache_key)
    if opened is None:
        opened = _stored(stored, WEBHOOK_SECRET_PURPOSE, settings)
        if len(_OPENED) > 16:
            _OPENED.clear()
        _OPENED[cache_key] = opened
    return (opened,)


# Webhook signing secrets decrypted, by their encrypted value and where the key comes from.
_OPENED: dict[tuple[str, str, str], str] = {}


def publishable_key(session: Session) -> str:
    """The key the browser loads Stripe.js with ("" when card payments are off)."""
    row = _row(session)
    return row.stripe_publishable_key if row and row.stripe_secret_key else ""


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    message: str


def test_connection(
    session: Session,
    actor: Acting,
    *,
    clock: Clock = system_clock,
    settings: Settings | None = None,
) -> ConnectionTest:
    """Ask Stripe whether it accepts the saved secret key (one cheap read), outside any
    transaction; the outcome is audited."""
    require(actor, Permission.PAYMENTS_CONFIGURE)
    config = stripe_config(session, settings=settings)
    session.commit()  # Stripe is never called inside a transaction
    if config is None:
        return ConnectionTest(False, "Save the keys first.")
    try:
        check = stripe_gateway.check_connection(config)
    except stripe_gateway.GatewayError as exc:
        outcome = ConnectionTest(False, exc.message)
    else:
        mode = "live" if check.livemode else "test"
        outcome = ConnectionTest(True, f"Stripe accepted the secret key ({mode} mode).")
    audit.record(
        session,
        "payments.stripe_connection_tested",
        actor.actor(),
        target="Stripe",
        details="accepted" if outcome.ok else f"failed: {outcome.message}",
        clock=clock,
    )
    return outcome
