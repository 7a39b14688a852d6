"""Form pieces shared by the settings and brands pages."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.kit.forms import LABEL_STYLE, picker_input


def error_text(errors: rx.Var[dict[str, str]], name: str) -> rx.Component:
    return rx.cond(
        errors.contains(name),
        rx.text(errors[name], color_scheme="red", size="2", id=f"{name}-error"),
    )


def labelled(label: str, control: rx.Component, hint: str = "", html_for: str = "") -> rx.Component:
    """A control under its label; ``html_for`` names the control's id so the label is its
    accessible name (leave it empty when the control is a group with its own legend)."""
    title = (
        rx.el.label(label, html_for=html_for, style=LABEL_STYLE)
        if html_for
        else rx.text(label, size="2", weight="medium")
    )
    return rx.vstack(
        title,
        control,
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")),
        spacing="1",
        width="100%",
        align="start",
    )


def text_input(
    state_values: rx.Var[dict[str, str]],
    errors: rx.Var[dict[str, str]],
    label: str,
    name: str,
    *,
    hint: str = "",
    type_: str = "text",
    placeholder: str = "",
) -> rx.Component:
    return rx.vstack(
        labelled(
            label,
            rx.input(
                name=name,
                id=name,
                type=type_,
                default_value=state_values[name],
                placeholder=placeholder,
                width="100%",
                size="2",
            ),
            hint,
            html_for=name,
        ),
        error_text(errors, name),
        spacing="1",
        width="100%",
    )


def picker_field(
    state_values: rx.Var[dict[str, str]],
    errors: rx.Var[dict[str, str]],
    label: str,
    name: str,
    kind: str,
    hint: str = "",
) -> rx.Component:
    """A currency or language picker (ui/kit/forms.py) with its label and error."""
    return rx.vstack(
        labelled(
            label,
            picker_input(name, kind, state_values[name], id_=name, size="2"),
            hint,
            html_for=name,
        ),
        error_text(errors, name),
        spacing="1",
        width="100%",
    )


def section(title: str, description: str, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.grid(
            rx.vstack(
                rx.heading(title, size="4", as_="h2"),
                rx.text(description, size="2", color_scheme="gray"),
                spacing="1",
            ),
            rx.vstack(*children, spacing="4", width="100%"),
            columns="1fr 2fr",
            spacing="6",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def text_area_input(
    state_values: rx.Var[dict[str, str]],
    errors: rx.Var[dict[str, str]],
    label: str,
    name: str,
    *,
    rows: str = "2",
    hint: str = "",
) -> rx.Component:
    """A multi-line field under its label, its hint and its error under it."""
    return rx.vstack(
        labelled(
            label,
            rx.text_area(
                name=name,
                id=name,
                default_value=state_values[name],
                rows=rows,
                width="100%",
            ),
            html_for=name,
        ),
        *([rx.text(hint, size="1", color_scheme="gray")] if hint else []),
        error_text(errors, name),
        width="100%",
        spacing="1",
    )
