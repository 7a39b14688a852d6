"""The built stylesheet without the Radix components the app never draws (docs/architecture.md,
"First paint").

Radix Themes' component sheet styles all of its components; about a quarter of it is for
components no page uses (data lists, sliders, insets, hover cards...). After the build, the
components the pages import are read from the compiled pages, completed with the components
those use inside (a select draws a scroll area), and every rule whose selectors only name the
others is removed from the built stylesheet. A component added to a page later is kept by the
next build without anyone touching a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

_THEMES_IMPORT = re.compile(r'import\s*\{([^}]*)\}\s*from\s*"@radix-ui/themes"')
_INTERNAL_IMPORT = re.compile(r'from\s*"\./([a-z0-9-]+)\.js"')
# At-rules whose block holds rules (filtered inside); any other block is kept as it is.
_CONTAINERS = ("@media", "@supports", "@layer", "@container")


def imported_components(sources: Iterable[str]) -> set[str]:
    """The Radix Themes exports the compiled pages import (``Box``, ``DropdownMenu``...)."""
    names: set[str] = set()
    for source in sources:
        for group in _THEMES_IMPORT.findall(source):
            for part in group.split(","):
                name = part.strip().split(" as ")[0].strip()
                if name:
                    names.add(name)
    return names


def kebab(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()


def pascal(file_stem: str) -> str:
    return "".join(part.capitalize() for part in file_stem.split("-"))


def unused_families(components_dir: Path, used: set[str]) -> set[str]:
    """The class families (``rt-<Family>...``) of Radix components no page draws, directly or
    inside a component it draws. A family that begins another kept one's name (``Radio`` of
    ``RadioGroup``) is kept: its selectors cannot be told apart by name."""
    stems = {
        p.stem
        for p in components_dir.glob("*.js")
        if p.stem != "index" and not p.stem.endswith(".props") and "." not in p.stem
    }
    kept: set[str] = set()
    todo = [kebab(name) for name in used]
    while todo:
        stem = todo.pop()
        if stem in kept or stem not in stems:
            continue
        kept.add(stem)
        todo.extend(_INTERNAL_IMPORT.findall((components_dir / f"{stem}.js").read_text()))
    kept_names = {pascal(s) for s in kept}
    unused = {pascal(s) for s in stems - kept}
    return {f for f in unused if not any(k != f and k.startswith(f) for k in kept_names)}


def family_pattern(families: set[str]) -> re.Pattern[str] | None:
    if not families:
        return None
    names = "|".join(sorted(families))
    return re.compile(r"\.rt-(?:" + names + r")(?![a-z0-9_-])")


def _skip_string(css: str, i: int) -> int:
    """Past the string or comment starting at ``i``."""
    if css.startswith("/*", i):
        end = css.find("*/", i + 2)
        return len(css) if end < 0 else end + 2
    quote = css[i]
    i += 1
    while i < len(css) and css[i] != quote:
        i += 2 if css[i] == "\\" else 1
    return i + 1


def _opens_string(css: str, i: int) -> bool:
    return css[i] in "\"'" or css.startswith("/*", i)


def _code(text: str, i: int) -> Iterator[tuple[int, str]]:
    """The characters of ``text`` from ``i`` with their index, strings and comments left out."""
    while i < len(text):
        if _opens_string(text, i):
            i = _skip_string(text, i)
            continue
        yield i, text[i]
        i += 1


def _until(css: str, i: int, stops: str) -> int:
    """The index of the first of ``stops`` at nesting depth 0 from ``i`` (outside strings
    and parentheses), or len(css)."""
    depth = 0
    for j, c in _code(css, i):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and c in stops:
            return j
    return len(css)


def _closing(text: str, i: int, opening: str, closing: str) -> int:
    """The index of the ``closing`` character matching the ``opening`` one just before ``i``."""
    depth = 0
    for j, c in _code(text, i):
        if c == opening:
            depth += 1
        elif c == closing:
            if depth == 0:
                return j
            depth -= 1
    raise ValueError(f"unbalanced {opening}{closing} in the stylesheet")


def _block_end(css: str, i: int) -> int:
    """The index just after the brace closing the block opened at ``i``."""
    return _closing(css, i + 1, "{", "}") + 1


def _split_selectors(prelude: str) -> list[str]:
    parts, start, i = [], 0, 0
    while True:
        end = _until(prelude, i, ",")
        parts.append(prelude[start:end])
        if end >= len(prelude):
            return parts
        start = i = end + 1


_FUNCTIONAL = re.compile(r":(?:is|where|not|has)\(")


def _required(selector: str) -> str:
    """The part of ``selector`` an element must match: without the arguments of :not(), and
    of :is()/:where()/:has() lists that offer alternatives (``:where(.a, .b)`` still matches
    without ``.b``)."""
    out, i = [], 0
    while (found := _FUNCTIONAL.search(selector, i)) is not None:
        start = found.end()
        end = _closing(selector, start, "(", ")")
        inner = selector[start:end]
        out.append(selector[i:start])
        alternatives = len(_split_selectors(inner)) > 1
        out.append("" if alternatives or found.group().startswith(":not") else _required(inner))
        i = end
    out.append(selector[i:])
    return "".join(out)


def drop_rules(css: str, pattern: re.Pattern[str]) -> str:
    """``css`` without the selectors matching ``pattern``; a rule left without selectors,
    and a container at-rule left empty, are removed."""
    out, _ = _rules(css, 0, pattern)
    return out


def _rules(css: str, i: int, pattern: re.Pattern[str]) -> tuple[str, int]:
    out: list[str] = []
    while i < len(css) and css[i] != "}":
        stop = _until(css, i, "{;}")
        if stop >= len(css) or css[stop] in ";}":
            end = stop + 1 if stop < len(css) and css[stop] == ";" else stop
            out.append(css[i:end])  # a statement (@import, @charset...)
            i = end
            continue
        prelude = css[i:stop]
        head = prelude.lstrip()
        if head.startswith(_CONTAINERS):
            inner, j = _rules(css, stop + 1, pattern)
            if j >= len(css) or css[j] != "}":
                raise ValueError("unbalanced braces in the stylesheet")
            if inner.strip():
                out.append(prelude + "{" + inner + "}")
            i = j + 1
            continue
        end = _block_end(css, stop)
        if head.startswith("@"):
            out.append(css[i:end])  # @font-face, @keyframes...: kept whole
        else:
            keep = [s for s in _split_selectors(prelude) if not pattern.search(_required(s))]
            if keep:
                out.append(",".join(keep) + css[stop:end])
        i = end
    return "".join(out), i


def lean_stylesheets(static_dir: Path, web_dir: Path) -> int:
    """Drop the rules of unused Radix components from the built stylesheets; the bytes
    removed."""
    sources = [
        p.read_text(encoding="utf-8")
        for folder in ("app", "app_components", "utils", "components")
        for p in (web_dir / folder).rglob("*.js*")
        if p.is_file()
    ]
    components = web_dir / "node_modules" / "@radix-ui" / "themes" / "dist" / "esm" / "components"
    pattern = family_pattern(unused_families(components, imported_components(sources)))
    if pattern is None:
        return 0
    removed = 0
    for sheet in (static_dir / "assets").glob("*.css"):
        css = sheet.read_text(encoding="utf-8")
        lean = drop_rules(css, pattern)
        removed += len(css) - len(lean)
        sheet.write_text(lean, encoding="utf-8")
    return removed
