"""Declarative resource specs for plain CRUD pages (docs/architecture.md) and the shared
components that render them: a searchable, filterable, sortable, paginated table (all done on
the server by the page's state) with row actions, and a form dialog with per-field errors.

A state rendered by `resource_table` provides these vars and guarded handlers:

    rows: list[dict[str, str]]  total: int  page: int  page_count: int
    search: str  sort: str  descending: bool  can_write: bool
    set_search(value)  sort_by(key)  go(page)         (+ one handler per Filter)

and, for `resource_form`, `form_open: bool`, `form_title: str`, `form_errors: dict[str, str]`,
`form_values: dict[str, str]`, `form_key: str` (changes when a new form opens), `save(form)`,
`set_form_open(open)`. Row actions name a guarded handler taking the row id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from billing_app.domain.permissions import Permission
from billing_app.ui.kit.badges import status_badge
from billing_app.ui.kit.forms import FormField, form_alert, form_grid
from billing_app.ui.kit.layout import visually_hidden
from billing_app.ui.session.staff import SessionState


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    sort: str = ""  # sort key sent to the state's sort_by ("" = not sortable)
    kind: str = "text"  # text | money | badge | link | muted
    align: str = "left"
    link: str = ""  # row key holding the href (kind "link")
    sub: str = ""  # row key of a second, muted line
    badges: tuple[tuple[str, str], ...] = ()  # value -> colour (kind "badge")
    label_key: str = ""  # row key holding the badge text (default: the value itself)
    image: str = ""  # row key holding a thumbnail URL ("" = a placeholder) shown before the text
    permission: Permission | None = None  # the column exists only for roles holding it


@dataclass(frozen=True)
class Filter:
    name: str  # the filter's name in the list state's FILTERS (ui/kit/list_state.py)
    options: tuple[tuple[str, str], ...]  # (value, label)
    label: str = ""
    kind: str = "segmented"  # segmented | select
    options_var: str = ""  # state var list[dict(value,label)] for dynamic options (select)


@dataclass(frozen=True)
class RowAction:
    label: str
    handler: str  # guarded state handler called with row["id"]
    icon: str = ""
    color: str = "gray"
    confirm: str = ""  # a confirmation question makes it a destructive action
    confirm_text: str = ""  # the dialog's explanation
    show_if: str = ""  # row key that must be "yes" for the action to show
    needs_write: bool = True  # hidden when the user may only read


@dataclass(frozen=True)
class Resource:
    name: str  # element id prefix
    state: Any
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...] = ()
    row_actions: tuple[RowAction, ...] = ()
    search_placeholder: str = "Search"
    empty_icon: str = "inbox"
    empty_title: str = "Nothing here yet"
    empty_text: str = ""
    form_fields: tuple[FormField, ...] = field(default=())
    row_link: str = ""  # row key with an href: the first column links there
    compact_actions: bool = False  # icon buttons with tooltips instead of labelled buttons


def money_text(value: rx.Var[str], **props: Any) -> rx.Component:
    return rx.text(
        value,
        style={"font_variant_numeric": "tabular-nums", "white_space": "nowrap"},
        **props,
    )


def stat_card(label: str, value: rx.Var[str], icon: str, id_: str, hint: Any = None):
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=16, color=rx.color("gray", 10)),
                rx.text(label, size="2", color_scheme="gray", weight="medium"),
                spacing="2",
                align="center",
            ),
            rx.text(
                value,
                size="6",
                weight="bold",
                id=id_,
                style={"font_variant_numeric": "tabular-nums"},
            ),
            hint or rx.fragment(),
            spacing="1",
        ),
        size="2",
        width="100%",
    )


def empty_state(icon: str, title: str, text: str, action: rx.Component | None = None):
    return rx.center(
        rx.vstack(
            rx.center(
                rx.icon(icon, size=28, color=rx.color("accent", 9)),
                width="56px",
                height="56px",
                border_radius="50%",
                background=rx.color("accent", 3),
            ),
            rx.text(title, weight="bold", size="4"),
            rx.text(text, color_scheme="gray", size="2", align="center", max_width="420px"),
            action or rx.fragment(),
            align="center",
            spacing="2",
        ),
        padding_y="48px",
        width="100%",
    )


def _header_cell(res: Resource, col: Column) -> rx.Component:
    state = res.state
    justify = "end" if col.align == "right" else "start"
    if not col.sort:
        return rx.table.column_header_cell(
            rx.hstack(rx.text(col.label, white_space="nowrap"), justify=justify, width="100%")
        )
    arrow = rx.cond(
        state.sort == col.sort,
        rx.cond(state.descending, rx.icon("arrow-down", size=14), rx.icon("arrow-up", size=14)),
        rx.icon("arrow-up-down", size=14, color=rx.color("gray", 8)),
    )
    return rx.table.column_header_cell(
        rx.hstack(
            rx.text(col.label, white_space="nowrap"),
            arrow,
            spacing="1",
            align="center",
            justify=justify,
            width="100%",
            cursor="pointer",
            on_click=state.sort_by(col.sort),
            id=f"{res.name}-sort-{col.sort}",
            _hover={"color": rx.color("accent", 11)},
        ),
    )


def _for_holders(col: Column, component: rx.Component) -> rx.Component:
    """A column with a permission is left out (not shown empty) for roles without it."""
    if col.permission is None:
        return component
    return rx.cond(SessionState.granted.contains(col.permission.value), component)


def _cell(res: Resource, col: Column, row: rx.Var[dict[str, str]], first: bool) -> rx.Component:
    value = row[col.key]
    if col.kind == "money":
        content: rx.Component = money_text(value, align="right", width="100%")
    elif col.kind == "badge":
        content = status_badge(
            value,
            row[col.label_key] if col.label_key else None,
            dict(col.badges) if col.badges else None,
        )
    elif col.kind == "muted":
        content = rx.text(value, size="2", color_scheme="gray", white_space="nowrap")
    else:
        main = rx.text(value, weight="medium" if first else "regular")
        href = col.link or (res.row_link if first else "")
        if href:
            main = rx.link(value, href=row[href], weight="medium", underline="hover")
        content = (
            rx.vstack(main, rx.text(row[col.sub], size="1", color_scheme="gray"), spacing="0")
            if col.sub
            else main
        )
        if col.image:
            thumb = rx.cond(
                row[col.image] != "",
                rx.image(
                    src=row[col.image],
                    width="36px",
                    height="36px",
                    object_fit="cover",
                    border_radius="8px",
                    alt="",
                ),
                rx.center(
                    rx.icon("package", size=16, color=rx.color("gray", 9)),
                    width="36px",
                    height="36px",
                    border_radius="8px",
                    background=rx.color("gray", 3),
                    flex_shrink="0",
                ),
            )
            content = rx.hstack(thumb, content, spacing="3", align="center")
    return rx.table.cell(content, text_align=col.align if col.align == "right" else "left")


def confirm_button(
    trigger: rx.Component, title: Any, text: Any, confirm_label: str, on_confirm: Any, color: str
) -> rx.Component:
    """A button that asks before doing something destructive."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(text, size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Keep it", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(confirm_label, color_scheme=color, on_click=on_confirm)
                ),
                justify="end",
                spacing="3",
                padding_top="16px",
            ),
            max_width="440px",
        ),
    )


def _action(res: Resource, action: RowAction, row: rx.Var[dict[str, str]]) -> rx.Component:
    handler = getattr(res.state, action.handler)
    slug = action.label.lower().replace(" ", "-")
    button_props = {
        "size": "1",
        "variant": "soft",
        "color_scheme": action.color,
        "id": f"{res.name}-{slug}-" + row["id"],
    }
    if not action.confirm:
        button_props["on_click"] = handler(row["id"])
    if res.compact_actions:
        button: rx.Component = rx.icon_button(
            rx.icon(action.icon or "circle", size=14), aria_label=action.label, **button_props
        )
    else:
        children = [rx.icon(action.icon, size=14)] if action.icon else []
        button = rx.button(*children, action.label, **button_props)
    component = button
    if action.confirm:
        component = confirm_button(
            button,
            action.confirm,
            action.confirm_text,
            action.label,
            handler(row["id"]),
            action.color if action.color != "gray" else "red",
        )
    if res.compact_actions:
        component = rx.tooltip(rx.box(component, display="inline-flex"), content=action.label)
    if action.show_if:
        component = rx.cond(row[action.show_if] == "yes", component)
    if action.needs_write:
        component = rx.cond(res.state.can_write, component)
    return component


def _row(res: Resource, row: rx.Var[dict[str, str]]) -> rx.Component:
    cells = [_for_holders(col, _cell(res, col, row, i == 0)) for i, col in enumerate(res.columns)]
    if res.row_actions:
        cells.append(
            rx.table.cell(
                rx.hstack(
                    *[_action(res, a, row) for a in res.row_actions],
                    spacing="1",
                    justify="end",
                    # Narrow tables (a client's overview) wrap the actions instead of
                    # pushing them out of sight.
                    wrap="wrap",
                    max_width="180px",
                )
            )
        )
    return rx.table.row(*cells, align="center", id=f"{res.name}-row-" + row["id"])


def _filter(res: Resource, flt: Filter) -> rx.Component:
    state = res.state
    value = state.filters[flt.name]

    def handler(chosen: Any) -> Any:
        return state.set_filter(flt.name, chosen)

    if flt.kind == "select":
        items: Any
        if flt.options_var:
            items = rx.foreach(
                getattr(state, flt.options_var),
                lambda o: rx.select.item(o["label"], value=o["value"]),
            )
            return rx.select.root(
                rx.select.trigger(
                    placeholder=flt.label, min_width="160px", aria_label=flt.label or "Filter"
                ),
                rx.select.content(
                    *[rx.select.item(label, value=v) for v, label in flt.options], items
                ),
                value=value,
                on_change=handler,
            )
        return rx.select.root(
            rx.select.trigger(
                placeholder=flt.label, min_width="140px", aria_label=flt.label or "Filter"
            ),
            rx.select.content(*[rx.select.item(label, value=v) for v, label in flt.options]),
            value=value,
            on_change=handler,
        )
    return rx.segmented_control.root(
        *[rx.segmented_control.item(label, value=v) for v, label in flt.options],
        value=value,
        on_change=handler,
        id=f"{res.name}-filter-{flt.name}",
        aria_label=flt.label or "Show",
    )


def resource_toolbar(res: Resource, *extra: rx.Component) -> rx.Component:
    state = res.state
    return rx.hstack(
        rx.debounce_input(
            rx.input(
                rx.input.slot(rx.icon("search", size=16)),
                placeholder=res.search_placeholder,
                aria_label=res.search_placeholder,
                value=state.search,
                on_change=state.set_search,
                width="320px",
                size="2",
                id=f"{res.name}-search",
            ),
            debounce_timeout=300,
        ),
        *[_filter(res, f) for f in res.filters],
        rx.spacer(),
        *extra,
        width="100%",
        align="center",
        spacing="3",
        wrap="wrap",
    )


def resource_table(res: Resource, empty_action: rx.Component | None = None) -> rx.Component:
    """The list: table with sortable headers and row actions, an empty state, and the pager."""
    state = res.state
    headers = [_for_holders(col, _header_cell(res, col)) for col in res.columns]
    if res.row_actions:
        headers.append(rx.table.column_header_cell(visually_hidden("Actions")))
    return rx.cond(
        state.total > 0,
        rx.vstack(
            rx.card(
                rx.table.root(
                    rx.table.header(rx.table.row(*headers)),
                    rx.table.body(rx.foreach(state.rows, lambda row: _row(res, row))),
                    width="100%",
                    variant="ghost",
                    size="2",
                    id=f"{res.name}-table",
                ),
                width="100%",
                padding="0",
                overflow_x="auto",
            ),
            resource_pager(state, res.name),
            width="100%",
            spacing="3",
        ),
        rx.card(
            rx.cond(
                state.search != "",
                empty_state(
                    "search-x",
                    "No matches",
                    "Nothing matches your search. Try another word or clear the filters.",
                ),
                empty_state(res.empty_icon, res.empty_title, res.empty_text, empty_action),
            ),
            width="100%",
            id=f"{res.name}-empty",
        ),
    )


def resource_pager(state: Any, name: str) -> rx.Component:
    """The pager of a list state (ui/kit/list_state.py): how many in all, first / previous /
    next / last, and where this page stands."""

    def step(label: str, icon: str, handler: Any, enabled: Any, suffix: str) -> rx.Component:
        return rx.icon_button(
            rx.icon(icon, size=16),
            variant="soft",
            size="1",
            disabled=~enabled,
            on_click=handler,
            aria_label=label,
            title=label,
            id=f"{name}-{suffix}",
        )

    return rx.hstack(
        rx.text(
            state.total.to_string() + " in all",
            size="2",
            color_scheme="gray",
            id=f"{name}-total",
        ),
        rx.spacer(),
        step("First page", "chevrons-left", state.first_page, state.has_previous, "first"),
        step("Previous page", "chevron-left", state.previous_page, state.has_previous, "prev"),
        rx.text(
            "Page ",
            state.page.to_string(),
            " of ",
            state.page_count.to_string(),
            size="2",
            id=f"{name}-page",
            aria_live="polite",
        ),
        step("Next page", "chevron-right", state.next_page, state.has_next, "next"),
        step("Last page", "chevrons-right", state.last_page, state.has_next, "last"),
        width="100%",
        align="center",
        spacing="2",
        role="navigation",
        # One per list, and a page may have two lists: each landmark named apart.
        aria_label=f"Pages of {name.replace('-', ' ')}",
    )


def resource_form(
    res: Resource,
    submit_label: str = "Save",
    description: str = "",
    extra: rx.Component | None = None,
    fields: tuple[FormField, ...] | None = None,
    max_width: str = "560px",
) -> rx.Component:
    """The add/edit dialog of a resource: fields in a grid, errors next to each field."""
    state = res.state
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(state.form_title),
            rx.cond(
                description != "",
                rx.dialog.description(description, size="2", color_scheme="gray"),
            ),
            rx.form(
                rx.vstack(
                    form_alert(state.form_errors),
                    rx.fragment(
                        form_grid(state, fields if fields is not None else res.form_fields),
                        key=state.form_key,
                    ),
                    extra or rx.fragment(),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button(submit_label, type="submit", id=f"{res.name}-save"),
                        justify="end",
                        spacing="3",
                        width="100%",
                        padding_top="8px",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=state.save,
                reset_on_submit=False,
            ),
            max_width=max_width,
            max_height="92vh",
            overflow_y="auto",
        ),
        open=state.form_open,
        on_open_change=state.set_form_open,
    )
