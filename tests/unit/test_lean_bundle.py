"""What every page downloads: the Radix colour scales the code uses are all imported, the
generated build files are changed as intended (or the build stops when Reflex's output no
longer looks as expected), and unused Radix components' rules leave the stylesheet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from billing_app.ui import lean_bundle, lean_styles

ROOT = Path(__file__).resolve().parents[2]
RADIX_SCALES = {
    "amber", "blue", "bronze", "brown", "crimson", "cyan", "gold", "grass", "gray", "green",
    "indigo", "iris", "jade", "lime", "mauve", "mint", "olive", "orange", "pink", "plum",
    "purple", "red", "ruby", "sage", "sand", "sky", "slate", "teal", "tomato", "violet",
    "yellow",
}  # fmt: skip


def test_every_radix_colour_the_code_names_is_imported() -> None:
    named: set[str] = set()
    for path in (ROOT / "billing_app").rglob("*.py"):
        named |= set(re.findall(r"[\"']([a-z]+)[\"']", path.read_text())) & RADIX_SCALES
    assert "red" in named and "indigo" in named  # the scan sees the code
    assert named <= set(lean_bundle.COLORS), sorted(named - set(lean_bundle.COLORS))


def test_the_stylesheet_imports_the_base_tokens_the_used_scales_and_the_components() -> None:
    generated = (
        "@layer __reflex_base;\n@import url('./__reflex_style_reset.css');\n"
        "@import url('@radix-ui/themes/styles.css');"
    )
    lean = lean_bundle.lean_styles(generated)
    assert "themes/styles.css" not in lean
    imports = re.findall(r"@import url\('@radix-ui/themes/([^']+)'\);", lean)
    assert imports[0] == "tokens/base.css"
    assert imports[-2:] == ["components.css", "utilities.css"]
    assert {i.removeprefix("tokens/colors/").removesuffix(".css") for i in imports[1:-2]} == set(
        lean_bundle.COLORS
    )
    assert lean.startswith("@layer __reflex_base;\n@import url('./__reflex_style_reset.css');")
    assert lean_bundle.lean_styles(lean) == lean
    with pytest.raises(ValueError, match="full sheet"):
        lean_bundle.lean_styles("@import url('@radix-ui/themes/other.css');")


VITE = """export default defineConfig((config) => ({
  build: {
    rollupOptions: {
      output: {
        codeSplitting: {
          groups: [
            {
              test: /env.json/,
              name: "reflex-env",
            },
          ],
        },
      },
    },
  },
}));"""


def test_the_bundler_gets_the_icons_framework_and_radix_groups_before_reflexs_own() -> None:
    config = lean_bundle.lean_vite_config(VITE)
    groups = re.findall(r'name: "([a-z-]+)"', config)
    assert groups == ["icons", "framework", "radix", "reflex-env"]
    assert "minShareCount: 20" in config
    framework = re.search(r'\{ name: "framework".*?test: /(.*)/ \},', config)
    assert framework is not None
    pattern = re.compile(framework.group(1).replace(r"\/", "/"))
    assert pattern.search("/w/.web/node_modules/react-dom/cjs/react-dom-client.production.js")
    assert pattern.search("/w/.web/node_modules/@emotion/react/dist/x.js")
    assert pattern.search("/w/.web/utils/state.js")
    assert not pattern.search("/w/.web/node_modules/recharts/lib/index.js")
    assert not pattern.search("/w/.web/node_modules/react-dropzone/dist/index.js")
    assert not pattern.search("/w/.web/utils/helpers/upload.js/other")
    assert lean_bundle.lean_vite_config(config) == config
    with pytest.raises(ValueError, match="codeSplitting"):
        lean_bundle.lean_vite_config("export default {};")


def test_the_root_no_longer_loads_radix_themes_whole() -> None:
    root = """  const loaders = {
    "@radix-ui/themes": () => import("@radix-ui/themes"),
  };
  let pending;"""
    lean = lean_bundle.lean_root(root)
    assert "import(" not in lean
    assert "const loaders = {\n  };\n  let pending;" in lean
    with pytest.raises(ValueError, match="not recognised"):
        lean_bundle.lean_root('const load = () => import("@radix-ui/themes");')


def test_an_icons_file_holding_every_icon_fails_the_build(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    icons = tmp_path / "assets" / "icons-abc.js"
    icons.write_bytes(b"x" * 1000)
    lean_bundle.check_icons(tmp_path)
    icons.write_bytes(b"x" * (lean_bundle.ICONS_LIMIT + 1))
    with pytest.raises(lean_bundle.IconsTooLarge, match=r"rx\.cond"):
        lean_bundle.check_icons(tmp_path)


def test_the_components_pages_import_are_read_from_the_compiled_pages() -> None:
    sources = [
        'import {Box as RadixThemesBox,Callout as RadixThemesCallout} from "@radix-ui/themes"',
        'import {Theme as RadixThemesTheme} from "@radix-ui/themes"\nimport {x} from "react"',
    ]
    assert lean_styles.imported_components(sources) == {"Box", "Callout", "Theme"}


def _components(tmp_path: Path, files: dict[str, str]) -> Path:
    for stem, body in files.items():
        (tmp_path / f"{stem}.js").write_text(body)
    return tmp_path


def test_a_component_used_inside_a_used_one_is_kept_and_prefixes_are_kept(
    tmp_path: Path,
) -> None:
    folder = _components(
        tmp_path,
        {
            "index.js": "",
            "select": 'import{ScrollArea as s}from"./scroll-area.js";',
            "select.props": "",
            "scroll-area": "",
            "radio-group": "",
            "radio": "",
            "data-list": "",
            "slider": "",
        },
    )
    unused = lean_styles.unused_families(folder, {"Select", "RadioGroup"})
    assert unused == {"DataList", "Slider"}  # Radio is kept: RadioGroup begins with it


CSS = (
    "/*! {licence} */@layer base{.rt-Box{display:block}}"
    ".rt-DataListRoot,.rt-Card{gap:1px}"
    ".rt-DataListItem{gap:2px}"
    '.rt-Text:before{content:"{.rt-DataListRoot}"}'
    "@media (min-width:520px){.rt-DataListRoot:where(.xs\\:rt-r-size-1){gap:3px}}"
    "@supports (color:color(display-p3 1 1 1)){@media (color-gamut:p3){"
    ".rt-SliderRoot{color:red}.rt-Button{color:blue}}}"
    "@keyframes rt-slide{0%{opacity:0}to{opacity:1}}"
    ".rt-Em{font-style:italic}.rt-Empty{gap:4px}"
    ".rt-CardX:is(.rt-DataListRoot,.rt-Card){gap:5px}"
    ".rt-Card:not(.rt-SliderRoot){gap:6px}"
    ".rt-Card:where(.rt-SliderRoot){gap:7px}"
)


def test_rules_of_unused_components_leave_and_everything_else_stays() -> None:
    pattern = lean_styles.family_pattern({"DataList", "Slider", "Em"})
    assert pattern is not None
    lean = lean_styles.drop_rules(CSS, pattern)
    assert lean == (
        "/*! {licence} */@layer base{.rt-Box{display:block}}"
        ".rt-Card{gap:1px}"
        '.rt-Text:before{content:"{.rt-DataListRoot}"}'
        "@supports (color:color(display-p3 1 1 1)){@media (color-gamut:p3){"
        ".rt-Button{color:blue}}}"
        "@keyframes rt-slide{0%{opacity:0}to{opacity:1}}"
        ".rt-Empty{gap:4px}"
        # an unused component as one alternative, or excluded, does not make a rule unused
        ".rt-CardX:is(.rt-DataListRoot,.rt-Card){gap:5px}"
        ".rt-Card:not(.rt-SliderRoot){gap:6px}"
    )
    assert lean_styles.family_pattern(set()) is None


def test_a_stylesheet_with_unbalanced_braces_is_refused() -> None:
    pattern = lean_styles.family_pattern({"DataList"})
    assert pattern is not None
    with pytest.raises(ValueError, match="unbalanced"):
        lean_styles.drop_rules("@media (x){.rt-Box{a:b}", pattern)
    # An unclosed parenthesis swallows the rest: kept as it is, nothing dropped or lost.
    assert lean_styles.drop_rules(".rt-DataListRoot:is(.a{a:b}", pattern) == (
        ".rt-DataListRoot:is(.a{a:b}"
    )
