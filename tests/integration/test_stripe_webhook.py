"""POST /api/stripe/webhook, as Stripe calls it: only an event signed with the agency's signing
secret, recently, is stored, once however often it is delivered; anything else gets 400 and
writes nothing (docs/security.md items 1-4, 6)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import stripe
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from billing_app.api import edge, routes
from billing_app.db.card_payments import StripeEvent
from billing_app.db.engine import get_engine
from billing_app.db.models import StaffUser
from billing_app.services.access import auth
from billing_app.services.access.identity import current_user_from
from billing_app.services.card_payments import stripe_settings
from billing_app.settings import Settings
from tests.integration import test_cookies

https = test_cookies.https
BASE = test_cookies.BASE
SECRET = "whsec_test_signing_secret_0001"
OLD_SECRET = "whsec_test_signing_secret_0000"


@pytest.fixture
def stripe_site(https: Settings) -> Iterator[Settings]:
    """The https site with Stripe connected (test keys, the signing secret above)."""
    with Session(get_engine(https.resolved_database_url)) as session:
        owner_id = auth.create_owner(
            session, name="Olivia", email="o@agency.test", password="correct horse battery"
        )
        owner = session.get(StaffUser, owner_id)
        assert owner is not None
        stripe_settings.save_stripe_keys(
            session,
            current_user_from(session, owner),
            stripe_settings.StripeKeysForm(
                publishable_key="pk_test_publishable0001",
                secret_key="sk_test_secret0001",
                webhook_secret=SECRET,
            ),
        )
        session.commit()
    yield https


def _event(event_id: str = "evt_1Payment", kind: str = "payment_intent.succeeded") -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": kind,
            "livemode": False,
            "created": int(time.time()),
            "data": {"object": {"id": "pi_123", "object": "payment_intent", "amount": 4200}},
        }
    )


def _signed(payload: str, secret: str = SECRET, at: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=at if at is not None else int(time.time())
    )


def _post(payload: str | bytes, signature: str | None) -> Any:
    client = TestClient(edge.Edge(routes.build_api()), base_url=BASE)
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    body = payload.encode() if isinstance(payload, str) else payload
    return client.post("/api/stripe/webhook", content=body, headers=headers)


def _stored(settings: Settings) -> list[StripeEvent]:
    with Session(get_engine(settings.resolved_database_url)) as session:
        return list(session.exec(select(StripeEvent).order_by(col(StripeEvent.id))).all())


def test_a_signed_event_is_stored_once_with_what_stripe_sent(stripe_site: Settings) -> None:
    payload = _event()
    response = _post(payload, _signed(payload))
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    (row,) = _stored(stripe_site)
    assert (row.event_id, row.type, row.object_id, row.state) == (
        "evt_1Payment",
        "payment_intent.succeeded",
        "pi_123",
        "pending",
    )
    assert row.payload == payload
    assert row.deliveries == 1


def test_the_same_event_delivered_again_is_answered_and_stored_once(stripe_site: Settings) -> None:
    payload = _event()
    assert _post(payload, _signed(payload)).status_code == 200
    again = _post(payload, _signed(payload))
    assert again.status_code == 200
    assert again.json() == {"received": True, "duplicate": True}
    (row,) = _stored(stripe_site)
    assert row.deliveries == 2


def test_five_concurrent_deliveries_store_one_event(stripe_site: Settings) -> None:
    payload = _event("evt_1Concurrent")
    signature = _signed(payload)
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: _post(payload, signature), range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    (row,) = _stored(stripe_site)
    assert row.deliveries == 5


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p: p.replace("4200", "1"), id="changed amount"),
        pytest.param(lambda p: p + " ", id="trailing space"),
    ],
)
def test_a_body_changed_after_signing_is_refused_and_writes_nothing(
    stripe_site: Settings, tamper: Any
) -> None:
    payload = _event()
    response = _post(tamper(payload), _signed(payload))
    assert response.status_code == 400
    assert _stored(stripe_site) == []


def test_another_secret_or_no_signature_is_refused(stripe_site: Settings) -> None:
    payload = _event()
    assert _post(payload, _signed(payload, secret="whsec_someone_else_0001")).status_code == 400
    assert _post(payload, None).status_code == 400
    assert _post(payload, "t=123,v1=deadbeef").status_code == 400
    assert _post(payload, "garbage").status_code == 400
    assert _stored(stripe_site) == []


@pytest.mark.parametrize("offset", [-301, 301, 3600])
def test_a_signature_outside_five_minutes_is_refused(stripe_site: Settings, offset: int) -> None:
    payload = _event()
    response = _post(payload, _signed(payload, at=int(time.time()) + offset))
    assert response.status_code == 400
    assert _stored(stripe_site) == []


def test_within_five_minutes_is_accepted(stripe_site: Settings) -> None:
    payload = _event()
    assert _post(payload, _signed(payload, at=int(time.time()) - 290)).status_code == 200


def test_during_a_secret_rotation_either_v1_signature_may_match(stripe_site: Settings) -> None:
    payload = _event()
    at = int(time.time())
    old = _signed(payload, OLD_SECRET, at).split(",")[1]  # "v1=..."
    new = _signed(payload, SECRET, at)
    assert _post(payload, f"{new},{old}").status_code == 200
    only_old = f"t={at},{old},v1={'0' * 64}"
    assert _post(_event("evt_2"), only_old).status_code == 400


def test_signed_garbage_is_refused(stripe_site: Settings) -> None:
    for payload in ("not json", "[]", json.dumps({"type": "x"}), json.dumps({"id": "evt_1"})):
        assert _post(payload, _signed(payload)).status_code == 400
    assert _post(b"\xff\xfe", _signed("x")).status_code == 400
    assert _stored(stripe_site) == []


def test_without_stripe_keys_every_webhook_is_refused(https: Settings) -> None:
    payload = _event()
    assert _post(payload, _signed(payload)).status_code == 400
    assert _stored(https) == []


def test_a_body_too_big_to_be_an_event_is_refused_before_it_is_read(stripe_site: Settings) -> None:
    payload = _event()
    huge = payload + " " * (600 * 1024)
    assert _post(huge, _signed(huge)).status_code == 400
    assert _stored(stripe_site) == []


def test_an_old_signature_with_a_fresh_timestamp_in_front_is_refused(
    stripe_site: Settings,
) -> None:
    """A replay of a genuine old delivery, with a fresh "t" slipped in before the signed one
    (or padded so a lenient parser reads it), is refused: the time checked is the time signed."""
    payload = _event("evt_replayed")
    old = int(time.time()) - 30 * 24 * 3600
    signed = _signed(payload, at=old)  # "t=<old>,v1=<signature>"
    now = int(time.time())
    for forged in (f"t={now},{signed}", f"v0=x, t={now},{signed}", f"{signed},t={now}"):
        assert _post(payload, forged).status_code == 400, forged
    assert _stored(stripe_site) == []


def test_a_chunked_body_too_big_is_refused_without_a_length(stripe_site: Settings) -> None:
    payload = _event()

    def chunks() -> Iterator[bytes]:
        yield payload.encode()
        for _ in range(700):
            yield b" " * 1024

    client = TestClient(edge.Edge(routes.build_api()), base_url=BASE)
    response = client.post(
        "/api/stripe/webhook",
        content=chunks(),
        headers={"Content-Type": "application/json", "Stripe-Signature": _signed(payload)},
    )
    assert response.status_code == 400
    assert _stored(stripe_site) == []


def test_a_signed_dispute_posted_to_the_route_flags_the_card_payments_invoice(
    stripe_site: Settings,
) -> None:
    """An event localstripe never sends (charge.dispute.created), signed and posted to the real
    route as Stripe would, then handled by the job: the invoice of that card payment is
    flagged; posted again, nothing more."""
    from datetime import UTC, date, datetime

    from billing_app.db.customers import Client
    from billing_app.db.invoicing import Invoice, InvoiceEvent, InvoicePayment
    from billing_app.services.agency import branding
    from billing_app.services.card_payments import events

    engine = get_engine(stripe_site.resolved_database_url)
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session:
        brand = branding.default_brand(session)
        client = Client(
            company="Disputing Oy",
            email="d@client.test",
            currency="EUR",
            created_at=now,
            updated_at=now,
        )
        session.add(client)
        session.flush()
        assert client.id is not None and brand.id is not None
        invoice = Invoice(
            client_id=client.id,
            brand_id=brand.id,
            status="paid",
            number="INV-9",
            currency="EUR",
            issue_date=date.today(),
            due_date=date.today(),
            total_minor=5000,
            paid_minor=5000,
            created_at=now,
            updated_at=now,
        )
        session.add(invoice)
        session.flush()
        assert invoice.id is not None
        session.add(
            InvoicePayment(
                invoice_id=invoice.id,
                method="card",
                amount_minor=5000,
                currency="EUR",
                received_on=date.today(),
                processor_id="pi_disputed",
                created_at=now,
            )
        )
        session.commit()
    payload = json.dumps(
        {
            "id": "evt_1Dispute",
            "object": "event",
            "type": "charge.dispute.created",
            "livemode": False,
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": "dp_1Posted",
                    "object": "dispute",
                    "payment_intent": "pi_disputed",
                    "amount": 5000,
                    "currency": "eur",
                    "reason": "product_not_received",
                }
            },
        }
    )
    for _ in range(2):
        assert _post(payload, _signed(payload)).status_code == 200
    events.handle_due_events(engine)  # under the app's settings, as the webhook
    with Session(engine) as session:
        flagged = session.get(Invoice, invoice.id)
        assert flagged is not None and flagged.disputed_at is not None
        notes = session.exec(
            select(InvoiceEvent.message).where(col(InvoiceEvent.kind) == "disputed")
        ).all()
    assert notes == ["The client's bank disputes €50.00 (product not received, dp_1Posted)."]
