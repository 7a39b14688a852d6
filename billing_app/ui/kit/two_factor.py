"""Two-factor sign-in pieces shared by the staff "My account" page and the portal's Security
page: the set-up step (QR code and key, confirmed with a code and the password), the callout
with freshly made recovery codes (download, print), the count of codes left, and the forms
that need the password (and a code) again.

Secrets shown once never enter a state (docs/security.md item 36): each page keeps them in
browser-only variables (``ShownOnce``) that its handlers push to and its ``load`` empties."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reflex as rx
from reflex.experimental.client_state import ClientStateVar
from reflex_base.vars.function import ENCODE_URI_COMPONENT

from billing_app.ui.kit.layout import field, form_error
from billing_app.ui.kit.sign_in import current_password_field


@dataclass(frozen=True)
class ShownOnce:
    """A page's browser-only variables: fresh recovery codes, the set-up QR code and key."""

    codes: ClientStateVar
    qr: ClientStateVar
    key: ClientStateVar

    @classmethod
    def create(cls, prefix: str) -> ShownOnce:
        return cls(
            codes=ClientStateVar.create(f"{prefix}_recovery_codes", default=[]),
            qr=ClientStateVar.create(f"{prefix}_totp_qr", default=""),
            key=ClientStateVar.create(f"{prefix}_totp_key", default=""),
        )

    def holders(self) -> tuple[rx.Component, ...]:
        """Placed once in the page (they render nothing)."""
        return (self.codes, self.qr, self.key)

    def forget(self) -> list[Any]:
        return [self.codes.push([]), self.qr.push(""), self.key.push("")]

    def show_setup(self, qr_svg_data_uri: str, key: str) -> list[Any]:
        return [self.qr.push(qr_svg_data_uri), self.key.push(key)]

    def show_codes(self, codes: list[str]) -> list[Any]:
        """The new recovery codes; the set-up key and QR code, now used, are dropped."""
        return [self.qr.push(""), self.key.push(""), self.codes.push(codes)]


@dataclass(frozen=True)
class TwoFactorIds:
    """The element ids of one page's two-factor pieces (the browser journeys use them)."""

    status: str
    start: str
    qr: str
    key: str
    setup_code: str
    setup_current: str  # the set-up form's current-password field
    confirm: str
    codes: str
    download: str
    print: str
    renew: str
    disable: str
    left: str


def codes_left(count: rx.Var[int], ids: TwoFactorIds) -> rx.Component:
    return rx.text(
        count,
        rx.cond(count == 1, " recovery code left", " recovery codes left"),
        size="2",
        color_scheme="gray",
        id=ids.left,
    )


def _print_only(box_id: str) -> rx.Component:
    """Printing the page prints the codes alone: everything but the box and what holds it is
    left out, and what holds it loses its spacing, borders and background."""
    box = f"#{box_id}"
    holds = f":has({box})"
    return rx.el.style(
        "@media print {"
        f" body *:not({holds}):not({box}):not({box} *) {{ display: none !important; }}"
        f" {holds} {{ margin: 0 !important; padding: 0 !important; border: 0 !important;"
        " box-shadow: none !important; background: none !important;"
        " min-height: 0 !important; }"
        f" {holds}::before, {holds}::after {{ display: none !important; }}"
        f" {box} button {{ display: none !important; }}"
        f" #{box_id}-for {{ display: block !important; }}"
        " }"
    )


def recovery_codes(shown: ShownOnce, ids: TwoFactorIds, *, account: Any) -> rx.Component:
    """The codes just made, with "Download" (a text file made in the browser, naming
    ``account``) and "Print"; nothing when no codes were just made."""
    heading = "Recovery codes for " + account + ". Each one signs you in once."
    text = heading + "\n\n" + shown.codes.value.join("\n") + "\n"  # type: ignore[attr-defined]
    file = "data:text/plain;charset=utf-8," + ENCODE_URI_COMPONENT.call(text).to(str)
    box = f"{ids.codes}-callout"
    return rx.cond(
        shown.codes.value.length() > 0,  # type: ignore[attr-defined]
        rx.callout(
            rx.vstack(
                _print_only(box),
                rx.text("Your recovery codes", weight="bold"),
                rx.text(heading, size="2", display="none", id=f"{box}-for"),  # printed only
                rx.text(
                    "Download or print them, or keep them in a password manager: each one "
                    "signs you in once if you lose your phone. They are shown only now.",
                    size="2",
                ),
                rx.grid(
                    rx.foreach(shown.codes.value, lambda c: rx.code(c, size="3")),
                    columns="2",
                    spacing="2",
                    id=ids.codes,
                ),
                rx.hstack(
                    rx.button(
                        rx.icon("download", size=16, aria_hidden="true"),
                        "Download",
                        variant="soft",
                        on_click=rx.download(data=file, filename="recovery-codes.txt"),
                        id=ids.download,
                    ),
                    rx.button(
                        rx.icon("printer", size=16, aria_hidden="true"),
                        "Print",
                        variant="soft",
                        on_click=rx.call_script("window.print()"),
                        id=ids.print,
                    ),
                    spacing="2",
                    wrap="wrap",
                ),
                spacing="2",
            ),
            icon="key-round",
            color_scheme="amber",
            width="100%",
            id=box,
        ),
    )


def setup_step(
    shown: ShownOnce,
    ids: TwoFactorIds,
    *,
    pending: rx.Var[bool],
    errors: rx.Var[dict[str, str]],
    on_start: Any,
    on_confirm: Any,
    start_label: str,
) -> rx.Component:
    """ "Set up" until a key is asked for; then its QR code and key, and the form confirming it
    with a code from the app and the password."""
    return rx.cond(
        # The key arrives in the page by its own event, just after the state says "pending".
        pending & (shown.key.value != ""),
        rx.flex(
            rx.image(
                src=shown.qr.value,
                width="180px",
                height="180px",
                alt="QR code for your authenticator app",
                id=ids.qr,
                flex_shrink="0",
            ),
            rx.form(
                rx.vstack(
                    rx.text("1. Scan the code with your authenticator app, or type this key:"),
                    rx.code(shown.key.value, id=ids.key, word_break="break-all"),
                    rx.text("2. Enter the 6-digit code it shows, and your password."),
                    field(
                        "Code", "code", errors, auto_complete="one-time-code", id_=ids.setup_code
                    ),
                    current_password_field(errors, ids.setup_current),
                    rx.button("Turn on", type="submit", id=ids.confirm),
                    spacing="2",
                    width="100%",
                ),
                on_submit=on_confirm,
                width="100%",
                max_width="360px",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            spacing="5",
            align="start",
        ),
        rx.button(start_label, on_click=on_start, id=ids.start),
    )


def password_confirmed(
    title: str,
    description: str,
    label: str,
    on_submit: Any,
    errors: rx.Var[dict[str, str]],
    *,
    form_id: str,
    with_code: bool = False,
    color: str = "gray",
) -> rx.Component:
    """A change of the second factor, asked with the current password (and a code from the
    app or a recovery code when ``with_code``); the fields are emptied once sent. ``errors``
    are this form's alone: a wrong password shows under this form's field only."""
    code = (
        [field("Code from your app or a recovery code", "code", errors, id_=f"{form_id}-code")]
        if with_code
        else []
    )
    return rx.form(
        rx.vstack(
            rx.heading(title, size="3", as_="h3"),
            rx.text(description, size="2", color_scheme="gray"),
            form_error(errors),
            current_password_field(errors, f"{form_id}-password"),
            *code,
            rx.button(label, type="submit", variant="soft", color_scheme=color, id=form_id),
            spacing="2",
            width="100%",
            max_width="420px",
        ),
        on_submit=on_submit,
        reset_on_submit=True,
        width="100%",
    )


def two_factor_panel(
    state: Any,
    shown: ShownOnce,
    ids: TwoFactorIds,
    *,
    account: Any,
    start_label: str,
    disable_label: str,
    disable_needs_code: bool,
    notice: rx.Component | None = None,
) -> rx.Component:
    """Two-factor sign-in on a security page. On: the recovery codes left (and those just
    made), new codes, and turning it off. Off: ``notice`` (when given) and the set-up step.

    ``state`` is the page's state: its vars ``two_factor_on``, ``recovery_left``,
    ``setup_pending``, ``mfa_errors`` and ``renew_errors`` (the new codes form's own), and its
    handlers ``start_two_factor``, ``confirm_two_factor`` (a code and the password),
    ``renew_codes`` (the password) and ``disable_two_factor`` (the password, and a code when
    ``disable_needs_code``)."""
    errors = state.mfa_errors
    turned_on = rx.vstack(
        rx.hstack(
            rx.badge("On", color_scheme="green", high_contrast=True, id=ids.status),
            codes_left(state.recovery_left, ids),
            align="center",
        ),
        recovery_codes(shown, ids, account=account),
        password_confirmed(
            "New recovery codes",
            "Your current recovery codes stop working.",
            "Make new recovery codes",
            state.renew_codes,
            state.renew_errors,
            form_id=ids.renew,
        ),
        password_confirmed(
            "Turn off",
            "Signing in will ask for your password only.",
            disable_label,
            state.disable_two_factor,
            errors,
            form_id=ids.disable,
            with_code=disable_needs_code,
            color="red",
        ),
        spacing="4",
        width="100%",
    )
    turned_off = rx.vstack(
        *([notice] if notice is not None else []),
        rx.badge("Off", color_scheme="gray", high_contrast=True, id=ids.status),
        form_error(errors),
        setup_step(
            shown,
            ids,
            pending=state.setup_pending,
            errors=errors,
            on_start=state.start_two_factor,
            on_confirm=state.confirm_two_factor,
            start_label=start_label,
        ),
        spacing="3",
        width="100%",
    )
    return rx.cond(state.two_factor_on, turned_on, turned_off)
