"""axe-core in the browser journeys: inject the pinned axe.min.js (installed from npm into
.tools by the Makefile) into a Playwright page, run it on the whole document, and fail on every
critical or serious violation with what a person fixing it needs (rule, impact, help, and the
offending elements)."""

from __future__ import annotations

from typing import Any

from billing_app.settings import PROJECT_ROOT
from tests.conftest import require_or_skip

AXE_JS = PROJECT_ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("critical", "serious")

_RUN_AXE = """async () => {
    const results = await window.axe.run(document, {resultTypes: ['violations']});
    return results.violations.map(v => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        nodes: v.nodes.map(n => ({
            target: n.target.map(t => Array.isArray(t) ? t.join(' >>> ') : String(t)),
            html: n.html,
            summary: n.failureSummary || '',
        })),
    }));
}"""


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every axe-core violation on the page as it stands now (all impacts)."""
    if not AXE_JS.is_file():
        require_or_skip(f"axe-core is not installed at {AXE_JS} (run make test)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    violations: list[dict[str, Any]] = page.evaluate(_RUN_AXE)
    return violations


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violations: list[dict[str, Any]], max_nodes: int = 8) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']}")
        for node in v["nodes"][:max_nodes]:
            html = " ".join(node["html"].split())
            lines.append(f"    {', '.join(node['target'])}  {html[:200]}")
        if len(v["nodes"]) > max_nodes:
            lines.append(f"    ... and {len(v['nodes']) - max_nodes} more")
    return "\n".join(lines)


def fail_on_blocking(page: Any, name: str, violations: list[dict[str, Any]]) -> None:
    found = blocking(violations)
    assert not found, (
        f"axe-core: {len(found)} critical/serious violation(s) on {name} ({page.url}):\n"
        + describe(found)
    )


def assert_accessible(page: Any, name: str) -> list[dict[str, Any]]:
    """Fail listing every critical or serious violation axe-core finds on the page; return all
    the violations (the moderate and minor ones included) for a report."""
    violations = axe_violations(page)
    fail_on_blocking(page, name, violations)
    return violations
