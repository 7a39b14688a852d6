"""The layout and dependency direction of docs/architecture.md, enforced on the source."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "billing_app"
# Pure libraries of rules and reference data: locales, dates, bank account formats (IBAN, BIC).
DOMAIN_ALLOWED_THIRD_PARTY = {"babel", "dateutil", "schwifty"}
DOMAIN_FORBIDDEN_STDLIB = {
    "os",
    "io",
    "socket",
    "subprocess",
    "shutil",
    "pathlib",
    "sqlite3",
    "http",
    "urllib",
    "smtplib",
    "asyncio",
    "threading",
    "requests",
    "tempfile",
    "glob",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved (``from ..db import x`` in
    billing_app/services/y.py is billing_app.db), and ``from package import module`` counted
    as the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                if (ROOT.parent / (candidate.replace(".", "/") + ".py")).exists():
                    names.add(candidate)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: p.name)
def test_domain_is_pure(path: Path) -> None:
    for name in imports_of(path):
        top = name.split(".")[0]
        if top == "billing_app":
            assert name.startswith("billing_app.domain"), f"{path.name} imports {name}"
        elif top in sys.stdlib_module_names:
            assert top not in DOMAIN_FORBIDDEN_STDLIB, f"{path.name} does I/O via {name}"
        else:
            assert top in DOMAIN_ALLOWED_THIRD_PARTY, f"{path.name} imports {name}"


def test_domain_calls_no_clock_or_io() -> None:
    for path in modules("domain"):
        source = path.read_text(encoding="utf-8")
        for needle in ("datetime.now(", "date.today(", "open(", "time.time("):
            assert needle not in source, f"{path.name} uses {needle}"


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        (
            "services",
            {
                "reflex",
                "billing_app.ui",
                "billing_app.api",
                "billing_app.jobs",
                "billing_app.cli",
                "stripe",
                "starlette",
            },
        ),
        ("db", {"reflex", "billing_app.services", "billing_app.ui", "billing_app.api"}),
        ("adapters", {"reflex", "billing_app.services", "billing_app.ui", "billing_app.db"}),
        ("api", {"reflex", "billing_app.ui"}),
        ("jobs", {"reflex", "billing_app.ui"}),
        # Pages call use cases; storage and outside systems are reached only through them.
        ("ui", {"billing_app.db", "billing_app.adapters", "billing_app.jobs", "sqlmodel"}),
    ],
)
def test_dependencies_point_inward(package: str, forbidden: set[str]) -> None:
    for path in modules(package):
        for name in imports_of(path):
            assert not any(name == f or name.startswith(f + ".") for f in forbidden), (
                f"{path.relative_to(ROOT)} imports {name}"
            )


def test_only_the_stripe_gateway_imports_stripe() -> None:
    for path in ROOT.rglob("*.py"):
        if path.name == "stripe_gateway.py":
            continue
        assert not any(n.split(".")[0] == "stripe" for n in imports_of(path)), path


def test_ui_never_opens_database_sessions_itself() -> None:
    for path in modules("ui"):
        source = path.read_text(encoding="utf-8")
        assert "rx.session(" not in source, path
        assert "session.exec(" not in source and "session.execute(" not in source, path


def test_relative_imports_are_resolved() -> None:
    """The checks above must see ``from ..db import models`` as billing_app.db.models."""
    probe = ROOT / "services" / "common" / "errors.py"
    assert "billing_app.domain.errors" in imports_of(probe)
    init = ROOT / "services" / "__init__.py"
    assert module_name(init) == "billing_app.services"


def _graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        graph[name] = {
            i for i in imports_of(path) if i in paths and i != name and not i.endswith("__init__")
        }
    return graph


def test_no_import_circles() -> None:
    """Modules import each other one way only (a circle means two features are one)."""
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []


MAX_LINES = 500
# The pure rules and the PDF layout are long by nature (docs/architecture.md).
LONG_ALLOWED = ("billing_app/domain/", "billing_app/adapters/pdf")


def test_no_file_is_over_about_500_lines() -> None:
    long = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).as_posix()
        if rel.startswith(LONG_ALLOWED):
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            long.append(f"{rel}: {lines}")
    assert long == []
