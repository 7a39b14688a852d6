"""The host brand's colours as a stylesheet: only accent variables with colour-shaped values
reach the page, whatever the theme holds."""

from __future__ import annotations

from billing_app.domain.bank import BankDetails
from billing_app.domain.colors import accent_scale
from billing_app.services.agency.portal_brand import HOST_THEME_CLASS, BrandLook, theme_css


def _look(theme: dict[str, str]) -> BrandLook:
    return BrandLook(
        brand_id=1,
        name="Northwind",
        logo_key="",
        primary_color="#0f766e",
        theme=theme,
        support_email="",
        support_url="",
        footer="",
        bank=BankDetails(),
        portal_url="https://billing.northwind.test/portal",
    )


def test_the_whole_accent_scale_of_the_brand_is_in_the_rule() -> None:
    scale = accent_scale("#0f766e")
    css = theme_css(_look(scale))
    assert (
        css
        == f".{HOST_THEME_CLASS}{{" + ";".join(f"{k}:{v}" for k, v in sorted(scale.items())) + "}\n"
    )
    assert "--accent-9:#0f766e" in css and "--accent-a3:rgba(15, 118, 110, 0.11)" in css


def test_nothing_but_colour_values_of_accent_variables_gets_through() -> None:
    css = theme_css(
        _look(
            {
                "--accent-9": "#0f766e",
                "--accent-10": "red;}body{display:none",
                "--accent-11": "url(https://evil.test/x)",
                "color": "#000000",
                "--gray-1": "#ffffff",
                "--accent-12": "</style><script>",
            }
        )
    )
    assert css == f".{HOST_THEME_CLASS}{{--accent-9:#0f766e}}\n"
