"""The dunning section of Settings (/settings): when failed automatic charges are tried again,
and the payment reminders before and after the due date."""

from __future__ import annotations

from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.services.billing import dunning_settings
from billing_app.services.common.errors import ServiceError
from billing_app.services.common.transactions import run
from billing_app.ui.admin.settings.form import error_text, labelled, section, text_input
from billing_app.ui.kit.layout import NATIVE_SELECT_STYLE
from billing_app.ui.session.staff import SessionState, current_user, field_errors, guard

FIELDS = (
    "retry_days",
    "remind_before_days",
    "remind_after_days",
    "past_due_days",
    "past_due_action",
)


class DunningSettingsState(SessionState):
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    can_write: bool = False
    form_key: int = 0

    def _refresh(self) -> None:
        user = current_user()
        form = run(dunning_settings.read_dunning, user)
        self.values = {name: getattr(form, name) for name in FIELDS}
        self.can_write = user.can(Permission.SETTINGS_WRITE)
        self.form_key += 1

    @guard(Permission.SETTINGS_READ)
    def load(self) -> None:
        self.errors = {}
        self._refresh()

    @guard(Permission.SETTINGS_WRITE)
    def save(self, form: dict[str, Any]) -> Any:
        data = {name: str(form.get(name, ""))[:80] for name in FIELDS}
        try:
            run(dunning_settings.save_dunning, current_user(), dunning_settings.DunningForm(**data))
        except ServiceError as exc:
            self.errors = field_errors(exc)
            self.values = data
            return rx.toast.error("Check the highlighted fields.")
        self.errors = {}
        self._refresh()
        return rx.toast.success("Dunning settings saved.")


def dunning_settings_section() -> rx.Component:
    s = DunningSettingsState
    return rx.form(
        section(
            "Dunning",
            "When an automatic charge fails, the card is tried again on these days (never after "
            "a lost or stolen card, or when the bank needs the client), and the client gets "
            "payment reminders. Each step is sent once; after downtime only the latest.",
            text_input(
                s.values,
                s.errors,
                "Retry a failed charge after (days)",
                "retry_days",
                hint="Days after each failure, in turn, such as 1, 3, 5, 7. Empty: no retries.",
            ),
            text_input(
                s.values,
                s.errors,
                "Remind before the due date (days)",
                "remind_before_days",
                hint="0 for no reminder before the due date.",
            ),
            text_input(
                s.values,
                s.errors,
                "Remind after the due date (days)",
                "remind_after_days",
                hint="Such as 1, 7, 14. Empty: no reminders after the due date.",
            ),
            text_input(
                s.values,
                s.errors,
                "Then stop the services of an unpaid invoice after (days)",
                "past_due_days",
                hint="Once the retries are over its subscriptions are past due; this many days "
                "later they are paused or canceled, and the client is told.",
            ),
            rx.vstack(
                labelled(
                    "Stop them by",
                    rx.el.select(
                        rx.el.option("Canceling them", value="cancel"),
                        rx.el.option("Pausing them", value="pause"),
                        name="past_due_action",
                        id="past_due_action",
                        default_value=s.values["past_due_action"],
                        style=NATIVE_SELECT_STYLE,
                    ),
                    html_for="past_due_action",
                ),
                error_text(s.errors, "past_due_action"),
                width="100%",
            ),
            rx.cond(
                s.can_write,
                rx.hstack(
                    rx.button("Save dunning settings", type="submit", id="dunning-save"),
                    justify="end",
                    width="100%",
                ),
            ),
        ),
        on_submit=s.save,
        reset_on_submit=False,
        key=s.form_key,
        width="100%",
        id="dunning-settings",
    )
