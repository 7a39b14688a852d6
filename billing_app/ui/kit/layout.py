"""Stateless layout pieces shared by every page: form fields and errors, cards, pagers,
placeholders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx


def not_allowed() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("shield-x", size=40, color=rx.color("red", 9)),
            rx.heading("Not allowed", size="6", id="not-allowed"),
            rx.text(
                "Your role does not give you access to this page. "
                "Ask your team's owner if you need it.",
                color_scheme="gray",
                align="center",
            ),
            rx.link("Back to the dashboard", href="/"),
            align="center",
            spacing="3",
            max_width="420px",
        ),
        padding_top="80px",
        width="100%",
    )


def loading() -> rx.Component:
    return rx.center(rx.spinner(size="3"), padding_top="80px", width="100%")


def overlay_spinner() -> rx.Component:
    """A spinner over the viewport's centre and out of the flow: nothing on the page moves
    when it goes. A plain element (not a stack, as page content is) so content that comes in
    its place replaces it rather than reusing it."""
    return rx.el.div(
        rx.spinner(size="3"),
        role="status",
        aria_label="Loading",
        style={
            "position": "fixed",
            "inset": "0",
            "display": "flex",
            "align_items": "center",
            "justify_content": "center",
            "pointer_events": "none",
        },
    )


def auth_card(title: str, subtitle: str | rx.Var[str], *children: rx.Component) -> rx.Component:
    """The centred card of the public pages, as the page's main landmark."""
    return rx.el.main(
        rx.center(
            rx.card(
                rx.vstack(
                    rx.hstack(
                        rx.icon("receipt", size=24, color=rx.color("accent", 10)),
                        rx.text("Client Billing", weight="bold", size="4"),
                        align="center",
                        spacing="2",
                    ),
                    rx.heading(title, size="6", padding_top="8px"),
                    rx.text(subtitle, color_scheme="gray", size="2"),
                    *children,
                    spacing="3",
                    width="100%",
                ),
                width="100%",
                max_width="420px",
                size="4",
            ),
            min_height="100vh",
            padding="16px",
            background=rx.color("gray", 2),
        )
    )


# Hidden from sight, still read by screen readers (a table header over row actions, ...).
VISUALLY_HIDDEN = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "padding": "0",
    "margin": "-1px",
    "overflow": "hidden",
    "clip": "rect(0, 0, 0, 0)",
    "white_space": "nowrap",
    "border": "0",
}


def visually_hidden(text: str | rx.Var[str]) -> rx.Component:
    return rx.el.span(text, style=VISUALLY_HIDDEN)


def field_label(text: str | rx.Var[str], html_for: str | rx.Var[str], *more: Any) -> rx.Component:
    """A form label tied to its control's id, so the control is named by it (a Radix Text
    rendered as <label>; its ``html_for`` prop would become CSS, hence the raw attribute)."""
    return rx.text(
        text,
        *more,
        as_="label",
        size="2",
        weight="medium",
        custom_attrs={"htmlFor": html_for},
    )


def field(
    label: str,
    name: str,
    errors: rx.Var[dict[str, str]],
    *,
    type_: str = "text",
    placeholder: str = "",
    default_value: str | rx.Var[str] | None = None,
    read_only: bool = False,
    auto_complete: str = "",
    required: bool = True,
    id_: str = "",
) -> rx.Component:
    """A labelled input with its error message right beneath it."""
    props: dict[str, object] = {}
    if default_value is not None:
        props["default_value"] = default_value
    if auto_complete:
        props["auto_complete"] = auto_complete
    return rx.vstack(
        field_label(label, id_ or name),
        rx.input(
            name=name,
            id=id_ or name,
            type=type_,
            placeholder=placeholder,
            read_only=read_only,
            required=required,
            width="100%",
            size="3",
            **props,
        ),
        rx.cond(
            errors.contains(name),
            rx.text(errors[name], color_scheme="red", size="2", id=f"{name}-error"),
        ),
        spacing="1",
        width="100%",
        align="start",
    )


def form_error(errors: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.cond(
        errors.contains("form"),
        rx.callout(
            errors["form"], icon="triangle-alert", color_scheme="red", id="form-error", width="100%"
        ),
    )


def pager(
    page: rx.Var[int],
    page_count: rx.Var[int],
    total: rx.Var[int],
    go: Callable[[int], rx.event.EventSpec],
) -> rx.Component:
    return rx.hstack(
        rx.text(total.to_string() + " in all", size="2", color_scheme="gray"),
        rx.spacer(),
        rx.button(
            rx.icon("chevron-left", size=16),
            "Previous",
            variant="soft",
            disabled=page <= 1,
            on_click=go(page - 1),
        ),  # type: ignore[operator]
        rx.text("Page ", page.to_string(), " of ", page_count.to_string(), size="2"),
        rx.button(
            "Next",
            rx.icon("chevron-right", size=16),
            variant="soft",
            disabled=page >= page_count,
            on_click=go(page + 1),
        ),  # type: ignore[operator]
        width="100%",
        align="center",
    )


# A native <select> styled like Radix inputs (fast with long option lists).
NATIVE_SELECT_STYLE = {
    "width": "100%",
    "height": "32px",
    "border": "1px solid var(--gray-7)",
    "border_radius": "6px",
    "padding": "0 8px",
    "background": "var(--color-surface)",
    "font_size": "14px",
}


def data_table(
    headers: list[str], rows: Any, row: Callable[[Any], rx.Component], table_id: str
) -> rx.Component:
    """A surface table: these column headers and a last one, named for screen readers only,
    for each row's actions; ``row`` draws each item of ``rows``."""
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *[rx.table.column_header_cell(header) for header in headers],
                rx.table.column_header_cell(visually_hidden("Actions")),
            )
        ),
        rx.table.body(rx.foreach(rows, row)),
        width="100%",
        variant="surface",
        id=table_id,
    )
