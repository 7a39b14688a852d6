"""Small money charts (rx.recharts) for the reports, the dashboard and a client's overview.

Points carry each amount twice: a number to plot (the exact amount in major units, turned into a
number only for drawing) and its text formatted in the staff member's locale, which the tooltip
shows; axis ticks are the same locale's compact numbers, the axis label names the currency."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars.base import Var

from billing_app.domain.money import Money
from billing_app.ui.format import ADMIN_LOCALE, money

TICKS = (
    f'(v) => new Intl.NumberFormat("{ADMIN_LOCALE}", '
    '{notation: "compact", maximumFractionDigits: 1}).format(v)'
)
_TOOLTIP_TEXT = Var(_js_expr='(value, name, item) => item.payload[item.dataKey + "_text"] ?? value')


def point(values: dict[str, Money], **labels: str) -> dict[str, Any]:
    """One point of a chart: each amount as a number to plot and as text (``<key>_text``)."""
    data: dict[str, Any] = dict(labels)
    for key, amount in values.items():
        data[key] = float(amount.to_decimal())
        data[f"{key}_text"] = money(amount)
    return data


def tooltip() -> rx.Component:
    return rx.recharts.graphing_tooltip(custom_attrs={"formatter": _TOOLTIP_TEXT})


def x_axis(label: str = "Month") -> rx.Component:
    return rx.recharts.x_axis(
        data_key="month",
        label={"value": label, "position": "insideBottom", "offset": -4},
        height=44,
    )


def y_axis(label: Any, axis_id: str = "left", orientation: str = "left") -> rx.Component:
    return rx.recharts.y_axis(
        y_axis_id=axis_id,
        orientation=orientation,
        tick_formatter=TICKS,
        label={"value": label, "angle": -90, "position": "insideLeft", "offset": 4}
        if orientation == "left"
        else {"value": label, "angle": 90, "position": "insideRight", "offset": 4},
        width=72,
    )


def sparkline(data: Any, data_key: str = "mrr", label: str = "") -> rx.Component:
    """A tiny trend line without axes (the figure beside it says the value)."""
    return rx.box(
        rx.recharts.line_chart(
            rx.recharts.line(
                type_="linear",
                data_key=data_key,
                stroke=rx.color("accent", 9),
                dot=False,
                stroke_width=2,
                is_animation_active=False,
            ),
            data=data,
            width="100%",
            height=40,
        ),
        width="100%",
        role="img",
        aria_label=label,
    )
