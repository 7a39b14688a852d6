"""A brand's exact colour becomes a theme that stays legible: step 9 is the brand's colour,
text steps read on the page whatever colour the agency picked, and text on the solid colour
reaches WCAG AA."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_app.domain.colors import (
    WHITE,
    accent_scale,
    contrast,
    legible_on,
    parse_hex,
    readable_on,
    tint,
    to_hex,
)

colours = st.tuples(*(st.integers(0, 255),) * 3).map(to_hex)


def test_contrast_of_black_and_white_is_21_and_of_a_colour_with_itself_1() -> None:
    assert contrast((0, 0, 0), WHITE) == pytest.approx(21.0)
    assert contrast((31, 75, 153), (31, 75, 153)) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", ["1f4b99", "#1f4b9", "#1f4b9z", "#1f4b99 ", "blue", ""])
def test_only_six_digit_hex_colours_are_read(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a colour"):
        parse_hex(bad)


def test_hex_round_trips() -> None:
    assert to_hex(parse_hex("#1F4B99")) == "#1f4b99"


def test_tint_runs_from_white_to_the_colour() -> None:
    assert tint((31, 75, 153), 0) == WHITE
    assert tint((31, 75, 153), 1) == (31, 75, 153)


@given(colours)
def test_step_9_is_exactly_the_brand_colour_and_steps_lighten_towards_1(brand: str) -> None:
    scale = accent_scale(brand)
    assert scale["--accent-9"] == brand.lower()
    assert scale["--accent-indicator"] == brand.lower()
    lightness = [contrast(parse_hex(scale[f"--accent-{i}"]), WHITE) for i in range(1, 9)]
    assert lightness == sorted(lightness)


@given(colours)
def test_text_steps_read_on_the_page_and_on_the_tinted_background(brand: str) -> None:
    scale = accent_scale(brand)
    page = parse_hex(scale["--accent-2"])
    assert contrast(parse_hex(scale["--accent-11"]), WHITE) >= 4.5
    assert contrast(parse_hex(scale["--accent-11"]), page) >= 4.5
    assert contrast(parse_hex(scale["--accent-12"]), page) >= 7.0


@given(colours)
def test_text_on_the_solid_brand_colour_reaches_aa(brand: str) -> None:
    scale = accent_scale(brand)
    assert contrast(parse_hex(scale["--accent-contrast"]), parse_hex(brand)) >= 4.5


def test_white_text_on_a_dark_blue_and_dark_text_on_a_yellow() -> None:
    assert readable_on(parse_hex("#1f4b99")) == WHITE
    assert readable_on(parse_hex("#f5d90a")) != WHITE


def test_a_pale_colour_is_darkened_until_legible() -> None:
    pale = parse_hex("#ffe066")
    legible = legible_on(pale)
    assert contrast(legible, WHITE) >= 4.5
    assert legible != pale
    dark = parse_hex("#102040")
    assert legible_on(dark) == dark


def test_every_variable_a_radix_theme_reads_is_set() -> None:
    scale = accent_scale("#1f4b99")
    for i in range(1, 13):
        assert f"--accent-{i}" in scale
        assert f"--accent-a{i}" in scale
    for name in ("--accent-contrast", "--accent-surface", "--accent-indicator", "--accent-track"):
        assert name in scale
