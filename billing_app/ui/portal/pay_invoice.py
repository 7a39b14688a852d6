"""Pay an invoice by card, on the portal's invoice page: what is being paid, a choice of the
client's saved cards (the default first) or a new card typed into Stripe's own form, then the
payment; 3-D Secure in Stripe's dialog when the bank asks; a receipt on the page (and by email),
or a clear message when the card is refused, the invoice staying open.

The invoice is the one in the page's address; the services scope it (and every card) by the
client of the session, and Stripe's word, not the browser's, settles the payment."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.cards import card_label
from billing_app.domain.numbers import parse_id
from billing_app.domain.permissions import ClientPermission
from billing_app.services.card_payments import cards, charges, invoice_payments
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.format import day, money, optional_int
from billing_app.ui.portal import card_outcome, stripe_bridge
from billing_app.ui.portal.frame import PortalPageState, portal_page
from billing_app.ui.portal.invoice import PortalInvoiceState, invoice_view
from billing_app.ui.session.portal import current_client_user, portal_guard

NEW_CARD = "new"


class PortalPayState(PortalPageState):
    offered: bool = False  # the Pay button is shown
    open: bool = False  # the pay panel is shown
    amount: str = ""
    number: str = ""
    cards: list[dict[str, str]] = []
    choice: str = ""  # a saved card's id, or NEW_CARD
    may_add: bool = False
    card_form: bool = False  # Stripe's card form is mounted
    busy: bool = False
    error: str = ""
    notice: str = ""
    receipt: dict[str, str] = {}
    _invoice_id: int = 0
    _due_minor: int = 0
    _currency: str = ""
    _key: str = ""
    _js_url: str = ""
    _setup_intent_id: str = ""
    _setup_secret: str = ""

    def _reset(self) -> None:
        self.open, self.card_form, self.busy = False, False, False
        self.error, self.notice, self.receipt = "", "", {}
        self.cards, self.choice, self.amount, self.number = [], "", "", ""
        self._setup_intent_id, self._setup_secret = "", ""

    def _page_invoice(self) -> int:
        return optional_int(self.router.page.params.get("invoice_id", "")) or 0

    @portal_guard(ClientPermission.INVOICES_VIEW)
    def load(self) -> Any:
        """Offer to pay when the role may, Stripe is connected and something is due; open the
        panel at once when the link asked (?pay=1, from the lists' Pay buttons)."""
        self._reset()
        self._invoice_id = self._page_invoice()
        self.offered = False
        if self._two_factor_required:  # the page sends the user to Security first
            return None
        try:
            checkout = run(_checkout_if_offered, current_client_user(), self._invoice_id)
        except ServiceError:
            return None  # nothing to pay here (paid, void, not found): no Pay button
        if checkout is None:
            return None
        self.offered = True
        self._show(checkout)
        if self.router.url.query_parameters.get("pay") == "1":
            return self._open()
        return None

    def _show(self, checkout: invoice_payments.Checkout) -> None:
        self._due_minor, self._currency = checkout.due.amount_minor, checkout.due.currency
        self._key, self._js_url = checkout.publishable_key, checkout.stripe_js_url
        self.amount, self.number = money(checkout.due), checkout.number
        self.may_add = checkout.may_add_card
        self.cards = [_card_entry(card) for card in checkout.cards]
        if checkout.in_progress:
            self.notice = (
                "A payment of this invoice is in progress. If it was yours, wait a moment; "
                "paying again gives up one still waiting for your bank."
            )

    @portal_guard(ClientPermission.INVOICES_PAY)
    def start(self) -> Any:
        self.error, self.notice, self.receipt = "", "", {}
        try:
            checkout = run(invoice_payments.checkout, current_client_user(), self._page_invoice())
        except ServiceError as exc:
            self.error = exc.message
            self.open = True
            return None
        self._invoice_id = checkout.invoice_id
        self._show(checkout)
        return self._open()

    def _open(self) -> Any:
        self.open = True
        if self.cards:
            self.choice = self.cards[0]["id"]  # the default card comes first
            return None
        if self.may_add:
            return self._use_new_card()
        self.error = (
            "No card is saved for this account. Ask a colleague who manages payment methods "
            "to add one, or pay by bank transfer."
        )
        return None

    @portal_guard(ClientPermission.INVOICES_PAY)
    def close(self) -> None:
        self.open, self.card_form, self.busy, self.error = False, False, False, ""

    @portal_guard(ClientPermission.INVOICES_PAY)
    def choose(self, value: str) -> Any:
        self.error = ""
        if value == NEW_CARD:
            return self._use_new_card() if self.may_add else None
        if any(card["id"] == value for card in self.cards):
            self.choice, self.card_form = value, False
        return None

    def _use_new_card(self) -> Any:
        self.choice = NEW_CARD
        try:
            setup = run(cards.start_card_setup, current_client_user())
        except ServiceError as exc:
            self.error = exc.message
            return None
        self._setup_intent_id, self._setup_secret = setup.setup_intent_id, setup.client_secret
        self.card_form = True
        return rx.call_script(
            stripe_bridge.mount_card_form(setup.stripe_js_url, setup.publishable_key),
            callback=PortalPayState.form_ready,
        )

    @portal_guard(ClientPermission.INVOICES_PAY)
    def form_ready(self, answer: dict[str, Any]) -> None:
        if not (isinstance(answer, dict) and answer.get("ok")):
            self.error = stripe_bridge.said(answer, "The card form could not be loaded.")

    @portal_guard(ClientPermission.INVOICES_PAY)
    def pay(self) -> Any:
        if self.busy or not self.open:
            return None
        self.error, self.notice, self.busy = "", "", True
        if self.choice == NEW_CARD:
            if not self._setup_secret:
                self.busy = False
                return None
            # The card goes from Stripe's form to Stripe; we are told only that it was saved.
            return rx.call_script(
                stripe_bridge.confirm_card_setup(self._setup_secret),
                callback=PortalPayState.new_card_saved,
            )
        return self._charge(parse_id(self.choice) or 0)

    @portal_guard(ClientPermission.INVOICES_PAY)
    def new_card_saved(self, answer: dict[str, Any]) -> Any:
        if not (isinstance(answer, dict) and answer.get("ok")):
            self.busy, self.error = False, stripe_bridge.said(answer, "Your card was declined.")
            return None
        try:
            outcome = run(cards.finish_card_setup, current_client_user(), self._setup_intent_id)
        except ServiceError as exc:
            self.busy, self.error = False, exc.message
            return None
        if not outcome.saved or outcome.card is None:
            self.busy, self.error = False, outcome.message
            return None
        # Saved: it is one of the client's cards now, chosen for this try and the next.
        card = outcome.card
        self._setup_intent_id, self._setup_secret = "", ""
        self.cards = [_card_entry(card), *[c for c in self.cards if c["id"] != str(card.id)]]
        self.choice, self.card_form = str(card.id), False
        return self._charge(card.id)

    def _charge(self, card_id: int) -> Any:
        try:
            outcome = run(
                invoice_payments.pay_invoice,
                current_client_user(),
                self._invoice_id,
                card_id,
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
            bank_answered=PortalPayState.bank_answered,
            paid=self._paid,
            after_bank=after_bank,
        )

    @portal_guard(ClientPermission.INVOICES_PAY)
    def bank_answered(self, answer: dict[str, Any]) -> Any:
        del answer  # Stripe is asked how it ended
        try:
            outcome = run(invoice_payments.finish_payment, current_client_user(), self._invoice_id)
        except ServiceError as exc:
            self.busy, self.error = False, exc.message
            return None
        return self._outcome(outcome, after_bank=True)

    def _paid(self, receipt: charges.Receipt) -> Any:

        self.open, self.card_form, self.offered = False, False, False
        self.receipt = {
            "amount": money(receipt.amount),
            "card": receipt.card,
            "date": day(receipt.paid_on),
            "number": receipt.number,
            "balance": money(receipt.balance) if receipt.balance.amount_minor else "",
        }
        return PortalInvoiceState.load  # the invoice, its payments and the badge, as now


def _card_entry(card: cards.CardRow) -> dict[str, str]:
    return {
        "id": str(card.id),
        "label": card_label(card.brand, card.last4),
        "expires": f"Expires {card.exp_month:02d}/{card.exp_year}",
        "default": "yes" if card.is_default else "",
    }


def _checkout_if_offered(
    session: Any, user: Any, invoice_id: int
) -> invoice_payments.Checkout | None:
    if not invoice_payments.pay_offered(session, user):
        return None
    return invoice_payments.checkout(session, user, invoice_id)


P = PortalPayState


def _card_choice(card: Any) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.radio_group.item(value=card["id"], id="pay-card-" + card["id"]),
            rx.icon("credit-card", size=18, aria_hidden="true", color=rx.color("gray", 11)),
            rx.vstack(
                rx.hstack(
                    rx.text(card["label"], weight="medium", size="2"),
                    rx.cond(card["default"] != "", rx.badge("Default", color_scheme="green")),
                    spacing="2",
                    align="center",
                ),
                rx.text(card["expires"], size="1", color_scheme="gray"),
                spacing="0",
            ),
            align="center",
            spacing="3",
            padding="10px 12px",
            border=f"1px solid {rx.color('gray', 6)}",
            border_radius="var(--radius-3)",
            width="100%",
            cursor="pointer",
        ),
        html_for="pay-card-" + card["id"],
        width="100%",
    )


def _new_card_choice() -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.radio_group.item(value=NEW_CARD, id="pay-card-new"),
            rx.icon("plus", size=18, aria_hidden="true", color=rx.color("gray", 11)),
            rx.text("Use a new card", weight="medium", size="2"),
            align="center",
            spacing="3",
            padding="10px 12px",
            border=f"1px solid {rx.color('gray', 6)}",
            border_radius="var(--radius-3)",
            width="100%",
            cursor="pointer",
        ),
        html_for="pay-card-new",
        width="100%",
    )


def _card_form() -> rx.Component:
    return rx.vstack(
        rx.box(
            id=stripe_bridge.CARD_ELEMENT_ID,
            width="100%",
            padding="10px 12px",
            border=f"1px solid {rx.color('gray', 7)}",
            border_radius="var(--radius-2)",
            min_height="44px",
            background=rx.color("gray", 1),
        ),
        rx.text(
            "Your card details go straight to our payment processor, Stripe; we never see "
            "them. The card is saved for your next payments.",
            size="1",
            color_scheme="gray",
        ),
        spacing="2",
        width="100%",
    )


def _panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Pay invoice ", P.number, size="4", as_="h2"),
                rx.spacer(),
                rx.text(P.amount, size="5", weight="bold", id="portal-pay-amount"),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            rx.text("Pay with", size="2", weight="medium", id="portal-pay-with"),
            rx.radio_group.root(
                rx.vstack(
                    rx.foreach(P.cards, _card_choice),
                    rx.cond(P.may_add, _new_card_choice()),
                    spacing="2",
                    width="100%",
                ),
                value=P.choice,
                on_change=P.choose,
                aria_labelledby="portal-pay-with",
                width="100%",
            ),
            rx.cond(P.card_form & (P.choice == NEW_CARD), _card_form()),
            rx.cond(
                P.error != "",
                rx.callout(
                    P.error,
                    icon="circle-alert",
                    color_scheme="red",
                    role="alert",
                    id="portal-pay-error",
                    width="100%",
                ),
            ),
            rx.cond(
                P.notice != "",
                rx.callout(
                    P.notice, icon="info", role="status", id="portal-pay-notice", width="100%"
                ),
            ),
            rx.hstack(
                rx.button(
                    "Cancel", on_click=P.close, variant="soft", color_scheme="gray", disabled=P.busy
                ),
                rx.button(
                    rx.icon("lock", size=16, aria_hidden="true"),
                    "Pay ",
                    P.amount,
                    on_click=P.pay,
                    loading=P.busy,
                    disabled=P.choice == "",
                    id="portal-pay-submit",
                ),
                justify="end",
                width="100%",
                spacing="3",
                wrap="wrap",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="portal-pay-panel",
    )


def _receipt() -> rx.Component:
    r: Any = P.receipt
    return rx.card(
        rx.hstack(
            rx.icon("circle-check", size=24, color=rx.color("green", 11), aria_hidden="true"),
            rx.vstack(
                rx.heading("Payment received. Thank you!", size="3", as_="h2"),
                rx.text(
                    r["amount"],
                    " paid with ",
                    r["card"],
                    " on ",
                    r["date"],
                    " for invoice ",
                    r["number"],
                    ".",
                    size="2",
                ),
                rx.cond(r["balance"] != "", rx.text("Still due: ", r["balance"], size="2")),
                rx.text("A receipt is on its way by email.", size="2"),
                spacing="1",
            ),
            spacing="3",
            align="start",
        ),
        role="status",
        width="100%",
        border_left=f"4px solid {rx.color('green', 9)}",
        id="portal-pay-receipt",
    )


def pay_button() -> rx.Component:
    """The invoice page's Pay button, shown when this invoice can be paid here."""
    return rx.cond(
        P.offered & ~P.open,
        rx.button(
            rx.icon("credit-card", size=16, aria_hidden="true"),
            "Pay ",
            P.amount,
            on_click=P.start,
            id="portal-pay-open",
        ),
    )


def pay_section() -> rx.Component:
    """The pay panel, or the receipt once paid."""
    return rx.fragment(
        rx.cond(P.receipt.length() > 0, _receipt()),  # type: ignore[attr-defined,operator]
        rx.cond(P.open, _panel()),
    )


def portal_invoice_page() -> rx.Component:
    return portal_page("Invoice", lambda: invoice_view(pay_button(), pay_section()))
