"""Brand colours made usable: WCAG contrast, readable text on a colour, and the twelve-step
accent scale the portal's theme takes from a brand's exact colour.

A brand gives one colour (``#1f4b99``). Pages need a scale of it: pale backgrounds, borders, the
solid colour itself (step 9, exactly the brand's), its hover, and text that stays legible. The
scale follows the roles of Radix Colors' steps (1-2 backgrounds, 3-5 component backgrounds,
6-8 borders, 9-10 solid, 11-12 text); steps 11 and 12 are darkened until they read on white
(4.5:1 and 7:1, WCAG AA and AAA), whatever colour the agency picked.
"""

from __future__ import annotations

import re

RGB = tuple[int, int, int]

WHITE: RGB = (255, 255, 255)
INK: RGB = (17, 24, 39)
BLACK: RGB = (0, 0, 0)

HEX = re.compile(r"#[0-9a-fA-F]{6}")

# How much of the brand colour each light step holds, mixed with white (steps 1-8).
_TINTS = (0.03, 0.06, 0.11, 0.17, 0.24, 0.32, 0.44, 0.62)


def parse_hex(value: str) -> RGB:
    """``#rrggbb`` as three channels; ValueError for anything else."""
    if not HEX.fullmatch(value):
        msg = f"{value!r} is not a colour such as #1f4b99."
        raise ValueError(msg)
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def to_hex(color: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def luminance(color: RGB) -> float:
    """WCAG 2 relative luminance (0 black .. 1 white)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = color
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio between two colours (1 .. 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def tint(color: RGB, strength: float) -> RGB:
    """``color`` mixed with white: strength 1 is the colour, 0 is white."""
    r, g, b = color
    return (
        round(255 - (255 - r) * strength),
        round(255 - (255 - g) * strength),
        round(255 - (255 - b) * strength),
    )


def shade(color: RGB, amount: float) -> RGB:
    """``color`` darkened towards black by ``amount`` (0 unchanged, 1 black)."""
    r, g, b = color
    keep = 1 - amount
    return round(r * keep), round(g * keep), round(b * keep)


def readable_on(color: RGB) -> RGB:
    """White or ink, whichever contrasts more with ``color`` (text on a solid brand colour);
    pure black when neither reaches 4.5:1 (black or white always does)."""
    best = WHITE if contrast(WHITE, color) >= contrast(INK, color) else INK
    if contrast(best, color) < 4.5 and contrast(BLACK, color) > contrast(best, color):
        return BLACK
    return best


def legible_on(color: RGB, background: RGB = WHITE, ratio: float = 4.5) -> RGB:
    """``color``, darkened step by step until it reaches ``ratio`` against ``background``."""
    current = color
    for _ in range(64):
        if contrast(current, background) >= ratio:
            return current
        current = shade(current, 0.06)
    return INK


def accent_scale(brand_hex: str) -> dict[str, str]:
    """The twelve accent steps (and their translucent twins) of a brand colour, plus the text
    colour on it, as the CSS variables a Radix theme reads (``--accent-1`` .. ``--accent-12``,
    ``--accent-a1`` .. ``--accent-a12``, ``--accent-contrast``, ``--accent-surface``,
    ``--accent-indicator``, ``--accent-track``). Step 9 is exactly the brand's colour."""
    base = parse_hex(brand_hex)
    solid: list[RGB] = [tint(base, strength) for strength in _TINTS]
    solid.append(base)  # 9
    solid.append(shade(base, 0.1))  # 10: hover of the solid colour
    solid.append(legible_on(shade(base, 0.15), tint(base, _TINTS[1]), 4.5))  # 11: text
    solid.append(legible_on(shade(base, 0.55), tint(base, _TINTS[1]), 7.0))  # 12: strong text
    r, g, b = base
    variables = {f"--accent-{i}": to_hex(c) for i, c in enumerate(solid, start=1)}
    for i, strength in enumerate(_TINTS, start=1):
        variables[f"--accent-a{i}"] = f"rgba({r}, {g}, {b}, {strength:.2f})"
    for i in (9, 10, 11, 12):
        variables[f"--accent-a{i}"] = to_hex(solid[i - 1])
    variables["--accent-contrast"] = to_hex(readable_on(base))
    variables["--accent-surface"] = to_hex(solid[1])
    variables["--accent-indicator"] = to_hex(base)
    variables["--accent-track"] = to_hex(base)
    return variables
