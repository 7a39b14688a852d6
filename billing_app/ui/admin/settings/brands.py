"""Brands (/brands): the list of brands, the selected brand's form (brands_form.py) and its
email and PDF previews."""

from __future__ import annotations

import reflex as rx

from billing_app.ui.admin.settings.brands_form import brand_form
from billing_app.ui.admin.settings.brands_state import BrandsState
from billing_app.ui.admin.shell import admin_page

__all__ = ["BrandsState", "brands_page"]


def _brand_list() -> rx.Component:
    b = BrandsState
    return rx.vstack(
        rx.foreach(
            b.brands,
            lambda row: rx.box(
                rx.hstack(
                    rx.box(
                        width="14px",
                        height="14px",
                        border_radius="4px",
                        background=row["color"],
                    ),
                    rx.text(row["name"], weight="medium", size="2"),
                    rx.spacer(),
                    rx.cond(
                        row["default"] == "yes",
                        rx.badge(
                            "Default",
                            color_scheme="green",
                            variant="soft",
                            size="1",
                            high_contrast=True,
                        ),
                    ),
                    align="center",
                    width="100%",
                ),
                on_click=b.select(row["id"]),
                cursor="pointer",
                padding="10px 12px",
                border_radius="8px",
                width="100%",
                background=rx.cond(
                    b.selected_id == row["id"], rx.color("accent", 4), "transparent"
                ),
                _hover={"background": rx.color("accent", 3)},
                id="brand-" + row["id"],
            ),
        ),
        rx.cond(
            b.can_write,
            rx.button(
                rx.icon("plus", size=14),
                "New brand",
                variant="soft",
                width="100%",
                on_click=b.new_brand,
                id="brand-new",
            ),
        ),
        width="220px",
        min_width="220px",
        spacing="1",
    )


def _previews() -> rx.Component:
    b = BrandsState
    return rx.cond(
        b.selected_id != "new",
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading("Preview", size="4"),
                    rx.spacer(),
                    rx.link(
                        rx.button(
                            rx.icon("file-text", size=14), "Sample PDF", variant="soft", size="2"
                        ),
                        href=b.sample_pdf_url,
                        is_external=True,
                        id="brand-sample-pdf",
                    ),
                    width="100%",
                    align="center",
                ),
                rx.text(
                    "The invoice email your clients receive, with sample data.",
                    size="2",
                    color_scheme="gray",
                ),
                rx.el.iframe(
                    src_doc=b.preview_html,
                    title="Email preview",
                    sandbox="",
                    id="brand-email-preview",
                    style={
                        "width": "100%",
                        "height": "560px",
                        "border": "1px solid var(--gray-5)",
                        "border_radius": "8px",
                        "background": "#f4f5f7",
                    },
                ),
                spacing="3",
                width="100%",
            ),
            size="3",
            width="100%",
        ),
    )


def _brands_content() -> rx.Component:
    return rx.hstack(
        _brand_list(),
        rx.vstack(
            rx.card(brand_form(), size="3", width="100%"),
            _previews(),
            spacing="4",
            width="100%",
            min_width="0",
        ),
        spacing="6",
        align="start",
        width="100%",
    )


def brands_page() -> rx.Component:
    return admin_page("Brands", BrandsState.status, _brands_content)
