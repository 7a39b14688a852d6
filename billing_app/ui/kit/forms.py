"""Form pieces shared by every admin form and the coming portal: a labelled field for each
kind of input, its error under it (every field's error at once), the form-wide alert, and the
pickers with one list everywhere (currencies, languages).

Fields are uncontrolled (``default_value``) inside an ``rx.form``: what the browser submits is
what the person sees, so nothing typed can be lost to a late event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reflex as rx

from billing_app.ui.format import CURRENCY_CHOICES, LOCALE_CHOICES
from billing_app.ui.kit.layout import field_label

# A field label that names its control (html_for), in the look of Radix labels.
LABEL_STYLE = {"font_size": "var(--font-size-2)", "font_weight": "500"}
CURRENCY_LIST_ID = "iso-currencies"
LOCALE_LIST_ID = "known-locales"


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # text email url number date textarea select checkbox checkboxes
    #                      currency locale (typed with suggestions; any valid value is kept)
    options: tuple[tuple[str, str], ...] = ()
    options_var: str = ""  # state var: list[dict(value, label)]
    placeholder: str = ""
    hint: str = ""
    required: bool = False
    span: int = 2  # columns of a 2-column grid


def field_error(errors: Any, name: str) -> rx.Component:
    return rx.cond(
        errors.contains(name),
        rx.text(errors[name], color_scheme="red", size="1", id=f"{name}-error"),
    )


def form_field(state: Any, f: FormField, errors: Any = None, values: Any = None) -> rx.Component:
    errors = errors if errors is not None else state.form_errors
    values = values if values is not None else state.form_values
    default = values[f.name].to(str)
    common: dict[str, Any] = {"name": f.name, "id": f"field-{f.name}"}
    if f.kind == "textarea":
        control: rx.Component = rx.text_area(
            default_value=default, placeholder=f.placeholder, rows="3", width="100%", **common
        )
    elif f.kind == "select":
        items: list[Any] = [rx.select.item(label, value=v) for v, label in f.options]
        if f.options_var:
            items.append(
                rx.foreach(
                    getattr(state, f.options_var),
                    lambda o: rx.select.item(o["label"], value=o["value"]),
                )
            )
        control = rx.select.root(
            # A Radix select's trigger is a button: the label names it here.
            rx.select.trigger(
                placeholder=f.placeholder or "Choose", width="100%", aria_label=f.label
            ),
            rx.select.content(*items),
            default_value=default,
            **common,
        )
    elif f.kind in ("currency", "locale"):
        control = picker_input(f.name, f.kind, default, id_=f"field-{f.name}")
    elif f.kind == "checkbox":
        control = rx.checkbox(
            f.placeholder or f.label, default_checked=values[f.name].to(str) == "yes", **common
        )
    elif f.kind == "checkboxes":
        control = rx.flex(
            rx.foreach(
                getattr(state, f.options_var),
                lambda o: rx.checkbox(
                    o["label"],
                    name=f.name + "__" + o["value"],
                    default_checked=o["checked"] == "yes",
                    id="field-" + f.name + "-" + o["value"],
                ),
            ),
            spacing="4",
            wrap="wrap",
            role="group",
            aria_labelledby=f"field-{f.name}-label",
        )
    else:
        control = rx.input(
            type=f.kind,
            default_value=default,
            placeholder=f.placeholder,
            width="100%",
            **common,
        )
    required = rx.text.span(" *", color=rx.color("red", 11)) if f.required else rx.fragment()
    if f.kind == "checkboxes":
        # A group of checkboxes (each labelled by its own text) named by this caption.
        label = rx.text(f.label, required, size="2", weight="medium", id=f"field-{f.name}-label")
    else:
        label = field_label(f.label, f"field-{f.name}", required)
    parts = [label if f.kind != "checkbox" else rx.fragment(), control]
    if f.hint:
        parts.append(rx.text(f.hint, size="1", color_scheme="gray"))
    parts.append(field_error(errors, f.name))
    return rx.box(
        rx.vstack(*parts, spacing="1", width="100%", align="stretch"),
        grid_column=f"span {f.span}",
    )


def form_grid(state: Any, fields: tuple[FormField, ...], **kw: Any) -> rx.Component:
    return rx.grid(
        *[form_field(state, f, **kw) for f in fields], columns="2", spacing="3", width="100%"
    )


def form_alert(errors: Any) -> rx.Component:
    return rx.cond(
        errors.contains("form"),
        rx.callout(errors["form"], icon="triangle-alert", color_scheme="red", id="form-error"),
    )


def choice_list(list_id: str, choices: tuple[tuple[str, str], ...]) -> rx.Component:
    """A <datalist> of (value, label): the suggestions of a typed picker."""
    return rx.el.datalist(
        *[rx.el.option(label, value=value) for value, label in choices],
        id=list_id,
    )


def choice_lists() -> rx.Component:
    """The currency and language suggestions, rendered once on every page that has a form."""
    return rx.fragment(
        choice_list(CURRENCY_LIST_ID, CURRENCY_CHOICES),
        choice_list(LOCALE_LIST_ID, LOCALE_CHOICES),
    )


def picker_input(
    name: str,
    kind: str,
    default: Any,
    *,
    id_: str,
    placeholder: str = "",
    **props: Any,
) -> rx.Component:
    """A typed picker for a currency (every ISO 4217 currency) or a language: searchable by
    typing on every browser and phone, never blank for a value outside a short list, and
    checked by the service on save."""
    is_currency = kind == "currency"
    return rx.input(
        name=name,
        id=id_,
        default_value=default,
        list=CURRENCY_LIST_ID if is_currency else LOCALE_LIST_ID,
        placeholder=placeholder or ("EUR" if is_currency else "en"),
        auto_complete="off",
        spell_check=False,
        max_length=3 if is_currency else 20,
        style={"text_transform": "uppercase"} if is_currency else {},
        width="100%",
        **props,
    )


def file_drop(label: str, *children: rx.Component, **props: Any) -> rx.Component:
    """``rx.upload.root`` whose file input is named ``label`` for screen readers.

    Reflex makes that <input type="file"> itself, inside the drop zone, and takes no props
    for it: the name is set on it here."""
    upload = rx.upload.root(*children, **props)
    zone = upload.children[0]
    inputs = [c for c in zone.children if getattr(c, "tag", None) == "input"]
    if not inputs:  # Reflex changed how it builds an upload: name it another way
        raise RuntimeError("the upload's file input was not found")
    inputs[0].custom_attrs["aria-label"] = label
    return upload
