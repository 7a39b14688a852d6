"""Pay one invoice from its emailed link (/portal/pay/<token>), without a portal account: the
brand, the invoice (number, dates, lines, what is due) and a card form; "use this card for
future invoices" keeps the card as the client's default. Nothing else of the client is shown.

Every handler is public: the token in the page's address is the only credential, checked by
the services on each event (services/card_payments/pay_by_link.py)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.money import Money
from billing_app.services.card_payments import charges, pay_by_link
from billing_app.services.common.errors import NotFound, ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.format import day, money
from billing_app.ui.portal import card_outcome, stripe_bridge
from billing_app.ui.portal.frame import PortalPageState, portal_public_page
from billing_app.ui.session.portal import portal_public


class PayLinkState(PortalPageState):
    found: bool = True
    invoice: dict[str, str] = {}
    lines: list[dict[str, str]] = []
    taxes: list[dict[str, str]] = []
    automatic: str = ""  # failed | action: why the automatic charge did not pay it
    paying: bool = False  # the card form is shown
    keep: bool = False
    busy: bool = False
    error: str = ""
    notice: str = ""
    receipt: dict[str, str] = {}
    _due_minor: int = 0
    _key: str = ""
    _js_url: str = ""
    _setup_intent_id: str = ""
    _setup_secret: str = ""

    def _token(self) -> str:
        return str(self.router.page.params.get("token", ""))[:200]

    @portal_public
    def load(self) -> None:
        self.paying, self.busy, self.keep = False, False, False
        self.error, self.notice, self.receipt = "", "", {}
        self._setup_intent_id, self._setup_secret = "", ""
        try:
            link = run(pay_by_link.open_link, self._token())
        except NotFound:
            self.found, self.invoice, self.lines, self.taxes = False, {}, [], []
            self.automatic = ""
            self._public_frame()
            return
        self._look(link.client_id)
        self.status = "ok"
        self.found = True
        self._due_minor = link.due.amount_minor
        self._key, self._js_url = link.publishable_key, link.stripe_js_url
        self.invoice = {
            "number": link.number,
            "issued": day(link.issue_date),
            "due_date": day(link.due_date),
            "total": money(link.total),
            "due": money(link.due),
            "state": link.state,
            "discount": money(link.discount) if link.discount.amount_minor else "",
        }
        self.taxes = [{"name": name, "amount": money(amount)} for name, amount in link.taxes]
        self.automatic = link.automatic
        self.lines = [
            {
                "description": line["description"],
                "quantity": line["quantity"],
                "amount": money(Money(line["amount_minor"], link.total.currency)),
            }
            for line in link.lines
        ]

    @portal_public
    def start(self) -> Any:
        """Show Stripe's card form (a SetupIntent is made only now, not on every view)."""
        self.error = ""
        try:
            setup = run(pay_by_link.start_link_card, self._token())
        except ServiceError as exc:
            self.error = exc.message
            return None
        self._setup_intent_id, self._setup_secret = setup.setup_intent_id, setup.client_secret
        self.paying = True
        return rx.call_script(
            stripe_bridge.mount_card_form(self._js_url, self._key),
            callback=PayLinkState.form_ready,
        )

    @portal_public
    def form_ready(self, answer: dict[str, Any]) -> None:
        if not (isinstance(answer, dict) and answer.get("ok")):
            self.error = stripe_bridge.said(answer, "The card form could not be loaded.")

    @portal_public
    def choose_keep(self, value: bool) -> None:
        self.keep = bool(value)

    @portal_public
    def pay(self) -> Any:
        if self.busy or not self._setup_secret:
            return None
        self.error, self.notice, self.busy = "", "", True
        return rx.call_script(
            stripe_bridge.confirm_card_setup(self._setup_secret),
            callback=PayLinkState.card_ready,
        )

    @portal_public
    def card_ready(self, answer: dict[str, Any]) -> Any:
        if not (isinstance(answer, dict) and answer.get("ok")):
            self.busy, self.error = False, stripe_bridge.said(answer, "Your card was declined.")
            return None
        try:
            outcome = run(
                pay_by_link.pay_by_link,
                self._token(),
                self._setup_intent_id,
                keep=self.keep,
                expected_due_minor=self._due_minor,
            )
        except ServiceError as exc:
            self.busy, self.error = False, exc.message
            return None
        return self._outcome(outcome)

    def _outcome(self, outcome: charges.PaymentOutcome, *, after_bank: bool = False) -> Any:
        return card_outcome.next_step(
            self,
            outcome,
            bank_answered=PayLinkState.bank_answered,
            paid=self._paid,
            # The card typed in was used for this try: the next one starts a new card form.
            refused=self._new_form,
            after_bank=after_bank,
        )

    def _paid(self, receipt: charges.Receipt) -> None:
        self.receipt = {
            "amount": money(receipt.amount),
            "card": receipt.card,
            "date": day(receipt.paid_on),
            "number": receipt.number,
        }
        self.paying = False
        self.invoice = {**self.invoice, "state": "paid", "due": money(receipt.balance)}

    def _new_form(self) -> Any:
        try:
            setup = run(pay_by_link.start_link_card, self._token())
        except ServiceError:
            self.paying = False
            return None
        self._setup_intent_id, self._setup_secret = setup.setup_intent_id, setup.client_secret
        return rx.call_script(
            stripe_bridge.mount_card_form(self._js_url, self._key),
            callback=PayLinkState.form_ready,
        )

    @portal_public
    def bank_answered(self, answer: dict[str, Any]) -> Any:
        del answer  # Stripe is asked how it ended
        try:
            outcome = run(pay_by_link.finish_link_payment, self._token())
        except ServiceError as exc:
            self.busy, self.error = False, exc.message
            return None
        return self._outcome(outcome, after_bank=True)


L = PayLinkState


def _row(label: str, value: Any, strong: bool = False) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray"),
        rx.spacer(),
        rx.text(value, size="3" if strong else "2", weight="bold" if strong else "regular"),
        width="100%",
    )


def _summary() -> rx.Component:
    i: Any = L.invoice
    return rx.vstack(
        rx.hstack(
            rx.text("Invoice ", i["number"], weight="bold", size="3", id="pay-link-number"),
            rx.spacer(),
            rx.text(i["due"], weight="bold", size="6", id="pay-link-due"),
            width="100%",
            align="center",
            wrap="wrap",
        ),
        rx.text("Issued ", i["issued"], " · Due ", i["due_date"], size="2", color_scheme="gray"),
        rx.vstack(
            rx.foreach(
                L.lines,
                lambda line: rx.hstack(
                    rx.text(line["description"], size="2"),
                    rx.spacer(),
                    rx.text(line["amount"], size="2", white_space="nowrap"),
                    width="100%",
                    align="start",
                ),
            ),
            rx.cond(i["discount"] != "", _row("Discounts", i["discount"])),
            rx.foreach(L.taxes, lambda t: _row(t["name"], t["amount"])),
            _row("Total", i["total"], strong=True),
            spacing="1",
            width="100%",
            padding_top="8px",
            border_top=f"1px solid {rx.color('gray', 5)}",
        ),
        spacing="2",
        width="100%",
    )


def _card_form() -> rx.Component:
    return rx.vstack(
        rx.text("Card details", size="2", weight="medium"),
        rx.box(
            id=stripe_bridge.CARD_ELEMENT_ID,
            width="100%",
            padding="10px 12px",
            border=f"1px solid {rx.color('gray', 7)}",
            border_radius="var(--radius-2)",
            min_height="44px",
            background=rx.color("gray", 1),
        ),
        rx.el.label(
            rx.hstack(
                rx.checkbox(checked=L.keep, on_change=L.choose_keep, id="pay-link-keep"),
                rx.text("Use this card for future invoices (it pays automatic renewals)", size="2"),
                spacing="2",
                align="start",
            ),
            html_for="pay-link-keep",
        ),
        rx.button(
            rx.icon("lock", size=16, aria_hidden="true"),
            "Pay ",
            L.invoice["due"],
            on_click=L.pay,
            loading=L.busy,
            width="100%",
            size="3",
            id="pay-link-submit",
        ),
        rx.text(
            "Your card details go straight to our payment processor, Stripe; we never see them.",
            size="1",
            color_scheme="gray",
        ),
        spacing="3",
        width="100%",
    )


def _messages() -> rx.Component:
    return rx.fragment(
        rx.cond(
            L.error != "",
            rx.callout(
                L.error, icon="circle-alert", color_scheme="red", role="alert", id="pay-link-error"
            ),
        ),
        rx.cond(L.notice != "", rx.callout(L.notice, icon="info", role="status")),
    )


def _automatic() -> rx.Component:
    """Why the payer is here, when the automatic charge of this invoice did not pay it."""
    return rx.cond(
        L.automatic == "action",
        rx.callout(
            "Your bank wants you to confirm this payment. Pay here with your card: your bank "
            "will ask you to confirm it.",
            icon="shield-check",
            color_scheme="amber",
            high_contrast=True,
            id="pay-link-automatic",
        ),
        rx.callout(
            "We could not charge this invoice to your card on file. Pay it here with a card; "
            'tick "Use this card for future invoices" to pay your next invoices with it.',
            icon="circle-alert",
            color_scheme="amber",
            high_contrast=True,
            id="pay-link-automatic",
        ),
    )


def _receipt() -> rx.Component:
    r: Any = L.receipt
    return rx.vstack(
        rx.hstack(
            rx.icon("circle-check", size=24, color=rx.color("green", 11), aria_hidden="true"),
            rx.heading("Payment received. Thank you!", size="4", as_="h2"),
            align="center",
            spacing="2",
        ),
        rx.text(r["amount"], " paid with ", r["card"], " on ", r["date"], ".", size="2"),
        rx.text("A receipt is on its way by email.", size="2"),
        spacing="2",
        width="100%",
        role="status",
        id="pay-link-receipt",
    )


def _content() -> rx.Component:
    i: Any = L.invoice
    return rx.cond(
        L.found,
        rx.vstack(
            _summary(),
            _messages(),
            rx.cond(
                L.receipt.length() > 0,  # type: ignore[attr-defined,operator]
                _receipt(),
                rx.cond(
                    i["state"] == "paid",
                    rx.callout(
                        "This invoice is paid. Thank you!",
                        icon="circle-check",
                        color_scheme="green",
                        id="pay-link-paid",
                    ),
                    rx.vstack(
                        rx.cond(L.automatic != "", _automatic()),
                        rx.cond(
                            L.paying,
                            _card_form(),
                            rx.button(
                                rx.icon("credit-card", size=16, aria_hidden="true"),
                                "Pay by card",
                                on_click=L.start,
                                width="100%",
                                size="3",
                                id="pay-link-start",
                            ),
                        ),
                        spacing="4",
                        width="100%",
                    ),
                ),
            ),
            spacing="4",
            width="100%",
        ),
        rx.callout(pay_by_link.LINK_INVALID, icon="link-2-off", id="pay-link-invalid"),
    )


def pay_link_page() -> rx.Component:
    return portal_public_page("Pay your invoice", "A secure card payment.", _content())
