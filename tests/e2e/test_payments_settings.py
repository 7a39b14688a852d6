"""The owner connects Stripe on Settings > Payments: wrong keys are pointed out, the saved
secrets come back masked only, "Test connection" asks Stripe (localstripe here), and the
webhook address shown is the one Stripe's signed events are then accepted at."""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from billing_app.db.card_payments import StripeEvent
from billing_app.db.customers import Client

from .axe import assert_accessible
from .conftest import ARTIFACTS, OWNER_EMAIL, OWNER_PASSWORD, AppServer, ensure_owner
from .test_foundation_journeys import at, sign_in

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "payments"
SIGNING_SECRET = "whsec_e2e_signing_secret_0001"


def test_the_owner_connects_stripe_and_its_webhooks_arrive(
    app_server: AppServer, new_page: Any
) -> None:
    ensure_owner(app_server)
    page = new_page()
    sign_in(page, app_server, OWNER_EMAIL, OWNER_PASSWORD)
    page.wait_for_url(at("/"))
    page.click("#nav-settings-payments")
    page.wait_for_url(at("/settings/payments"))
    page.locator("#payments-status").wait_for()
    assert "Card payments are off" in page.inner_text("#payments-status")
    assert page.is_disabled("#payments-test")
    url = page.inner_text("#payments-webhook-url")
    assert url == f"{app_server.base_url}/api/stripe/webhook"

    page.fill("#publishable_key", "sk_test_not_publishable")
    page.click("#payments-save")
    page.get_by_text("Paste the publishable key").wait_for()
    assert page.get_by_text("Paste the secret key.").is_visible()

    page.fill("#publishable_key", "pk_test_e2ePublishable01")
    page.fill("#secret_key", "sk_test_e2eSecretKey0001")
    page.fill("#webhook_secret", SIGNING_SECRET)
    page.click("#payments-save")
    page.get_by_text("Connected in test mode").wait_for()
    assert page.input_value("#secret_key") == ""  # never sent back
    assert page.get_attribute("#secret_key", "placeholder") == "sk_test_…0001  (saved)"
    assert page.get_attribute("#webhook_secret", "placeholder") == "whsec_…0001  (saved)"
    assert "e2eSecretKey" not in page.content()

    page.click("#payments-test")
    page.get_by_text("Stripe accepted the secret key (test mode).").wait_for()
    page.wait_for_timeout(800)  # the toast has faded in (axe measures it half-transparent)
    assert_accessible(page, "settings > payments, connected")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "payments-connected.png"), full_page=True)

    # Stripe, as configured with that address and secret, delivers an event.
    payload = json.dumps(
        {
            "id": "evt_e2e_connected",
            "type": "customer.updated",
            "livemode": False,
            "created": int(time.time()),
            "data": {"object": {"id": "cus_1", "object": "customer"}},
        }
    )
    request = urllib.request.Request(
        url,
        data=payload.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
                payload, SIGNING_SECRET
            ),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
        assert json.loads(answer.read()) == {"received": True, "duplicate": False}


def test_the_owner_sees_a_failed_stripe_event_and_replays_it(
    app_server: AppServer, new_page: Any
) -> None:
    """Settings > Payments > Events opens on the problems; Replay hands the event to the job
    again, and it says so."""
    ensure_owner(app_server)
    now = datetime.now(UTC)
    event_id = f"evt_e2e_failed_{uuid.uuid4().hex[:8]}"
    with Session(app_server.engine) as session:
        session.add(
            StripeEvent(
                event_id=event_id,
                type="payment_intent.succeeded",
                livemode=False,
                object_id="pi_e2e_missing",
                created=0,
                payload=json.dumps({"id": event_id, "type": "payment_intent.succeeded"}),
                received_at=now,
                state="dead",
                attempts=8,
                next_attempt_at=now,
                last_error="Stripe: Stripe refused the request.",
            )
        )
        session.commit()
    page = new_page()
    sign_in(page, app_server, OWNER_EMAIL, OWNER_PASSWORD)
    page.wait_for_url(at("/"))
    page.goto(app_server.base_url + "/settings/payments")
    page.click("#payments-events-link")
    page.wait_for_url(at("/settings/payments/events"))
    row = page.locator(f'[data-event="{event_id}"]')
    expect(row).to_contain_text("dead")
    expect(row).to_contain_text("Stripe refused the request.")
    expect(page.locator("#events-tab-problems")).to_contain_text("Problems (")
    assert_accessible(page, "Stripe events")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "stripe-events.png"), full_page=True)
    row.get_by_role("button", name=re.compile("^Replay")).click()
    page.get_by_text("The event will be handled again in a moment.").wait_for()
    with Session(app_server.engine) as session:
        state = session.exec(
            select(StripeEvent.state).where(col(StripeEvent.event_id) == event_id)
        ).one()
    assert state in ("pending", "handling", "failed")  # handed to the job again


def test_the_owner_imports_clients_from_stripe(
    app_server: AppServer, new_page: Any, localstripe_server: str
) -> None:
    """From the CSV import page to the Stripe import: the account's customers with what
    importing each does; Import makes the new client; the page then shows it imported."""
    from .test_portal_cards import _connect_stripe

    _connect_stripe(app_server)
    tag = uuid.uuid4().hex[:8]
    sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": localstripe_server})
    made = sdk.v1.customers.create(
        params={
            "name": f"Fjord Hotels {tag}",
            "email": f"accounts-{tag}@fjordhotels.test",
            "address": {"line1": "Bryggen 1", "city": "Bergen", "country": "NO"},
        }
    )
    page = new_page()
    sign_in(page, app_server, OWNER_EMAIL, OWNER_PASSWORD)
    page.wait_for_url(at("/"))
    page.goto(app_server.base_url + "/clients/import")
    page.click("#import-from-stripe")
    page.wait_for_url(at("/clients/import-stripe"))
    row = page.locator(f'[data-customer="{made.id}"]')
    expect(row).to_contain_text("New client")
    expect(row).to_contain_text(f"Fjord Hotels {tag}")
    assert_accessible(page, "import clients from Stripe")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "stripe-import.png"), full_page=True)
    page.click("#stripe-import-run")
    page.get_by_text(re.compile(r"\d+ created, \d+ linked")).wait_for()
    expect(row).to_contain_text("Imported")
    with Session(app_server.engine) as session:
        client = session.exec(
            select(Client).where(col(Client.email) == f"accounts-{tag}@fjordhotels.test")
        ).one()
    assert (client.company, client.city, client.country) == (f"Fjord Hotels {tag}", "Bergen", "NO")
