"""Payment methods, on the portal's Account page: the client's saved cards (brand, last four,
expiry, which one is the default), add a card with Stripe's own card form, make another the
default, remove one. Shown to roles that may manage the client's cards, when the agency has
connected Stripe."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.cards import card_label
from billing_app.domain.numbers import parse_id
from billing_app.domain.permissions import ClientPermission
from billing_app.services.card_payments import cards
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.portal import stripe_bridge
from billing_app.ui.portal.frame import PortalPageState
from billing_app.ui.session.portal import current_client_user, portal_guard


class PortalCardsState(PortalPageState):
    offered: bool = False
    cards: list[dict[str, str]] = []
    adding: bool = False
    saving: bool = False
    card_error: str = ""
    _setup_intent_id: str = ""
    _client_secret: str = ""

    def _fill(self) -> None:
        self.cards = [
            {
                "id": str(card.id),
                "label": card_label(card.brand, card.last4),
                "expires": f"Expires {card.exp_month:02d}/{card.exp_year}",
                "default": "yes" if card.is_default else "",
                "last4": card.last4,
            }
            for card in run(cards.saved_cards, current_client_user())
        ]

    def _stop_adding(self) -> None:
        self.adding, self.saving, self.card_error = False, False, ""
        self._setup_intent_id, self._client_secret = "", ""

    @portal_guard(None)
    def load(self) -> None:
        self._stop_adding()
        self.offered = run(cards.cards_offered, current_client_user())
        self.cards = []
        if self.offered:
            self._fill()

    @portal_guard(ClientPermission.PAYMENT_METHODS_MANAGE)
    def start_adding(self) -> Any:
        self.card_error = ""
        try:
            setup = run(cards.start_card_setup, current_client_user())
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._setup_intent_id, self._client_secret = setup.setup_intent_id, setup.client_secret
        self.adding = True
        return rx.call_script(
            stripe_bridge.mount_card_form(setup.stripe_js_url, setup.publishable_key),
            callback=PortalCardsState.card_form_ready,
        )

    @portal_guard(ClientPermission.PAYMENT_METHODS_MANAGE)
    def card_form_ready(self, answer: dict[str, Any]) -> None:
        if not (isinstance(answer, dict) and answer.get("ok")):
            self.card_error = stripe_bridge.said(answer, "The card form could not be loaded.")

    @portal_guard(ClientPermission.PAYMENT_METHODS_MANAGE)
    def save_card(self) -> Any:
        if not self._client_secret:
            return None
        self.saving, self.card_error = True, ""
        return rx.call_script(
            stripe_bridge.confirm_card_setup(self._client_secret),
            callback=PortalCardsState.card_confirmed,
        )

    @portal_guard(ClientPermission.PAYMENT_METHODS_MANAGE)
    def card_confirmed(self, answer: dict[str, Any]) -> Any:
        self.saving = False
        if not (isinstance(answer, dict) and answer.get("ok")):
            self.card_error = stripe_bridge.said(answer, "Your card was declined.")
            return None
        if not self._setup_intent_id:
            return None
        # Stripe is asked what happened: the browser's answer is only a hint.
        try:
            outcome = run(cards.finish_card_setup, current_client_user(), self._setup_intent_id)
        except ServiceError as exc:
            self.card_error = exc.message
            return None
        if not outcome.saved:
            self.card_error = outcome.message
            return None
        self._stop_adding()
        self._fill()
        return rx.toast.success("Card saved.")

    @portal_guard(ClientPermission.PAYMENT_METHODS_MANAGE)
    def cancel_adding(self) -> None:
        self._stop_adding()

    @portal_guard(ClientPermission.PAYMENT_METHODS_MANAGE)
    def make_default(self, card_id: str) -> Any:
        try:
            run(cards.make_default, current_client_user(), parse_id(card_id) or 0)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._fill()
        return rx.toast.success("Default card changed.")

    @portal_guard(ClientPermission.PAYMENT_METHODS_MANAGE)
    def remove(self, card_id: str) -> Any:
        try:
            run(cards.remove_card, current_client_user(), parse_id(card_id) or 0)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._fill()
        return rx.toast.success("Card removed.")


C = PortalCardsState


def _card_row(card: Any) -> rx.Component:
    return rx.hstack(
        rx.icon("credit-card", size=20, aria_hidden="true", color=rx.color("gray", 11)),
        rx.vstack(
            rx.hstack(
                rx.text(card["label"], weight="medium"),
                rx.cond(card["default"] != "", rx.badge("Default", color_scheme="green")),
                spacing="2",
                align="center",
            ),
            rx.text(card["expires"], size="1", color_scheme="gray"),
            spacing="0",
        ),
        rx.spacer(),
        rx.cond(
            card["default"] == "",
            rx.button(
                "Make default",
                on_click=C.make_default(card["id"]),  # type: ignore[call-arg]
                variant="soft",
                size="1",
            ),
        ),
        rx.alert_dialog.root(
            rx.alert_dialog.trigger(
                rx.button("Remove", variant="outline", color_scheme="red", size="1"),
            ),
            rx.alert_dialog.content(
                rx.alert_dialog.title("Remove this card?"),
                rx.alert_dialog.description(
                    card["label"] + " will no longer pay your invoices.", size="2"
                ),
                rx.hstack(
                    rx.alert_dialog.cancel(
                        rx.button("Keep it", variant="soft", color_scheme="gray")
                    ),
                    rx.alert_dialog.action(
                        rx.button(
                            "Remove",
                            color_scheme="red",
                            on_click=C.remove(card["id"]),  # type: ignore[call-arg]
                        )
                    ),
                    spacing="3",
                    justify="end",
                    margin_top="16px",
                ),
            ),
        ),
        align="center",
        spacing="3",
        width="100%",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        wrap="wrap",
        custom_attrs={"data-card": card["last4"]},
    )


def _add_form() -> rx.Component:
    return rx.vstack(
        rx.text("New card", weight="medium", size="2"),
        rx.box(
            id=stripe_bridge.CARD_ELEMENT_ID,
            width="100%",
            padding="10px 12px",
            border=f"1px solid {rx.color('gray', 7)}",
            border_radius="var(--radius-2)",
            min_height="44px",
            background=rx.color("gray", 1),
        ),
        rx.cond(
            C.card_error != "",
            rx.text(
                C.card_error,
                color=rx.color("red", 11),
                size="2",
                role="alert",
                id="portal-card-error",
            ),
        ),
        rx.text(
            "Your card details go straight to our payment processor, Stripe; we never see them.",
            size="1",
            color_scheme="gray",
        ),
        rx.hstack(
            rx.button("Cancel", on_click=C.cancel_adding, variant="soft", color_scheme="gray"),
            rx.button("Save card", on_click=C.save_card, loading=C.saving, id="portal-card-save"),
            justify="end",
            width="100%",
            spacing="3",
        ),
        spacing="2",
        width="100%",
    )


def payment_methods_section() -> rx.Component:
    return rx.cond(
        C.offered,
        rx.card(
            rx.vstack(
                rx.heading("Payment methods", size="4", as_="h2"),
                rx.text(
                    "Cards saved here can pay your invoices. The default card pays automatic "
                    "renewals.",
                    size="2",
                    color_scheme="gray",
                ),
                rx.cond(
                    C.cards.length() > 0,  # type: ignore[attr-defined,operator]
                    rx.vstack(rx.foreach(C.cards, _card_row), spacing="0", width="100%"),
                    rx.text("No card saved yet.", size="2", id="portal-no-cards"),
                ),
                rx.cond(
                    C.adding,
                    _add_form(),
                    rx.button(
                        rx.icon("plus", size=16),
                        "Add a card",
                        on_click=C.start_adding,
                        variant="soft",
                        id="portal-add-card",
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
            id="portal-payment-methods",
        ),
    )
