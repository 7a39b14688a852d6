"""The layout and dependency direction of docs/architecture.md, enforced on the source."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "billing_app"
DOMAIN_ALLOWED_THIRD_PARTY = {"babel", "dateutil"}
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


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
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
