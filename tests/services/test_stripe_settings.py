"""Settings > Payments: the Stripe keys are checked, the secrets stored encrypted and never
given back (masked), a blank secret keeps the stored one, test and live keys are not mixed,
only whoever may configure payments (the owner, by default) touches them, and every change is
audited without the values."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import Session, col, select

from billing_app.db.card_payments import PaymentSettings
from billing_app.db.models import AuditEvent, StaffUser
from billing_app.domain.permissions import BUILTIN_ROLE_PERMISSIONS, BuiltinRole, Permission
from billing_app.services.access.identity import CurrentUser
from billing_app.services.card_payments import stripe_settings as keys
from billing_app.services.common.clock import FixedClock
from billing_app.services.common.errors import NotAllowed, ValidationFailed
from billing_app.settings import Settings

FORM = keys.StripeKeysForm(
    publishable_key="pk_test_51Publishable",
    secret_key="sk_test_51SecretValue9876",
    webhook_secret="whsec_SigningSecret4321",
)


def _staff(session: Session, clock: FixedClock, role: BuiltinRole) -> CurrentUser:
    user = StaffUser(
        email=f"{role.value}@agency.test",
        name=role.value.title(),
        password_hash="x",
        role_key=role.value,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    return CurrentUser(
        id=user.id,
        name=user.name,
        email=user.email,
        role_key=role.value,
        role_label=role.value.title(),
        permissions=BUILTIN_ROLE_PERMISSIONS[role],
    )


@pytest.fixture
def owner(session: Session, clock: FixedClock) -> CurrentUser:
    return _staff(session, clock, BuiltinRole.OWNER)


def test_saved_keys_are_shown_masked_and_the_secrets_are_encrypted_at_rest(
    session: Session, clock: FixedClock, owner: CurrentUser, settings: Settings
) -> None:
    keys.save_stripe_keys(session, owner, FORM, clock=clock, settings=settings)
    session.commit()
    view = keys.payment_settings(session, owner, settings=settings)
    assert view.configured and not view.livemode
    assert view.publishable_key == "pk_test_51Publishable"
    assert view.secret_key_hint == "sk_test_…9876"
    assert view.webhook_secret_hint == "whsec_…4321"
    assert view.webhook_url == f"{settings.public_base_url}/api/stripe/webhook"
    row = session.get(PaymentSettings, 1)
    assert row is not None
    assert "SecretValue" not in row.stripe_secret_key
    assert "SigningSecret" not in row.stripe_webhook_secret
    config = keys.stripe_config(session, settings=settings)
    assert config is not None and config.secret_key == "sk_test_51SecretValue9876"
    assert keys.webhook_secrets(session, settings=settings) == ("whsec_SigningSecret4321",)


def test_blank_secrets_keep_the_stored_ones(
    session: Session, clock: FixedClock, owner: CurrentUser
) -> None:
    keys.save_stripe_keys(session, owner, FORM, clock=clock)
    session.commit()
    keys.save_stripe_keys(
        session,
        owner,
        keys.StripeKeysForm(publishable_key="pk_test_51Another0001"),
        clock=clock,
    )
    session.commit()
    config = keys.stripe_config(session)
    assert config is not None and config.secret_key == FORM.secret_key
    assert keys.webhook_secrets(session) == (FORM.webhook_secret,)
    assert keys.publishable_key(session) == "pk_test_51Another0001"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"publishable_key": "sk_test_51NotPublishable"}, "publishable_key"),
        ({"secret_key": "pk_test_51NotSecret0001"}, "secret_key"),
        ({"webhook_secret": "secret_without_prefix"}, "webhook_secret"),
        ({"secret_key": "sk_live_51LiveSecret0001"}, "secret_key"),  # a test key with a live one
    ],
)
def test_wrong_keys_are_refused_field_by_field_and_nothing_is_written(
    session: Session, clock: FixedClock, owner: CurrentUser, changes: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        keys.save_stripe_keys(session, owner, dataclasses.replace(FORM, **changes), clock=clock)
    assert field in refused.value.errors
    session.rollback()
    assert session.get(PaymentSettings, 1) is None
    assert keys.stripe_config(session) is None


def test_the_first_save_needs_every_secret(
    session: Session, clock: FixedClock, owner: CurrentUser
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        keys.save_stripe_keys(
            session, owner, keys.StripeKeysForm(publishable_key=FORM.publishable_key), clock=clock
        )
    assert set(refused.value.errors) == {"secret_key", "webhook_secret"}


def test_only_who_may_configure_payments_sees_or_changes_the_keys(
    session: Session, clock: FixedClock, owner: CurrentUser, settings: Settings
) -> None:
    keys.save_stripe_keys(session, owner, FORM, clock=clock, settings=settings)
    session.commit()
    for role in (BuiltinRole.ADMIN, BuiltinRole.ACCOUNTANT, BuiltinRole.VIEWER):
        staff = _staff(session, clock, role)
        assert not staff.can(Permission.PAYMENTS_CONFIGURE)
        with pytest.raises(NotAllowed):
            keys.save_stripe_keys(session, staff, FORM, clock=clock)
        with pytest.raises(NotAllowed):
            keys.payment_settings(session, staff, settings=settings)
        with pytest.raises(NotAllowed):
            keys.remove_stripe_keys(session, staff, clock=clock)
    assert keys.stripe_config(session, settings=settings) is not None


def test_changes_are_audited_without_the_values(
    session: Session, clock: FixedClock, owner: CurrentUser
) -> None:
    keys.save_stripe_keys(session, owner, FORM, clock=clock)
    keys.remove_stripe_keys(session, owner, clock=clock)
    session.commit()
    events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    actions = [e.action for e in events]
    assert actions[-2:] == ["payments.stripe_keys_saved", "payments.stripe_keys_removed"]
    text = " ".join(f"{e.target} {e.details}" for e in events)
    assert "SecretValue" not in text and "SigningSecret" not in text
    assert keys.stripe_config(session) is None
    assert keys.webhook_secrets(session) == ()


def test_test_connection_asks_stripe_with_the_saved_key_and_is_audited(
    session: Session,
    clock: FixedClock,
    owner: CurrentUser,
    settings: Settings,
    localstripe: str,
) -> None:
    assert keys.test_connection(session, owner, clock=clock, settings=settings) == (
        keys.ConnectionTest(False, "Save the keys first.")
    )
    keys.save_stripe_keys(session, owner, FORM, clock=clock, settings=settings)
    session.commit()
    connected = settings.model_copy(update={"stripe_api_base": localstripe})
    outcome = keys.test_connection(session, owner, clock=clock, settings=connected)
    assert outcome == keys.ConnectionTest(True, "Stripe accepted the secret key (test mode).")
    down = settings.model_copy(update={"stripe_api_base": "http://127.0.0.1:9"})
    failed = keys.test_connection(session, owner, clock=clock, settings=down)
    assert not failed.ok and "unavailable" in failed.message
    session.commit()
    tested = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "payments.stripe_connection_tested")
    ).all()
    assert [e.details.split(":")[0] for e in tested] == ["accepted", "failed"]


def test_switching_to_live_keys_needs_the_live_endpoints_signing_secret(
    session: Session, clock: FixedClock, owner: CurrentUser, settings: Settings
) -> None:
    keys.save_stripe_keys(session, owner, FORM, clock=clock, settings=settings)
    session.commit()
    live = keys.StripeKeysForm(
        publishable_key="pk_live_51Publishable", secret_key="sk_live_51LiveSecret0001"
    )
    with pytest.raises(ValidationFailed) as refused:
        keys.save_stripe_keys(session, owner, live, clock=clock, settings=settings)
    assert set(refused.value.errors) == {"webhook_secret"}
    session.rollback()
    keys.save_stripe_keys(
        session,
        owner,
        dataclasses.replace(live, webhook_secret="whsec_LiveEndpoint0001"),
        clock=clock,
        settings=settings,
    )
    session.commit()
    assert keys.payment_settings(session, owner, settings=settings).livemode


def test_the_secrets_never_show_in_a_repr(owner: CurrentUser) -> None:
    from billing_app.adapters.stripe_gateway import StripeConfig

    assert "SecretValue" not in repr(FORM) and "SigningSecret" not in repr(FORM)
    assert "sk_test_" not in repr(StripeConfig(secret_key="sk_test_hidden"))
