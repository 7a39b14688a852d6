"""A client pays invoices by card in the portal (localstripe's fake Stripe.js): from the
overview's Pay button with a new card typed into Stripe's form, then the receipt on the page and
by email and the invoice paid; with a card whose bank asks for 3-D Secure (completed: paid;
failed: a clear message, the invoice still open); with a card that is declined. Another client's
user, straight over the websocket, can pay nothing of this client's."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, func, select

from billing_app.adapters import crypto
from billing_app.db.card_payments import PAY_LINK_PURPOSE, PayLink, PaymentAttempt, SavedCard
from billing_app.db.customers import Client
from billing_app.db.invoicing import Invoice, InvoicePayment
from billing_app.db.models import OutboxEmail
from billing_app.services.common import outbox
from billing_app.services.invoicing import drafts, sending
from billing_app.ui.portal.pay_invoice import PortalPayState
from billing_app.ui.portal.pay_link import PayLinkState

from .axe import assert_accessible
from .conftest import ARTIFACTS, OWNER_EMAIL, OWNER_PASSWORD, AppServer, text_body
from .sockets import exchange
from .test_foundation_journeys import sign_in
from .test_hardening import HYDRATE, handler
from .test_portal_cards import PHONE, _connect_stripe, _type_card
from .test_portal_security import _client_user, _portal_sign_in, _signed_in
from .test_portal_sockets import _client_with_invoice, _portal_cookie

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "portal"


def _invoice(server: AppServer, actor: Any, client_id: int, amount: str) -> int:
    with Session(server.engine, expire_on_commit=False) as session:
        invoice_id = drafts.save_draft(
            session,
            actor,
            drafts.DraftForm(client_id=client_id, lines=(drafts.LineForm("Hosting", "1", amount),)),
        )
        sending.send_invoice(session, actor, invoice_id)
        session.commit()
    return invoice_id


def _state_of(server: AppServer, invoice_id: int) -> tuple[str, int, int]:
    """(status, paid, card payments recorded) of an invoice, as the database has it."""
    with Session(server.engine) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        cards = session.exec(
            select(InvoicePayment)
            .where(col(InvoicePayment.invoice_id) == invoice_id)
            .where(col(InvoicePayment.method) == "card")
        ).all()
        return invoice.status, invoice.paid_minor, len(cards)


def _receipts_for(server: AppServer, number: str) -> int:
    with Session(server.engine) as session:
        rows = session.exec(select(OutboxEmail).where(col(OutboxEmail.kind) == "receipt")).all()
        return sum(1 for row in rows if number in row.subject)


def _open_invoice(page: Any, server: AppServer, invoice_id: int) -> None:
    page.goto(f"{server.base_url}/portal/invoices/{invoice_id}")
    page.locator("#portal-pay-open").wait_for()
    page.click("#portal-pay-open")
    page.locator("#portal-pay-panel").wait_for()


def test_a_client_pays_from_the_overview_with_a_new_card_and_gets_a_receipt(
    app_server: AppServer, new_page: Any
) -> None:
    actor = _connect_stripe(app_server)
    world = _client_with_invoice(app_server, actor, "pay")
    email = _client_user(app_server, world["client"], "pay", actor)
    page = new_page()
    _portal_sign_in(page, app_server, email)
    _signed_in(page)

    to_pay = page.locator("#portal-to-pay")
    expect(to_pay).to_contain_text(world["number"])
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "portal-overview-to-pay.png"), full_page=True)
    to_pay.get_by_role("link", name=f"Pay {world['number']}").click()

    # No card saved yet: Stripe's card form is there at once, the amount on the button.
    panel = page.locator("#portal-pay-panel")
    expect(panel).to_contain_text(f"Pay invoice {world['number']}")
    expect(page.locator("#portal-pay-amount")).to_have_text("€777.00")
    _type_card(page, "4242424242424242")
    assert_accessible(page, "portal pay panel")
    page.screenshot(path=str(SHOTS / "portal-pay-panel.png"), full_page=True)
    page.click("#portal-pay-submit")

    receipt = page.locator("#portal-pay-receipt")
    expect(receipt).to_contain_text("Payment received")
    expect(receipt).to_contain_text("€777.00 paid with Visa •••• 4242")
    expect(page.locator("#portal-invoice-due")).to_have_text("€0.00")
    expect(page.locator("#portal-pay-open")).to_have_count(0)
    assert _state_of(app_server, world["invoice"]) == ("paid", 77700, 1)
    assert _receipts_for(app_server, world["number"]) == 1
    assert_accessible(page, "portal invoice paid by card")
    page.screenshot(path=str(SHOTS / "portal-pay-receipt.png"), full_page=True)
    assert "4242424242424242" not in app_server.log_path.read_text(errors="replace")

    # The card was saved: the next invoice is paid with it, from the invoices list, on a phone.
    second = _invoice(app_server, actor, world["client"], "120")
    page.set_viewport_size(PHONE)
    page.goto(app_server.base_url + "/portal/invoices")
    page.locator("#portal-invoices").wait_for()
    page.get_by_role("link", name=re.compile(r"^Pay ")).first.click()
    expect(page.locator("#portal-pay-panel")).to_contain_text("Visa •••• 4242")
    assert_accessible(page, "portal pay panel, phone")
    page.screenshot(path=str(SHOTS / "portal-pay-panel-phone.png"), full_page=True)
    page.click("#portal-pay-submit")
    expect(page.locator("#portal-pay-receipt")).to_contain_text("€120.00 paid with Visa •••• 4242")
    assert _state_of(app_server, second) == ("paid", 12000, 1)
    with Session(app_server.engine) as session:
        client = session.get(Client, world["client"])
        assert client is not None
        client_email = client.email
    receipt_mail = app_server.mailbox.wait_for(
        client_email, f"Receipt for invoice {world['number']}"
    )
    assert "Visa •••• 4242" in text_body(receipt_mail)

    # Staff give part of the first payment back to the card; the client is emailed, and the
    # invoice says the same on both sides.
    staff = new_page()
    sign_in(staff, app_server, OWNER_EMAIL, OWNER_PASSWORD)
    staff.wait_for_url(re.compile(r"/dashboard|/$"))
    staff.goto(f"{app_server.base_url}/invoices/{world['invoice']}")
    card_payment = staff.locator("#payments-card")
    expect(card_payment).to_contain_text("Visa •••• 4242")
    expect(
        card_payment.get_by_role("link", name=re.compile("in Stripe's dashboard"))
    ).to_have_attribute("href", re.compile(r"^https://dashboard\.stripe\.com/test/payments/pi_"))
    card_payment.get_by_role("button", name=re.compile("^Refund to card")).click()
    dialog = staff.get_by_role("dialog")
    expect(dialog).to_contain_text("Up to €777.00 can go back to that card.")
    staff.fill("#card-refund-amount", "800")
    staff.fill("#card-refund-reason", "Two pages were not delivered")
    staff.click("#card-refund-submit")
    expect(dialog).to_contain_text("You can refund at most €777.00 on this card payment")
    staff.fill("#card-refund-amount", "300")
    staff.click("#card-refund-submit")
    staff.get_by_text("Refunded to the card. The client was emailed.").wait_for()
    expect(staff.locator("#payments-card")).to_contain_text("Two pages were not delivered")
    staff.screenshot(path=str(SHOTS.parent / "invoice-card-refund.png"), full_page=True)
    assert _state_of(app_server, world["invoice"])[:2] == ("partially_refunded", 77700)
    refund_mail = app_server.mailbox.wait_for(client_email, f"Refund for invoice {world['number']}")
    body = text_body(refund_mail)
    assert "€300.00" in body and "Reason: Two pages were not delivered" in body
    page.goto(f"{app_server.base_url}/portal/invoices/{world['invoice']}")
    expect(page.locator("#portal-invoice-payments")).to_contain_text("Refund")
    expect(page.locator("#portal-invoice-payments")).to_contain_text("€300.00")


def test_three_d_secure_completed_pays_failed_or_declined_leaves_the_invoice_open(
    app_server: AppServer, new_page: Any
) -> None:
    actor = _connect_stripe(app_server)
    world = _client_with_invoice(app_server, actor, "pay3ds")
    email = _client_user(app_server, world["client"], "pay3ds", actor)
    page = new_page()
    _portal_sign_in(page, app_server, email)
    _signed_in(page)

    # A card whose bank asks: Stripe's dialog when it is saved, and again for the payment.
    _open_invoice(page, app_server, world["invoice"])
    _type_card(page, "4000002500003155")
    page.click("#portal-pay-submit")
    page.get_by_role("button", name="Complete authentication").click()  # saving it
    page.get_by_role("button", name="Fail authentication").click()  # paying: the client fails
    expect(page.locator("#portal-pay-error")).to_have_text(
        "Your bank did not confirm the payment. Try again, or use another card."
    )
    assert _state_of(app_server, world["invoice"]) == ("open", 0, 0)
    page.screenshot(path=str(SHOTS / "portal-pay-3ds-failed.png"), full_page=True)

    # Tried again with the same (now saved) card: confirmed this time.
    page.click("#portal-pay-submit")
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.locator("#portal-pay-receipt")).to_contain_text("Visa •••• 3155")
    assert _state_of(app_server, world["invoice"]) == ("paid", 77700, 1)

    # A card that is saved but declined when charged: said plainly, nothing recorded.
    declined = _invoice(app_server, actor, world["client"], "50")
    _open_invoice(page, app_server, declined)
    page.locator("#pay-card-new").click()
    _type_card(page, "4000000000000341")
    page.click("#portal-pay-submit")
    expect(page.locator("#portal-pay-error")).to_have_text("Your card was declined.")
    assert _state_of(app_server, declined) == ("open", 0, 0)
    assert_accessible(page, "portal pay panel with a declined card")
    with Session(app_server.engine) as session:
        states = session.exec(
            select(PaymentAttempt.state)
            .where(col(PaymentAttempt.kind) == "charge")
            .where(col(PaymentAttempt.client_id) == world["client"])
            .order_by(col(PaymentAttempt.id))
        ).all()
    assert states == ["failed", "done", "failed"]


def test_another_clients_user_cannot_pay_or_see_this_clients_invoice_over_the_websocket(
    app_server: AppServer,
) -> None:
    actor = _connect_stripe(app_server)
    mine = _client_with_invoice(app_server, actor, "pay-mine")
    theirs = _client_with_invoice(app_server, actor, "pay-theirs")
    cookie = _portal_cookie(app_server, theirs["client"], "pay-intruder")
    path = f"/portal/invoices/{mine['invoice']}?invoice_id={mine['invoice']}"
    updates = exchange(
        app_server,
        token=str(uuid.uuid4()),
        cookie=cookie,
        events=[
            (HYDRATE, {}, path),
            (handler(PortalPayState, "load"), {}, path),
            (handler(PortalPayState, "start"), {}, path),
            (handler(PortalPayState, "choose"), {"value": "new"}, path),
            (handler(PortalPayState, "pay"), {}, path),
            (handler(PortalPayState, "bank_answered"), {"answer": {"ok": True}}, path),
            (handler(PortalPayState, "new_card_saved"), {"answer": {"ok": True}}, path),
        ],
    )
    said = json.dumps(updates)
    assert "not found" in said.lower()
    assert mine["number"] not in said
    assert _state_of(app_server, mine["invoice"]) == ("open", 0, 0)
    with Session(app_server.engine) as session:
        assert (
            session.exec(
                select(PaymentAttempt).where(col(PaymentAttempt.invoice_id) == mine["invoice"])
            ).first()
            is None
        )


def test_a_client_pays_from_the_emailed_link_without_an_account(
    app_server: AppServer, new_page: Any
) -> None:
    """The invoice email's Pay now link opens that invoice alone, in the brand's look, with no
    sign-in; a card used once pays it and is not kept; the link then says it is paid. A link
    that does not exist says so, and nothing else."""
    actor = _connect_stripe(app_server)
    world = _client_with_invoice(app_server, actor, "paylink")
    with Session(app_server.engine) as session:
        client = session.get(Client, world["client"])
        assert client is not None
        client_email = client.email
        # Sent from this process: read as queued. The stored email holds a placeholder where
        # the token goes (put in at delivery); the token is the link's, sealed with this
        # process's key.
        mail = session.exec(
            select(OutboxEmail)
            .where(col(OutboxEmail.to_address) == client_email)
            .where(col(OutboxEmail.kind) == "invoice_sent")
        ).one()
        link_row = session.exec(
            select(PayLink).where(col(PayLink.invoice_id) == world["invoice"])
        ).one()
    found = re.search(r"Pay online by card: (http://\S+/portal/pay/)(\S+)", mail.body_text)
    assert found, mail.body_text
    assert found.group(2) == outbox.SECRET_PLACEHOLDER
    token = crypto.decrypt(link_row.token_sealed, purpose=PAY_LINK_PURPOSE)
    link = f"{app_server.base_url}/portal/pay/{token}"

    page = new_page()
    page.goto(link)
    expect(page.locator("#pay-link-number")).to_have_text(f"Invoice {world['number']}")
    expect(page.locator("#pay-link-due")).to_have_text("€777.00")
    expect(page.get_by_text("Secret work paylink")).to_be_visible()
    assert "Café Ünder" not in page.inner_text("body")  # nothing of the client beyond the invoice
    page.click("#pay-link-start")
    _type_card(page, "4000000000000341")  # declined when charged
    page.click("#pay-link-submit")
    expect(page.locator("#pay-link-error")).to_have_text("Your card was declined.")
    _type_card(page, "4242424242424242")
    assert_accessible(page, "pay link with its card form")
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SHOTS / "pay-link-phone.png"), full_page=True)
    page.click("#pay-link-submit")
    expect(page.locator("#pay-link-receipt")).to_contain_text("€777.00 paid with Visa •••• 4242")
    assert _state_of(app_server, world["invoice"]) == ("paid", 77700, 1)
    with Session(app_server.engine) as session:
        kept = session.exec(
            select(SavedCard).where(col(SavedCard.client_id) == world["client"])
        ).all()
    assert kept == []
    page.screenshot(path=str(SHOTS / "pay-link-paid-phone.png"), full_page=True)
    page.reload()
    expect(page.locator("#pay-link-paid")).to_have_text("This invoice is paid. Thank you!")

    page.goto(link.rsplit("/", 1)[0] + "/not-a-real-token")
    expect(page.locator("#pay-link-invalid")).to_contain_text("not valid any more")
    assert world["number"] not in page.inner_text("body")
    assert_accessible(page, "an invalid pay link")


def test_a_wrong_pay_link_gets_nothing_and_starts_nothing_over_the_websocket(
    app_server: AppServer,
) -> None:
    """Without the link's token (a guessed one, an empty one), every handler of the pay page,
    sent straight over the websocket, says the link is not valid and makes nothing at Stripe."""
    actor = _connect_stripe(app_server)
    world = _client_with_invoice(app_server, actor, "paylink-guess")
    with Session(app_server.engine) as session:
        before = session.exec(select(func.count()).select_from(PaymentAttempt)).one()
    for token in ("guessed-token-0000000000000000000000000000", ""):
        path = f"/portal/pay/{token}?token={token}"
        updates = exchange(
            app_server,
            token=str(uuid.uuid4()),
            cookie=None,
            events=[
                (HYDRATE, {}, path),
                (handler(PayLinkState, "load"), {}, path),
                (handler(PayLinkState, "start"), {}, path),
                (handler(PayLinkState, "pay"), {}, path),
                (handler(PayLinkState, "card_ready"), {"answer": {"ok": True}}, path),
                (handler(PayLinkState, "bank_answered"), {"answer": {"ok": True}}, path),
            ],
        )
        said = json.dumps(updates)
        assert "not valid any more" in said
        # The invoice's number and amount (not "777" alone: a random tab token may hold it).
        assert world["number"] not in said and "777.00" not in said and "77700" not in said
    with Session(app_server.engine) as session:
        assert session.exec(select(func.count()).select_from(PaymentAttempt)).one() == before
    assert _state_of(app_server, world["invoice"]) == ("open", 0, 0)
